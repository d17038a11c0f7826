"""The documentation audit finds exactly the performed exams missing a required element.

Each exam below is walked through the real services at a past moment (``time_machine``), so the
timestamps the audit reads are the ones a real day would leave.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook  # type: ignore[import-untyped]

from radflow.audit.models import AccessLog
from radflow.billing.models import Charge
from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.exams.services import exam_complete, exam_discontinue
from radflow.intake.models import Consent
from tests.conftest import client_for
from tests.exams.factories import advance, make_exam

pytestmark = pytest.mark.usefixtures("reference")

AUDIT = reverse("exams:documentation_audit")
EXPORT = reverse("exams:documentation_audit_export")


@contextmanager
def days_ago(days: float) -> Iterator[None]:
    with time_machine.travel(timezone.now() - dt.timedelta(days=days), tick=True):
        yield


def performed(
    to: ExamState, *, by: User, days: float, images: int | None = None, **order: Any
) -> Exam:
    """An exam begun ``days`` ago and taken on to ``to`` the same day."""
    with days_ago(days):
        exam = make_exam(ExamState.IN_PROGRESS, by=by, **order)
        exam = exam_complete(exam=exam, by=by, images_count=images)
        return advance(exam, to, by=by)


@pytest.fixture
def seeded(admin_user: User) -> dict[str, Exam]:
    """One exam per gap, plus exams that must not be listed."""
    exams = {
        "report": performed(ExamState.COMPLETED, by=admin_user, days=3),
        "signature": performed(ExamState.REPORTED, by=admin_user, days=3, images=10),
        "charge_signed": performed(ExamState.SIGNED, by=admin_user, days=5, images=10),
        "charge_billed": performed(ExamState.BILLED, by=admin_user, days=6, images=10),
        "images": performed(ExamState.BILLED, by=admin_user, days=7, images=0),
        "consent": performed(
            ExamState.BILLED, by=admin_user, days=8, images=6, exam_type="us-vascular-access"
        ),
        # Not gaps:
        "clean": performed(ExamState.BILLED, by=admin_user, days=9, images=12),
        "consented": performed(
            ExamState.BILLED, by=admin_user, days=10, images=4, exam_type="us-vascular-access"
        ),
        "recent": performed(ExamState.COMPLETED, by=admin_user, days=0.05, images=3),
        "old": performed(ExamState.COMPLETED, by=admin_user, days=40, images=3),
    }
    Charge.objects.filter(exam=exams["charge_billed"]).delete()
    Consent.objects.create(
        exam=exams["consented"],
        method="signature",
        signer_name="Pat Doe",
        at=timezone.now(),
        by=admin_user,
    )
    with days_ago(2):
        exams["discontinued"] = make_exam(ExamState.IN_PROGRESS, by=admin_user)
        exam_discontinue(exam=exams["discontinued"], by=admin_user, reason_code="equipment_failure")
    return exams


def listed(html: str, exams: dict[str, Exam]) -> set[str]:
    return {name for name, exam in exams.items() if exam.accession_number in html}


def test_the_audit_lists_exactly_the_seeded_gaps(
    coordinator: User, seeded: dict[str, Exam]
) -> None:
    response = client_for(coordinator).get(AUDIT)
    assert response.status_code == 200
    html = response.content.decode()
    assert listed(html, seeded) == {
        "report",
        "signature",
        "charge_signed",
        "charge_billed",
        "images",
        "consent",
    }
    assert "Report: <strong>1</strong>" in html
    assert "Signature: <strong>1</strong>" in html
    assert "Charge: <strong>2</strong>" in html
    assert "Images: <strong>1</strong>" in html
    assert "Consent: <strong>1</strong>" in html
    # Only the exam still waiting for its report has no image count (no MPPS): info, not a gap.
    assert "1 performed exam without an image count" in html


def test_each_gap_names_its_owner_and_age(coordinator: User, seeded: dict[str, Exam]) -> None:
    response = client_for(coordinator).get(AUDIT)
    rows = {row.exam.accession_number: row for row in response.context["rows"]}
    report = rows[seeded["report"].accession_number]
    assert [code for code, _, _ in report.gaps] == ["report"]
    assert report.owner_text == "Radiologist (unassigned)"
    assert report.age_days == 3
    assert rows[seeded["charge_billed"].accession_number].owner_text == "Billing"
    assert rows[seeded["images"].accession_number].owner_text.startswith("Technologist")
    assert rows[seeded["consent"].accession_number].missing_text == "Consent"


def test_the_audit_filters_by_missing_element_site_and_modality(
    director: User, seeded: dict[str, Exam]
) -> None:
    client = client_for(director)
    html = client.get(AUDIT, {"missing": "charge"}).content.decode()
    assert listed(html, seeded) == {"charge_signed", "charge_billed"}
    room = seeded["images"].room
    assert room is not None
    html = client.get(AUDIT, {"site": str(room.site_id)}).content.decode()
    assert listed(html, seeded) == {"images"}
    from tests.scheduling.factories import ModalityFactory

    ct = ModalityFactory.create(code="CT")
    html = client.get(AUDIT, {"modality": ct.pk}).content.decode()
    assert listed(html, seeded) == set()
    assert "No gaps" in html


def test_a_wider_date_range_finds_older_gaps(auditor: User, seeded: dict[str, Exam]) -> None:
    since = (timezone.localdate() - dt.timedelta(days=60)).isoformat()
    html = client_for(auditor).get(AUDIT, {"since": since}).content.decode()
    assert "old" in listed(html, seeded)


def test_the_xlsx_export_has_the_same_rows_as_the_page(
    coordinator: User, seeded: dict[str, Exam]
) -> None:
    client = client_for(coordinator)
    page_rows = [r.exam.accession_number for r in client.get(AUDIT).context["rows"]]
    response = client.get(EXPORT)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="documentation-audit-')
    workbook = load_workbook(BytesIO(response.content))
    sheet = workbook.active
    assert sheet is not None
    header = [cell.value for cell in sheet[1]]
    assert header[:3] == ["Accession", "MRN", "Patient"]
    accessions = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert accessions == page_rows
    assert sheet.freeze_panes == "A2"
    table = next(iter(sheet.tables.values()))
    assert table.ref == f"A1:L{len(page_rows) + 1}"
    missing = {row[0]: row[8] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert missing[seeded["charge_billed"].accession_number] == "Charge"


def test_the_export_honours_the_filters(coordinator: User, seeded: dict[str, Exam]) -> None:
    response = client_for(coordinator).get(EXPORT, {"missing": "signature"})
    sheet = load_workbook(BytesIO(response.content)).active
    assert sheet is not None
    accessions = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert accessions == [seeded["signature"].accession_number]


def test_the_patients_shown_are_logged_as_read(coordinator: User, seeded: dict[str, Exam]) -> None:
    client_for(coordinator).get(AUDIT, {"missing": "report"})
    logged = list(AccessLog.objects.filter(action="exam.documentation_audit"))
    assert [row.patient_id for row in logged] == [seeded["report"].order.patient_id]


def test_the_audit_runs_in_a_fixed_number_of_queries(
    coordinator: User,
    seeded: dict[str, Exam],
    admin_user: User,
    django_assert_max_num_queries: Any,
) -> None:
    client = client_for(coordinator)
    client.get(AUDIT)  # warm the session and permission caches
    with django_assert_max_num_queries(20) as few:
        client.get(AUDIT)
    for _ in range(5):
        performed(ExamState.COMPLETED, by=admin_user, days=4)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(AUDIT)


def test_other_roles_may_not_open_the_audit(technologist: User, scheduler: User) -> None:
    assert client_for(technologist).get(AUDIT).status_code == 403
    assert client_for(scheduler).get(EXPORT).status_code == 403
