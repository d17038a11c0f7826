"""A coordinator's first minutes: log in, find a patient, open the record, and leave a trace."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from radflow.audit.models import AccessLog
from radflow.core.roles import Role
from radflow.patients.models import AdministrativeSex, Patient
from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import RESULTS_DIR

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_coordinator_logs_in_finds_a_patient_and_the_read_is_logged(
    live_server: Any, page: Any, request: pytest.FixtureRequest
) -> None:
    from playwright.sync_api import expect

    user = make_user(Role.COORDINATOR, "mgarcia")
    user.first_name, user.last_name = "Maria", "Garcia"
    user.save(update_fields=["first_name", "last_name"])
    patient = Patient.objects.create(
        mrn="MRN004417",
        family_name="Okonkwo",
        given_name="Adaeze",
        middle_name="Chioma",
        birth_date=dt.date(1987, 4, 23),
        sex=AdministrativeSex.FEMALE,
        phone="+1 617 555 0142",
        address_line="48 Beacon Street",
        city="Boston",
        state="MA",
        postal_code="02108",
    )

    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("heading", name="Log in to RadFlow")).to_be_visible()
    page.get_by_label("Username").fill("mgarcia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Maria")
    expect(page.get_by_role("heading", name="Your work as Coordinator")).to_be_visible()
    expect(page.locator(".user-roles")).to_have_text("Coordinator")
    page.screenshot(path=str(RESULTS_DIR / f"{request.node.name}-home.png"), full_page=True)

    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Patients").click()
    expect(page).to_have_url(re.compile(r"/patients/$"))
    expect(nav.get_by_role("link", name="Patients")).to_have_attribute("aria-current", "page")

    page.get_by_role("searchbox").fill("Okonkwo")
    page.get_by_role("searchbox").press("Enter")
    patient_link = page.get_by_role("link", name=patient.display_name)
    expect(patient_link).to_be_visible()
    patient_link.click()

    expect(page).to_have_url(re.compile(rf"/patients/{patient.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("OKONKWO")
    expect(page.locator("main")).to_contain_text("MRN004417")

    opened = AccessLog.objects.filter(user=user, patient=patient, action="patient.detail")
    assert opened.count() == 1
    assert opened.get().channel == "web"
    assert opened.get().ip_address == "127.0.0.1"
    assert page.failed_requests == []
    assert page.console_errors == [], "the pages raised JavaScript errors (CSP?)"
