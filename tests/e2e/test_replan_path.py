"""A re-plan's path through the pages: US-3 goes down in the morning with three patients booked in
it; the coordinator sees it on the schedule board, re-plans the day (a real background solve, not
the tests' inline mode), reviews who moves where and whom to call, applies the plan, and finds the
moved appointments on the board."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from radflow.catalog.reference import load_reference
from radflow.core.roles import Role
from radflow.exams.models import Exam
from radflow.notifications.models import Outbox
from radflow.orders.reference import load_workflow_reference
from radflow.planning.models import DayPlanRun, PlanStatus
from tests.conftest import make_user
from tests.e2e.test_exam_path import log_in, shot
from tests.patients.factories import PatientFactory
from tests.planning.factories import booked, department, local

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MONDAY = date(2030, 6, 3)


def test_a_room_going_down_is_replanned_from_the_board_and_applied(
    live_server: Any, page: Any, request: pytest.FixtureRequest, settings: Any
) -> None:
    from playwright.sync_api import expect

    settings.PLAN_RUN_SYNC = False  # the plan is solved in the background thread, as in production
    with time_machine.travel(local(MONDAY, 7, 30), tick=True):
        load_workflow_reference(result=load_reference())
        dept = department(MONDAY)
        us1, us2, us3 = dept.rooms
        booked(dept, local(MONDAY, 9), room=us1, staff=dept.staff[0])
        booked(dept, local(MONDAY, 9), room=us2, staff=dept.staff[1])
        in_us3 = [
            booked(
                dept,
                local(MONDAY, hour, minute),
                room=us3,
                staff=dept.staff[2],
                patient=PatientFactory.create(email=f"us3-{hour}{minute}@example.org"),
            )
            for hour, minute in ((9, 0), (9, 40), (10, 20))
        ]
        make_user(Role.COORDINATOR)
        base = live_server.url
        board = f"{base}{reverse('scheduling:board')}?site={dept.site.code}&date={MONDAY}"

        # 1. The morning board: three patients in US-3.
        log_in(page, base, "coordinator")
        page.goto(board)
        for exam in in_us3:
            expect(page.locator(f"#exam-{exam.accession_number}")).to_have_attribute(
                "data-room", str(us3.pk)
            )

        # 2. US-3 goes down: the coordinator sets its status in its column of the board.
        column = page.locator(f'section.board-col[data-room="{us3.pk}"]')
        column.get_by_text("Room status").click()
        column.get_by_label("Status").select_option("down")
        column.get_by_label("Note").fill("Probe failure")
        column.get_by_role("button", name="Save").click()
        expect(page.locator(f'section.board-col.is-down[data-room="{us3.pk}"]')).to_be_visible()
        shot(page, request, "room-down")

        # 3. Re-plan the day from the board; the plan page polls while it solves.
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Re-plan the day").click()
        expect(page).to_have_url(re.compile(r"/planning/runs/[0-9a-f-]{36}/$"))
        expect(page.locator("#plan-trigger")).to_contain_text("Room US-3 is down (Probe failure)")
        status = page.locator("#plan-status")
        expect(status).to_have_attribute("data-status", PlanStatus.DONE, timeout=30_000)

        # 4. The review: each US-3 patient moves out of US-3; who must be called is marked.
        run = DayPlanRun.objects.get()
        changes = {c["exam"]: c for c in run.result["changes"]}
        rows = page.locator("#plan-changes tbody tr")
        for exam in in_us3:
            row = page.locator(f'#plan-changes tr[data-exam="{exam.pk}"]')
            expect(row).to_contain_text(exam.accession_number)
            expect(row).to_contain_text("US-3")
            if changes[str(exam.pk)]["must_call"]:
                expect(row).to_contain_text("Call")
        expect(rows).to_have_count(len(changes))
        figures = page.locator("#plan-figures")
        expect(figures).to_contain_text("First-come dispatch")
        broken = figures.locator("tr", has_text="Bookings that no longer fit")
        expect(broken.locator("td").nth(0)).to_have_text("3")  # now: three in a down room
        expect(broken.locator("td").nth(1)).to_have_text("0")  # the plan: none
        shot(page, request, "review")

        # 5. Apply: a confirmation, then the plan is applied and the patients emailed.
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Apply plan").click()
        expect(page.get_by_text(re.compile(r"Plan applied: \d+ appointment"))).to_be_visible()
        expect(status).to_have_attribute("data-status", PlanStatus.APPLIED)
        told = [c for c in changes.values() if c["time_changed"]]
        assert Outbox.objects.count() == len(told)

        # 6. The board shows the moved appointments where the plan put them.
        page.get_by_role("link", name="Board of this day").click()
        for exam in in_us3:
            moved = Exam.objects.get(pk=exam.pk)
            block = page.locator(f"#exam-{exam.accession_number}")
            expect(block).to_have_attribute("data-room", str(moved.room_id))
            assert moved.room_id != us3.pk
            assert str(moved.room_id) == changes[str(exam.pk)]["after"]["room"]
        shot(page, request, "board-after")
        assert page.console_errors == []
