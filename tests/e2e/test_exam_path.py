"""One patient's whole path, through the pages only, by the people who do each step.

Referral entered incomplete → completed from the queue → triaged STAT (on the STAT board) →
scheduled → arrived and screened (consent signed on screen) → begun → ended → reported → signed →
on the billing work list. Each step is checked the way the next person sees it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone

from radflow.catalog.reference import load_reference
from radflow.core.roles import Role
from radflow.exams.models import Exam
from radflow.intake.models import Consent
from radflow.orders.models import Order
from radflow.orders.reference import load_workflow_reference
from radflow.patients.models import AdministrativeSex, Patient
from radflow.scheduling.models import Modality
from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import RESULTS_DIR
from tests.scheduling.factories import RoomFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page: Any, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


def shot(page: Any, request: pytest.FixtureRequest, step: str) -> None:
    page.screenshot(path=str(RESULTS_DIR / f"{request.node.name}-{step}.png"), full_page=True)


def test_a_referral_goes_from_incomplete_to_the_billing_list(
    live_server: Any, page: Any, request: pytest.FixtureRequest
) -> None:
    from playwright.sync_api import expect

    load_workflow_reference(result=load_reference())
    room = RoomFactory.create(
        name="Ultrasound 4", code="US-04", modality=Modality.objects.get(code="US")
    )
    for role in (Role.COORDINATOR, Role.TECHNOLOGIST, Role.RADIOLOGIST, Role.BILLING):
        make_user(role)
    patient = Patient.objects.create(
        mrn="MRN208811",
        family_name="Nakamura",
        given_name="Hana",
        birth_date=dt.date(1979, 8, 2),
        sex=AdministrativeSex.FEMALE,
    )
    base = live_server.url

    # 1. The coordinator enters the referral without its indication or diagnosis.
    log_in(page, base, "coordinator")
    page.goto(f"{base}/orders/new/?patient={patient.pk}")
    page.locator("[name=exam_type]").select_option("us-vascular-access")
    page.locator("[name=ordering_provider]").fill("Dr. Jonas Weber")
    page.get_by_role("button", name="Enter referral").click()
    expect(page).to_have_url(re.compile(r"/orders/[0-9a-f-]{36}/$"))
    order = Order.objects.get(patient=patient)
    accession = order.exam.accession_number
    assert not order.is_complete

    # 2. It waits on the incomplete queue with what is missing; the call is logged and the
    #    referral completed from there.
    page.goto(f"{base}/orders/incomplete/")
    row = page.locator(f"#incomplete-{order.pk}")
    expect(row).to_contain_text("Clinical indication")
    expect(row).to_contain_text("ICD-10-CM diagnosis code")
    row.locator("select[name=action]").select_option("called")
    row.locator("input[name=note]").fill("Asked the office for indication and codes")
    row.get_by_role("button", name="Log").click()
    expect(page.locator(f"#incomplete-{order.pk}")).to_contain_text("Called the referrer")
    shot(page, request, "incomplete-queue")
    page.goto(f"{base}/orders/{order.pk}/edit/")
    page.locator("[name=clinical_indication]").fill("Long-term antibiotics; PICC line placement.")
    page.locator("[name=diagnosis_codes]").fill("a41.9")
    page.locator("[name=signed_order]").check()
    page.get_by_role("button", name="Save changes").click()
    expect(page).to_have_url(f"{base}/orders/{order.pk}/")
    expect(page.locator("body")).to_contain_text("A41.9")
    page.goto(f"{base}/orders/incomplete/")
    expect(page.locator(f"#incomplete-{order.pk}")).to_have_count(0)

    # 3. Triaged STAT: it appears on the STAT board with its countdown.
    page.goto(f"{base}/exams/{order.exam.pk}/triage/")
    page.locator("[name=priority]").select_option("stat")
    page.locator("[name=protocol]").fill("Right basilic vein mapping")
    page.get_by_role("button", name="Save triage").click()
    expect(page).to_have_url(f"{base}/exams/{order.exam.pk}/")
    page.goto(f"{base}/worklists/stat/")
    board = page.locator("main")
    expect(board).to_contain_text(accession)
    expect(board).to_contain_text(re.compile(r"\d+ min"))
    shot(page, request, "stat-board")

    # 4. Scheduled in a free ultrasound room, then the patient arrives.
    start = timezone.localtime() + dt.timedelta(hours=1)
    page.goto(f"{base}/exams/{order.exam.pk}/schedule/")
    page.locator("[name=room]").select_option(str(room.pk))
    page.locator("[name=start]").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Book").click()
    expect(page).to_have_url(f"{base}/exams/{order.exam.pk}/")
    expect(page.locator("main")).to_contain_text("Ultrasound 4")
    page.goto(f"{base}/exams/{order.exam.pk}/arrive/")
    page.get_by_role("button", name="Check the patient in").click()
    expect(page).to_have_url(f"{base}/exams/{order.exam.pk}/")
    assert Exam.objects.get(pk=order.exam.pk).state == "arrived"

    # 5. The sonographer cannot begin before intake: identity, screening and consent.
    log_in(page, base, "technologist")
    page.goto(f"{base}/exams/{order.exam.pk}/begin/")
    expect(page.locator("main")).to_contain_text("Hard stops not yet met")
    page.get_by_role("button", name="Begin the exam").click()
    expect(page.locator("main")).to_contain_text(re.compile("cannot begin", re.I))
    assert Exam.objects.get(pk=order.exam.pk).state == "arrived"

    page.goto(f"{base}/intake/{order.exam.pk}/")
    identity = page.locator(f"form[action='/intake/{order.exam.pk}/identity/']")
    identity.locator("[name$=family_name]").fill("NAKAMURA")
    identity.locator("[name$=given_name]").fill("hana")
    identity.locator("[name$=birth_date]").fill("1979-08-02")
    identity.get_by_role("button").click()
    screening = page.locator(f"form[action='/intake/{order.exam.pk}/screening/']").first
    screening.locator("[name=answer]").select_option("no")
    screening.locator("[name=result]").select_option("cleared")
    screening.get_by_role("button", name="Save").click()
    consent = page.locator(f"form[action='/intake/{order.exam.pk}/consent/']")
    consent.locator("[name$=signer_name]").fill("Hana Nakamura")
    canvas = consent.locator("canvas")
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 40, box["y"] + 120)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 40 + step * 25, box["y"] + 120 - (step % 3) * 20)
    page.mouse.up()
    consent.get_by_role("button", name="Save consent").click()
    expect(page.locator("#consent")).to_contain_text("Captured")
    shot(page, request, "intake")
    assert Consent.objects.get(exam=order.exam).signature_svg.startswith("M")

    # 6. Begun and ended by the sonographer.
    page.goto(f"{base}/exams/{order.exam.pk}/begin/")
    page.get_by_role("button", name="Begin the exam").click()
    expect(page).to_have_url(f"{base}/exams/{order.exam.pk}/")
    page.goto(f"{base}/exams/{order.exam.pk}/complete/")
    page.get_by_role("button", name="Complete the exam").click()
    expect(page).to_have_url(f"{base}/exams/{order.exam.pk}/")

    # 7. Reported and signed by the radiologist.
    log_in(page, base, "radiologist")
    page.goto(f"{base}/worklists/radiologist/")
    expect(page.locator("main")).to_contain_text(accession)
    page.goto(f"{base}/exams/{order.exam.pk}/report/")
    page.locator("[name=text]").fill("Patent right basilic vein, 4.1 mm. Suitable for PICC.")
    page.get_by_role("button", name="Save report").click()
    page.goto(f"{base}/exams/{order.exam.pk}/sign/")
    page.get_by_role("button", name="Sign the report").click()
    expect(page).to_have_url(f"{base}/exams/{order.exam.pk}/")

    # 8. Billing sees it on the signed-not-billed list.
    log_in(page, base, "billing")
    page.goto(f"{base}/worklists/billing/")
    expect(page.locator("main")).to_contain_text(accession)
    shot(page, request, "billing-list")

    exam = Exam.objects.get(pk=order.exam.pk)
    assert exam.state == "signed"
    steps = list(exam.transitions.values_list("action", flat=True))
    assert steps == [
        "triage",
        "authorize",
        "schedule",
        "arrive",
        "begin",
        "complete",
        "report",
        "sign",
    ]
    times = [exam.requested_at, exam.triaged_at, exam.scheduled_at, exam.arrived_at]
    times += [exam.in_progress_at, exam.completed_at, exam.reported_at, exam.signed_at]
    assert all(t is not None for t in times)
    assert times == sorted(t for t in times if t is not None)
    # The one failed request is the refused begin (409), which the page showed as a message.
    unexpected = [e for e in page.console_errors if "409 (Conflict)" not in e]
    assert unexpected == []
    assert len(page.console_errors) == 1
