"""The director's KPI dashboard in a real browser: the site filter redraws the Plotly charts, and
a click on a no-show bar opens the list of exactly those exams.

The department is ``tests.kpis.dashboard_data``: six appointments at two sites on one day, three
of them no-shows (Northside: N2 no contact, N3 forgot; Southside: S2 no contact).
"""

from __future__ import annotations

from typing import Any

import pytest

from radflow.catalog.reference import load_reference
from radflow.core.roles import Role
from radflow.kpis.reference import definitions_sync
from radflow.orders.reference import load_workflow_reference
from tests.conftest import make_user
from tests.e2e.test_exam_path import log_in, shot
from tests.kpis.dashboard_data import DAY, build_two_sites

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHART = "chart-trend-exams_performed"
REASONS = "chart-breakdown-no_show_by_reason"


def chart_data(page: Any, chart_id: str) -> dict[str, Any]:
    """What Plotly drew: the first trace's categories and values."""
    trace: dict[str, Any] = page.evaluate(
        "id => { const d = document.getElementById(id).data[0];"
        " return {x: Array.from(d.x), y: Array.from(d.y)}; }",
        chart_id,
    )
    return trace


def click_bar(page: Any, chart_id: str, label: str) -> None:
    """Hover the bar of ``label`` until Plotly shows its label, then click it (Plotly's click
    event comes from its drag layer over the bars, at the pointer's position)."""
    index = page.evaluate(
        "([id, label]) => document.getElementById(id).data[0].y.indexOf(label)", [chart_id, label]
    )
    assert index >= 0, f"no bar {label!r}"
    bar = page.locator(f"#{chart_id} .bars .point path").nth(index)
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.locator(f"#{chart_id} .hoverlayer .hovertext").filter(has_text=label).wait_for()
    page.mouse.click(x, y)


def test_the_director_filters_by_site_and_clicks_through_to_the_no_shows(
    live_server: Any, page: Any, request: pytest.FixtureRequest
) -> None:
    from playwright.sync_api import expect

    load_workflow_reference(result=load_reference())
    definitions_sync()  # a live-server test's flush removed what the migration seeded
    by = make_user(None, "kpi-e2e-admin")
    by.is_superuser = True
    by.save()
    world = build_two_sites(by)
    make_user(Role.DIRECTOR)
    base = live_server.url

    # 1. The director's dashboard for the day, every site: 3 exams, 3 no-shows.
    log_in(page, base, "director")
    page.goto(f"{base}/kpis/director/?start={DAY.isoformat()}&end={DAY.isoformat()}")
    expect(page.locator("html")).to_have_attribute("data-charts-ready", "true")
    expect(page.locator("#tile-no_show_rate .kpi-value")).to_have_text("50.0 %")
    everywhere = chart_data(page, CHART)
    assert everywhere["y"] == [3]
    assert sum(chart_data(page, REASONS)["x"]) == 3  # horizontal bars: values on x
    shot(page, request, "director-dashboard")

    # 2. The site filter: Northside only. The charts are drawn again from the new numbers.
    page.get_by_label("Site", exact=True).select_option(label="Northside Imaging")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(f"**site={world.north.pk}**")
    expect(page.locator("html")).to_have_attribute("data-charts-ready", "true")
    northside = chart_data(page, CHART)
    assert northside != everywhere and northside["y"] == [1]
    reasons = chart_data(page, REASONS)
    assert sorted(reasons["y"]) == ["Did not attend, no contact", "Forgot the appointment"]
    assert reasons["x"] == [1, 1]
    expect(page.locator("#tile-no_show_rate .kpi-value")).to_have_text("66.7 %")
    shot(page, request, "northside")

    # 3. A click on the "no contact" bar lists exactly that no-show.
    click_bar(page, REASONS, "Did not attend, no contact")
    page.wait_for_url("**/kpis/exams/?**bucket=no_contact**")
    rows = page.locator("#drill-exams tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(world.exams["N2"].accession_number)
    expect(rows.first).to_contain_text("No-show")
    expect(page.locator("h1")).to_contain_text("No-show rate")
    expect(page.locator("#drill-scope")).to_contain_text("Northside Imaging")

    # 4. Back on the dashboard, the no-shows tile's number lists all of Northside's no-shows.
    page.go_back()
    expect(page.locator("html")).to_have_attribute("data-charts-ready", "true")
    page.locator("#tile-no_show_rate .kpi-value a").click()
    page.wait_for_url("**/kpis/exams/?**bucket=numerator**")
    listed = set(page.locator("#drill-exams tbody tr td:first-child").all_inner_texts())
    assert listed == world.accessions("N2", "N3")
    assert page.console_errors == []
    assert page.failed_requests == []
