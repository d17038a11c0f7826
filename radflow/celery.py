"""The Celery app, for installs that run Celery with Redis (``REDIS_URL``):
``celery -A radflow.celery worker --beat``.

The embedded default needs none of this: ``radflow worker`` runs the same periodic functions
in-process. Beat's schedule lives here, in the department's time zone.
"""

from __future__ import annotations

import os

from celery import Celery  # type: ignore[import-untyped]
from celery.schedules import crontab  # type: ignore[import-untyped]

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radflow.settings")

from django.conf import settings

app = Celery("radflow")
app.conf.update(
    broker_url=settings.REDIS_URL or "memory://",
    result_backend=None,
    timezone=settings.TIME_ZONE,
    enable_utc=True,
    task_ignore_result=True,
    beat_schedule={
        # Last month's report packs, once the KPI nightly catch-up has rebuilt its last days.
        "report-packs-monthly": {
            "task": "radflow.kpis.report_packs_monthly",
            "schedule": crontab(
                minute=0, hour=getattr(settings, "REPORT_PACK_HOUR", 4), day_of_month=1
            ),
        },
    },
)
app.autodiscover_tasks(["radflow.kpis"], related_name="report_tasks")
