"""Demo step: a year of the quality program on top of the exam history.

Image-quality checklists for ultrasound; twelve months of audit samples (drawn by the real
service, then scored with feedback and acknowledgements) and of RADPEER assignments (the real
service, then scored, with discrepancy follow-ups); incidents and near misses with root causes
and CAPA lines, a few overdue; complaints and compliments against their working-day deadlines;
twelve monthly survey imports through the CSV importer; accessibility requests met and unmet.
Rows are written with ``bulk_create``/``bulk_update``; everything is drawn from the step's own
seeded streams, so the same seed gives the same program.
"""

from __future__ import annotations

import random
import time as time_module
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.utils import timezone

from radflow.catalog.models import ExamType
from radflow.demo.context import DemoContext
from radflow.exams.models import Exam
from radflow.exams.selectors import PERFORMED_STATES
from radflow.quality.models import (
    FOLLOW_UP_SCORES,
    AccessibilityNeed,
    AccessibilityRequest,
    ActionKind,
    ActionStatus,
    AuditChecklist,
    AuditChecklistItem,
    AuditStatus,
    ChecklistCategory,
    CorrectiveAction,
    Counter,
    DiscrepancyFollowUp,
    DrawKind,
    Feedback,
    FeedbackCategory,
    FeedbackChannel,
    FeedbackKind,
    FeedbackStatus,
    FollowUpAction,
    FollowUpStatus,
    ImageAudit,
    ImageAuditScore,
    Incident,
    IncidentCategory,
    IncidentKind,
    IncidentStatus,
    ItemResult,
    PeerReview,
    QualitySettings,
    RadpeerScore,
    RequestStatus,
    ReviewStatus,
    RootCauseCategory,
    ScoringMethod,
    Severity,
)
from radflow.quality.rules import (
    ItemScore,
    add_working_days,
    audit_total,
    month_start,
    next_month,
    previous_month,
)
from radflow.quality.services import sample_draw_record, working_day_checker
from radflow.quality.services_audits import audit_sample_plan
from radflow.quality.services_peer import peer_review_plan
from radflow.quality.services_satisfaction import satisfaction_import
from radflow.scheduling.models import Modality, Site
from radflow.staff.models import JobRole, StaffMember

#: Months of audits and peer reviews (complete months before today's).
MONTHS = 12
BATCH = 1000

C = ChecklistCategory
#: (category, label, scoring, max points) shared by every ultrasound checklist.
COMMON_ITEMS = [
    (
        C.LABELLING,
        "Patient ID, date and accession on every image",
        ScoringMethod.PASS_PARTIAL_FAIL,
        2,
    ),
    (
        C.LABELLING,
        "Body marker or annotation of side and plane",
        ScoringMethod.PASS_PARTIAL_FAIL,
        2,
    ),
    (C.ARTEFACTS, "Depth, gain and focus optimised", ScoringMethod.POINTS, 4),
    (
        C.ARTEFACTS,
        "No avoidable artefact (motion, reverberation, gel)",
        ScoringMethod.PASS_PARTIAL_FAIL,
        2,
    ),
]
#: Exam type code -> (checklist name, required views and measurements).
SPECIFIC: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "us-abdomen-complete": (
        "Abdomen complete",
        [
            (C.VIEWS, "Liver: long and transverse, both lobes, with hepatic veins"),
            (C.VIEWS, "Gallbladder long and transverse; CBD at the porta"),
            (C.VIEWS, "Pancreas head, body and tail"),
            (C.VIEWS, "Both kidneys long and transverse; spleen long axis"),
            (C.VIEWS, "Aorta and IVC, proximal to distal"),
            (C.MEASUREMENTS, "CBD diameter, kidney and spleen lengths"),
        ],
    ),
    "us-abdomen-ruq": (
        "Abdomen RUQ (limited)",
        [
            (C.VIEWS, "Liver long and transverse"),
            (C.VIEWS, "Gallbladder in two planes, patient supine and decubitus"),
            (C.MEASUREMENTS, "CBD diameter; gallbladder wall thickness"),
        ],
    ),
    "us-renal-complete": (
        "Renal complete",
        [
            (C.VIEWS, "Each kidney long (mid, medial, lateral) and transverse (upper, mid, lower)"),
            (C.VIEWS, "Bladder pre- and post-void"),
            (C.MEASUREMENTS, "Kidney lengths; post-void residual volume"),
        ],
    ),
    "us-thyroid": (
        "Thyroid",
        [
            (C.VIEWS, "Each lobe long and transverse (upper, mid, lower); isthmus"),
            (C.VIEWS, "Cervical lymph node survey, levels II-VI"),
            (C.MEASUREMENTS, "Lobe dimensions; nodules in three planes with TI-RADS features"),
        ],
    ),
    "us-pelvis-ta-tv": (
        "Pelvis transabdominal and transvaginal",
        [
            (C.VIEWS, "Uterus sagittal and transverse; endometrium midline sagittal"),
            (C.VIEWS, "Each ovary in two planes with Doppler"),
            (C.MEASUREMENTS, "Uterus dimensions; endometrial thickness; ovarian volumes"),
        ],
    ),
    "us-venous-unilateral": (
        "Lower-extremity venous (unilateral)",
        [
            (C.VIEWS, "Compression, CFV to popliteal, every 2 cm, transverse"),
            (C.VIEWS, "Spectral Doppler CFV (phasicity) and popliteal (augmentation)"),
            (C.VIEWS, "Contralateral CFV spectral Doppler"),
        ],
    ),
    "us-venous-bilateral": (
        "Lower-extremity venous (bilateral)",
        [
            (C.VIEWS, "Compression, CFV to popliteal, each side"),
            (C.VIEWS, "Spectral Doppler CFV and popliteal, each side"),
        ],
    ),
    "us-carotid-duplex": (
        "Carotid duplex",
        [
            (C.VIEWS, "CCA, bulb, ICA, ECA grey scale and colour, each side"),
            (C.VIEWS, "Vertebral arteries: direction of flow"),
            (C.MEASUREMENTS, "PSV and EDV in CCA and ICA, angle 60° or less; ICA/CCA ratio"),
        ],
    ),
    "us-ob-standard": (
        "Obstetric ≥14 weeks",
        [
            (C.VIEWS, "Fetal number, presentation, cardiac activity (M-mode)"),
            (C.VIEWS, "Placenta position and cord insertion; amniotic fluid"),
            (C.VIEWS, "Anatomy survey views per AIUM"),
            (C.MEASUREMENTS, "BPD, HC, AC, FL with calipers placed per Hadlock"),
        ],
    ),
    "us-ob-first-trimester": (
        "Obstetric first trimester",
        [
            (C.VIEWS, "Gestational sac, yolk sac, embryo; adnexa"),
            (C.MEASUREMENTS, "CRL (mean of three) and heart rate (M-mode)"),
        ],
    ),
}

FEEDBACK_GOOD = [
    "Clear, complete study. Thank you.",
    "Well-optimised images and complete labelling.",
    "Good study; measurements placed accurately.",
]
FEEDBACK_WORK = {
    C.VIEWS: "Some required views are missing; please review the protocol's view list.",
    C.LABELLING: "Labelling incomplete: side and plane markers on every image, please.",
    C.MEASUREMENTS: "Check caliper placement and include every required measurement.",
    C.ARTEFACTS: "Image optimisation: adjust depth and focal zone to the area of interest.",
    C.OTHER: "See the item comments.",
}
DISCREPANCY_COMMENTS = {
    "2a": ["Small renal cyst not mentioned.", "Mild hepatic steatosis not reported."],
    "2b": [
        "Subtle 8 mm thyroid nodule with microcalcifications not reported.",
        "Early gallbladder wall thickening with pericholecystic fluid not described.",
    ],
    "3a": ["Accessory spleen described as a lymph node.", "Duplex kidney not described."],
    "3b": [
        "Non-occlusive thrombus in the popliteal vein visible on the compression views.",
        "Adnexal mass with solid component not reported.",
    ],
}
SCORE_WEIGHTS = [
    (RadpeerScore.CONCUR, 930),
    (RadpeerScore.MISS_UNLIKELY, 35),
    (RadpeerScore.MISS_LIKELY, 15),
    (RadpeerScore.SHOULD_UNLIKELY, 12),
    (RadpeerScore.SHOULD_LIKELY, 8),
]

INCIDENT_TEXT: dict[str, list[tuple[str, str, str]]] = {
    # category: (description, immediate action, root cause)
    IncidentCategory.IDENTIFICATION: [
        (
            "Patient called by first name only; a second patient with the same first name "
            "answered and was taken to the scan room. Identity check with two identifiers "
            "caught it before the scan.",
            "Scan stopped before it began; correct patient brought in.",
            "Waiting-room call by first name; two-identifier check done only in the room.",
        ),
    ],
    IncidentCategory.WRONG_EXAM: [
        (
            "Left leg scanned while the order was for the right; found by the radiologist "
            "on reading.",
            "Right leg scanned the same day; referrer informed.",
            "Side not confirmed against the order at the time-out.",
        ),
    ],
    IncidentCategory.FALL: [
        (
            "Patient slipped getting off the examination couch (gel on the step).",
            "Patient assessed by the nurse; no injury; incident explained to the patient.",
            "Couch step not wiped between patients; no step stool in the room.",
        ),
    ],
    IncidentCategory.CONTRAST: [
        (
            "Extravasation of 40 mL contrast at the antecubital site.",
            "Injection stopped, limb elevated, cold compress; radiologist reviewed.",
            "Cannula placed in a small vein for a high flow rate.",
        ),
        (
            "Mild urticaria after contrast, resolved with an antihistamine.",
            "Radiologist assessed, observation for 30 minutes; allergy recorded.",
            "Prior reaction not flagged at screening.",
        ),
    ],
    IncidentCategory.EQUIPMENT: [
        (
            "Ultrasound system froze mid-exam; images of the first half were lost.",
            "Exam repeated on another system; biomed called.",
            "Known software fault; vendor patch not yet installed.",
        ),
    ],
    IncidentCategory.INFECTION: [
        (
            "Endocavitary probe found in the clean cabinet without an HLD record.",
            "Probe taken out of use and reprocessed; previous patient traced.",
            "Reprocessing record skipped during a busy list.",
        ),
    ],
    IncidentCategory.COMMUNICATION: [
        (
            "Critical result (DVT) communicated to the referrer 3 hours after reporting.",
            "Referrer reached; patient treated the same day.",
            "Referrer's pager number out of date in the order.",
        ),
    ],
    IncidentCategory.PRIVACY: [
        (
            "Report printed to the wrong site's printer.",
            "Printout retrieved and shredded; privacy office informed.",
            "Default printer not changed after a room move.",
        ),
    ],
    IncidentCategory.STAFF_SAFETY: [
        (
            "Sonographer reported wrist pain after a long list of bariatric scans.",
            "Rest break; occupational health referral.",
            "No ergonomic rotation on heavy lists.",
        ),
    ],
    IncidentCategory.OTHER: [
        (
            "Patient waited 90 minutes in a gown in the sub-waiting area, forgotten after a "
            "room change.",
            "Patient scanned at once and apologised to.",
            "Hand-off between rooms not recorded on the board.",
        ),
    ],
}
INCIDENT_WEIGHTS = {
    IncidentCategory.IDENTIFICATION: 10,
    IncidentCategory.WRONG_EXAM: 4,
    IncidentCategory.FALL: 6,
    IncidentCategory.CONTRAST: 10,
    IncidentCategory.EQUIPMENT: 12,
    IncidentCategory.INFECTION: 6,
    IncidentCategory.COMMUNICATION: 10,
    IncidentCategory.PRIVACY: 4,
    IncidentCategory.STAFF_SAFETY: 4,
    IncidentCategory.OTHER: 8,
}
ROOT_CATEGORY = {
    IncidentCategory.IDENTIFICATION: RootCauseCategory.PROCESS,
    IncidentCategory.WRONG_EXAM: RootCauseCategory.HUMAN,
    IncidentCategory.FALL: RootCauseCategory.ENVIRONMENT,
    IncidentCategory.CONTRAST: RootCauseCategory.PATIENT,
    IncidentCategory.EQUIPMENT: RootCauseCategory.EQUIPMENT,
    IncidentCategory.INFECTION: RootCauseCategory.STAFFING,
    IncidentCategory.COMMUNICATION: RootCauseCategory.COMMUNICATION,
    IncidentCategory.PRIVACY: RootCauseCategory.PROCESS,
    IncidentCategory.STAFF_SAFETY: RootCauseCategory.STAFFING,
    IncidentCategory.OTHER: RootCauseCategory.COMMUNICATION,
}
ACTION_TEXT = {
    ActionKind.CORRECTIVE: [
        "Brief every sonographer at the morning huddle.",
        "Update the protocol and circulate it.",
        "Replace the faulty part; biomed to confirm.",
    ],
    ActionKind.PREVENTIVE: [
        "Add the check to the room time-out card.",
        "Audit compliance weekly for a month.",
        "Add the item to annual competency training.",
    ],
}
#: Who owns CAPA lines by category (demo login usernames).
ACTION_OWNER: dict[str, str] = {
    IncidentCategory.EQUIPMENT: "biomed",
    IncidentCategory.INFECTION: "infection_preventionist",
    IncidentCategory.CONTRAST: "radiologist",
}
COMPLAINTS = {
    FeedbackCategory.WAIT: "Waited over an hour past the appointment time.",
    FeedbackCategory.ACCESS: "Could not get through on the phone to rebook.",
    FeedbackCategory.STAFF: "Felt rushed and not listened to during the scan.",
    FeedbackCategory.COMMUNICATION: "Was not told to drink water before the pelvic scan.",
    FeedbackCategory.CLINICAL: "Exam was painful and no one explained why.",
    FeedbackCategory.RESULTS: "Results not available to my doctor after a week.",
    FeedbackCategory.BILLING: "Billed twice for the same ultrasound.",
    FeedbackCategory.FACILITIES: "No parking spaces for disabled patients near the entrance.",
    FeedbackCategory.PRIVACY: "Changing area curtain did not close.",
}
COMPLIMENTS = [
    "Sonographer was kind and explained everything.",
    "Seen early and the staff were lovely.",
    "Thank you to the team for making my daughter feel at ease.",
]
SURVEY_COMMENTS = [
    "",
    "",
    "",
    "Friendly staff.",
    "Long wait.",
    "Very professional.",
    "Parking was difficult.",
    "Clear instructions.",
]
ACCESS_NEEDS = [
    (AccessibilityNeed.WHEELCHAIR, 30),
    (AccessibilityNeed.TRANSFER, 15),
    (AccessibilityNeed.HEARING, 10),
    (AccessibilityNeed.SIGN_LANGUAGE, 6),
    (AccessibilityNeed.VISION, 6),
    (AccessibilityNeed.COGNITIVE, 12),
    (AccessibilityNeed.BARIATRIC, 10),
    (AccessibilityNeed.CHAPERONE, 9),
    (AccessibilityNeed.SERVICE_ANIMAL, 2),
]


@dataclass(frozen=True)
class PastExam:
    pk: Any
    began: datetime
    patient_id: Any
    accession: str
    site_id: Any
    modality: str


def _now(ctx: DemoContext) -> datetime:
    """The demo's "now", as the exam history has it: the real clock today, else 10:30."""
    if ctx.today == timezone.localdate():
        return timezone.now()
    naive = datetime.combine(ctx.today, time(10, 30))
    return naive.replace(tzinfo=ZoneInfo(timezone.get_current_timezone_name())).astimezone(UTC)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def _cap(value: datetime, now: datetime) -> datetime:
    return min(value, now - timedelta(minutes=5))


class ExamPool:
    """Performed exams in time order, for picking one near a day."""

    def __init__(self, exams: list[PastExam]) -> None:
        self.exams = sorted(exams, key=lambda e: (e.began, e.accession))
        self.days = [timezone.localdate(e.began) for e in self.exams]

    def on(self, day: date) -> list[PastExam]:
        return self.exams[bisect_left(self.days, day) : bisect_right(self.days, day)]

    def within(self, first: date, last: date) -> list[PastExam]:
        return self.exams[bisect_left(self.days, first) : bisect_right(self.days, last)]


def _pool(since: datetime, now: datetime) -> ExamPool:
    """A tenth of the year's performed exams (accession numbers ending in 7): plenty to link
    incidents, complaints and requests to, for a tenth of the reading."""
    rows = (
        Exam.objects.filter(
            in_progress_at__gte=since,
            in_progress_at__lt=now,
            state__in=PERFORMED_STATES,
            accession_number__endswith="7",
        )
        .order_by()
        .values_list(
            "pk",
            "in_progress_at",
            "order__patient_id",
            "accession_number",
            "room__site_id",
            "order__exam_type__modality_id",
        )
    )
    return ExamPool(
        [
            PastExam(pk, began, patient_id, accession, site_id, modality)
            for pk, began, patient_id, accession, site_id, modality in rows
            if began is not None
        ]
    )


def generate(ctx: DemoContext) -> None:
    started = time_module.perf_counter()
    users: dict[str, User] = ctx.objects.get("users", {})
    if not users:
        ctx.log("quality program: skipped (needs the demo logins)")
        return
    now = _now(ctx)
    today = ctx.today
    this_month = month_start(today)
    months = [this_month]
    for _ in range(MONTHS):
        months.insert(0, previous_month(months[0]))
    months = months[:-1]  # complete months only
    QualitySettings.objects.all().delete()
    QualitySettings.objects.create(follow_up_owner=users.get("director"))
    checklists = _checklists()
    pool = _pool(_at(months[0], 0), now)
    done: dict[str, int] = {}
    done["audits"] = _audits(ctx, months, users, now)
    done["peer reviews"], done["follow-ups"] = _peer_reviews(ctx, months, users, now)
    done["incidents"], done["CAPA lines"] = _incidents(ctx, pool, users, now)
    done["complaints and compliments"] = _feedback(ctx, pool, users, now)
    done["survey responses"] = _satisfaction(ctx, [*months, this_month], pool, users, now)
    done["accessibility requests"] = _accessibility(ctx, pool, users, now)
    elapsed = time_module.perf_counter() - started
    ctx.log(
        f"quality program: {checklists} checklists, "
        + ", ".join(f"{n} {what}" for what, n in done.items())
        + f" (in {elapsed:.1f} s)"
    )


# --- checklists and image audits ---------------------------------------------------------------


def _checklists() -> int:
    types = {t.code: t for t in ExamType.objects.filter(code__in=list(SPECIFIC))}
    us = Modality.objects.filter(code="US").first()
    made: list[tuple[AuditChecklist, list[tuple[str, str, str, int]]]] = []
    if us is not None:
        generic = [(C.VIEWS, "Every view the protocol lists", ScoringMethod.PASS_PARTIAL_FAIL, 2)]
        made.append(
            (
                AuditChecklist(name="Ultrasound (general)", modality=us),
                [(c, label, s, p) for c, label, s, p in [*generic, *COMMON_ITEMS]],
            )
        )
    for code, (name, specific) in SPECIFIC.items():
        exam_type = types.get(code)
        if exam_type is None:
            continue
        items = [(c, label, ScoringMethod.PASS_PARTIAL_FAIL, 2) for c, label in specific]
        made.append(
            (
                AuditChecklist(name=name, exam_type=exam_type, modality_id=exam_type.modality_id),
                [*items, *COMMON_ITEMS],
            )
        )
    AuditChecklist.objects.bulk_create([checklist for checklist, _ in made])
    AuditChecklistItem.objects.bulk_create(
        AuditChecklistItem(
            checklist=checklist,
            position=position,
            category=category,
            label=label,
            scoring=scoring,
            max_points=points,
        )
        for checklist, items in made
        for position, (category, label, scoring, points) in enumerate(items, start=1)
    )
    return len(made)


def _result(rng: random.Random, skill: float) -> str:
    draw = rng.random()
    if draw < 0.03:
        return ItemResult.NOT_APPLICABLE
    if draw < skill:
        return ItemResult.PASS
    return ItemResult.PARTIAL if rng.random() < 0.65 else ItemResult.FAIL


def _audits(ctx: DemoContext, months: list[date], users: dict[str, User], now: datetime) -> int:
    """Each month's sample as the service draws it, scored (the last month only partly) and
    mostly acknowledged, written once."""
    rng = ctx.random("quality-audits")
    auditor = users.get("coordinator")
    items: dict[Any, list[AuditChecklistItem]] = defaultdict(list)
    for item in AuditChecklistItem.objects.filter(active=True).order_by("position"):
        items[item.checklist_id].append(item)
    performers = dict(StaffMember.objects.values_list("pk", "employee_number"))
    skills: dict[str, float] = {}
    audits: list[ImageAudit] = []
    scores: list[ImageAuditScore] = []
    for index, month in enumerate(months):
        plan = audit_sample_plan(month=month)
        draw = sample_draw_record(
            kind=DrawKind.IMAGE_AUDIT,
            month=month,
            seed=plan.seed,
            size=plan.size,
            created=len(plan.audits),
            by=None,
            actor="demo",
        )
        draw.drawn_at = _cap(_at(next_month(month), 6), now)
        draw.save(update_fields=["drawn_at"])
        for audit in plan.audits:
            audit.draw = draw
            audits.append(audit)
            employee = performers[audit.performer_id]
            if employee not in skills:
                skills[employee] = rng.uniform(0.72, 0.95)
            if month == months[-1] and rng.random() < 0.45:
                continue  # last month's sample is still being scored
            skill = min(0.99, skills[employee] + 0.004 * index)
            scores.extend(_score(rng, audit, items[audit.checklist_id], skill))
            audit.auditor = auditor
            scored = _at(next_month(month), 14) + timedelta(days=rng.randint(1, 18))
            audit.scored_at = _cap(scored, now)
            if audit.scored_at < now - timedelta(days=7) and rng.random() < 0.85:
                audit.status = AuditStatus.ACKNOWLEDGED
                audit.acknowledged_at = _cap(
                    audit.scored_at + timedelta(days=rng.randint(1, 6)), now
                )
                audit.reply = rng.choice(["", "", "Thanks, noted.", "Will review the protocol."])
    ImageAudit.objects.bulk_create(audits, batch_size=BATCH)
    ImageAuditScore.objects.bulk_create(scores, batch_size=BATCH)
    return len(audits)


def _score(
    rng: random.Random, audit: ImageAudit, items: list[AuditChecklistItem], skill: float
) -> list[ImageAuditScore]:
    """Score every item at the sonographer's skill; the totals and feedback go on ``audit``."""
    rows: list[ImageAuditScore] = []
    arithmetic: list[ItemScore] = []
    worst: dict[str, float] = defaultdict(float)
    for item in items:
        result = _result(rng, skill)
        if item.scoring == ScoringMethod.POINTS:
            points = None
            if result != ItemResult.NOT_APPLICABLE:
                share = {"pass": 1.0, "partial": 0.5, "fail": 0.0}[result]
                points = Decimal(round(item.max_points * share))
            row = ImageAuditScore(
                audit=audit,
                item=item,
                result=ItemResult.NOT_APPLICABLE if points is None else "",
                points=points,
            )
            arithmetic.append(ItemScore(item.max_points, result=row.result, points=points))
        else:
            row = ImageAuditScore(audit=audit, item=item, result=result)
            arithmetic.append(ItemScore(item.max_points, result=result))
        if result in (ItemResult.PARTIAL, ItemResult.FAIL):
            worst[item.category] += 1.0 if result == ItemResult.FAIL else 0.5
            row.comment = "See feedback." if result == ItemResult.FAIL else ""
        rows.append(row)
    total = audit_total(arithmetic)
    audit.status = AuditStatus.SCORED
    audit.points_earned, audit.points_possible = total.earned, total.possible
    audit.score_pct = total.percent
    if worst:
        audit.feedback = FEEDBACK_WORK[ChecklistCategory(max(worst, key=worst.__getitem__))]
    else:
        audit.feedback = rng.choice(FEEDBACK_GOOD)
    return rows


# --- peer review -------------------------------------------------------------------------------


def _peer_reviews(
    ctx: DemoContext, months: list[date], users: dict[str, User], now: datetime
) -> tuple[int, int]:
    """Each month's assignment as the service plans it, mostly scored, written once."""
    rng = ctx.random("quality-peer-review")
    settings = QualitySettings.objects.get()
    reviews: list[PeerReview] = []
    follow_ups: list[DiscrepancyFollowUp] = []
    for month in months:
        plan = peer_review_plan(month=month)
        draw = sample_draw_record(
            kind=DrawKind.PEER_REVIEW,
            month=month,
            seed=plan.seed,
            size=plan.per_reader,
            created=len(plan.reviews),
            by=None,
            actor="demo",
        )
        assigned = _cap(_at(next_month(month), 7), now)
        draw.drawn_at = assigned
        draw.save(update_fields=["drawn_at"])
        for review in plan.reviews:
            reviews.append(review)
            review.draw = draw
            review.assigned_at = assigned
            review.due_on = timezone.localdate(assigned) + timedelta(
                days=settings.peer_review_due_days
            )
            if month == months[-1] and rng.random() < 0.5:
                continue  # still to do
            if rng.random() < 0.01:
                review.status = ReviewStatus.DECLINED
                review.decline_reason = "Prior images not available in PACS."
                continue
            completed = assigned + timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 8))
            if completed >= now:
                continue
            score = rng.choices([s for s, _ in SCORE_WEIGHTS], [w for _, w in SCORE_WEIGHTS])[0]
            review.status = ReviewStatus.COMPLETED
            review.score = score
            review.completed_at = completed
            review.comment = rng.choice(DISCREPANCY_COMMENTS[score]) if score != "1" else ""
            if score in FOLLOW_UP_SCORES:
                follow_ups.append(_follow_up(rng, review, settings, completed, now))
    PeerReview.objects.bulk_create(reviews, batch_size=BATCH)
    DiscrepancyFollowUp.objects.bulk_create(follow_ups, batch_size=BATCH)
    return len(reviews), len(follow_ups)


def _follow_up(
    rng: random.Random,
    review: PeerReview,
    settings: QualitySettings,
    opened: datetime,
    now: datetime,
) -> DiscrepancyFollowUp:
    follow_up = DiscrepancyFollowUp(
        review=review,
        owner=settings.follow_up_owner,
        opened_at=opened,
        due_on=timezone.localdate(opened) + timedelta(days=settings.follow_up_due_days),
    )
    age = (now - opened).days
    if age > 10:
        follow_up.status = FollowUpStatus.IN_PROGRESS
        follow_up.action_kind = (
            FollowUpAction.ADDENDUM if review.score.endswith("b") else FollowUpAction.DISCUSSED
        )
        follow_up.action = (
            "Addendum issued and the referrer phoned."
            if review.score.endswith("b")
            else "Discussed with the reading radiologist."
        )
    if age > 40 and rng.random() < 0.9:
        follow_up.status = FollowUpStatus.CLOSED
        follow_up.outcome = "Case presented at the monthly discrepancy conference."
        follow_up.closed_at = _cap(opened + timedelta(days=rng.randint(12, 35)), now)
        follow_up.closed_by = settings.follow_up_owner
    return follow_up


# --- incidents and CAPA -----------------------------------------------------------------------


def _severity(rng: random.Random, kind: str) -> str:
    if kind == IncidentKind.NEAR_MISS:
        return Severity.NONE
    return rng.choices(
        [Severity.NONE, Severity.MINOR, Severity.MODERATE, Severity.MAJOR, Severity.CATASTROPHIC],
        [25, 45, 22, 7, 1],
    )[0]


def _incidents(
    ctx: DemoContext, pool: ExamPool, users: dict[str, User], now: datetime
) -> tuple[int, int]:
    rng = ctx.random("quality-incidents")
    sites = list(Site.objects.order_by("code").values_list("pk", flat=True))
    reporters = [
        u
        for name in ("technologist", "coordinator", "radiologist", "scheduler")
        if (u := users.get(name)) is not None
    ]
    categories = list(INCIDENT_WEIGHTS)
    today = ctx.today
    incidents: list[Incident] = []
    actions: list[CorrectiveAction] = []
    counters: dict[int, int] = defaultdict(int)
    day = today - timedelta(days=365)
    while day <= today:
        for _ in range(rng.choices([0, 1, 2], [72, 24, 4])[0]):
            occurred = _at(day, rng.randint(7, 18), rng.choice([0, 15, 30, 45]))
            if occurred >= now:
                continue
            category = rng.choices(categories, [INCIDENT_WEIGHTS[c] for c in categories])[0]
            kind = IncidentKind.NEAR_MISS if rng.random() < 0.3 else IncidentKind.INCIDENT
            severity = _severity(rng, kind)
            description, immediate, cause = rng.choice(INCIDENT_TEXT[category])
            exam = None
            if category not in (IncidentCategory.STAFF_SAFETY, IncidentCategory.PRIVACY):
                candidates = pool.on(day)
                exam = rng.choice(candidates) if candidates else None
            reported = _cap(occurred + timedelta(hours=rng.randint(0, 30)), now)
            year = timezone.localdate(reported).year
            counters[year] += 1
            age = (today - day).days
            incident = Incident(
                number=f"INC-{year}-{counters[year]:04d}",
                kind=kind,
                category=category,
                severity=severity,
                occurred_at=occurred,
                reported_at=reported,
                reported_by=rng.choice(reporters) if reporters else None,
                site_id=exam.site_id
                if exam and exam.site_id
                else (rng.choice(sites) if sites else None),
                exam_id=exam.pk if exam else None,
                patient_id=exam.patient_id if exam else None,
                description=description,
                immediate_action=immediate,
                status=IncidentStatus.OPEN if age < 7 else IncidentStatus.INVESTIGATING,
            )
            lines = _capa_lines(rng, incident, category, users, day, today, age)
            if age > 20:
                incident.root_cause = cause
                incident.root_cause_category = ROOT_CATEGORY[category]
                incident.status = IncidentStatus.ACTIONS if lines else IncidentStatus.INVESTIGATING
            if age > 75 or (age > 20 and not lines and rng.random() < 0.7):
                for line in lines:
                    line.status = ActionStatus.DONE
                    line.completed_on = min(
                        line.due_on + timedelta(days=rng.choice([-9, -5, -2, 0, 3, 12])), today
                    )
                    line.completion_note = "Done; checked at the next team meeting."
                incident.root_cause = cause
                incident.root_cause_category = ROOT_CATEGORY[category]
                incident.status = IncidentStatus.CLOSED
                incident.closed_at = _cap(
                    _at(
                        max(
                            [day + timedelta(days=25)]
                            + [ln.completed_on for ln in lines if ln.completed_on]
                        ),
                        16,
                    ),
                    now,
                )
                incident.closed_by = users.get("director")
            incidents.append(incident)
            actions.extend(lines)
        day += timedelta(days=1)
    Incident.objects.bulk_create(incidents, batch_size=BATCH)
    CorrectiveAction.objects.bulk_create(actions, batch_size=BATCH)
    for year, count in counters.items():
        Counter.objects.update_or_create(name=f"INC-{year}", defaults={"next_value": count + 1})
    return len(incidents), len(actions)


def _capa_lines(
    rng: random.Random,
    incident: Incident,
    category: str,
    users: dict[str, User],
    day: date,
    today: date,
    age: int,
) -> list[CorrectiveAction]:
    if age < 7:
        return []
    wanted = {
        Severity.NONE: rng.choice([0, 0, 1]),
        Severity.MINOR: rng.choice([0, 1, 1]),
        Severity.MODERATE: rng.choice([1, 2]),
        Severity.MAJOR: rng.choice([2, 3]),
        Severity.CATASTROPHIC: 3,
    }[Severity(incident.severity)]
    owner = users.get(ACTION_OWNER.get(category, "coordinator")) or users.get("coordinator")
    if owner is None:
        return []
    lines = []
    for index in range(wanted):
        kind = ActionKind.CORRECTIVE if index == 0 else ActionKind.PREVENTIVE
        lines.append(
            CorrectiveAction(
                incident=incident,
                kind=kind,
                description=rng.choice(ACTION_TEXT[kind]),
                owner=owner if index == 0 else (users.get("director") or owner),
                due_on=day + timedelta(days=rng.randint(14, 45)),
            )
        )
    return lines


# --- complaints and compliments ---------------------------------------------------------------


def _feedback(ctx: DemoContext, pool: ExamPool, users: dict[str, User], now: datetime) -> int:
    rng = ctx.random("quality-feedback")
    today = ctx.today
    first = today - timedelta(days=365)
    days = QualitySettings.objects.get().complaint_response_working_days
    is_holiday = working_day_checker(first, today + timedelta(days=60))
    owners = [u for name in ("coordinator", "coordinator", "director") if (u := users.get(name))]
    sonographers = list(
        StaffMember.objects.filter(job_role=JobRole.SONOGRAPHER).order_by("employee_number")
    )
    sites = list(Site.objects.order_by("code").values_list("pk", flat=True))
    counters: dict[int, int] = defaultdict(int)
    rows: list[Feedback] = []
    day = first
    while day <= today:
        count_complaints = rng.choices([0, 1, 2], [70, 26, 4])[0]
        count_compliments = rng.choices([0, 1], [82, 18])[0]
        for kind in [FeedbackKind.COMPLAINT] * count_complaints + [
            FeedbackKind.COMPLIMENT
        ] * count_compliments:
            counters[day.year] += 1
            exam = None
            if rng.random() < 0.5:
                near = pool.within(day - timedelta(days=10), day)
                exam = rng.choice(near) if near else None
            feedback = Feedback(
                number=f"FB-{day.year}-{counters[day.year]:04d}",
                kind=kind,
                channel=rng.choices(list(FeedbackChannel), [20, 30, 20, 5, 15, 5, 4, 1])[0],
                received_on=day,
                exam_id=exam.pk if exam else None,
                patient_id=exam.patient_id if exam else None,
                site_id=exam.site_id
                if exam and exam.site_id
                else rng.choice(sites)
                if sites
                else None,
                owner=rng.choice(owners) if owners else None,
                recorded_by=users.get("coordinator"),
            )
            if kind == FeedbackKind.COMPLAINT:
                category = rng.choice(list(COMPLAINTS))
                feedback.category = category
                feedback.summary = COMPLAINTS[category]
                feedback.response_due_on = add_working_days(day, days, is_holiday=is_holiday)
                age = (today - day).days
                if age > 14 or rng.random() < age / 14:
                    took = rng.choices([1, 2, 3, 4, 5, 7, 9, 14], [10, 18, 20, 18, 12, 10, 7, 5])[0]
                    resolved = add_working_days(day, took, is_holiday=is_holiday)
                    if resolved <= today:
                        feedback.status = FeedbackStatus.RESOLVED
                        feedback.resolved_on = resolved
                        feedback.resolved_by = feedback.owner
                        feedback.resolution = (
                            "Called the patient, apologised and explained the changes made."
                        )
            else:
                feedback.category = FeedbackCategory.STAFF
                feedback.summary = rng.choice(COMPLIMENTS)
                feedback.status = FeedbackStatus.RESOLVED
                feedback.resolved_on = day
                feedback.resolution = "Recorded and shared with the team."
                feedback.owner = None
                if sonographers and rng.random() < 0.6:
                    feedback.staff_named = rng.choice(sonographers)
            rows.append(feedback)
        day += timedelta(days=1)
    Feedback.objects.bulk_create(rows, batch_size=BATCH)
    for year, count in counters.items():
        Counter.objects.update_or_create(name=f"FB-{year}", defaults={"next_value": count + 1})
    return len(rows)


# --- satisfaction surveys ---------------------------------------------------------------------


def _satisfaction(
    ctx: DemoContext, months: list[date], pool: ExamPool, users: dict[str, User], now: datetime
) -> int:
    """One vendor export a month, imported through the CSV importer as a coordinator would."""
    rng = ctx.random("quality-satisfaction")
    sites = list(Site.objects.order_by("code").values_list("code", flat=True))
    modalities = ["US", "US", "US", "CT", "MR", "DX", "MG"]
    known_modalities = set(Modality.objects.values_list("code", flat=True))
    today = ctx.today
    total = 0
    for month in months:
        last = min(
            next_month(month) - timedelta(days=1),
            today - timedelta(days=1),
            timezone.localdate(),  # the importer refuses survey dates in the future
        )
        if last < month:
            continue
        exams = pool.within(month, last)
        lines = [
            "response_id,survey_date,overall,recommend,wait_time,staff_courtesy,explanation,"
            "site,modality,accession_number,comment"
        ]
        for index in range(rng.randint(90, 140)):
            survey = month + timedelta(days=rng.randint(0, (last - month).days))
            wait = rng.choices([1, 2, 3, 4, 5], [5, 10, 20, 35, 30])[0]
            overall = max(1, min(5, wait + rng.choice([-1, 0, 0, 1, 1])))
            recommend = max(0, min(10, overall * 2 + rng.choice([-2, -1, 0, 0, 1])))
            exam = rng.choice(exams) if exams and rng.random() < 0.4 else None
            modality = exam.modality if exam else rng.choice(modalities)
            site = rng.choice(sites) if sites else ""
            lines.append(
                ",".join(
                    [
                        f"PG-{month:%Y%m}-{index:05d}",
                        survey.isoformat(),
                        str(overall),
                        str(recommend),
                        str(wait),
                        str(max(1, min(5, overall + rng.choice([0, 0, 1])))),
                        str(max(1, min(5, overall + rng.choice([-1, 0, 0])))),
                        site,
                        modality if modality in known_modalities else "",
                        exam.accession if exam else "",
                        rng.choice(SURVEY_COMMENTS),
                    ]
                )
            )
        result = satisfaction_import(
            by=users.get("coordinator"),
            filename=f"press-ganey-{month:%Y-%m}.csv",
            content=("\n".join(lines) + "\n").encode(),
        )
        result.batch.imported_at = _cap(_at(last + timedelta(days=3), 9), now)
        result.batch.save(update_fields=["imported_at"])
        total += result.imported
    return total


# --- accessibility requests ------------------------------------------------------------------


def _accessibility(ctx: DemoContext, pool: ExamPool, users: dict[str, User], now: datetime) -> int:
    rng = ctx.random("quality-accessibility")
    today = ctx.today
    needs = [n for n, _ in ACCESS_NEEDS]
    weights = [w for _, w in ACCESS_NEEDS]
    rows: list[AccessibilityRequest] = []
    day = today - timedelta(days=365)
    while day < today:
        exams = pool.on(day)
        for _ in range(rng.choices([0, 1, 2], [45, 40, 15])[0] if exams else 0):
            exam = rng.choice(exams)
            outcome = rng.choices(
                [RequestStatus.MET, RequestStatus.UNMET, RequestStatus.CANCELLED], [90, 6, 4]
            )[0]
            requested = _cap(_at(day - timedelta(days=rng.randint(1, 10)), 11), now)
            rows.append(
                AccessibilityRequest(
                    patient_id=exam.patient_id,
                    exam_id=exam.pk,
                    need=rng.choices(needs, weights)[0],
                    needed_on=day,
                    requested_at=requested,
                    requested_by=users.get("scheduler"),
                    status=outcome,
                    outcome_note=(
                        "Hoist out of service; scanned on the trolley with two staff."
                        if outcome == RequestStatus.UNMET
                        else ""
                    ),
                    resolved_at=_cap(_at(day, 17), now),
                    resolved_by=users.get("scheduler"),
                )
            )
        day += timedelta(days=1)
    upcoming = (
        Exam.objects.filter(
            state="scheduled",
            scheduled_start__gte=now,
            scheduled_start__lt=now + timedelta(days=14),
        )
        .order_by("scheduled_start", "accession_number")
        .values_list("pk", "order__patient_id", "scheduled_start")
    )
    for pk, patient_id, start in upcoming:
        if start is not None and rng.random() < 0.01:
            rows.append(
                AccessibilityRequest(
                    patient_id=patient_id,
                    exam_id=pk,
                    need=rng.choices(needs, weights)[0],
                    needed_on=timezone.localdate(start),
                    requested_at=now - timedelta(days=rng.randint(0, 5)),
                    requested_by=users.get("scheduler"),
                )
            )
    AccessibilityRequest.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)
