"""The credential pages as each role sees them; forms with bad input change nothing."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from radflow.credentials.models import CECredit, CompetencySignoff, Credential, SupervisedCase
from radflow.staff.models import StaffMember
from tests.conftest import client_for
from tests.credentials.factories import (
    make_credential,
    make_plan,
    make_signoff,
    qualified_sonographer,
    sonographer,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("credential_reference")]

NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


def text(response: Any) -> str:
    return str(html.unescape(response.content.decode()))


@pytest.fixture(autouse=True)
def frozen() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def test_the_dashboard_shows_what_expires_when_lapsed_competencies_and_plans(
    coordinator: User,
) -> None:
    soon = sonographer(given_name="Ivy", family_name="Soon")
    make_credential(soon, "ardms-rdms-ab", expires_on=dt.date(2026, 12, 10))
    gone = sonographer(given_name="Gus", family_name="Gone")
    make_credential(gone, "bls", issued_on=dt.date(2024, 1, 1), expires_on=dt.date(2026, 11, 1))
    make_signoff(gone, "us-breast", on=dt.date(2025, 6, 1))
    make_plan(soon, "us-vascular-venous", due_on=dt.date(2026, 11, 1))
    page = text(client_for(coordinator).get(reverse("credentials:dashboard")))

    expired = page.index("Expired")
    within_30 = page.index("≤ 30 days")
    assert expired < page.index("Gus Gone") < within_30 < page.index("Ivy Soon")
    assert "BLS" in page and "ARDMS RDMS (AB)" in page
    assert "Breast ultrasound" in page and "Lapsed" in page
    assert "Vascular: venous" in page and "overdue" in page


def test_the_dashboard_costs_the_same_few_queries_however_many_people(
    coordinator: User, django_assert_max_num_queries: Callable[..., Any]
) -> None:
    for index in range(8):
        staff = qualified_sonographer()
        make_credential(staff, "bls", expires_on=dt.date(2026, 12, 1) + dt.timedelta(days=index))
        CompetencySignoff.objects.filter(staff=staff, competency_id="us-msk").update(
            valid_until=dt.date(2026, 1, 1)
        )
        make_plan(staff)
    client = client_for(coordinator)
    client.get(reverse("credentials:dashboard"))  # warm the session and permission caches
    with django_assert_max_num_queries(16):
        response = client.get(reverse("credentials:dashboard"))
    assert response.status_code == 200


def test_a_persons_page_shows_credentials_ce_shortfall_and_competencies(
    coordinator: User,
) -> None:
    staff = sonographer(given_name="Noor", family_name="Haddad")
    make_credential(staff, "ardms-rdms-ab", issued_on=dt.date(2020, 1, 15))
    CECredit.objects.create(
        staff=staff,
        activity="Doppler physics",
        provider="SDMS",
        completed_on=dt.date(2026, 2, 1),
        credits=12,
        category="sdms",
    )
    make_signoff(staff, "us-abdominal", on=dt.date(2026, 1, 15))
    page = text(client_for(coordinator).get(reverse("credentials:person", args=[staff.pk])))
    assert "ARDMS RDMS (AB)" in page
    assert "2026-01-15 to 2029-01-14" in page
    assert "18 short" in page
    assert "Abdominal ultrasound" in page and "2027-01-14" in page
    assert "Add a credential" in page


def test_a_sonographer_sees_their_own_record_but_nobody_elses(technologist: User) -> None:
    mine = sonographer(user=technologist, given_name="Mia", family_name="Own")
    make_credential(mine, "bls", issued_on=dt.date(2025, 1, 1), expires_on=dt.date(2026, 12, 3))
    other = sonographer()
    client = client_for(technologist)

    page = text(client.get(reverse("credentials:mine")))
    assert "My credentials" in page
    assert "BLS expires on 2026-12-03 (in 10 days)" in page
    assert "Add a credential" not in page
    assert client.get(reverse("credentials:person", args=[mine.pk])).status_code == 200
    assert client.get(reverse("credentials:person", args=[other.pk])).status_code == 403
    assert client.get(reverse("credentials:dashboard")).status_code == 403


def test_my_credentials_explains_an_unlinked_login(technologist: User) -> None:
    response = client_for(technologist).get(reverse("credentials:mine"))
    assert "not linked to a staff member" in text(response)


def test_director_and_auditor_read_but_may_not_edit(director: User, auditor: User) -> None:
    staff = sonographer()
    for user in (director, auditor):
        client = client_for(user)
        assert client.get(reverse("credentials:person", args=[staff.pk])).status_code == 200
        assert "Add a credential" not in text(
            client.get(reverse("credentials:person", args=[staff.pk]))
        )
        assert client.get(reverse("credentials:add_credential", args=[staff.pk])).status_code == 403


def add_credential(client: Client, staff: StaffMember, **fields: Any) -> Any:
    data = {
        "credential_type": "ardms-rdms-ab",
        "number": "998877",
        "issued_on": "2020-05-01",
        "expires_on": "2027-05-31",
        "verified": "on",
        "verification_note": "ARDMS online verification",
        **fields,
    }
    return client.post(reverse("credentials:add_credential", args=[staff.pk]), data)


def test_a_coordinator_adds_and_verifies_a_credential_with_its_evidence(
    coordinator: User,
) -> None:
    staff = sonographer()
    client = client_for(coordinator)
    card = SimpleUploadedFile("rdms-card.pdf", b"%PDF-1.4 card", "application/pdf")
    response = add_credential(client, staff, evidence=card)
    assert response.status_code == 302
    credential = Credential.objects.get(staff=staff)
    assert credential.verified_by == coordinator and credential.verified_at is not None
    assert credential.evidence.name.startswith("credentials/")
    download = client.get(reverse("credentials:credential_evidence", args=[credential.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 card"  # type: ignore[attr-defined]


def test_an_unverified_credential_is_verified_later_with_a_note(coordinator: User) -> None:
    staff = sonographer()
    client = client_for(coordinator)
    add_credential(client, staff, verified="", verification_note="")
    credential = Credential.objects.get(staff=staff)
    assert credential.verified_at is None
    url = reverse("credentials:credential_verify", args=[credential.pk])
    refused = client.post(url, {"note": ""})
    assert refused.status_code == 422
    assert "Say how the credential was checked" in text(refused)
    assert client.post(url, {"note": "ARDMS directory"}).status_code == 302
    credential.refresh_from_db()
    assert credential.verification_note == "ARDMS directory"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"issued_on": "2026-05-01", "expires_on": "2026-04-30"},
            "The expiry date must be after the issue date.",
        ),
        ({"credential_type": "ardms-rdms-xx"}, "Select a valid choice."),
        (
            {"issued_on": "2027-01-01", "expires_on": "2028-01-01"},
            "The issue date is in the future.",
        ),
        (
            {"evidence": SimpleUploadedFile("card.exe", b"MZ", "application/x-msdownload")},
            "Attach the certificate as a PDF, PNG, JPEG or TIFF file.",
        ),
        ({"verification_note": ""}, "Say how it was verified"),
    ],
)
def test_a_bad_credential_form_says_what_is_wrong_and_adds_nothing(
    coordinator: User, fields: dict[str, Any], message: str
) -> None:
    staff = sonographer()
    response = add_credential(client_for(coordinator), staff, **fields)
    assert response.status_code == 422
    assert message in text(response)
    assert not Credential.objects.exists()


def test_the_service_refuses_an_unknown_type_by_name(coordinator: User) -> None:
    from radflow.core.errors import ValidationFailed
    from radflow.credentials.services import credential_add

    with pytest.raises(ValidationFailed) as caught:
        credential_add(
            by=coordinator,
            staff=sonographer(),
            credential_type="ardms-rdms-xx",
            issued_on=dt.date(2020, 1, 1),
            expires_on=dt.date(2019, 1, 1),
        )
    assert caught.value.errors == {
        "credential_type": ["Unknown credential type “ardms-rdms-xx”."],
        "expires_on": ["The expiry date must be after the issue date."],
    }
    assert not Credential.objects.exists()


def test_ce_credits_are_logged_and_bad_ones_refused(coordinator: User) -> None:
    staff = sonographer()
    client = client_for(coordinator)
    url = reverse("credentials:log_ce", args=[staff.pk])
    good = {
        "activity": "Carotid duplex criteria",
        "provider": "SDMS",
        "completed_on": "2026-10-01",
        "credits": "1.5",
        "category": "sdms",
    }
    assert client.post(url, good).status_code == 302
    bad = client.post(url, {**good, "credits": "0", "completed_on": "2026-12-01"})
    assert bad.status_code == 422
    assert "The completion date is in the future." in text(bad)
    assert list(CECredit.objects.values_list("credits", flat=True)) == [1.5]


def test_sign_off_revalidate_and_plan_forms(coordinator: User) -> None:
    staff, lead = sonographer(), sonographer()
    client = client_for(coordinator)
    response = client.post(
        reverse("credentials:sign_off", args=[staff.pk]),
        {
            "competency": "us-abdominal",
            "signed_off_on": "2025-11-01",
            "observed_cases": "20",
            "assessor": str(lead.pk),
        },
    )
    assert response.status_code == 302
    signoff = CompetencySignoff.objects.get(staff=staff)
    assert signoff.valid_until == dt.date(2026, 10, 31)
    response = client.post(
        reverse("credentials:signoff_revalidate", args=[signoff.pk]),
        {"revalidated_on": "2026-11-20", "assessor": str(lead.pk)},
    )
    assert response.status_code == 302
    signoff.refresh_from_db()
    assert signoff.valid_until == dt.date(2027, 11, 19)

    response = client.post(
        reverse("credentials:add_plan", args=[staff.pk]),
        {
            "target": "us-vascular-venous",
            "required_cases": "30",
            "mentor": str(lead.pk),
            "started_on": "2026-11-01",
            "due_on": "2026-10-01",
            "status": "active",
        },
    )
    assert response.status_code == 422
    assert "The due date is before the start date." in text(response)
    plan = make_plan(staff, started_on=dt.date(2026, 11, 1), due_on=dt.date(2027, 3, 1))
    response = client.post(
        reverse("credentials:plan_case", args=[plan.pk]),
        {"performed_on": "2026-11-20", "note": "Bilateral DVT study"},
    )
    assert response.status_code == 302
    assert SupervisedCase.objects.get(plan=plan).note == "Bilateral DVT study"
    response = client.post(
        reverse("credentials:plan_edit", args=[plan.pk]),
        {
            "target": "us-vascular-venous",
            "required_cases": "10",
            "started_on": "2026-11-01",
            "due_on": "2027-02-01",
            "status": "cancelled",
        },
    )
    assert response.status_code == 302
    plan.refresh_from_db()
    assert (plan.required_cases, plan.status) == (10, "cancelled")
