"""The KPI dashboards on a two-site day whose numbers are known (``dashboard_data``): who sees
them, what the filters change, the exams behind each number, and the exports."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook  # type: ignore[import-untyped]
from pytest_django import DjangoDbBlocker

from radflow.audit.models import AccessLog
from radflow.core.roles import Role
from tests.conftest import client_for, make_user
from tests.kpis.dashboard_data import DAY, TwoSites, build_two_sites

pytestmark = pytest.mark.django_db

ONE_DAY = {"start": DAY.isoformat(), "end": DAY.isoformat()}


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[TwoSites]:
    from radflow.catalog.reference import load_reference
    from radflow.orders.reference import load_workflow_reference

    with django_db_blocker.unblock(), transaction.atomic():
        load_workflow_reference(result=load_reference())
        by = make_user(None, "kpi-dashboard-admin")
        by.is_superuser = True
        by.save()
        yield build_two_sites(by)
        transaction.set_rollback(True)


@pytest.fixture
def director(world: TwoSites) -> Client:
    return client_for(make_user(Role.DIRECTOR))


def charts_of(response: Any) -> dict[str, dict[str, Any]]:
    """The charts' data as the page embeds it for Plotly, by chart id."""
    html = response.content.decode()
    start = html.index('<script id="kpi-charts" type="application/json">')
    body = html[start:].split(">", 1)[1].split("</script>", 1)[0]
    return {chart["id"]: chart for chart in json.loads(body)["charts"]}


def tile(response: Any, code: str) -> Any:
    return next(t for t in response.context["dashboard"].tiles if t.kpi.code == code)


def listed(client: Client, url: str) -> set[str]:
    """The accession numbers a drill-down page lists."""
    response = client.get(url)
    assert response.status_code == 200
    return {exam.accession_number for exam in response.context["page"].object_list}


# --- who sees the dashboards -------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.DIRECTOR, Role.COORDINATOR])
def test_the_director_and_the_coordinator_open_every_dashboard(world: TwoSites, role: Role) -> None:
    client = client_for(make_user(role))
    for board in ("director", "coordinator", "modality"):
        response = client.get(f"/kpis/{board}/", ONE_DAY)
        assert response.status_code == 200, board
        assert "No-show rate" in response.content.decode() or board == "modality"
        assert response["Server-Timing"].startswith("app;dur=")


@pytest.mark.parametrize(
    "role", [Role.TECHNOLOGIST, Role.SCHEDULER, Role.BILLING, Role.BIOMED, None]
)
def test_roles_without_kpis_are_refused_every_dashboard_page(world: TwoSites, role: Role) -> None:
    client = client_for(make_user(role))
    for url in (
        "/kpis/",
        "/kpis/director/",
        "/kpis/coordinator/",
        "/kpis/modality/",
        "/kpis/export/?table=kpis&format=csv",
        "/kpis/exams/?kpi=no_show_rate&bucket=numerator",
        "/kpis/exams/export/?kpi=no_show_rate&format=csv",
    ):
        assert client.get(url).status_code == 403, url


def test_the_menu_entry_opens_the_dashboard_of_the_users_role(world: TwoSites) -> None:
    coordinator = client_for(make_user(Role.COORDINATOR))
    assert coordinator.get("/kpis/")["Location"] == "/kpis/coordinator/"
    assert client_for(make_user(Role.DIRECTOR)).get("/kpis/")["Location"] == "/kpis/director/"


# --- the numbers and the filters -----------------------------------------------------------------


def test_the_tiles_show_the_days_numbers_with_status_and_target(director: Client) -> None:
    page = director.get("/kpis/director/", ONE_DAY)
    no_show = tile(page, "no_show_rate")
    assert (no_show.kpi.value, no_show.kpi.numerator, no_show.kpi.denominator) == (50.0, 3, 6)
    assert no_show.kpi.status == "red" and no_show.target_text == "5.0 %"
    assert tile(page, "exams_performed").kpi.value == 3
    html = page.content.decode()
    assert 'id="tile-no_show_rate"' in html and "50.0 %" in html


@pytest.mark.parametrize(
    ("site", "performed", "no_show"),
    [("north", 1, (2, 3)), ("south", 2, (1, 3)), ("", 3, (3, 6))],
)
def test_the_site_filter_changes_the_tiles_and_the_charts(
    director: Client, world: TwoSites, site: str, performed: int, no_show: tuple[int, int]
) -> None:
    chosen = str(getattr(world, site).pk) if site else ""
    page = director.get("/kpis/director/", {**ONE_DAY, "site": chosen})
    assert tile(page, "exams_performed").kpi.value == performed
    rate = tile(page, "no_show_rate").kpi
    assert (rate.numerator, rate.denominator) == no_show
    charts = charts_of(page)
    assert charts["trend-exams_performed"]["y"] == [performed]
    assert sum(charts["breakdown-no_show_by_reason"]["y"]) == no_show[0]


def test_the_modality_leads_dashboard_draws_the_cadth_reference(director: Client) -> None:
    page = director.get("/kpis/modality/", ONE_DAY)
    assert page.context["query"].choices  # opens on ultrasound
    productivity = charts_of(page)["trend-exams_per_8h"]
    assert productivity["reference"] == 11.25
    assert "CADTH" in productivity["referenceLabel"]
    assert charts_of(page)["breakdown-productivity_by_staff"]["reference"] == 11.25


def test_a_range_ending_before_it_starts_is_refused_with_a_message(director: Client) -> None:
    response = director.get("/kpis/director/", {"start": "2026-03-10", "end": "2026-03-01"})
    assert response.status_code == 400
    assert "The end date is before the start date." in response.content.decode()


def test_the_coordinators_dashboard_reads_rollups_not_exams(director: Client) -> None:
    with CaptureQueriesContext(connection) as queries:
        page = director.get("/kpis/coordinator/", ONE_DAY)
    assert page.status_code == 200
    assert not [q["sql"] for q in queries.captured_queries if '"exams_exam"' in q["sql"]]


def test_the_directors_dashboard_answers_in_a_bounded_number_of_queries(
    director: Client, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(60):
        assert director.get("/kpis/director/", ONE_DAY).status_code == 200


# --- drill-down ---------------------------------------------------------------------------------


def test_a_tiles_number_lists_exactly_the_exams_behind_it(
    director: Client, world: TwoSites
) -> None:
    no_show = tile(director.get("/kpis/director/", ONE_DAY), "no_show_rate")
    assert listed(director, no_show.value_url) == world.accessions("N2", "N3", "S2")
    due = next(link for link in no_show.details if link.label == "appointments due")
    assert listed(director, due.url) == world.accessions("N1", "N2", "N3", "S1", "S2", "S3")
    performed = tile(director.get("/kpis/director/", ONE_DAY), "exams_performed")
    assert listed(director, performed.value_url) == world.accessions("N1", "S1", "S3")


def test_each_bar_carries_the_url_of_its_exams(director: Client, world: TwoSites) -> None:
    north = {**ONE_DAY, "site": str(world.north.pk)}
    reasons = charts_of(director.get("/kpis/director/", north))["breakdown-no_show_by_reason"]
    bars = dict(zip(reasons["x"], reasons["urls"], strict=True))
    assert {label: listed(director, url) for label, url in bars.items()} == {
        "Did not attend, no contact": world.accessions("N2"),
        "Forgot the appointment": world.accessions("N3"),
    }
    sites = charts_of(director.get("/kpis/director/", ONE_DAY))["breakdown-volume_by_site"]
    south = sites["urls"][sites["x"].index("Southside Imaging")]
    assert parse_qs(urlsplit(south).query)["site"] == [str(world.south.pk)]
    assert listed(director, south) == world.accessions("S1", "S3")


def test_a_trend_point_lists_the_exams_of_its_period(director: Client, world: TwoSites) -> None:
    chart = charts_of(director.get("/kpis/coordinator/", ONE_DAY))["trend-no_show_rate"]
    assert chart["x"] == [DAY.isoformat()]
    assert listed(director, chart["urls"][0]) == world.accessions("N2", "N3", "S2")


def test_the_drill_down_page_shows_and_audits_each_patient(
    director: Client, world: TwoSites
) -> None:
    before = AccessLog.objects.filter(action="kpi.drilldown").count()
    response = director.get(
        "/kpis/exams/",
        {**ONE_DAY, "kpi": "no_show_rate", "bucket": "no_contact", "site": str(world.south.pk)},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert world.exams["S2"].accession_number in html
    assert world.exams["N2"].accession_number not in html
    assert f'href="/exams/{world.exams["S2"].pk}/"' in html
    rows = AccessLog.objects.filter(action="kpi.drilldown").order_by("-seq")
    assert rows.count() == before + 1
    assert rows[0].patient_id == world.exams["S2"].order.patient_id


# --- exports ----------------------------------------------------------------------------------


def csv_rows(response: Any) -> list[dict[str, str]]:
    text = response.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_kpi_table_exports_as_csv_with_the_dashboards_numbers(director: Client) -> None:
    query = {**ONE_DAY, "board": "director", "table": "kpis", "format": "csv"}
    response = director.get("/kpis/export/", query)
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = {row["KPI"]: row for row in csv_rows(response)}
    assert (rows["No-show rate"]["Value"], rows["No-show rate"]["Status"]) == ("50", "red")
    assert (rows["No-show rate"]["Numerator"], rows["No-show rate"]["Denominator"]) == ("3", "6")
    assert rows["Exams performed"]["Value"] == "3"
    reasons = csv_rows(director.get("/kpis/export/", {**query, "table": "no_show_by_reason"}))
    assert sum(int(row["Count"]) for row in reasons) == 3


def test_the_xlsx_export_is_a_real_excel_table_whose_totals_match(director: Client) -> None:
    query = {**ONE_DAY, "board": "director", "table": "volume_by_site", "format": "xlsx"}
    response = director.get("/kpis/export/", query)
    book = load_workbook(io.BytesIO(response.content))
    sheet = book.active
    assert list(sheet.tables) and sheet.tables[next(iter(sheet.tables))].ref == "A1:E3"
    header = [cell.value for cell in sheet[1]]
    counts = {row[0]: row[header.index("Count")] for row in sheet.iter_rows(2, values_only=True)}
    assert counts == {"Southside Imaging": 2, "Northside Imaging": 1}
    assert sum(counts.values()) == 3
    assert sheet.cell(2, header.index("Count") + 1).number_format == "#,##0"


def test_every_table_downloads_in_one_workbook(director: Client) -> None:
    response = director.get(
        "/kpis/export/", {**ONE_DAY, "board": "coordinator", "table": "all", "format": "xlsx"}
    )
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames[:2] == ["KPIs", "Trends"]
    assert len(book.sheetnames) == 6
    kpis = book["KPIs"]
    header = [cell.value for cell in kpis[1]]
    values = {row[0]: row for row in kpis.iter_rows(2, values_only=True)}
    assert values["No-show rate"][header.index("Value")] == 50.0
    assert kpis.cell(2, header.index("Value") + 1).number_format == "#,##0"  # exams: whole
    assert director.get("/kpis/export/", {"table": "all", "format": "csv"}).status_code == 404


def test_the_exams_behind_a_number_export_with_each_patient_audited(
    director: Client, world: TwoSites
) -> None:
    query = {**ONE_DAY, "kpi": "no_show_rate", "bucket": "numerator"}
    before = AccessLog.objects.filter(action="kpi.drilldown_export").count()
    rows = csv_rows(director.get("/kpis/exams/export/", {**query, "format": "csv"}))
    assert {row["Accession"] for row in rows} == world.accessions("N2", "N3", "S2")
    assert {row["State"] for row in rows} == {"No-show"}
    assert AccessLog.objects.filter(action="kpi.drilldown_export").count() == before + 3
    xlsx = director.get("/kpis/exams/export/", {**query, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == 4 and list(sheet.tables)


def test_a_user_without_a_role_cannot_export(world: TwoSites, stranger: User) -> None:
    response = client_for(stranger).get("/kpis/export/", {"table": "kpis", "format": "xlsx"})
    assert response.status_code == 403


def test_a_part_a_kpi_does_not_have_is_refused_with_a_message(director: Client) -> None:
    for query in (
        {"kpi": "documentation_findings", "bucket": "bogus"},
        {"kpi": "exams_performed", "bucket": "breached"},
        {"kpi": "no_show_rate", "bucket": "prep_not_done"},  # a cancellation reason
    ):
        response = director.get("/kpis/exams/", {**ONE_DAY, **query})
        assert response.status_code == 400, query
        assert "This KPI has no such part to list." in response.content.decode()
    assert director.get("/kpis/exams/", {"kpi": "qa_score"}).status_code == 400
    assert director.get("/kpis/export/", {"table": "nope"}).status_code == 404
