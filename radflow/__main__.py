"""The ``radflow`` command: Django's management commands under one name.

``radflow demo --seed 1``, ``radflow audit verify``, ``radflow migrate`` ... A bad configuration
stops with one clear line rather than a traceback.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radflow.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else argv)
    args[0] = "radflow"
    try:
        execute_from_command_line(args)
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"radflow: configuration error: {exc}\n")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
