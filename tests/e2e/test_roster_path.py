"""A roster's path through the pages: the coordinator creates a 4-week roster, generates it and
watches the solver's progress (a real background run, not the tests' inline mode), reads the
cover reached and publishes; then a sonographer finds their shifts on My shifts and fetches
their iCal feed."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from radflow.core.roles import Role
from radflow.rostering.models import Roster, RosterAssignment, RosterStatus, RunStatus
from tests.conftest import make_user
from tests.e2e.test_exam_path import log_in, shot
from tests.rostering.factories import department

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_roster_is_generated_published_and_read_by_a_sonographer(
    live_server: Any, page: Any, request: pytest.FixtureRequest, settings: Any
) -> None:
    from icalendar import Calendar
    from playwright.sync_api import expect

    settings.ROSTER_RUN_SYNC = False  # the run goes to the background thread, as in production
    dept = department(people=9)
    dept.settings.solve_seconds = 6
    dept.settings.save()
    make_user(Role.COORDINATOR)
    sonographer = dept.people[0]
    sonographer.user = make_user(Role.TECHNOLOGIST, "sonographer")
    sonographer.save()
    today = timezone.localdate()
    monday = today + timedelta(days=7 - today.weekday())
    base = live_server.url

    # 1. The coordinator creates a 4-week roster from next Monday and generates it.
    log_in(page, base, "coordinator")
    page.get_by_role("link", name="Roster", exact=True).click()
    page.get_by_label("First day").fill(monday.isoformat())
    page.get_by_label("Weeks").fill("4")
    page.get_by_role("button", name="Create roster").click()
    expect(page.locator("#roster-status")).to_have_text("Draft")
    page.get_by_role("button", name="Generate roster").click()
    expect(page).to_have_url(re.compile(r"/rosters/runs/[0-9a-f-]{36}/$"))

    # 2. The run page polls its progress fragment while the solver works.
    status = page.locator("#run-status")
    first_state = status.get_attribute("data-status")
    assert first_state in {RunStatus.QUEUED, RunStatus.RUNNING}, first_state
    with page.expect_response(lambda r: "/progress/" in r.url and r.status == 200):
        pass
    # A small roster may be proven optimal before the first poll lands: then the progress
    # figures are seen on the finished run instead of the moving bar.
    expect(status).to_have_attribute(
        "data-status", re.compile(f"^({RunStatus.RUNNING}|{RunStatus.FINISHED})$"), timeout=10_000
    )
    if status.get_attribute("data-status") == RunStatus.RUNNING:
        expect(page.locator("#run-bar")).to_be_visible()
    expect(status).to_contain_text("Best roster's cost")
    shot(page, request, "solving")
    expect(status).to_have_attribute("data-status", RunStatus.FINISHED, timeout=40_000)

    # 3. The outcome: cover reached, requests not granted, fairness; then publish.
    expect(page.locator("#coverage")).to_be_visible()
    expect(status).to_contain_text("Minimum cover met on every shift")
    expect(status).to_contain_text("Requests it could not grant")
    expect(status).to_contain_text("Fairness")
    shot(page, request, "solved")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Publish roster").click()
    expect(page.locator("#roster-status")).to_have_text("Published")
    roster = Roster.objects.get()
    assert roster.status == RosterStatus.PUBLISHED
    page.goto(f"{base}/rosters/{roster.pk}/grid/")
    expect(page.locator("#roster-grid")).to_contain_text("US-D")
    shot(page, request, "grid")

    # 4. The sonographer sees their shifts and downloads the calendar feed.
    mine = list(
        RosterAssignment.objects.filter(roster=roster, staff=sonographer).values_list(
            "on_date", flat=True
        )
    )
    assert mine, "the sonographer has shifts in the published roster"
    log_in(page, base, "sonographer")
    page.get_by_role("link", name="My shifts").click()
    expect(page.locator("#shift-list")).to_contain_text(f"{mine[0]:%a} {mine[0].day} ")
    expect(page.locator("#shift-list tbody tr")).to_have_count(len(mine))
    page.get_by_role("button", name="Make my calendar address").click()
    feed_url = page.locator("#feed-url").inner_text().strip()
    assert re.search(r"/rosters/feed/[\w-]+\.ics$", feed_url)
    shot(page, request, "my-shifts")
    response = page.request.get(feed_url)
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/calendar")
    events = Calendar.from_ical(response.body()).walk("VEVENT")
    starts = sorted(event.decoded("DTSTART").date() for event in events)
    assert starts == sorted(mine)
    assert page.console_errors == []
