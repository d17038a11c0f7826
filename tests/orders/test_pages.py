"""The referral pages from the coordinator's and scheduler's side: entry, the record, the
incomplete queue with its outreach log, the completeness rules, and who may open what."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from radflow.audit.models import AccessLog
from radflow.core.exam_states import ExamState
from radflow.orders.models import CompletenessRule, Order, OutreachEntry, Priority
from radflow.orders.services import outreach_log
from radflow.patients.models import Patient
from tests.conftest import client_for
from tests.exams.factories import advance
from tests.orders.factories import COMPLETE_FIELDS, make_order
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.usefixtures("reference")


def referral(**overrides: Any) -> dict[str, Any]:
    """What a coordinator types for a complete abdominal ultrasound referral."""
    data: dict[str, Any] = {
        "exam_type": "us-abdomen-complete",
        "priority": "routine",
        "patient_class": "outpatient",
        "ordering_provider": "Dr. Amelia Hart",
        "ordering_provider_npi": "1234567893",
        "ordering_location": "Riverside Family Medicine",
        "ordering_phone": "555-0142",
        "clinical_indication": "RUQ pain after fatty meals for three weeks.",
        "signed_order": "on",
        "diagnosis_codes": "r10.11, K80.20",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def create_url(patient: Patient) -> str:
    return reverse("orders:create") + f"?patient={patient.pk}"


def detail_url(order: Order) -> str:
    return reverse("orders:detail", kwargs={"pk": order.pk})


def page_text(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --- entering a referral -----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_complete_referral_lands_on_its_record_with_coded_diagnoses(coordinator: User) -> None:
    patient = PatientFactory.create()
    client = client_for(coordinator)
    response = client.post(create_url(patient), referral())
    order = Order.objects.get(patient=patient)
    assert response.status_code == 302
    assert response["Location"] == detail_url(order)
    page = page_text(client, detail_url(order))
    assert order.exam.accession_number in page
    assert "R10.11</code> Right upper quadrant pain" in page
    assert "K80.20</code> Calculus of gallbladder without cholecystitis" in page
    assert "Documentation missing" not in page
    assert order.is_complete and order.received_by == coordinator


@pytest.mark.django_db
def test_a_referral_missing_documentation_is_queued_with_what_is_missing(
    scheduler: User,
) -> None:
    patient = PatientFactory.create(family_name="Okafor")
    client = client_for(scheduler)
    client.post(
        create_url(patient), referral(clinical_indication="", signed_order=None, diagnosis_codes="")
    )
    order = Order.objects.get(patient=patient)
    record = page_text(client, detail_url(order))
    assert "Documentation missing" in record
    for label in ("Clinical indication", "ICD-10-CM diagnosis code", "Signed order"):
        assert label in record
    queue = page_text(client, reverse("orders:incomplete"))
    assert "OKAFOR" in queue and order.exam.accession_number in queue
    assert "Dr. Amelia Hart" in queue and "555-0142" in queue
    assert 'Incomplete referrals <span class="badge badge-warn">1</span>' in queue


@pytest.mark.django_db
def test_a_malformed_icd10_code_is_a_form_error_and_nothing_is_created(
    coordinator: User,
) -> None:
    patient = PatientFactory.create()
    response = client_for(coordinator).post(
        create_url(patient), referral(diagnosis_codes="R10.11, 12345")
    )
    assert response.status_code == 422
    assert "“12345” is not an ICD-10-CM code" in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_an_unknown_exam_type_is_a_form_error_and_nothing_is_created(coordinator: User) -> None:
    patient = PatientFactory.create()
    response = client_for(coordinator).post(
        create_url(patient), referral(exam_type="us-teleportation")
    )
    assert response.status_code == 422
    assert "Exam type" in response.content.decode()
    assert "Select a valid choice" in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_the_patient_can_be_found_by_mrn_and_an_unknown_mrn_is_refused(
    coordinator: User,
) -> None:
    patient = PatientFactory.create(mrn="MRN-7781")
    client = client_for(coordinator)
    response = client.post(reverse("orders:create"), referral(mrn="MRN-0000"))
    assert response.status_code == 422
    assert "No active patient has MRN “MRN-0000”." in response.content.decode()
    assert not Order.objects.exists()
    response = client.post(reverse("orders:create"), referral(mrn="MRN-7781"))
    assert response.status_code == 302
    assert Order.objects.get().patient == patient


@pytest.mark.django_db
def test_the_form_groups_exam_types_by_modality_and_suggests_codes(coordinator: User) -> None:
    patient = PatientFactory.create()
    page = page_text(client_for(coordinator), create_url(patient))
    assert '<optgroup label="US Ultrasound">' in page
    assert '<option value="K80.20">' in page
    assert patient.display_name in page
    assert AccessLog.objects.filter(patient_id=patient.pk, action="order.create").count() == 1


# --- the record and the list -------------------------------------------------------------------


@pytest.mark.django_db
def test_opening_a_referral_logs_a_read_of_its_patient(technologist: User) -> None:
    order = make_order()
    page = page_text(client_for(technologist), detail_url(order))
    assert order.patient.display_name in page
    row = AccessLog.objects.get(patient_id=order.patient_id)
    assert (row.action, row.username, row.channel) == ("order.detail", "technologist", "web")
    assert "Edit referral" not in page  # a technologist reads, does not edit


@pytest.mark.django_db
def test_the_record_shows_the_sla_clock_and_the_exam_state(coordinator: User) -> None:
    order = make_order(priority=Priority.STAT)
    page = page_text(client_for(coordinator), detail_url(order))
    assert "STAT" in page and "On track" in page and "Requested" in page
    assert "due " in page


@pytest.mark.django_db
def test_the_list_puts_stat_first_filters_and_logs_the_patients_shown(director: User) -> None:
    routine = make_order(patient=PatientFactory.create(family_name="Routine"))
    stat = make_order(patient=PatientFactory.create(family_name="Stat"), priority="stat")
    client = client_for(director)
    page = page_text(client, reverse("orders:list"))
    assert page.index("STAT, ") < page.index("ROUTINE, ")
    shown = set(AccessLog.objects.filter(action="order.list").values_list("patient_id", flat=True))
    assert shown == {routine.patient_id, stat.patient_id}
    filtered = page_text(client, reverse("orders:list") + "?priority=routine")
    assert "ROUTINE, " in filtered and "STAT, " not in filtered
    incomplete = page_text(client, reverse("orders:list") + "?complete=no")
    assert "No referrals match." in incomplete


# --- editing -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_completing_a_referral_from_its_edit_form_takes_it_out_of_the_queue(
    coordinator: User,
) -> None:
    order = make_order(complete=False)
    client = client_for(coordinator)
    assert order.exam.accession_number in page_text(client, reverse("orders:incomplete"))
    form = page_text(client, reverse("orders:edit", kwargs={"pk": order.pk}))
    assert "Save changes" in form
    response = client.post(
        reverse("orders:edit", kwargs={"pk": order.pk}),
        referral(diagnosis_codes="R10.13"),
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.is_complete
    assert [d.code for d in order.diagnoses.all()] == ["R10.13"]
    assert order.exam.accession_number not in page_text(client, reverse("orders:incomplete"))


@pytest.mark.django_db
def test_a_bad_code_on_edit_changes_nothing(coordinator: User) -> None:
    order = make_order()
    response = client_for(coordinator).post(
        reverse("orders:edit", kwargs={"pk": order.pk}),
        referral(diagnosis_codes="R1", clinical_indication="Changed"),
    )
    assert response.status_code == 422
    order.refresh_from_db()
    assert order.clinical_indication == COMPLETE_FIELDS["clinical_indication"]
    assert [d.code for d in order.diagnoses.all()] == ["R10.11"]


@pytest.mark.django_db
def test_a_referral_cannot_be_edited_once_the_patient_has_arrived(
    coordinator: User, admin_user: User
) -> None:
    order = make_order(by=admin_user)
    advance(order.exam, ExamState.ARRIVED, by=admin_user)
    client = client_for(coordinator)
    edit = reverse("orders:edit", kwargs={"pk": order.pk})
    response = client.post(edit, referral(clinical_indication="Too late"), follow=True)
    page = response.content.decode()
    assert "cannot be changed once the exam is arrived" in page
    order.refresh_from_db()
    assert order.clinical_indication == COMPLETE_FIELDS["clinical_indication"]
    assert "Edit referral" not in page_text(client, detail_url(order))


# --- outreach ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_outreach_logged_from_the_queue_shows_as_the_last_attempt(scheduler: User) -> None:
    order = make_order(complete=False, ordering_provider="Dr. Hart")
    client = client_for(scheduler)
    outreach_log(order=order, by=scheduler, action="faxed", note="Faxed request for signature")
    response = client.post(
        reverse("orders:outreach_add", kwargs={"pk": order.pk}),
        {"action": "left_message", "note": "Nurse line voicemail", "next": "/orders/incomplete/"},
    )
    assert response.status_code == 302 and response["Location"] == "/orders/incomplete/"
    queue = page_text(client, reverse("orders:incomplete"))
    assert "Left a message: Nurse line voicemail" in queue
    assert '<td class="numeric">2</td>' in queue
    assert "Faxed a request" in page_text(client, detail_url(order))


@pytest.mark.django_db
def test_outreach_from_the_queue_with_htmx_re_renders_only_the_row(scheduler: User) -> None:
    order = make_order(complete=False)
    response = client_for(scheduler).post(
        reverse("orders:outreach_add", kwargs={"pk": order.pk}),
        {"action": "called", "note": "Office will fax"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    row = response.content.decode()
    assert row.strip().startswith(f'<tr id="incomplete-{order.pk}">')
    assert "Called the referrer: Office will fax" in row
    assert OutreachEntry.objects.filter(order=order).count() == 1


@pytest.mark.django_db
def test_an_unknown_outreach_action_is_refused(scheduler: User) -> None:
    order = make_order(complete=False)
    response = client_for(scheduler).post(
        reverse("orders:outreach_add", kwargs={"pk": order.pk}),
        {"action": "telepathy"},
        follow=True,
    )
    assert "Outreach not logged" in response.content.decode()
    assert not OutreachEntry.objects.exists()


@pytest.mark.django_db
def test_the_queue_hides_the_outreach_form_from_readers(technologist: User) -> None:
    make_order(complete=False)
    queue = page_text(client_for(technologist), reverse("orders:incomplete"))
    assert "Log outreach" not in queue
    assert AccessLog.objects.filter(action="order.incomplete").count() == 1


# --- attachments -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_attached_requisition_can_be_downloaded_and_the_download_is_logged(
    coordinator: User, technologist: User, settings: Settings, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    order = make_order()
    upload = SimpleUploadedFile("requisition.pdf", b"%PDF-1.4 signed", "application/pdf")
    client = client_for(coordinator)
    response = client.post(
        reverse("orders:attachment_add", kwargs={"pk": order.pk}),
        {"kind": "requisition", "file": upload},
    )
    assert response.status_code == 302
    attachment = order.attachments.get()
    assert "requisition.pdf" in page_text(client, detail_url(order))
    download = client_for(technologist).get(
        reverse("orders:attachment", kwargs={"pk": attachment.pk})
    )
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="requisition.pdf"'
    assert b"".join(download.streaming_content) == b"%PDF-1.4 signed"  # type: ignore[attr-defined]
    read = AccessLog.objects.get(action="order.attachment")
    assert (read.username, read.patient_id) == ("technologist", order.patient_id)


@pytest.mark.django_db
def test_an_executable_attachment_is_refused_with_a_message(
    coordinator: User, settings: Settings, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    order = make_order()
    upload = SimpleUploadedFile("run.exe", b"MZ", "application/x-msdownload")
    response = client_for(coordinator).post(
        reverse("orders:attachment_add", kwargs={"pk": order.pk}),
        {"kind": "other", "file": upload},
        follow=True,
    )
    assert "Attachment not added: Attach a PDF, PNG, JPEG, TIFF or text file." in (
        response.content.decode()
    )
    assert not order.attachments.exists()


# --- completeness rules ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_rule_added_and_then_deactivated_moves_an_order_into_and_out_of_the_queue(
    coordinator: User,
) -> None:
    order = make_order()
    client = client_for(coordinator)
    queue_url = reverse("orders:incomplete")
    assert order.exam.accession_number not in page_text(client, queue_url)

    exam_type = order.exam_type
    response = client.post(
        reverse("orders:rules"),
        {"requirement": "prior_imaging_note", "exam_type": exam_type.pk, "active": "on"},
    )
    assert response.status_code == 302
    rules = page_text(client, reverse("orders:rules"))
    assert "Prior imaging note" in rules and exam_type.name in rules
    queue = page_text(client, queue_url)
    assert order.exam.accession_number in queue and "Prior imaging note" in queue

    rule = CompletenessRule.objects.get(requirement="prior_imaging_note", exam_type=exam_type)
    client.post(
        reverse("orders:rule_edit", kwargs={"pk": rule.pk}),
        {"requirement": "prior_imaging_note", "exam_type": exam_type.pk, "note": "paused"},
    )
    assert order.exam.accession_number not in page_text(client, queue_url)

    client.post(
        reverse("orders:rule_edit", kwargs={"pk": rule.pk}),
        {"requirement": "prior_imaging_note", "exam_type": exam_type.pk, "active": "on"},
    )
    assert order.exam.accession_number in page_text(client, queue_url)
    client.post(reverse("orders:rule_delete", kwargs={"pk": rule.pk}))
    assert not CompletenessRule.objects.filter(pk=rule.pk).exists()
    assert order.exam.accession_number not in page_text(client, queue_url)


@pytest.mark.django_db
def test_a_duplicate_rule_is_refused_with_a_form_error(coordinator: User) -> None:
    before = CompletenessRule.objects.count()
    response = client_for(coordinator).post(
        reverse("orders:rules"), {"requirement": "clinical_indication", "active": "on"}
    )
    assert response.status_code == 422
    assert "The same rule already exists." in response.content.decode()
    assert CompletenessRule.objects.count() == before


# --- who may do what ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_roles_without_the_right_are_refused(
    biomed: User, technologist: User, scheduler: User
) -> None:
    order = make_order(complete=False)
    rule = CompletenessRule.objects.first()
    assert rule is not None
    assert client_for(biomed).get(reverse("orders:list")).status_code == 403
    assert client_for(biomed).get(detail_url(order)).status_code == 403
    assert client_for(technologist).get(reverse("orders:create")).status_code == 403
    assert client_for(technologist).get(reverse("orders:edit", args=[order.pk])).status_code == 403
    outreach = client_for(technologist).post(
        reverse("orders:outreach_add", args=[order.pk]), {"action": "called"}
    )
    assert outreach.status_code == 403 and not OutreachEntry.objects.exists()
    assert client_for(scheduler).get(reverse("orders:rules")).status_code == 403
    delete = client_for(scheduler).post(reverse("orders:rule_delete", args=[rule.pk]))
    assert delete.status_code == 403 and CompletenessRule.objects.filter(pk=rule.pk).exists()


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in() -> None:
    response = Client().get(reverse("orders:incomplete"))
    assert response.status_code == 302 and "/login" in response["Location"]


@pytest.mark.django_db
def test_the_list_and_the_queue_do_not_query_per_row(
    coordinator: User, django_assert_max_num_queries: Any
) -> None:
    for _ in range(8):
        order = make_order(complete=False)
        outreach_log(order=order, by=coordinator, action="called")
    client = client_for(coordinator)
    with django_assert_max_num_queries(25):
        assert client.get(reverse("orders:list")).status_code == 200
    with django_assert_max_num_queries(25):
        assert client.get(reverse("orders:incomplete")).status_code == 200
