"""WSGI entry point; a configuration error stops the worker with one clear line."""

from __future__ import annotations

import os
import sys

from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radflow.settings")
try:
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
except ImproperlyConfigured as exc:
    sys.stderr.write(f"radflow: configuration error: {exc}\n")
    raise SystemExit(2) from None
