"""The interface analyst looks for a patient's HL7 traffic: the console filtered by MRN, then one
message read field by field."""

from __future__ import annotations

import re
from typing import Any

import pytest

from radflow.audit.models import AccessLog
from radflow.core.roles import Role
from radflow.interfaces.models import Hl7Status
from tests.conftest import make_user
from tests.e2e.test_exam_path import log_in, shot
from tests.interfaces import hl7_messages
from tests.patients.factories import PatientFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_analyst_filters_by_mrn_and_reads_a_message_parsed(
    live_server: Any, page: Any, request: pytest.FixtureRequest
) -> None:
    from playwright.sync_api import expect

    analyst = make_user(Role.INTERFACE_ANALYST, "ianalyst")
    patient = PatientFactory.create(mrn="MRN004417")
    epic = hl7_messages.interface()
    wanted = hl7_messages.message(
        control="ADT-4417", mrn="MRN004417", interface=epic, status=Hl7Status.REJECTED
    )
    for n in range(3):
        hl7_messages.message(control=f"ADT-OTHER-{n}", mrn=f"MRN90000{n}", interface=epic)

    base = live_server.url
    log_in(page, base, "ianalyst")
    expect(page.locator("#hl7-card")).to_contain_text("Dead letters")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="HL7 messages").click()
    expect(page).to_have_url(re.compile(r"/interfaces/hl7/$"))
    expect(page.locator("#hl7-messages tbody tr")).to_have_count(4)

    page.get_by_label("MRN").fill("MRN004417")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#hl7-messages tbody tr")).to_have_count(1)
    row = page.locator(f"#msg-{wanted.pk}")
    expect(row).to_contain_text("ADT-4417")
    expect(row).to_contain_text("Rejected (AE)")
    shot(page, request, "filtered")

    row.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/interfaces/hl7/{wanted.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("ADT^A08")
    pid = page.locator("table", has=page.locator("caption", has_text="Patient Identification"))
    name_row = pid.locator("tr", has=page.locator("td", has_text="PID-5"))
    expect(name_row).to_contain_text("Patient Name")
    expect(name_row).to_contain_text("Family Name: OKONKWO")
    expect(page.locator("#hl7-raw")).to_contain_text("EVN|A08|")
    expect(page.get_by_role("link", name="Edit and replay")).to_be_visible()

    assert AccessLog.objects.filter(
        user=analyst, patient=patient, action="interfaces.hl7_message"
    ).exists()
    assert page.failed_requests == []
    assert page.console_errors == [], "the pages raised JavaScript errors (CSP?)"
