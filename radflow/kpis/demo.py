"""Demo step (last): the KPI definitions, one department's own targets, and every rollup built
from the demo's exam history, so the dashboards open on a year of data."""

from __future__ import annotations

from django.contrib.auth.models import User

from radflow.demo.context import DemoContext
from radflow.exams.demo import _now
from radflow.kpis.jobs import rebuild_all
from radflow.kpis.models import KpiDefinition, KpiTarget
from radflow.kpis.reference import definitions_sync

#: The women's health centre holds itself to a stricter no-show target (shows per-department
#: targets on the targets page and on its tiles).
OWN_TARGETS = {"WHC": {"no_show_rate": (4.0, 5.0, 7.0), "tat_wait": (10.0, 12.0, 25.0)}}


def generate(ctx: DemoContext) -> None:
    definitions_sync()
    director = User.objects.filter(username="director").first()
    departments = ctx.objects.get("departments", {})
    for site_code, targets in OWN_TARGETS.items():
        department = departments.get(site_code)
        if department is None:
            continue
        for code, (target, amber, red) in targets.items():
            KpiTarget.objects.update_or_create(
                definition=KpiDefinition.objects.get(code=code),
                department=department,
                defaults={"target": target, "amber": amber, "red": red, "updated_by": director},
            )
    done = rebuild_all(now=_now(ctx))
    ctx.log("KPI rollups: " + ", ".join(f"{name} {count}" for name, count in done.items()))
