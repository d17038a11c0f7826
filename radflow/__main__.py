"""The ``radflow`` command: Django's management commands under one name.

``radflow demo --seed 1``, ``radflow audit verify``, ``radflow migrate`` ... A bad configuration
stops with one clear line rather than a traceback. The roster benchmark commands run without Django
(no database, no SECRET_KEY), so they are dispatched before any setup.
"""

from __future__ import annotations

import os
import sys

#: Commands of ``radflow.core.rostering.cli``: plain Python, no settings needed.
CORE_COMMANDS = frozenset({"roster-benchmark", "roster-evaluate"})


def main(argv: list[str] | None = None) -> None:
    raw = list(sys.argv if argv is None else argv)
    if len(raw) > 1 and raw[1] in CORE_COMMANDS:
        from radflow.core.rostering.cli import main as roster_main

        raise SystemExit(roster_main(raw[1:]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "radflow.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db import OperationalError

    args = raw
    args[0] = "radflow"
    try:
        execute_from_command_line(args)
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"radflow: configuration error: {exc}\n")
        raise SystemExit(2) from None
    except OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        sys.stderr.write(f"radflow: cannot use the database (check DATABASE_URL): {first_line}\n")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
