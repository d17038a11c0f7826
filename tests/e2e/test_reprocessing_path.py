"""The reprocessing room on a tablet: the next patient's exam is blocked by an endocavitary probe
that was not disinfected; the sonographer types the probe's serial (as a barcode scanner does),
records a passing high-level disinfection in a few taps, and the exam begins."""

from __future__ import annotations

from typing import Any

import pytest

from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.infection.models import Reprocessing
from tests.conftest import make_user
from tests.e2e.test_exam_path import log_in, shot
from tests.infection.factories import (
    arrived_exam,
    attach,
    begin,
    complete,
    endocavitary_probe,
    trophon,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

TABLET = {"width": 820, "height": 1180}  # a 10.9-inch tablet, portrait


def test_a_scanned_probe_gets_its_hld_and_the_blocked_exam_begins(
    live_server: Any, page: Any, request: pytest.FixtureRequest
) -> None:
    from playwright.sync_api import expect

    from radflow.core.roles import Role

    technologist = make_user(Role.TECHNOLOGIST)
    probe = endocavitary_probe()
    device = trophon()
    earlier, waiting = arrived_exam(technologist, minutes=0), arrived_exam(technologist, minutes=5)
    attach(earlier, probe, technologist, minutes=1)
    attach(waiting, probe, technologist, minutes=6)
    begin(earlier, technologist, minutes=10)
    complete(earlier, technologist, minutes=25)
    base = live_server.url
    page.set_viewport_size(TABLET)

    # 1. The waiting exam cannot begin: the probe touched the earlier patient since its HLD.
    log_in(page, base, "technologist")
    page.goto(f"{base}/exams/{waiting.pk}/begin/")
    page.get_by_role("button", name="Begin the exam").click()
    alert = page.get_by_role("alert").filter(has_text="The exam cannot begin")
    expect(alert).to_contain_text("Probe not reprocessed: IC5-9-D Endocavitary (EV-204417)")
    expect(page.locator("main")).to_contain_text("Only an infection preventionist may override")
    assert Exam.objects.get(pk=waiting.pk).state == ExamState.ARRIVED
    shot(page, request, "begin-refused")

    # 2. The reprocessing room: the scanner types the serial and Enter.
    page.get_by_role("link", name="reprocessing room").click()
    scan = page.get_by_label("Probe serial number")
    expect(scan).to_be_focused()
    scan.type("ev-204417")
    scan.press("Enter")
    card = page.locator("#probe-card")
    expect(card).to_contain_text("Needs reprocessing")
    expect(card).to_contain_text(f"Used on exam {earlier.accession_number}")
    shot(page, request, "probe-found")

    # 3. A few taps: the trophon, the indicator passed, the cycle passed, record.
    page.locator("[name=device]").select_option(str(device.pk))
    page.locator("fieldset", has_text="Chemical indicator").get_by_label("Pass", exact=True).check()
    page.locator("fieldset", has_text="Cycle result").get_by_label("Pass", exact=True).check()
    button = page.get_by_role("button", name="Record cycle")
    box = button.bounding_box()
    assert box is not None and box["height"] >= 44  # a target a gloved finger can hit
    button.click()
    expect(page.locator(".messages")).to_contain_text(
        "EV-204417: high-level disinfection recorded — ready for the next patient."
    )
    expect(page.locator("#probe-state")).to_contain_text("Ready")
    expect(page.get_by_label("Probe serial number")).to_be_focused()  # ready for the next scan
    cycle = Reprocessing.objects.get()
    assert (cycle.level, cycle.operator, cycle.device) == ("high", technologist, device)
    shot(page, request, "cycle-recorded")

    # 4. The exam begins.
    page.goto(f"{base}/exams/{waiting.pk}/begin/")
    expect(page.locator("main")).not_to_contain_text("Probe not reprocessed")
    page.get_by_role("button", name="Begin the exam").click()
    expect(page).to_have_url(f"{base}/exams/{waiting.pk}/")
    assert Exam.objects.get(pk=waiting.pk).state == ExamState.IN_PROGRESS
    # The only error the browser saw is the refused begin of step 1 (409 Conflict).
    assert [e for e in page.console_errors if "409 (Conflict)" not in e] == []
