"""Image-quality audits: the monthly seeded sample per sonographer, scoring and feedback."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from radflow.audit.models import AccessLog
from radflow.core.errors import PermissionDenied, ValidationFailed
from radflow.core.exam_states import ExamState
from radflow.core.roles import Role
from radflow.exams.models import Exam
from radflow.notifications.models import Notification
from radflow.quality.models import AuditStatus, ImageAudit, SampleDraw
from radflow.quality.rules import month_start, previous_month
from radflow.quality.services import quality_settings_save
from radflow.quality.services_audits import (
    ScoreInput,
    audit_sample_draw,
    checklist_save,
    image_audit_score,
)
from radflow.quality.tasks import quality_monthly_draw
from radflow.staff.models import StaffMember
from tests.catalog.factories import ExamTypeFactory
from tests.conftest import client_for
from tests.quality.factories import checklist, exam_done, local, person, ultrasound_type
from tests.scheduling.factories import ModalityFactory

pytestmark = pytest.mark.django_db

THIS_MONTH = month_start(timezone.localdate())
LAST = previous_month(THIS_MONTH)
BEFORE = previous_month(LAST)


def accessions(performer_id: Any, month: dt.date = LAST) -> set[str]:
    return set(
        ImageAudit.objects.filter(performer_id=performer_id, month=month).values_list(
            "exam__accession_number", flat=True
        )
    )


def day(offset: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    """A time on the ``offset``-th day of last month, in the department's zone."""
    return local(LAST + dt.timedelta(days=offset), hour, minute)


@dataclass
class Month:
    ana: StaffMember
    ben: StaffMember
    eligible: list[Exam]
    never: list[Exam]


@pytest.fixture
def department(db: None) -> Month:
    """Two sonographers' month: Ana did 6 eligible exams, Ben 2, plus exams that must never be
    drawn (another month, still in progress, discontinued, a type without a checklist)."""
    checklist()
    ana = person(role=Role.TECHNOLOGIST, username="ana", family_name="Alvarez")
    ben = person(family_name="Brown")
    eligible = [
        exam_done(performer=ana, completed_at=local(LAST + dt.timedelta(days=d))) for d in range(6)
    ]
    eligible += [exam_done(performer=ben, completed_at=local(LAST + dt.timedelta(days=3)))]
    eligible += [exam_done(performer=ben, completed_at=local(LAST + dt.timedelta(days=9), 23, 30))]
    ct = ExamTypeFactory.create(
        code="ct-head-wo", name="CT head", modality=ModalityFactory.create(code="CT")
    )
    never = [
        exam_done(performer=ana, completed_at=local(BEFORE + dt.timedelta(days=27))),
        exam_done(performer=ana, completed_at=local(THIS_MONTH), state=ExamState.COMPLETED),
        exam_done(
            performer=ana,
            completed_at=local(LAST + dt.timedelta(days=4)),
            state=ExamState.IN_PROGRESS,
        ),
        exam_done(
            performer=ana,
            completed_at=local(LAST + dt.timedelta(days=5)),
            state=ExamState.DISCONTINUED,
        ),
        exam_done(performer=ana, completed_at=local(LAST + dt.timedelta(days=6)), exam_type=ct),
    ]
    return Month(ana=ana, ben=ben, eligible=eligible, never=never)


def test_each_sonographer_gets_the_configured_number_of_their_own_completed_exams(
    department: Month,
) -> None:
    quality_settings_save(by=None, audit_sample_size=3)

    result = audit_sample_draw(month=LAST)

    ana, ben = department.ana, department.ben
    eligible = {e.accession_number for e in department.eligible}
    assert result.created == 5
    assert len(accessions(ana.pk)) == 3
    assert len(accessions(ben.pk)) == 2
    assert accessions(ana.pk) | accessions(ben.pk) <= eligible
    assert result.per_person == {ana.employee_number: 3, ben.employee_number: 2}
    assert not ImageAudit.objects.filter(exam__in=department.never).exists()


def test_drawing_the_month_again_draws_the_same_exams(department: Month) -> None:
    quality_settings_save(by=None, audit_sample_size=3)
    audit_sample_draw(month=LAST)
    first = accessions(department.ana.pk)

    assert audit_sample_draw(month=LAST).created == 0
    ImageAudit.objects.all().delete()
    SampleDraw.objects.all().delete()
    audit_sample_draw(month=LAST)

    assert accessions(department.ana.pk) == first


def test_a_larger_sample_size_tops_the_month_up_and_keeps_what_was_drawn(
    department: Month,
) -> None:
    quality_settings_save(by=None, audit_sample_size=2)
    audit_sample_draw(month=LAST)
    before = accessions(department.ana.pk)

    quality_settings_save(by=None, audit_sample_size=4)
    result = audit_sample_draw(month=LAST)

    after = accessions(department.ana.pk)
    assert result.created == 2  # Ana +2; Ben already has both of his
    assert before < after and len(after) == 4


def test_a_new_seed_draws_another_sample(department: Month) -> None:
    quality_settings_save(by=None, audit_sample_size=3, sample_seed="first")
    audit_sample_draw(month=LAST)
    first = accessions(department.ana.pk)
    ImageAudit.objects.all().delete()
    SampleDraw.objects.all().delete()

    draws = set()
    for seed in ("second", "third", "fourth"):
        quality_settings_save(by=None, sample_seed=seed)
        audit_sample_draw(month=LAST)
        draws.add(frozenset(accessions(department.ana.pk)))
        ImageAudit.objects.all().delete()
        SampleDraw.objects.all().delete()

    assert draws - {frozenset(first)}, "some other seed must draw another set of exams"


def test_a_month_that_has_not_begun_cannot_be_drawn(department: Month) -> None:
    with pytest.raises(ValidationFailed) as refused:
        audit_sample_draw(month=THIS_MONTH + dt.timedelta(days=40))
    assert "not begun" in refused.value.errors["month"][0]
    assert not ImageAudit.objects.exists()


def test_the_worker_draws_last_month_once(department: Month) -> None:
    assert quality_monthly_draw() == 7
    assert quality_monthly_draw() == 0
    assert set(SampleDraw.objects.values_list("kind", "month")) == {
        ("image_audit", LAST),
        ("peer_review", LAST),
    }


def test_the_command_draws_a_named_month(
    department: Month, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("quality_draw", "--month", LAST.strftime("%Y-%m"), "--audits-only")
    assert "7 drawn" in capsys.readouterr().out
    assert ImageAudit.objects.count() == 7


def test_the_most_specific_checklist_applies(db: None) -> None:
    abdomen = ultrasound_type()
    general = checklist(abdomen, name="Ultrasound (general)", modality_wide=True)
    by_type = checklist(abdomen, name="Abdomen complete")
    by_protocol = checklist(abdomen, name="Abdomen, liver transplant", protocol="Liver transplant")
    thyroid = ultrasound_type("us-thyroid", "US thyroid")
    sonographer = person()
    for protocol, exam_type in (("", abdomen), ("liver transplant", abdomen), ("", thyroid)):
        exam_done(
            performer=sonographer, completed_at=local(LAST), exam_type=exam_type, protocol=protocol
        )

    audit_sample_draw(month=LAST)

    used = {
        (a.exam.order.exam_type.code, a.exam.order.protocol): a.checklist
        for a in ImageAudit.objects.select_related("exam__order__exam_type", "checklist")
    }
    assert used == {
        ("us-abdomen-complete", ""): by_type,
        ("us-abdomen-complete", "liver transplant"): by_protocol,
        ("us-thyroid", ""): general,
    }


def test_two_active_checklists_may_not_cover_the_same_exam_type(db: None) -> None:
    exam_type = ultrasound_type()
    checklist(exam_type)
    with pytest.raises(ValidationFailed) as refused:
        checklist_save(by=None, name="Another", exam_type=exam_type, modality=None)
    assert "already covers" in refused.value.errors["exam_type"][0]


# --- scoring and feedback ------------------------------------------------------------------


@pytest.fixture
def drawn(department: Month) -> ImageAudit:
    quality_settings_save(by=None, audit_sample_size=1)
    audit_sample_draw(month=LAST)
    return ImageAudit.objects.select_related("performer__user", "exam").get(
        performer=department.ana
    )


def score_form(audit: ImageAudit, results: dict[str, str], points: str = "3") -> dict[str, str]:
    data = {"feedback": "Good views; label the side on every image."}
    for item in audit.checklist.items.all():
        if item.scoring == "points":
            data[f"item_{item.pk}"] = points
        elif item.label in results:
            data[f"item_{item.pk}"] = results[item.label]
        data[f"comment_{item.pk}"] = ""
    return data


def test_the_coordinator_scores_an_audit_and_the_sonographer_is_told(
    drawn: ImageAudit, coordinator: User
) -> None:
    results = {
        "Liver long and transverse": "pass",
        "Side and plane marker on every image": "partial",
        "CBD diameter measured": "na",
    }
    client = client_for(coordinator)
    url = reverse("quality:audit_detail", kwargs={"pk": drawn.pk})
    page = client.get(url)
    response = client.post(url, score_form(drawn, results))

    assert page.status_code == 200 and response.status_code == 302
    drawn.refresh_from_db()
    assert drawn.status == AuditStatus.SCORED
    # pass 2 + partial 1 + 3 points = 6 of 2 + 2 + 4 (the n/a item is left out)
    assert (drawn.points_earned, drawn.points_possible) == (Decimal(6), Decimal(8))
    assert drawn.score_pct == Decimal("75.0")
    note = Notification.objects.get(recipient=drawn.performer.user)
    assert note.title == f"Image-quality audit of {drawn.exam.accession_number} scored: 75.0 %"
    assert AccessLog.objects.filter(action="quality.image_audit", username="coordinator").exists()


def test_an_audit_with_an_item_left_unscored_is_refused_and_nothing_changes(
    drawn: ImageAudit, coordinator: User
) -> None:
    results = {"Liver long and transverse": "pass"}
    response = client_for(coordinator).post(
        reverse("quality:audit_detail", kwargs={"pk": drawn.pk}), score_form(drawn, results)
    )

    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    drawn.refresh_from_db()
    assert drawn.status == AuditStatus.PENDING and drawn.scores.count() == 0


def test_points_above_the_item_maximum_are_refused(drawn: ImageAudit) -> None:
    items = list(drawn.checklist.items.all())
    scores = [ScoreInput(i.pk, result="pass") for i in items if i.scoring == "ppf"]
    scores += [ScoreInput(i.pk, points="7") for i in items if i.scoring == "points"]
    with pytest.raises(ValidationFailed) as refused:
        image_audit_score(audit=drawn, by=None, scores=scores)
    assert "0 to 4 points" in next(iter(refused.value.errors.values()))[0]
    assert drawn.scores.count() == 0


def test_nobody_scores_their_own_exam(drawn: ImageAudit) -> None:
    own = drawn.performer.user
    items = drawn.checklist.items.all()
    with pytest.raises(PermissionDenied):
        image_audit_score(
            audit=drawn,
            by=own,
            scores=[ScoreInput(i.pk, result="pass", points="4") for i in items],
        )


def test_the_sonographer_reads_the_feedback_on_my_audits_and_acknowledges_it(
    drawn: ImageAudit, coordinator: User
) -> None:
    items = drawn.checklist.items.all()
    image_audit_score(
        audit=drawn,
        by=coordinator,
        scores=[ScoreInput(i.pk, result="pass", points="4") for i in items],
        feedback="Complete study, well labelled.",
    )
    ana = client_for(drawn.performer.user)  # type: ignore[arg-type]

    mine = ana.get(reverse("quality:my_audits")).content.decode()
    assert drawn.exam.accession_number in mine
    assert "Feedback to read" in mine
    assert f"{LAST:%b %Y}" in mine and "100.0 %" in mine  # the trend row
    page = ana.get(reverse("quality:audit_detail", kwargs={"pk": drawn.pk})).content.decode()
    assert "Complete study, well labelled." in page
    ana.post(reverse("quality:audit_acknowledge", kwargs={"pk": drawn.pk}), {"reply": "Thank you."})

    drawn.refresh_from_db()
    assert drawn.status == AuditStatus.ACKNOWLEDGED and drawn.reply == "Thank you."


def test_a_sonographer_cannot_open_a_colleagues_audit(drawn: ImageAudit) -> None:
    colleague = person(role=Role.TECHNOLOGIST, username="carla")
    response = client_for(colleague.user).get(  # type: ignore[arg-type]
        reverse("quality:audit_detail", kwargs={"pk": drawn.pk})
    )
    assert response.status_code == 403


def test_the_auditor_reads_audits_but_cannot_score_them(drawn: ImageAudit, auditor: User) -> None:
    url = reverse("quality:audit_detail", kwargs={"pk": drawn.pk})
    client = client_for(auditor)

    assert client.get(url).status_code == 200
    assert client.post(url, score_form(drawn, {})).status_code == 403


def test_the_trend_page_shows_each_person_monthly_mean(drawn: ImageAudit, director: User) -> None:
    items = drawn.checklist.items.all()
    image_audit_score(
        audit=drawn,
        by=None,
        scores=[ScoreInput(i.pk, result="fail", points="0") for i in items],
    )
    page = client_for(director).get(reverse("quality:audit_trend")).content.decode()
    assert str(drawn.performer) in page
    assert 'badge badge-bad" title="1 audits">0.0' in page


def test_my_audits_without_a_staff_link_says_so(technologist: User) -> None:
    page = client_for(technologist).get(reverse("quality:my_audits")).content.decode()
    assert "not linked to a staff member" in page
