"""The monthly report pack's files: the PDF renders what the department would read, the workbook
adds up to the dashboard's numbers, the command writes both, and the schedule builds last
month's pack once."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from openpyxl import load_workbook  # type: ignore[import-untyped]

from radflow.core.kpis.types import KpiFilters
from radflow.kpis import report_services
from radflow.kpis.report_models import (
    FileKind,
    PackStatus,
    PackTrigger,
    ReportPack,
    ReportPackFile,
    ReportPackVersion,
)
from radflow.kpis.report_services import (
    report_pack_build_execute,
    report_pack_build_start,
    report_packs_fail_stuck,
)
from radflow.kpis.report_tasks import report_packs_monthly
from radflow.kpis.report_xlsx import DURATION, PERCENT, kpi_cell
from radflow.kpis.selectors import kpi_values
from tests.kpis.report_world import (
    DEPARTMENT_NAME,
    MONTH,
    NY,
    ReportWorld,
    poppler,
    world_fixture,
)

pytestmark = pytest.mark.django_db

world = world_fixture()


@pytest.fixture(scope="module")
def built(world: ReportWorld, django_db_blocker: Any) -> Iterator[ReportPackVersion]:
    """February's pack of the department, built once for the module."""
    with django_db_blocker.unblock():
        queued = report_pack_build_start(
            month=MONTH, department=world.department, by=world.by, run=False
        )
        yield report_pack_build_execute(version_id=queued.pk)


def _file(version: ReportPackVersion, kind: FileKind) -> bytes:
    return bytes(ReportPackFile.objects.get(version=version, kind=kind).content)


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "pack.pdf"
    path.write_bytes(pdf)
    return poppler("pdftotext", "-layout", path, "-")


def _pages(pdf: bytes, tmp_path: Path) -> int:
    path = tmp_path / "info.pdf"
    path.write_bytes(pdf)
    line = next(r for r in poppler("pdfinfo", path).splitlines() if r.startswith("Pages:"))
    return int(line.split()[1])


def _filters(world: ReportWorld) -> KpiFilters:
    return KpiFilters.of(sites=world.department.site_id)


def test_a_build_freezes_the_numbers_and_stores_both_files(
    built: ReportPackVersion, world: ReportWorld
) -> None:
    assert built.status == PackStatus.DRAFT, built.error
    assert (built.number, built.progress, built.built_by) == (1, 100, world.by)
    assert built.build_seconds is not None and built.finished_at is not None
    kpis = {row["code"]: row for row in built.data["kpis"]}
    assert kpis["exams_performed"]["value"] == 3  # A, C and D
    assert (kpis["no_show_rate"]["numerator"], kpis["no_show_rate"]["denominator"]) == (1, 4)
    assert built.data["exceptions"]["sla_breached"] == 1
    assert built.data["exceptions"]["sla_misses"][0]["minutes"] == 30  # C began 13:30, due 13:00
    waits = [(r["accession"], r["minutes"]) for r in built.data["exceptions"]["longest_waits"]]
    assert waits[:2] == [
        (world.exams["C"].accession_number, 75),  # arrived 12:15, begun 13:30
        (world.exams["D"].accession_number, 50),
    ]
    assert [r["accession"] for r in built.data["exceptions"]["reports_outstanding"]] == [
        world.exams["C"].accession_number
    ]
    assert built.data["quality"]["incidents"]["by_severity"]["minor"] == 1
    kinds = set(built.files.values_list("kind", flat=True))
    assert kinds == {FileKind.PDF, FileKind.XLSX}


def test_the_pdf_renders_the_department_month_kpis_and_the_numbers(
    built: ReportPackVersion, tmp_path: Path
) -> None:
    pdf = _file(built, FileKind.PDF)
    assert pdf.startswith(b"%PDF")
    assert _pages(pdf, tmp_path) >= 7  # cover and one page per section at least
    (tmp_path / "pack.pdf").write_bytes(pdf)
    poppler("pdftoppm", "-png", "-r", "30", "-f", "1", "-l", "1", tmp_path / "pack.pdf",
            tmp_path / "page")  # fmt: skip
    [image] = list(tmp_path.glob("page*.png"))
    assert image.read_bytes().startswith(b"\x89PNG") and image.stat().st_size > 1000
    text = _pdf_text(pdf, tmp_path)
    assert DEPARTMENT_NAME in text
    assert "February 2026" in text
    for name in ("Exams performed", "No-show rate", "STAT begun within target", "Exams per 8"):
        assert name in text
    # The KPI table's rows: one no-show in four appointments due; three exams performed.
    assert re.search(r"No-show rate\s+25\.0 %", text)
    assert re.search(r"^\s*Exams performed\s+3\s", text, flags=re.MULTILINE)
    assert "CADTH" in text  # the productivity reference
    assert text.count("version 1 · Draft") == _pages(pdf, tmp_path) - 1  # every page but the cover


def test_the_workbook_totals_equal_the_dashboard_numbers(
    built: ReportPackVersion, world: ReportWorld
) -> None:
    book = load_workbook(io.BytesIO(_file(built, FileKind.XLSX)))
    for name in ("Cover", "KPIs", "Trends", "KPIs by day", "Volume", "Reasons", "Exceptions",
                 "Quality", "Staffing", "Exams"):  # fmt: skip
        assert name in book.sheetnames
        assert book[name].tables, f"{name} has no Excel table"
    end = date(2026, 2, 28)
    dashboard = {
        v.code: v
        for v in kpi_values(
            start=MONTH, end=end, filters=_filters(world), department=world.department
        )
    }
    sheet = book["KPIs"]
    headers = [cell.value for cell in sheet[1]]
    rows = {
        row[headers.index("Code")].value: row for row in sheet.iter_rows(min_row=2)
    }  # fmt: skip
    assert set(rows) == set(dashboard)
    for code, value in dashboard.items():
        cell = rows[code][headers.index("Value")]
        expected, fmt = kpi_cell(value.value, value.unit)
        got = cell.value
        if isinstance(got, timedelta):  # a duration reads back as one
            got = got.total_seconds() / 86400
        assert got == pytest.approx(expected, abs=1e-6), code
        if expected is not None:
            assert cell.number_format == fmt
        status = rows[code][headers.index("Status")]
        assert status.value == value.status.value
        colour = {"green": "C8E6C9", "amber": "FFE082", "red": "FFCDD2"}.get(status.value)
        assert (status.fill.fgColor.rgb[-6:] if status.fill.fill_type else None) == colour, code
    assert headers[0] == "Category" and sheet["A1"].font.bold
    assert sheet.freeze_panes == "A2"
    assert rows["no_show_rate"][headers.index("Value")].number_format == PERCENT
    assert rows["tat_wait"][headers.index("Value")].number_format == DURATION

    exams = book["Exams"]
    head = [cell.value for cell in exams[1]]
    data = [[cell.value for cell in row] for row in exams.iter_rows(min_row=2)]
    column = {name: [row[head.index(name)] for row in data] for name in head}
    assert len(data) == 4  # A, B, C, D
    assert sum(column["Performed"]) == dashboard["exams_performed"].value
    assert 100 * sum(column["No-show"]) / sum(column["Appointment due"]) == pytest.approx(
        dashboard["no_show_rate"].value
    )
    assert sum(column["STAT counted"]) == dashboard["sla_stat"].denominator
    assert sum(column["STAT met"]) == dashboard["sla_stat"].numerator
    begun = exams.cell(row=2, column=head.index("Begun at") + 1)
    assert begun.number_format == "yyyy-mm-dd hh:mm"
    d_row = column["Accession"].index(world.exams["D"].accession_number) + 2
    wait = exams.cell(row=d_row, column=head.index("Wait") + 1)
    assert wait.value == timedelta(minutes=50)  # an Excel duration, 0:50
    assert wait.number_format == DURATION

    daily = book["KPIs by day"]
    dhead = [cell.value for cell in daily[1]]
    performed = sum(
        row[dhead.index("Value")].value or 0
        for row in daily.iter_rows(min_row=2)
        if row[dhead.index("Code")].value == "exams_performed"
    )
    assert performed == dashboard["exams_performed"].value


def test_the_command_writes_the_pdf_and_the_workbook(world: ReportWorld, tmp_path: Path) -> None:
    out = io.StringIO()
    call_command(
        "report", "monthly", "--month", "2026-02", "--out", str(tmp_path), "--department", "rpt",
        stdout=out,
    )  # fmt: skip
    written = sorted(tmp_path.iterdir())
    assert [p.suffix for p in written] == [".pdf", ".xlsx"]
    assert all(p.stat().st_size > 1000 for p in written)
    assert all(str(p) in out.getvalue() for p in written)
    assert written[0].name.startswith("radflow-report-2026-02-rpt-v")
    version = ReportPackVersion.objects.get(trigger=PackTrigger.COMMAND)
    assert version.pack.department == world.department


def test_the_command_refuses_an_unknown_department_and_a_bad_month(world: ReportWorld) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No department 'nowhere'"):
        call_command("report", "monthly", "--month", "2026-02", "--department", "nowhere")
    with pytest.raises(CommandError, match="not a month"):
        call_command("report", "monthly", "--month", "February")


def _local(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=NY)


def test_the_schedule_builds_last_months_pack_once_from_the_first_at_four(
    world: ReportWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_services, "pack_pdf", lambda *args: b"%PDF-1.4 stub")
    first = date(2026, 3, 1)
    assert report_packs_monthly(now=_local(first, 3)) == 0  # before REPORT_PACK_HOUR
    assert not ReportPack.objects.filter(month=MONTH, department=None).exists()
    # One department: one pack for every site; the worker builds one pack per cycle.
    assert report_packs_monthly(now=_local(first, 5)) == 1
    version = ReportPackVersion.objects.get(trigger=PackTrigger.SCHEDULE)
    assert (version.pack.month, version.pack.department, version.status) == (
        MONTH,
        None,
        PackStatus.DRAFT,
    )
    assert report_packs_monthly(now=_local(first, 6)) == 0  # already built this month
    assert report_packs_monthly(now=_local(date(2026, 3, 9), 6)) == 0
    assert ReportPackVersion.objects.filter(trigger=PackTrigger.SCHEDULE).count() == 1


def test_the_schedule_skips_a_month_without_activity(world: ReportWorld) -> None:
    assert report_packs_monthly(now=_local(date(2025, 6, 1), 5)) == 0
    assert not ReportPack.objects.filter(month=date(2025, 5, 1)).exists()


def test_the_worker_and_celery_beat_both_run_the_monthly_job() -> None:
    from radflow.celery import app
    from radflow.worklists.management.commands import worker

    assert "report_packs_monthly" in dict(worker.JOBS)
    entry = app.conf.beat_schedule["report-packs-monthly"]
    assert entry["task"] == "radflow.kpis.report_packs_monthly"
    assert entry["schedule"].day_of_month == {1}
    assert entry["schedule"].hour == {4}


def test_a_build_whose_process_ended_fails_after_half_an_hour(world: ReportWorld) -> None:
    queued = report_pack_build_start(month=MONTH, department=None, by=None, run=False)
    assert report_packs_fail_stuck(now=timezone.now() + timedelta(minutes=29)) == 0
    assert report_packs_fail_stuck(now=timezone.now() + timedelta(minutes=31)) == 1
    queued.refresh_from_db()
    assert queued.status == PackStatus.FAILED and "process" in queued.error


def test_a_future_month_and_a_second_build_at_once_are_refused(world: ReportWorld) -> None:
    from radflow.core.errors import ValidationFailed

    next_month = (timezone.localdate().replace(day=28) + timedelta(days=5)).replace(day=1)
    with pytest.raises(ValidationFailed) as future:
        report_pack_build_start(month=next_month, department=None, by=None, run=False)
    assert "not started" in future.value.errors["month"][0]
    report_pack_build_start(month=MONTH, department=None, by=None, run=False)
    with pytest.raises(ValidationFailed) as twice:
        report_pack_build_start(month=MONTH, department=None, by=None, run=False)
    assert "still being built" in twice.value.errors["month"][0]


def test_a_failing_build_is_recorded_with_its_error(
    world: ReportWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("the rollups are gone")

    monkeypatch.setattr(report_services, "pack_data", broken)
    queued = report_pack_build_start(month=MONTH, department=None, by=None, run=False)
    version = report_pack_build_execute(version_id=queued.pk)
    assert version.status == PackStatus.FAILED
    assert "the rollups are gone" in version.error
    assert not version.files.exists()
