"""The override report: every hard stop someone let an exam past, with who, why and when."""

from __future__ import annotations

import datetime as dt
from io import BytesIO

import pytest
import time_machine
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook  # type: ignore[import-untyped]

from radflow.audit.models import AccessLog
from radflow.core.exam_states import ExamState
from radflow.core.roles import Role
from radflow.exams.models import Exam, Override
from radflow.exams.services import exam_begin
from tests.conftest import client_for
from tests.exams.factories import make_exam
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.usefixtures("reference")

REPORT = reverse("exams:overrides")
EXPORT = reverse("exams:overrides_export")


def begun_with_overrides(by: User, reasons: dict[str, str], **order: object) -> Exam:
    exam = make_exam(ExamState.ARRIVED, by=by, **order)
    return exam_begin(exam=exam, by=by, overrides=reasons)


@pytest.fixture
def overridden(admin_user: User) -> Exam:
    """A us-abdomen-complete exam begun with no intake at all: three overrides."""
    patient = PatientFactory.create(family_name="Nakamura", given_name="Ken")
    return begun_with_overrides(
        admin_user,
        {
            "identity": "Unconscious trauma patient",
            "screening": "Cannot answer; unconscious",
            "prep": "Emergency, cannot wait for NPO",
        },
        patient=patient,
    )


def test_an_override_made_when_beginning_appears_on_the_report(
    coordinator: User, overridden: Exam
) -> None:
    response = client_for(coordinator).get(REPORT)
    assert response.status_code == 200
    html = response.content.decode()
    assert overridden.accession_number in html
    assert reverse("exams:detail", kwargs={"pk": overridden.pk}) in html
    assert "NAKAMURA, Ken" in html
    assert "Unconscious trauma patient" in html
    assert "Identity not confirmed with two identifiers." in html
    assert "administrator" in html
    # Counts at the top: by stop and by person.
    assert "Identity confirmed with two identifiers: <strong>1</strong>" in html
    assert "Preparation verified: <strong>1</strong>" in html
    assert "administrator: <strong>3</strong>" in html


def test_the_report_logs_each_patient_shown(auditor: User, overridden: Exam) -> None:
    client_for(auditor).get(REPORT)
    rows = AccessLog.objects.filter(action="exam.overrides")
    assert [row.patient_id for row in rows] == [overridden.order.patient_id]


def test_the_report_filters_by_stop_person_and_date(
    director: User, overridden: Exam, user_for_role: object
) -> None:
    make_user = user_for_role
    other_admin: User = make_user(Role.ADMIN, "night_admin")  # type: ignore[operator]
    with time_machine.travel(timezone.now() - dt.timedelta(days=10), tick=True):
        older = begun_with_overrides(
            other_admin, {"identity": "Night", "screening": "STAT", "prep": "STAT"}
        )
    client = client_for(director)

    html = client.get(REPORT, {"stop": "prep"}).content.decode()
    assert "Emergency, cannot wait for NPO" in html and "Unconscious trauma patient" not in html

    html = client.get(REPORT, {"user": other_admin.pk}).content.decode()
    assert older.accession_number in html and overridden.accession_number not in html

    since = (timezone.localdate() - dt.timedelta(days=2)).isoformat()
    html = client.get(REPORT, {"since": since}).content.decode()
    assert overridden.accession_number in html and older.accession_number not in html


def test_the_report_exports_to_xlsx(coordinator: User, overridden: Exam) -> None:
    response = client_for(coordinator).get(EXPORT, {"stop": "identity"})
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 1
    when, accession, _mrn, patient, stop, _detail, reason, who, _roles, action = rows[0]
    assert isinstance(when, dt.datetime)
    assert accession == overridden.accession_number
    assert patient == "NAKAMURA, Ken"
    assert stop == "Identity confirmed with two identifiers"
    assert reason == "Unconscious trauma patient"
    assert who == "administrator" and action == "begin"
    assert Override.objects.count() == 3


def test_only_auditing_roles_may_open_the_report(
    technologist: User, scheduler: User, overridden: Exam
) -> None:
    assert client_for(technologist).get(REPORT).status_code == 403
    assert client_for(scheduler).get(EXPORT).status_code == 403


def test_text_that_looks_like_a_formula_is_exported_as_text(
    coordinator: User, admin_user: User
) -> None:
    begun_with_overrides(
        admin_user, {"identity": '=HYPERLINK("http://x")', "screening": "-", "prep": "+1"}
    )
    response = client_for(coordinator).get(EXPORT, {"stop": "identity"})
    sheet = load_workbook(BytesIO(response.content)).active
    assert sheet is not None
    reason = sheet.cell(row=2, column=7)
    assert reason.value == '=HYPERLINK("http://x")' and reason.data_type == "s"
