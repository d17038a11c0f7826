"""``radflow report monthly [--month YYYY-MM] [--out DIR] [--department CODE]``: build the monthly
report pack now, store it as a new version (the page lists it) and write its PDF and workbook.

Without ``--month`` it builds last month's pack, so a cron line on the 1st does the schedule's
work on a box that runs no ``radflow worker``::

    15 4 1 * *  radflow report monthly --out /var/lib/radflow/reports
"""

from __future__ import annotations

import time
from argparse import ArgumentParser
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone


def _month(value: str) -> date:
    try:
        return date.fromisoformat(f"{value}-01")
    except ValueError:
        raise CommandError(f"{value!r} is not a month (YYYY-MM).") from None


def department_by_code(code: str) -> Any:
    """A department by its site's code, its cost centre, its name or its id."""
    from radflow.scheduling.models import Department

    departments = Department.objects.select_related("site")
    try:
        found = departments.filter(pk=UUID(code))
    except ValueError:
        found = departments.none()
    for lookup in ("site__code__iexact", "cost_centre__iexact", "name__iexact"):
        if found.exists():
            break
        found = departments.filter(**{lookup: code})
    matches = list(found[:2])
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(sorted({d.site.code for d in departments}))
    if matches:
        raise CommandError(f"{code!r} names several departments; use the cost centre or the id.")
    raise CommandError(f"No department {code!r} (site codes: {known or 'none'}).")


class Command(BaseCommand):
    help = "Build the monthly report pack (PDF and Excel workbook)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        monthly = sub.add_parser("monthly", help="Build one month's pack.")
        monthly.add_argument(
            "--month", type=_month, default=None, help="YYYY-MM (default: last month)."
        )
        monthly.add_argument(
            "--out", type=Path, default=None, help="Directory to write the PDF and XLSX into."
        )
        monthly.add_argument(
            "--department",
            default=None,
            help="The department: its site code, cost centre or id (default: every site).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from radflow.core.errors import ValidationFailed
        from radflow.kpis.report_data import month_start, previous_month
        from radflow.kpis.report_models import PackStatus, PackTrigger
        from radflow.kpis.report_services import report_pack_build_execute, report_pack_build_start

        month = options["month"] or previous_month(month_start(timezone.localdate()))
        department = department_by_code(options["department"]) if options["department"] else None
        out: Path | None = options["out"]
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        try:
            queued = report_pack_build_start(
                month=month, department=department, by=None, trigger=PackTrigger.COMMAND, run=False
            )
        except ValidationFailed as exc:
            raise CommandError(" ".join(m for ms in exc.errors.values() for m in ms)) from None
        version = report_pack_build_execute(version_id=queued.pk)
        if version.status != PackStatus.DRAFT:
            raise CommandError(f"The build failed: {version.error}")
        pack = version.pack
        self.stdout.write(
            f"Report pack {month:%Y-%m} ({pack.scope_label}) version {version.number} built "
            f"in {time.perf_counter() - started:.1f} s"
        )
        if out is None:
            return
        from radflow.kpis.report_selectors import file_stem

        stem = file_stem(version)
        for stored in version.files.order_by("kind"):
            path = out / f"{stem}.{stored.kind}"
            path.write_bytes(bytes(stored.content))
            self.stdout.write(str(path))
