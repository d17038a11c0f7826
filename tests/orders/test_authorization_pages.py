"""The pre-authorization pages as billing, the coordinator and the scheduler use them: a payer
rule sends a triaged exam to the queue, the scheduler asks the payer and logs the call, the
approval moves the exam on, and an approval that ends before the booked day is flagged."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from radflow.audit.models import AccessLog
from radflow.billing.models import Payer
from radflow.catalog.models import ProcedureCode
from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.exams.services import exam_schedule, exam_triage
from radflow.orders.models import Authorization, AuthStatus, Order, PayerAuthRule
from radflow.orders.services import (
    authorization_contact_add,
    authorization_decide,
    authorization_request,
    payer_auth_rule_save,
)
from tests.billing.factories import PayerFactory
from tests.conftest import client_for
from tests.exams.factories import next_slot, ultrasound_room
from tests.orders.factories import make_order
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.usefixtures("reference")

QUEUE = reverse("authorizations:queue")
RULES = reverse("authorizations:rules")
#: us-abdomen-complete's only procedure code.
ABDOMEN = "76700"


def abdomen_code() -> ProcedureCode:
    return ProcedureCode.objects.get(code=ABDOMEN)


def request_url(order: Order) -> str:
    return reverse("authorizations:request", kwargs={"pk": order.pk})


def detail_url(auth: Authorization) -> str:
    return reverse("authorizations:detail", kwargs={"pk": auth.pk})


def decide_url(auth: Authorization) -> str:
    return reverse("authorizations:decide", kwargs={"pk": auth.pk})


def contact_url(auth: Authorization) -> str:
    return reverse("authorizations:contact_add", kwargs={"pk": auth.pk})


def section(page: str, section_id: str) -> str:
    """The HTML of one queue section, so a test can say which list a patient is on."""
    start = page.index(f'<section class="card" id="{section_id}"')
    return page[start : page.index("</section>", start)]


def text(response: Any) -> str:
    content: bytes = response.content
    return content.decode()


@pytest.fixture
def aetna() -> Payer:
    return PayerFactory.create(name="Aetna", plan="Choice POS II")


@pytest.fixture
def aetna_rule(aetna: Payer, billing_user: User) -> PayerAuthRule:
    return payer_auth_rule_save(
        by=billing_user,
        payer=aetna,
        procedure_code=abdomen_code(),
        auth_required=True,
        lead_time_days=3,
    )


def triaged_order(coordinator: User, payer: Payer, **patient: Any) -> Order:
    order = make_order(by=coordinator, payer=payer, patient=PatientFactory.create(**patient))
    exam_triage(exam=order.exam, by=coordinator)
    order.exam.refresh_from_db()
    return order


def approve(auth: Authorization, by: User, *, days: int = 5) -> Authorization:
    today = timezone.localdate()
    return authorization_decide(
        authorization=auth,
        by=by,
        status=AuthStatus.APPROVED,
        number="AET-778812",
        valid_from=today,
        valid_to=today + dt.timedelta(days=days),
        approved_units=1,
    )


def book(exam: Exam, by: User, *, days_ahead: int, override: str = "") -> Exam:
    return exam_schedule(
        exam=exam,
        by=by,
        room=ultrasound_room(),
        start=next_slot(hours=24 * days_ahead),
        override_reason=override,
    )


# --- the whole path ---------------------------------------------------------------------------


def test_a_rule_set_by_billing_sends_a_triaged_exam_to_the_queue(
    billing_user: User, coordinator: User, aetna: Payer
) -> None:
    billing = client_for(billing_user)
    response = billing.post(
        RULES,
        {"payer": aetna.pk, "procedure_code": ABDOMEN, "auth_required": "on", "lead_time_days": 3},
    )
    assert response.status_code == 302
    listing = text(billing.get(response["Location"]))
    assert "Aetna — Choice POS II" in listing and ABDOMEN in listing and "3 days" in listing

    order = triaged_order(coordinator, aetna, family_name="Okafor", given_name="Ngozi")
    assert order.exam.state == ExamState.PENDING_AUTH

    awaiting = section(text(client_for(coordinator).get(QUEUE)), "awaiting")
    assert "OKAFOR, Ngozi" in awaiting
    assert "Aetna — Choice POS II" in awaiting and ABDOMEN in awaiting and "3 days" in awaiting
    assert "Awaiting the payer (1)" in awaiting


def test_the_scheduler_requests_the_authorization_and_logs_the_call(
    aetna_rule: PayerAuthRule, coordinator: User, scheduler: User
) -> None:
    order = triaged_order(coordinator, aetna_rule.payer, family_name="Brennan")
    client = client_for(scheduler)

    form = text(client.get(request_url(order)))
    assert "BRENNAN" in form and ABDOMEN in form and "3 days" in form

    response = client.post(request_url(order), {"note": "Sent through the Availity portal."})
    auth = Authorization.objects.get(order=order)
    assert response.status_code == 302 and response["Location"] == detail_url(auth)
    assert auth.status == AuthStatus.PENDING and auth.created_by == scheduler

    response = client.post(
        contact_url(auth),
        {
            "contact-channel": "phone",
            "contact-contact_name": "Dana at Aetna provider services",
            "contact-reference": "CALL-55102",
            "contact-note": "Clinicals faxed; answer expected Thursday.",
        },
        follow=True,
    )
    page = text(response)
    assert "Contact logged." in page
    assert "Phone" in page and "Dana at Aetna provider services" in page and "CALL-55102" in page

    awaiting = section(text(client.get(QUEUE)), "awaiting")
    assert "BRENNAN" in awaiting and "Phone" in awaiting and "Pending" in awaiting


def test_a_second_request_while_one_is_pending_is_refused(
    aetna_rule: PayerAuthRule, coordinator: User, scheduler: User
) -> None:
    order = triaged_order(coordinator, aetna_rule.payer)
    authorization_request(order=order, by=scheduler)
    response = client_for(scheduler).post(request_url(order), {"note": ""})
    assert response.status_code == 422
    assert "A pending authorization is already open for this order." in text(response)
    assert order.authorizations.count() == 1


def test_approving_without_number_or_dates_shows_errors_and_changes_nothing(
    aetna_rule: PayerAuthRule, coordinator: User, scheduler: User
) -> None:
    order = triaged_order(coordinator, aetna_rule.payer)
    auth = authorization_request(order=order, by=scheduler)

    response = client_for(scheduler).post(decide_url(auth), {"decide-status": "approved"})

    assert response.status_code == 422
    page = text(response)
    assert "An approval needs the payer&#x27;s authorization number." in page
    assert "An approval needs the dates it is valid from and to." in page
    auth.refresh_from_db()
    order.exam.refresh_from_db()
    assert auth.status == AuthStatus.PENDING and auth.decided_at is None
    assert order.exam.state == ExamState.PENDING_AUTH


def test_dates_in_the_wrong_order_are_refused(
    aetna_rule: PayerAuthRule, coordinator: User, scheduler: User
) -> None:
    order = triaged_order(coordinator, aetna_rule.payer)
    auth = authorization_request(order=order, by=scheduler)
    response = client_for(scheduler).post(
        decide_url(auth),
        {
            "decide-status": "approved",
            "decide-number": "AET-1",
            "decide-valid_from": "2031-03-10",
            "decide-valid_to": "2031-03-01",
        },
    )
    assert response.status_code == 422
    assert "The authorization ends before it starts." in text(response)
    auth.refresh_from_db()
    assert auth.status == AuthStatus.PENDING


def test_approving_with_number_and_dates_moves_the_exam_to_authorized(
    aetna_rule: PayerAuthRule, coordinator: User, scheduler: User
) -> None:
    order = triaged_order(coordinator, aetna_rule.payer, family_name="Haddad")
    auth = authorization_request(order=order, by=scheduler)
    today = timezone.localdate()

    response = client_for(scheduler).post(
        decide_url(auth),
        {
            "decide-status": "approved",
            "decide-number": "AET-778812",
            "decide-valid_from": today.isoformat(),
            "decide-valid_to": (today + dt.timedelta(days=30)).isoformat(),
            "decide-approved_units": "1",
            "decide-note": "Approved by phone.",
        },
        follow=True,
    )

    page = text(response)
    assert "Recorded as approved; the exam is authorized." in page
    assert "AET-778812" in page
    auth.refresh_from_db()
    order.exam.refresh_from_db()
    assert auth.status == AuthStatus.APPROVED and auth.approved_units == 1
    assert order.exam.state == ExamState.AUTHORIZED
    assert "HADDAD" not in section(text(client_for(coordinator).get(QUEUE)), "awaiting")


def test_a_denial_keeps_the_exam_waiting_and_lists_it_as_denied(
    aetna_rule: PayerAuthRule, coordinator: User, scheduler: User
) -> None:
    order = triaged_order(coordinator, aetna_rule.payer, family_name="Ivanova")
    auth = authorization_request(order=order, by=scheduler)
    response = client_for(scheduler).post(
        decide_url(auth), {"decide-status": "denied", "decide-note": "Not medically necessary."}
    )
    assert response.status_code == 302
    order.exam.refresh_from_db()
    assert order.exam.state == ExamState.PENDING_AUTH

    page = text(client_for(coordinator).get(QUEUE))
    assert "IVANOVA" in section(page, "denied")
    assert "IVANOVA" not in section(page, "awaiting")
    assert "Request again" in section(page, "denied")


# --- booked dates -------------------------------------------------------------------------------


def test_an_approval_ending_before_the_booked_day_is_flagged_on_the_queue_and_the_record(
    aetna_rule: PayerAuthRule, coordinator: User, scheduler: User
) -> None:
    order = triaged_order(coordinator, aetna_rule.payer, family_name="Nakamura")
    auth = approve(authorization_request(order=order, by=scheduler), scheduler, days=5)
    # Booked after the approval ends: allowed only with the coordinator's override and a reason.
    exam = book(order.exam, coordinator, days_ahead=10, override="Extension requested from Aetna.")
    booked = timezone.localdate(exam.scheduled_start)

    page = text(client_for(scheduler).get(QUEUE))
    expiring = section(page, "expiring")
    assert "NAKAMURA" in expiring and "AET-778812" in expiring
    assert f"Ends {auth.valid_to:%Y-%m-%d}" in expiring and f"{booked:%Y-%m-%d}" in expiring
    assert "Expiring before the booked date (1)" in expiring

    record = text(client_for(scheduler).get(detail_url(auth)))
    assert "Expires before the booked date" in record
    assert f"ends {auth.valid_to:%Y-%m-%d}, but the exam is booked for {booked:%Y-%m-%d}" in record


def test_an_approval_covering_the_booked_day_is_not_flagged(
    aetna_rule: PayerAuthRule, coordinator: User, scheduler: User
) -> None:
    order = triaged_order(coordinator, aetna_rule.payer, family_name="Castillo")
    auth = approve(authorization_request(order=order, by=scheduler), scheduler, days=30)
    book(order.exam, scheduler, days_ahead=4)

    assert "CASTILLO" not in section(text(client_for(scheduler).get(QUEUE)), "expiring")
    assert "Expires before the booked date" not in text(client_for(scheduler).get(detail_url(auth)))


def test_an_exam_booked_before_the_payer_answers_stays_on_the_queue_with_its_date(
    aetna_rule: PayerAuthRule, coordinator: User, scheduler: User
) -> None:
    order = triaged_order(coordinator, aetna_rule.payer, family_name="Mbeki")
    authorization_request(order=order, by=scheduler)
    exam = book(order.exam, scheduler, days_ahead=5)  # after the payer's 3-day lead time

    awaiting = section(text(client_for(coordinator).get(QUEUE)), "awaiting")
    assert "MBEKI" in awaiting
    assert f"{timezone.localdate(exam.scheduled_start):%Y-%m-%d}" in awaiting


# --- filters and the rule pages -----------------------------------------------------------------


def test_the_queue_filters_by_payer(
    aetna_rule: PayerAuthRule, coordinator: User, billing_user: User
) -> None:
    cigna = PayerFactory.create(name="Cigna", plan="Open Access Plus")
    payer_auth_rule_save(
        by=billing_user,
        payer=cigna,
        procedure_code=abdomen_code(),
        auth_required=True,
        lead_time_days=5,
    )
    triaged_order(coordinator, aetna_rule.payer, family_name="Aetnapatient")
    triaged_order(coordinator, cigna, family_name="Cignapatient")

    page = text(client_for(coordinator).get(QUEUE, {"payer": str(cigna.pk)}))
    assert "CIGNAPATIENT" in page and "AETNAPATIENT" not in page
    assert "Awaiting the payer (1)" in page


def test_billing_changes_a_rule_lead_time_from_its_edit_page(
    aetna_rule: PayerAuthRule, billing_user: User
) -> None:
    url = reverse("authorizations:rule_edit", kwargs={"pk": aetna_rule.pk})
    client = client_for(billing_user)
    assert "Aetna — Choice POS II" in text(client.get(url))

    response = client.post(url, {"auth_required": "on", "lead_time_days": 7}, follow=True)

    assert "7 days" in text(response)
    aetna_rule.refresh_from_db()
    assert aetna_rule.lead_time_days == 7 and aetna_rule.auth_required


def test_a_rule_with_a_negative_lead_time_is_refused(aetna: Payer, billing_user: User) -> None:
    response = client_for(billing_user).post(
        RULES, {"payer": aetna.pk, "procedure_code": ABDOMEN, "lead_time_days": -2}
    )
    assert response.status_code == 422
    assert not PayerAuthRule.objects.exists()


# --- who may do what ----------------------------------------------------------------------------


def test_a_technologist_reads_the_record_but_cannot_decide_or_log_contacts(
    aetna_rule: PayerAuthRule, coordinator: User, scheduler: User, technologist: User
) -> None:
    order = triaged_order(coordinator, aetna_rule.payer)
    auth = authorization_request(order=order, by=scheduler)
    client = client_for(technologist)

    record = client.get(detail_url(auth))
    assert record.status_code == 200 and "Record decision" not in text(record)

    today = timezone.localdate().isoformat()
    denied = client.post(
        decide_url(auth),
        {
            "decide-status": "approved",
            "decide-number": "X1",
            "decide-valid_from": today,
            "decide-valid_to": today,
        },
    )
    assert denied.status_code == 403
    assert client.post(contact_url(auth), {"contact-channel": "fax"}).status_code == 403
    assert client.get(request_url(order)).status_code == 403
    auth.refresh_from_db()
    assert auth.status == AuthStatus.PENDING and not auth.contacts.exists()


def test_a_scheduler_cannot_see_or_edit_payer_rules(
    aetna: Payer, aetna_rule: PayerAuthRule, scheduler: User
) -> None:
    client = client_for(scheduler)
    edit = reverse("authorizations:rule_edit", kwargs={"pk": aetna_rule.pk})
    assert client.get(RULES).status_code == 403
    assert client.get(edit).status_code == 403
    posted = client.post(
        RULES,
        {"payer": aetna.pk, "procedure_code": ABDOMEN, "auth_required": "", "lead_time_days": 0},
    )
    assert posted.status_code == 403
    aetna_rule.refresh_from_db()
    assert aetna_rule.auth_required


def test_anonymous_visitors_are_sent_to_log_in() -> None:
    response = Client().get(QUEUE)
    assert response.status_code == 302 and "/login" in response["Location"]


# --- audit and cost -----------------------------------------------------------------------------


def test_the_queue_logs_each_patient_shown_once(
    aetna_rule: PayerAuthRule, coordinator: User, scheduler: User
) -> None:
    shown = [triaged_order(coordinator, aetna_rule.payer) for _ in range(2)]
    denied = triaged_order(coordinator, aetna_rule.payer)
    authorization_decide(
        authorization=authorization_request(order=denied, by=scheduler),
        by=scheduler,
        status=AuthStatus.DENIED,
    )
    AccessLog.objects.all().delete()

    client_for(scheduler).get(QUEUE)

    rows = AccessLog.objects.filter(action="authorization.queue")
    assert sorted(str(r.patient_id) for r in rows) == sorted(
        str(o.patient_id) for o in [*shown, denied]
    )
    assert len({r.at for r in rows}) == 1  # one access_record call for the whole page
    assert {r.username for r in rows} == {"scheduler"} and {r.channel for r in rows} == {"web"}


def test_the_record_and_the_request_form_are_audited_reads(
    aetna_rule: PayerAuthRule, coordinator: User, scheduler: User, director: User
) -> None:
    order = triaged_order(coordinator, aetna_rule.payer)
    auth = authorization_request(order=order, by=scheduler)
    authorization_contact_add(authorization=auth, by=scheduler, channel="portal")
    AccessLog.objects.all().delete()

    client_for(director).get(detail_url(auth))
    client_for(scheduler).get(request_url(order))

    rows = list(AccessLog.objects.order_by("seq"))
    assert [(r.action, r.username, r.patient_id) for r in rows] == [
        ("authorization.detail", "director", order.patient_id),
        ("authorization.request", "scheduler", order.patient_id),
    ]


def test_the_queue_costs_the_same_few_queries_however_many_rows(
    aetna_rule: PayerAuthRule, coordinator: User, scheduler: User
) -> None:
    def add_rows(count: int) -> None:
        for _ in range(count):
            order = triaged_order(coordinator, aetna_rule.payer)
            auth = authorization_request(order=order, by=scheduler)
            authorization_contact_add(authorization=auth, by=scheduler, channel="phone")

    def queries_for_queue() -> int:
        client = client_for(coordinator)
        client.get(QUEUE)  # warm the session and permission caches
        with CaptureQueriesContext(connection) as queries:
            assert client.get(QUEUE).status_code == 200
        return len(queries)

    add_rows(1)
    few = queries_for_queue()
    add_rows(5)
    assert queries_for_queue() == few <= 25
