"""Demo step: a year of exam history and the next four weeks booked (issue 4, item 9).

Every room's opening hours are packed with bookings day by day (no two active bookings overlap),
each booking is walked through the exam's life by ``demo_history`` and cut at "now", and the rows
the services would have written (orders, exams, transitions, authorizations, intake, overrides,
charges) are bulk-inserted. Open work that has no booking yet (new referrals, some incomplete,
orders awaiting booking or the payer, live STATs) is added on top, so every work list has rows.

The volume follows the department's size: the full year at the default 5,000 patients, less for
a smaller demo (``SCALE`` overrides it; tests shorten ``HISTORY_DAYS``).
"""

from __future__ import annotations

import random
import time as time_module
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from operator import itemgetter
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import connection, models
from django.utils import timezone

from radflow.billing.models import Charge, Payer, PayerType
from radflow.catalog.models import ExamType, ProcedureCode
from radflow.core.exam_states import ExamAction, ExamState
from radflow.core.sla import Clock
from radflow.demo.context import DEFAULT_PATIENTS, DemoContext
from radflow.exams import demo_history as h
from radflow.exams.models import AccessionSequence, Exam, ExamTransition, Override
from radflow.exams.services import HOLDS_ROOM, new_study_instance_uid
from radflow.intake.models import (
    Consent,
    ConsentMethod,
    IdentityCheck,
    IdentityMethod,
    InterpreterLog,
    PrepCheck,
    ScreeningAnswer,
    ScreeningResult,
)
from radflow.orders.models import (
    Authorization,
    AuthorizationContact,
    CompletenessRule,
    DiagnosisCode,
    Order,
    OrderDiagnosis,
    OrderSource,
    OutreachEntry,
    PayerAuthRule,
    Requirement,
    SlaPolicy,
)
from radflow.orders.services import completeness_rule_save, payer_auth_rule_save
from radflow.patients.models import IdentifierType, Patient, PatientIdentifier
from radflow.scheduling.models import Reservation, Room, RoomOpeningHours
from radflow.staff.models import JobRole, StaffMember

#: Days of history before today and days booked ahead; tests shorten the history.
HISTORY_DAYS = 365
FUTURE_DAYS = 28
#: Exams per room-day relative to a full department; None = by the demo's patient count.
SCALE: float | None = None
BATCH = 1000
CHUNK = 5000

A = ExamAction
S = ExamState

#: Booked exams per room on a weekday (low, high); weekends run at ``WEEKEND_SHARE``.
DAILY: dict[str, tuple[int, int]] = {
    "US": (7, 12),
    "CT": (16, 22),
    "MR": (9, 13),
    "DX": (22, 30),
    "MG": (11, 16),
    "NM": (3, 5),
    "PT": (3, 5),
    "XA": (3, 5),
    "RF": (4, 7),
}
WEEKEND_SHARE = 0.3

#: Exam type mix per modality (relative weights; types not named weigh 1).
WEIGHTS: dict[str, float] = {
    "us-abdomen-complete": 6,
    "us-abdomen-ruq": 5,
    "us-renal-complete": 4,
    "us-renal-limited": 2,
    "us-thyroid": 4,
    "us-pelvis-ta-tv": 4,
    "us-pelvis-transabdominal": 2,
    "us-transvaginal": 2,
    "us-venous-unilateral": 4,
    "us-venous-bilateral": 3,
    "us-carotid-duplex": 3,
    "us-breast-limited": 2,
    "us-ob-standard": 3,
    "us-ob-first-trimester": 3,
    "us-ob-detailed-anatomy": 3,
    "ct-head-wo": 6,
    "ct-abd-pelvis-w": 6,
    "ct-chest-w": 3,
    "ct-chest-wo": 3,
    "cta-chest-pe": 3,
    "ct-abd-pelvis-wo": 3,
    "ct-lung-screening": 2,
    "ct-cspine-wo": 2,
    "cta-head-neck": 2,
    "mr-lspine-wo": 4,
    "mr-brain-wo": 3,
    "mr-brain-wo-w": 3,
    "mr-knee-wo": 3,
    "mr-cspine-wo": 2,
    "mr-shoulder-wo": 2,
    "mr-abdomen-wo-w": 2,
    "mr-cardiac": 0.5,
    "xr-chest-2v": 8,
    "xr-chest-1v": 5,
    "xr-knee": 3,
    "mg-screening-dbt": 10,
    "mg-screening-2d": 3,
    "mg-diagnostic-bilateral": 2,
    "mg-diagnostic-unilateral": 2,
    "mg-stereotactic-biopsy": 0.5,
    "nm-mpi-stress-rest": 3,
    "nm-bone-whole-body": 2,
}
OB = ("us-ob", "us-fetal")
GYN = ("us-pelvis", "us-transvaginal", "us-ob-first-trimester", "us-ob-transvaginal")
PROCEDURES = ("-biopsy", "-fna", "paracentesis", "thoracentesis", "vascular-access")
PEDIATRIC = ("us-infant-hips", "us-neonatal-head")
#: What a room does, when it is not everything its modality and capabilities allow.
FOCUS: dict[str, tuple[str, ...]] = {
    "WHC-US01": (*OB, "us-pelvis"),
    "WHC-US02": (*OB, "us-pelvis"),
    "WHC-US03": GYN,
    "WHC-US04": ("us-breast",),
    "MAIN-US04": (*PROCEDURES, "us-abdomen", "us-renal-complete"),
    "MAIN-US05": (*PEDIATRIC, "us-abdomen", "us-renal", "us-scrotum", "us-pelvis-transab"),
    "MAIN-US06": ("us-carotid", "us-le-", "us-venous", "us-dialysis", "us-abdominal-duplex"),
    "MAIN-USP1": ("us-venous", "us-abdomen-ruq", "us-renal-limited", "us-chest", "us-vascular"),
    "MAIN-XRP1": ("xr-chest-1v", "xr-abdomen-1v"),
}
#: Exam types only the specialised rooms above do.
SPECIALISED = OB + PROCEDURES + PEDIATRIC
#: Screening exams: booked outpatients, routine.
OUTPATIENT_ONLY = ("mg-", "ct-lung-screening", "us-ob", "us-fetal", "us-infant-hips")

#: Patient class mix (outpatient, inpatient, emergency) by room.
CLASS_MIX: dict[str, tuple[int, int, int]] = {
    "MAIN-USP1": (0, 75, 25),
    "MAIN-XRP1": (0, 75, 25),
    "MAIN-CT01": (25, 25, 50),
    "MAIN": (55, 28, 17),
}
#: Priority mix (stat, urgent, routine) by patient class: STAT is about 5 % overall.
PRIORITY_MIX: dict[str, tuple[int, int, int]] = {
    "emergency": (35, 55, 10),
    "inpatient": (8, 42, 50),
    "outpatient": (0, 7, 93),
}
#: Payers (by code) that want a pre-authorization, with their usual lead time in days.
AUTH_PAYERS: dict[str, int] = {
    "AET-POS": 3,
    "ANT-PPO": 3,
    "ANT-HMO": 5,
    "UHC-CP": 2,
    "CIG-OAP": 4,
    "CCI-CHOICE": 5,
    "AET-MAPPO": 3,
    "UHC-MAHMO": 4,
}
#: CPT codes those payers authorize: MR, contrast CT and CTA, PET, nuclear cardiology, vascular US.
AUTH_CODES = [
    "70551",
    "70553",
    "72141",
    "72148",
    "73221",
    "73721",
    "74183",
    "77049",
    "75561",
    "74177",
    "74178",
    "75574",
    "70496",
    "78815",
    "78452",
    "93880",
]

#: Open work without a booking, at full scale: new referrals, awaiting booking, awaiting the
#: payer, triaged (protocol pending) and live STATs received within the last hour.
OPEN_WORK: dict[str, tuple[int, int]] = {
    "requested": (100, 8),
    "authorized": (60, 4),
    "pending_auth": (25, 3),
    "triaged": (3, 1),
    "stat": (6, 3),
}
INCOMPLETE_SHARE = 0.15

T = TypeVar("T")


# --- reference data the demo adds ----------------------------------------------------------------


#: ICD-10-CM codes and the indication a referrer writes with them, by body part.
DIAGNOSES: dict[str, list[tuple[str, str, str]]] = {
    # body part: [(code, description, indication)]
    "Abdomen": [
        ("R10.9", "Unspecified abdominal pain", "Abdominal pain, evaluate."),
        ("R10.11", "Right upper quadrant pain", "RUQ pain after meals, r/o cholelithiasis."),
        ("R74.01", "Elevation of liver transaminase levels", "Elevated LFTs."),
        ("K76.0", "Fatty (change of) liver, not elsewhere classified", "Fatty liver, follow-up."),
    ],
    "Liver": [
        ("K76.0", "Fatty (change of) liver, not elsewhere classified", "Steatosis, staging."),
        ("K74.60", "Unspecified cirrhosis of liver", "Cirrhosis, fibrosis staging."),
    ],
    "Kidney": [
        ("N18.30", "Chronic kidney disease, stage 3 unspecified", "CKD 3, renal size."),
        ("R31.9", "Hematuria, unspecified", "Hematuria."),
        ("N20.0", "Calculus of kidney", "Known renal stone, follow-up."),
    ],
    "Aorta": [("I71.40", "Abdominal aortic aneurysm, without rupture", "AAA surveillance.")],
    "Neck": [
        ("E04.1", "Nontoxic single thyroid nodule", "Palpable thyroid nodule."),
        ("I65.29", "Occlusion and stenosis of unspecified carotid artery", "Carotid bruit."),
        ("R22.1", "Localized swelling, mass and lump, neck", "Neck mass."),
    ],
    "Thyroid": [("E05.90", "Thyrotoxicosis, unspecified", "Hyperthyroidism, uptake.")],
    "Chest": [
        ("R07.9", "Chest pain, unspecified", "Chest pain."),
        ("R06.02", "Shortness of breath", "Shortness of breath."),
        ("R91.1", "Solitary pulmonary nodule", "Pulmonary nodule follow-up."),
        ("J18.9", "Pneumonia, unspecified organism", "Fever and cough, r/o pneumonia."),
        ("J90", "Pleural effusion, not elsewhere classified", "Pleural effusion."),
    ],
    "Breast": [
        ("Z12.31", "Encounter for screening mammogram for malignant neoplasm of breast", "Screen."),
        ("N63.0", "Unspecified lump in unspecified breast", "Palpable breast lump."),
        (
            "R92.8",
            "Other abnormal and inconclusive findings on diagnostic imaging of breast",
            "Call-back from screening.",
        ),
        ("N64.4", "Mastodynia", "Focal breast pain."),
    ],
    "Pelvis": [
        ("R10.2", "Pelvic and perineal pain", "Pelvic pain."),
        ("N92.0", "Excessive and frequent menstruation with regular cycle", "Menorrhagia."),
        ("N83.20", "Unspecified ovarian cysts", "Ovarian cyst follow-up."),
    ],
    "OB": [
        (
            "Z34.90",
            "Encounter for supervision of normal pregnancy, unspecified trimester",
            "Routine pregnancy, dating and growth.",
        ),
        ("Z36.89", "Encounter for other specified antenatal screening", "Antenatal screening."),
        (
            "O09.90",
            "Supervision of high risk pregnancy, unspecified, unspecified trimester",
            "High-risk pregnancy, surveillance.",
        ),
    ],
    "Fetal heart": [
        (
            "Z36.83",
            "Encounter for fetal screening for congenital cardiac abnormalities",
            "Fetal cardiac screening.",
        )
    ],
    "Scrotum": [
        ("N50.89", "Other specified disorders of the male genital organs", "Scrotal swelling."),
        ("N45.1", "Epididymitis", "Scrotal pain, r/o epididymitis or torsion."),
    ],
    "Extremity": [
        ("M79.606", "Pain in leg, unspecified", "Leg pain and swelling."),
        (
            "I82.409",
            "Acute embolism and thrombosis of unspecified deep veins of unspecified lower "
            "extremity",
            "Calf swelling, r/o DVT.",
        ),
        ("M25.561", "Pain in right knee", "Joint pain."),
    ],
    "Lower extremity": [
        (
            "I70.209",
            "Unspecified atherosclerosis of native arteries of extremities, unspecified extremity",
            "Claudication.",
        ),
    ],
    "Upper extremity": [
        ("N18.6", "End stage renal disease", "Dialysis access assessment."),
        (
            "Z45.2",
            "Encounter for adjustment and management of vascular access device",
            "Long-term IV access.",
        ),
    ],
    "Hip": [("R29.4", "Clicking hip", "Hip click on newborn exam, r/o DDH.")],
    "Head": [
        ("R51.9", "Headache, unspecified", "Headache."),
        ("R41.82", "Altered mental status, unspecified", "Altered mental status."),
        ("S06.0X0A", "Concussion without loss of consciousness, initial encounter", "Head injury."),
        ("P07.30", "Preterm newborn, unspecified weeks of gestation", "Preterm infant screening."),
    ],
    "Sinus": [("J32.9", "Chronic sinusitis, unspecified", "Chronic sinusitis.")],
    "Head and neck": [
        ("I63.9", "Cerebral infarction, unspecified", "Stroke alert."),
        ("G45.9", "Transient cerebral ischemic attack, unspecified", "TIA."),
    ],
    "Brain": [
        ("R51.9", "Headache, unspecified", "Persistent headache."),
        (
            "G43.909",
            "Migraine, unspecified, not intractable, without status migrainosus",
            "Migraine, new features.",
        ),
        ("G35", "Multiple sclerosis", "MS follow-up."),
    ],
    "Cervical spine": [
        ("M54.2", "Cervicalgia", "Neck pain."),
        ("S13.4XXA", "Sprain of ligaments of cervical spine, initial encounter", "MVC, neck pain."),
    ],
    "Lumbar spine": [
        ("M54.50", "Low back pain, unspecified", "Low back pain."),
        ("M54.16", "Radiculopathy, lumbar region", "Sciatica."),
    ],
    "Shoulder": [
        ("M25.511", "Pain in right shoulder", "Shoulder pain."),
        (
            "M75.100",
            "Unspecified rotator cuff tear or rupture of unspecified shoulder, not "
            "specified as traumatic",
            "r/o rotator cuff tear.",
        ),
    ],
    "Knee": [
        ("M25.561", "Pain in right knee", "Knee pain."),
        (
            "S83.241A",
            "Other tear of medial meniscus, current injury, right knee, initial encounter",
            "r/o meniscal tear.",
        ),
    ],
    "Ankle": [
        (
            "S93.401A",
            "Sprain of unspecified ligament of right ankle, initial encounter",
            "Ankle injury.",
        )
    ],
    "Hand": [("M79.641", "Pain in right hand", "Hand pain after fall.")],
    "Abdomen and pelvis": [
        ("R10.9", "Unspecified abdominal pain", "Abdominal pain."),
        ("R10.31", "Right lower quadrant pain", "RLQ pain, r/o appendicitis."),
        (
            "K57.92",
            "Diverticulitis of intestine, part unspecified, without perforation or abscess "
            "without bleeding",
            "LLQ pain, r/o diverticulitis.",
        ),
        ("N20.0", "Calculus of kidney", "Flank pain, r/o stone."),
    ],
    "Heart": [
        (
            "I25.10",
            "Atherosclerotic heart disease of native coronary artery without angina pectoris",
            "CAD evaluation.",
        ),
        ("R07.9", "Chest pain, unspecified", "Atypical chest pain."),
    ],
    "Whole body": [
        ("C50.911", "Malignant neoplasm of unspecified site of right female breast", "Staging."),
        (
            "C34.90",
            "Malignant neoplasm of unspecified part of unspecified bronchus or lung",
            "Lung cancer staging.",
        ),
        ("C61", "Malignant neoplasm of prostate", "Prostate cancer, r/o bone metastases."),
    ],
    "Gallbladder": [("K81.1", "Chronic cholecystitis", "Biliary colic, gallbladder function.")],
    "Esophagus": [("R13.10", "Dysphagia, unspecified", "Dysphagia.")],
    "Upper GI": [("K21.9", "Gastro-esophageal reflux disease without esophagitis", "Reflux.")],
    "": [("R69", "Illness, unspecified", "Evaluate.")],
}


def _diagnoses_for(exam_type: ExamType) -> list[tuple[str, str, str]]:
    if exam_type.code.startswith(OB) and exam_type.body_part != "Fetal heart":
        return DIAGNOSES["OB"]
    return DIAGNOSES.get(exam_type.body_part) or DIAGNOSES[""]


def _ensure_diagnosis_codes() -> None:
    """The codes the demo orders with, for any not yet in the shipped imaging list."""
    rows = {code: text for group in DIAGNOSES.values() for code, text, _ in group}
    known = set(DiagnosisCode.objects.values_list("code", flat=True))
    DiagnosisCode.objects.bulk_create(
        DiagnosisCode(code=code, description=text[:200])
        for code, text in sorted(rows.items())
        if code not in known
    )


def _reference_rules(users: dict[str, User]) -> None:
    """Payer authorization rules and Medicare's NPI completeness rule, through the services."""
    by = users["coordinator"]
    payers = {p.payer_code: p for p in Payer.objects.all()}
    codes = {c.code: c for c in ProcedureCode.objects.filter(code__in=AUTH_CODES)}
    for payer_code, lead in AUTH_PAYERS.items():
        payer = payers.get(payer_code)
        if payer is None:
            continue
        for code in AUTH_CODES:
            if code in codes and not (code == "93880" and not payer_code.startswith("UHC")):
                payer_auth_rule_save(
                    by=by,
                    payer=payer,
                    procedure_code=codes[code],
                    auth_required=True,
                    lead_time_days=lead,
                )
    for payer in payers.values():
        if (
            payer.payer_type == PayerType.MEDICARE
            and not CompletenessRule.objects.filter(
                requirement=Requirement.ORDERING_PROVIDER_NPI, payer=payer
            ).exists()
        ):
            completeness_rule_save(
                by=by,
                requirement=Requirement.ORDERING_PROVIDER_NPI,
                payer=payer,
                note="CMS rejects a claim without the ordering provider's NPI.",
            )


# --- the department as the generator sees it ------------------------------------------------------


@dataclass(frozen=True)
class Referrer:
    name: str
    npi: str
    location: str
    phone: str


def _npi(rng: random.Random) -> str:
    """Nine random digits and the Luhn check digit over the ``80840`` prefix (CMS NPI rule)."""
    body = f"{rng.choice('12')}{rng.randint(0, 99_999_999):08d}"
    digits = [int(d) for d in "80840" + body]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 0:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return body + str((10 - total % 10) % 10)


PRACTICES = [
    "Riverbend Primary Care",
    "Farmington Valley Internal Medicine",
    "Capitol Region OB/GYN",
    "Hartford Orthopaedic Associates",
    "Glastonbury Family Practice",
    "Connecticut Vascular Group",
    "Hartford Oncology Partners",
    "West Hartford Pediatrics",
    "Wethersfield Urology",
    "Riverbend Cardiology",
]
WARDS = ["4 West (medicine)", "5 East (surgery)", "ICU", "3 North (cardiac)", "6 West (oncology)"]


@dataclass
class World:
    """Everything the plans draw from, loaded once."""

    now: datetime
    rooms: list[Room]
    hours: dict[Any, dict[int, list[tuple[time, time]]]]
    types_for_room: dict[Any, tuple[list[ExamType], list[float]]]
    codes: dict[Any, list[str]]  # exam type id -> procedure codes
    screening: dict[Any, list[str]]  # exam type id -> required screening items
    auth_rules: dict[tuple[Any, str], int]  # (payer id, code) -> lead days
    sla: dict[tuple[str, Any], tuple[int, int]]  # (priority, exam type id or None) -> minutes
    rules: list[tuple[str, Any, Any]]  # completeness (requirement, exam type id, payer id)
    techs: dict[tuple[str, str], list[StaffMember]]  # (modality, site code) -> staff
    readers: dict[tuple[str, str], list[StaffMember]]
    patients: list[Patient]
    pools: dict[str, list[Patient]]
    payer_of: dict[Any, Payer]
    self_pay: Payer | None
    referrers: list[Referrer]
    users: dict[str, User]
    no_shows: h.Balance = field(default_factory=h.Balance)
    wanted: dict[tuple[Any, Any], set[str]] = field(default_factory=dict)
    #: Issue 5: each room's scanner, the times bookings keep out of (closures, downtime) and
    #: the staff reservations collected for the booked exams.
    devices: dict[Any, Any] = field(default_factory=dict)
    blocked: dict[Any, list[tuple[datetime, datetime]]] = field(default_factory=dict)
    closed: set[tuple[Any, date]] = field(default_factory=set)
    staff_reservations: list[tuple[Any, Any, datetime, datetime]] = field(default_factory=list)
    room_reservations: list[tuple[Any, Any, datetime, datetime, timedelta]] = field(
        default_factory=list
    )


def _now(ctx: DemoContext) -> datetime:
    """The demo's "now": the real clock on the real today, else 10:30 on ``--today``."""
    if ctx.today == timezone.localdate():
        return timezone.now()
    naive = datetime.combine(ctx.today, time(10, 30))
    return naive.replace(tzinfo=ZoneInfo(timezone.get_current_timezone_name())).astimezone(UTC)


def _age(patient: Patient, today: date) -> int:
    return (today - patient.birth_date).days // 365


def _pools(patients: list[Patient], today: date) -> dict[str, list[Patient]]:
    pools: dict[str, list[Patient]] = defaultdict(list)
    for p in patients:
        age, female = _age(p, today), p.sex == "F"
        pools["any"].append(p)
        if age >= 18:
            pools["adult"].append(p)
        else:
            pools["child"].append(p)
        if age < 2:
            pools["infant"].append(p)
        if age >= 45:
            pools["older"].append(p)
        if female and 16 <= age <= 45:
            pools["ob"].append(p)
        if female and age >= 12:
            pools["female"].append(p)
        if female and age >= 35:
            pools["female40"].append(p)
        if not female and p.sex == "M" and age >= 1:
            pools["male"].append(p)
    return pools


POOL_FALLBACK = {
    "infant": "child",
    "child": "any",
    "ob": "female",
    "female40": "female",
    "female": "adult",
    "male": "adult",
    "older": "adult",
    "adult": "any",
}


def _pool_name(exam_type: ExamType, room: Room | None) -> str:
    code = exam_type.code
    if code.startswith(PEDIATRIC):
        return "infant"
    if code.startswith(OB):
        return "ob"
    if code.startswith(("us-pelvis", "us-transvaginal")):
        return "female"
    if code.startswith(("mg-", "mr-breast", "us-breast")):
        return "female40"
    if code.startswith("us-scrotum"):
        return "male"
    if code in ("nm-mpi-stress-rest", "cta-coronary", "us-carotid-duplex", "us-aorta-aaa"):
        return "older"
    if code == "ct-lung-screening":
        return "older"
    if room is not None and room.code == "MAIN-US05":
        return "child"
    return "adult"


def _pick_patient(rng: random.Random, world: World, exam_type: ExamType, room: Room | None) -> Any:
    name: str | None = _pool_name(exam_type, room)
    while name is not None:
        pool = world.pools.get(name)
        if pool:
            return rng.choice(pool)
        name = POOL_FALLBACK.get(name)
    return rng.choice(world.patients)


def _through(field: Any, left: str, right: str) -> dict[Any, list[Any]]:
    result: dict[Any, list[Any]] = defaultdict(list)
    for a, b in field.through.objects.order_by(f"{left}_id", f"{right}_id").values_list(
        f"{left}_id", f"{right}_id"
    ):
        result[a].append(b)
    return result


def _room_types(
    rooms: list[Room], types: list[ExamType]
) -> dict[Any, tuple[list[ExamType], list[float]]]:
    room_caps = _through(Room.capabilities, "room", "roomcapability")
    type_caps = _through(ExamType.required_capabilities, "examtype", "roomcapability")
    result: dict[Any, tuple[list[ExamType], list[float]]] = {}
    for room in rooms:
        caps = set(room_caps.get(room.pk, []))
        focus = FOCUS.get(room.code)
        chosen = []
        for et in types:
            if et.modality_id != room.modality_id or not set(type_caps.get(et.pk, [])) <= caps:
                continue
            if focus is not None:
                if not et.code.startswith(focus):
                    continue
            elif et.code.startswith(SPECIALISED):
                continue
            chosen.append(et)
        if not chosen:  # a room whose focus its capabilities do not allow: anything it can do
            chosen = [
                et
                for et in types
                if et.modality_id == room.modality_id and set(type_caps.get(et.pk, [])) <= caps
            ]
        result[room.pk] = (chosen, [WEIGHTS.get(et.code, 1.0) for et in chosen])
    return result


def _staff(
    modality_ids: dict[Any, list[Any]], members: list[StaffMember], roles: set[str]
) -> dict[tuple[str, str], list[StaffMember]]:
    result: dict[tuple[str, str], list[StaffMember]] = defaultdict(list)
    for member in members:
        if member.job_role not in roles:
            continue
        for modality in modality_ids.get(member.pk, []):
            result[(modality, member.home_site.code)].append(member)
            result[(modality, "*")].append(member)
    return result


def _world(ctx: DemoContext, now: datetime, users: dict[str, User]) -> World:
    rng = ctx.random("exam-history-world")
    rooms = list(Room.objects.select_related("site").order_by("code"))
    hours: dict[Any, dict[int, list[tuple[time, time]]]] = defaultdict(lambda: defaultdict(list))
    for row in RoomOpeningHours.objects.order_by("room_id", "weekday", "opens"):
        hours[row.room_id][row.weekday].append((row.opens, row.closes))
    types = list(ExamType.objects.filter(active=True).order_by("code"))
    payers = {p.payer_code: p for p in Payer.objects.all()}
    patients: list[Patient] = list(ctx.objects.get("patients") or Patient.objects.order_by("mrn"))
    coverage = dict(
        PatientIdentifier.objects.filter(type=IdentifierType.INSURANCE).values_list(
            "patient_id", "authority"
        )
    )
    payer_of = {p.pk: payers[coverage[p.pk]] for p in patients if coverage.get(p.pk) in payers}
    members = list(StaffMember.objects.select_related("home_site").order_by("employee_number"))
    modality_ids = _through(StaffMember.modalities, "staffmember", "modality")
    fake = ctx.faker("en_US", "exam-history-referrers")
    referrers = []
    for index in range(40):
        practice = PRACTICES[index % len(PRACTICES)]
        phone = f"(860) 555-{rng.randint(200, 999):04d}"
        name = f"{fake.first_name()} {fake.last_name()}, {rng.choice(['MD', 'MD', 'DO', 'APRN'])}"
        referrers.append(Referrer(name, _npi(rng), practice, phone))
    return World(
        now=now,
        rooms=rooms,
        hours=hours,
        types_for_room=_room_types(rooms, types),
        codes=_through(ExamType.procedure_codes, "examtype", "procedurecode"),
        screening=_through(ExamType.required_screening, "examtype", "screeningitem"),
        auth_rules={
            (r.payer_id, r.procedure_code_id): r.lead_time_days
            for r in PayerAuthRule.objects.filter(auth_required=True)
        },
        sla={
            (p.priority, p.exam_type_id): (p.target_minutes, p.warning_minutes)
            for p in SlaPolicy.objects.all()
        },
        rules=list(
            CompletenessRule.objects.filter(active=True).values_list(
                "requirement", "exam_type_id", "payer_id"
            )
        ),
        techs=_staff(modality_ids, members, {JobRole.SONOGRAPHER, JobRole.TECHNOLOGIST}),
        readers=_staff(modality_ids, members, {JobRole.RADIOLOGIST}),
        patients=patients,
        pools=_pools(patients, ctx.today),
        payer_of=payer_of,
        self_pay=payers.get("SELF"),
        referrers=referrers,
        users=users,
    )


# --- orders -------------------------------------------------------------------------------------


def _weighted(rng: random.Random, options: Sequence[T], weights: Sequence[float]) -> T:
    return rng.choices(options, weights=weights)[0]


def _class_and_priority(rng: random.Random, room: Room, exam_type: ExamType) -> tuple[str, str]:
    if exam_type.code.startswith(OUTPATIENT_ONLY) or room.site.code != "MAIN":
        patient_class = "outpatient"
    else:
        mix = CLASS_MIX.get(room.code, CLASS_MIX["MAIN"])
        patient_class = _weighted(rng, ["outpatient", "inpatient", "emergency"], mix)
    if exam_type.code.startswith(OUTPATIENT_ONLY):
        return patient_class, "routine"
    priority = _weighted(rng, ["stat", "urgent", "routine"], PRIORITY_MIX[patient_class])
    return patient_class, priority


def _lmp(rng: random.Random, exam_type: ExamType, on: date) -> date:
    code = exam_type.code
    weeks = (
        rng.uniform(5, 10)
        if code in ("us-ob-transvaginal", "us-ob-first-trimester")
        else rng.uniform(11, 13.5)
        if code == "us-ob-nuchal-translucency"
        else rng.uniform(18, 23)
        if code in ("us-ob-detailed-anatomy", "us-fetal-echo", "us-ob-standard")
        else rng.uniform(26, 39)
    )
    return on - timedelta(days=round(weeks * 7))


def _order_fields(
    rng: random.Random,
    world: World,
    *,
    exam_type: ExamType,
    patient: Patient,
    site: Any,
    patient_class: str,
    priority: str,
    on: date,
) -> dict[str, Any]:
    referrer = rng.choice(world.referrers)
    diagnoses = _diagnoses_for(exam_type)
    first = rng.choice(diagnoses)
    codes = [first[0]]
    if len(diagnoses) > 1 and rng.random() < 0.2:
        second = rng.choice(diagnoses)[0]
        if second not in codes:
            codes.append(second)
    location = referrer.location
    if patient_class == "emergency":
        location = "Emergency Department, Riverbend General"
    elif patient_class == "inpatient":
        location = f"Riverbend General, {rng.choice(WARDS)}"
    code = exam_type.code
    prior = ""
    if code.startswith(("mg-", "us-breast", "mr-breast")):
        prior = f"Prior mammogram {on.year - 1} at Riverbend Outpatient Imaging, BI-RADS 1."
    return {
        "patient": patient,
        "exam_type": exam_type,
        "site": site,
        "priority": priority,
        "patient_class": patient_class,
        "payer": world.payer_of.get(patient.pk, world.self_pay),
        "ordering_provider": referrer.name,
        "ordering_provider_npi": referrer.npi,
        "ordering_location": location,
        "ordering_phone": referrer.phone,
        "clinical_indication": first[2],
        "signed_order": True,
        "prior_imaging_note": prior,
        "lmp_date": _lmp(rng, exam_type, on) if code.startswith(OB) else None,
        "requested_date": on if patient_class == "outpatient" and priority == "routine" else None,
        "placer_order_number": f"RBG{rng.randint(10_000_000, 99_999_999)}",
        "diagnoses": codes,
        "received_by": "scheduler" if patient_class == "outpatient" else "coordinator",
    }


def _missing(world: World, order: dict[str, Any]) -> list[str]:
    """``orders.selectors.missing_requirements`` on an order not yet saved (no attachments)."""
    et_id, payer = order["exam_type"].pk, order["payer"]
    payer_id = payer.pk if payer is not None else None
    wanted = world.wanted.get((et_id, payer_id))
    if wanted is None:
        wanted = world.wanted[(et_id, payer_id)] = {
            req
            for req, rule_type, rule_payer in world.rules
            if rule_type in (None, et_id) and rule_payer in (None, payer_id)
        }
    met = {
        Requirement.CLINICAL_INDICATION: bool(order["clinical_indication"].strip()),
        Requirement.DIAGNOSIS_CODE: bool(order["diagnoses"]),
        Requirement.SIGNED_ORDER: order["signed_order"],
        Requirement.PRIOR_IMAGING_NOTE: bool(order["prior_imaging_note"].strip()),
        Requirement.LMP: order["lmp_date"] is not None,
        Requirement.ORDERING_PROVIDER: bool(order["ordering_provider"].strip()),
        Requirement.ORDERING_PROVIDER_NPI: bool(order["ordering_provider_npi"].strip()),
        Requirement.PAYER: payer is not None,
        Requirement.REQUISITION_ATTACHED: False,
    }
    return [r.value for r in Requirement if r.value in wanted and not met[r]]


def _auth_need(world: World, order: dict[str, Any]) -> tuple[list[str] | None, int]:
    payer = order["payer"]
    if payer is None:
        return None, 0
    codes = [c for c in world.codes[order["exam_type"].pk] if (payer.pk, c) in world.auth_rules]
    if not codes:
        return None, 0
    return sorted(codes), max(world.auth_rules[(payer.pk, c)] for c in codes)


_ZONE: list[Any] = []


def _local_date(value: datetime) -> date:
    """``timezone.localdate`` without its per-call lookups (called a few times per exam)."""
    if not _ZONE:
        _ZONE.append(timezone.get_current_timezone())
    return value.astimezone(_ZONE[0]).date()


def _overridable(world: World, plan: h.Plan) -> list[str]:
    stops = ["prep", "identity"]
    if world.screening.get(plan.exam_type.pk):
        stops.append("screening")
    if plan.patient.interpreter_needed:
        stops.append("interpreter")
    return stops


def _pack(
    rng: random.Random,
    world: World,
    room: Room,
    day: date,
    intervals: list[tuple[time, time]],
    count: int,
) -> Iterator[tuple[datetime, ExamType, str, str]]:
    """Up to ``count`` bookings laid end to end with random gaps inside the opening hours."""
    tz = ZoneInfo(room.site.time_zone)
    types, weights = world.types_for_room[room.pk]
    if not types:
        return
    total = sum((c.hour * 60 + c.minute) - (o.hour * 60 + o.minute) for o, c in intervals)
    for opens, closes in intervals:
        length = (closes.hour * 60 + closes.minute) - (opens.hour * 60 + opens.minute)
        n = round(count * length / total)
        items = []
        for _ in range(n):
            exam_type = _weighted(rng, types, weights)
            patient_class, priority = _class_and_priority(rng, room, exam_type)
            items.append(
                (exam_type, patient_class, priority, exam_type.duration_for(patient_class))
            )
        while items and sum(item[3] for item in items) > length:
            items.pop()
        if not items:
            continue
        slack = length - sum(item[3] for item in items)
        shares = [rng.random() for _ in range(len(items) + 1)]
        scale = slack / sum(shares)
        cursor = datetime.combine(day, opens, tzinfo=tz)
        for (exam_type, patient_class, priority, duration), share in zip(
            items, shares, strict=False
        ):
            gap = int(share * scale) // 5 * 5
            cursor += timedelta(minutes=gap)
            yield cursor.astimezone(UTC), exam_type, patient_class, priority
            cursor += timedelta(minutes=duration)


def _plan_booked(
    rng: random.Random,
    world: World,
    *,
    room: Room,
    start: datetime,
    exam_type: ExamType,
    patient_class: str,
    priority: str,
    technologist: StaffMember | None,
) -> h.Plan | None:
    patient = _pick_patient(rng, world, exam_type, room)
    duration = exam_type.duration_for(patient_class)
    booking = h.Booking(room, start, start + timedelta(minutes=duration), duration)
    order = _order_fields(
        rng,
        world,
        exam_type=exam_type,
        patient=patient,
        site=room.site,
        patient_class=patient_class,
        priority=priority,
        on=_local_date(start),
    )
    auth_codes, lead_days = _auth_need(world, order)
    t = h.timing(
        rng,
        booking=booking,
        priority=priority,
        patient_class=patient_class,
        code=exam_type.code,
        auth_lead_days=lead_days if auth_codes is not None else None,
    )
    if t.received > world.now:
        return None  # not ordered yet: the slot is still free
    plan = h.Plan(order=order, exam_type=exam_type, patient=patient, received_at=t.received)
    plan.incomplete = _missing(world, order)
    h.simulate_booked(
        rng,
        plan,
        booking=booking,
        t=t,
        modality=room.modality_id,
        priority=priority,
        auth_codes=auth_codes,
        auth_lead_days=lead_days,
        local_date=_local_date,
        now=world.now,
        overridable=_overridable(world, plan),
        balance=world.no_shows,
    )
    if plan.booking is not None:
        plan.technologist = technologist
    if plan.at(S.REPORTED) is not None:
        readers = world.readers.get((room.modality_id, room.site.code)) or world.readers.get(
            (room.modality_id, "*"), []
        )
        plan.radiologist = rng.choice(readers) if readers else None
    return plan


def _booked_plans(ctx: DemoContext, world: World, scale: float) -> Iterator[h.Plan]:
    rng = ctx.random("exam-history")
    for offset in range(-HISTORY_DAYS, FUTURE_DAYS + 1):
        day = ctx.today + timedelta(days=offset)
        for room_index, room in enumerate(world.rooms):
            intervals = world.hours[room.pk].get(day.weekday())
            if not intervals or room.status != "in_service":
                continue
            low, high = DAILY.get(room.modality_id, (4, 8))
            weekend = WEEKEND_SHARE if day.weekday() >= 5 else 1.0
            target = rng.uniform(low, high) * scale * weekend
            count = int(target) + (rng.random() < target - int(target))
            if not count:
                continue
            techs = world.techs.get((room.modality_id, room.site.code)) or world.techs.get(
                (room.modality_id, "*"), []
            )
            tech = techs[(day.toordinal() + room_index) % len(techs)] if techs else None
            # Closures and downtime (future days) drop bookings after they are drawn, so the
            # random draws, and with them every other booking, stay what they were.
            closed = offset >= 0 and (room.site_id, day) in world.closed
            for start, exam_type, patient_class, priority in _pack(
                rng, world, room, day, intervals, count
            ):
                plan = _plan_booked(
                    rng,
                    world,
                    room=room,
                    start=start,
                    exam_type=exam_type,
                    patient_class=patient_class,
                    priority=priority,
                    technologist=tech,
                )
                if plan is None or closed:
                    continue
                if offset >= 0 and _blocked(world, room, start, exam_type, patient_class):
                    continue
                yield plan


def _blocked(
    world: World, room: Room, start: datetime, exam_type: ExamType, patient_class: str
) -> bool:
    """Whether a future booking would fall in a room closure or its scanner's downtime."""
    windows = world.blocked.get(room.pk)
    if not windows:
        return False
    end = start + timedelta(minutes=exam_type.duration_for(patient_class))
    return any(a < end and start < b for a, b in windows)


def _calendars(world: World, today: date) -> None:
    """What the bookings of the coming weeks must respect (the calendars demo step made it)."""
    from radflow.scheduling.models import Device, DeviceDowntime, RoomClosure, SiteClosure

    for room_id, device_id in (
        Device.objects.filter(room__isnull=False, status="in_service")
        .order_by("-serial_number")
        .values_list("room_id", "pk")
    ):
        world.devices[room_id] = device_id  # the first by serial number wins
    world.closed = set(SiteClosure.objects.filter(date__gte=today).values_list("site_id", "date"))
    blocked: dict[Any, list[tuple[datetime, datetime]]] = defaultdict(list)
    for room_id, start, end in RoomClosure.objects.filter(end__gte=world.now).values_list(
        "room_id", "start", "end"
    ):
        blocked[room_id].append((start, end))
    for room_id, start, end in DeviceDowntime.objects.filter(
        end__gte=world.now, device__room__isnull=False
    ).values_list("device__room_id", "start", "end"):
        blocked[room_id].append((start, end))
    world.blocked = dict(blocked)


def _open_plans(ctx: DemoContext, world: World, scale: float) -> Iterator[h.Plan]:
    """Work without a booking: referrals to triage (some incomplete), orders awaiting a slot or
    the payer, a few triaged ones and the STATs that came in within the last hour."""
    rng = ctx.random("exam-history-open")
    now = world.now
    main_rooms = [
        r for r in world.rooms if r.site.code == "MAIN" and r.modality_id in ("CT", "US", "DX")
    ]
    for kind, (full, minimum) in OPEN_WORK.items():
        count = max(minimum, round(full * scale))
        made = 0
        tries = 0
        while made < count and tries < count * 40:
            tries += 1
            room = rng.choice(main_rooms if kind == "stat" else world.rooms)
            types, weights = world.types_for_room[room.pk]
            if not types:
                continue
            exam_type = _weighted(rng, types, weights)
            patient = _pick_patient(rng, world, exam_type, room)
            if kind == "stat":
                if exam_type.code.startswith(OUTPATIENT_ONLY):
                    continue
                patient_class = rng.choice(["emergency", "emergency", "inpatient"])
                priority = "stat"
                received = now - timedelta(minutes=rng.uniform(3, 40))
            else:
                patient_class, priority = _class_and_priority(rng, room, exam_type)
                if priority == "stat":
                    continue
                received = now - timedelta(
                    hours=rng.uniform(0.3, 24 * (3 if kind == "requested" else 7))
                )
            order = _order_fields(
                rng,
                world,
                exam_type=exam_type,
                patient=patient,
                site=room.site,
                patient_class=patient_class,
                priority=priority,
                on=_local_date(now) + timedelta(days=7),
            )
            auth_codes, _lead = _auth_need(world, order)
            if (kind == "pending_auth") != (auth_codes is not None) and kind != "stat":
                continue
            plan = h.Plan(order=order, exam_type=exam_type, patient=patient, received_at=received)
            if kind == "requested" and rng.random() < INCOMPLETE_SHARE:
                _make_incomplete(rng, world, plan)
            plan.incomplete = _missing(world, order)
            kind_steps = "requested" if kind == "stat" and made % 2 == 0 else kind
            if kind_steps != "requested":
                triaged = received + (now - received) * rng.uniform(0.1, 0.5)
                log = h.StepLog(now)
                need = {"auth_required": auth_codes is not None, "auth_codes": auth_codes or []}
                details = {"exam_type": exam_type.code, "priority": priority}
                log.add(A.TRIAGE, S.TRIAGED, triaged, by=h.WHO.triage, details=details)
                if kind_steps == "triaged":
                    plan.triaged_only = True
                elif auth_codes is None:
                    log.add(A.AUTHORIZE, S.AUTHORIZED, triaged, by=h.WHO.triage, details=need)
                else:
                    log.add(A.REQUIRE_AUTH, S.PENDING_AUTH, triaged, by=h.WHO.triage, details=need)
                    plan.auth = h.AuthPlan(status="pending", requested_at=triaged)
                    if kind_steps != "pending_auth":
                        decided = triaged + (now - triaged) * rng.uniform(0.2, 0.8)
                        actor = f"authorization by {h.WHO.triage}"
                        log.add(A.AUTHORIZE, S.AUTHORIZED, decided, actor=actor)
                        plan.auth = h.AuthPlan(
                            status="approved",
                            requested_at=triaged,
                            decided_at=decided,
                            valid_from=_local_date(decided),
                            valid_to=_local_date(decided) + timedelta(days=60),
                        )
                plan.steps = log.steps
            made += 1
            yield plan


def _make_incomplete(rng: random.Random, world: World, plan: h.Plan) -> None:
    order = plan.order
    gaps = ["clinical_indication", "diagnosis_code", "signed_order", "ordering_provider_npi"]
    if order["lmp_date"] is not None:
        gaps.append("lmp")
    for gap in rng.sample(gaps, rng.choice([1, 1, 2])):
        if gap == "clinical_indication":
            order["clinical_indication"] = ""
        elif gap == "diagnosis_code":
            order["diagnoses"] = []
        elif gap == "signed_order":
            order["signed_order"] = False
        elif gap == "ordering_provider_npi":
            order["ordering_provider_npi"] = ""
        elif gap == "lmp":
            order["lmp_date"] = None
    if not _missing(world, order):
        order["signed_order"] = False


# --- rows -----------------------------------------------------------------------------------------


SCREENING: dict[str, list[tuple[str, str]]] = {
    # item: [(answer, result)], the first the most common
    "pregnancy": [("Not pregnant", "cleared"), ("Not applicable", "cleared")],
    "breastfeeding": [("No", "cleared")],
    "latex-allergy": [("No", "cleared"), ("Yes, latex-free supplies used", "flagged")],
    "contrast-allergy": [("No prior reaction", "cleared"), ("Hives 2019, premedicated", "flagged")],
    "egfr": [("eGFR within limits", "cleared")],
    "metformin": [("No", "cleared"), ("Yes, hold 48 h after contrast", "flagged")],
    "mri-implants": [("No implants", "cleared"), ("MR-conditional knee implant", "flagged")],
    "claustrophobia": [("No", "cleared"), ("Mild, coached through", "flagged")],
    "npo": [("Nothing since midnight", "cleared")],
    "full-bladder": [("Yes", "cleared")],
    "anticoagulation": [("No", "cleared"), ("Aspirin 81 mg, continued per protocol", "flagged")],
    "weight": [("Within table limit", "cleared")],
    "prior-breast-imaging": [("Prior mammogram at Riverbend, on file", "cleared")],
    "caffeine": [("No caffeine for 24 h", "cleared")],
    "blood-glucose": [("Within range", "cleared")],
}
OVERRIDE_REASONS: dict[str, list[str]] = {
    "screening": [
        "Inpatient, unable to answer; chart reviewed by the radiologist.",
        "Emergent exam; screening completed from the chart afterwards.",
    ],
    "prep": [
        "Patient ate breakfast; radiologist approved scanning, limited views.",
        "Bladder not full; transvaginal approach used instead.",
    ],
    "interpreter": ["Interpreter delayed over 30 min; family member translated, patient agreed."],
    "identity": ["Unresponsive trauma patient; wristband checked with the ED nurse."],
}
STOP_DETAIL = {
    "screening": "Screening not answered.",
    "prep": "Preparation not followed.",
    "interpreter": "Interpreter needed; none logged.",
    "identity": "Identity not confirmed with two identifiers.",
}
REPORT_TEXT = (
    "EXAM: {name}\nINDICATION: {indication}\nTECHNIQUE: Standard protocol.\n"
    "FINDINGS: {findings}\nIMPRESSION: {impression}"
)
IMPRESSIONS = [
    ("No acute abnormality.", "No acute findings."),
    ("Findings as described, stable compared with the prior study.", "Stable. No new finding."),
    ("A small incidental finding is described.", "Incidental finding; follow-up as advised."),
    ("Abnormal findings as described.", "Positive study; referrer informed by phone."),
]


def _sqlite_datetime(value: datetime) -> str:
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ")[:-6]


class Table:
    """Rows for one model, inserted with one ``executemany`` per batch.

    ``bulk_create`` spends most of its time building and preparing model instances; a year of
    history is over a million rows, so the demo prepares plain values itself (per column, once)
    and inserts them directly. Rows are dicts by attribute name; a column left out gets its
    field's default.
    """

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self.fields = [
            f
            for f in model._meta.concrete_fields
            if not isinstance(f, models.AutoField | models.BigAutoField)
        ]
        self.rows: list[dict[str, Any]] = []
        self.count = 0

    def add(self, **values: Any) -> None:
        self.rows.append(values)

    def _converter(self, field: models.Field[Any, Any]) -> Callable[[Any], Any] | None:
        """How a Python value becomes a database value for this column (None: as it is)."""
        sqlite = connection.vendor == "sqlite"
        target = field.target_field if isinstance(field, models.ForeignKey) else field
        if isinstance(target, models.UUIDField):
            return (lambda v: v.hex) if sqlite else None
        if isinstance(target, models.DateTimeField):
            # What Django's SQLite adapter stores: naive UTC, "YYYY-MM-DD HH:MM:SS[.ffffff]".
            return _sqlite_datetime if sqlite else None
        if isinstance(target, models.DateField):
            return (lambda v: v.isoformat()) if sqlite else None
        if isinstance(target, models.JSONField):
            adapt = connection.ops.adapt_json_value
            encoder = target.encoder
            empty_list, empty_dict = adapt([], encoder), adapt({}, encoder)
            return lambda v: adapt(v, encoder) if v else empty_list if v == [] else empty_dict
        if isinstance(target, models.DecimalField):
            adapt_decimal = connection.ops.adapt_decimalfield_value
            digits, places = target.max_digits, target.decimal_places
            return lambda v: adapt_decimal(v, digits, places)
        return None

    def flush(self) -> None:
        if not self.rows:
            return
        given = self.rows[0].keys()  # every row of a table carries the same keys
        present = [f for f in self.fields if f.attname in given]
        absent = [f for f in self.fields if f.attname not in given]
        constants = [f.get_default() if f.has_default() or f.null else "" for f in absent]
        constants = [
            value if value is None or convert is None else convert(value)
            for value, convert in zip(constants, [self._converter(f) for f in absent], strict=True)
        ]
        conversions = [
            (index, convert)
            for index, convert in enumerate(self._converter(f) for f in present)
            if convert is not None
        ]
        fetch = itemgetter(*(f.attname for f in present))
        table = connection.ops.quote_name(self.model._meta.db_table)
        names = ", ".join(connection.ops.quote_name(f.column) for f in present + absent)
        marks = ", ".join(["%s"] * len(self.fields))
        sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 (names from _meta)
        values = []
        for row in self.rows:
            record = list(fetch(row))
            for index, convert in conversions:
                value = record[index]
                if value is not None:
                    record[index] = convert(value)
            record.extend(constants)
            values.append(record)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # COPY is an order of magnitude faster than row-by-row INSERTs on PostgreSQL.
                with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for record in values:
                        copy.write_row(record)
            else:
                for start in range(0, len(values), BATCH):
                    cursor.executemany(sql, values[start : start + BATCH])
        self.count += len(self.rows)
        self.rows = []


@dataclass
class Rows:
    orders: Table
    order_history: Table
    diagnoses: Table
    exams: Table
    transitions: Table
    auths: Table
    auth_history: Table
    contacts: Table
    outreach: Table
    identity: Table
    answers: Table
    consents: Table
    preps: Table
    interpreters: Table
    overrides: Table
    charges: Table
    reservations: Table

    @classmethod
    def create(cls) -> Rows:
        return cls(
            orders=Table(Order),
            order_history=Table(Order.history.model),
            diagnoses=Table(OrderDiagnosis),
            exams=Table(Exam),
            transitions=Table(ExamTransition),
            auths=Table(Authorization),
            auth_history=Table(Authorization.history.model),
            contacts=Table(AuthorizationContact),
            outreach=Table(OutreachEntry),
            identity=Table(IdentityCheck),
            answers=Table(ScreeningAnswer),
            consents=Table(Consent),
            preps=Table(PrepCheck),
            interpreters=Table(InterpreterLog),
            overrides=Table(Override),
            charges=Table(Charge),
            reservations=Table(Reservation),
        )

    def tables(self) -> list[Table]:
        return list(vars(self).values())

    def flush(self) -> None:
        for table in self.tables():  # in foreign-key order
            table.flush()


def _uuid(rng: random.Random, at: datetime) -> uuid.UUID:
    """A time-ordered UUID (RFC 9562 version 7) from ``at``: rows sorted by time get increasing
    keys, so the indexes grow at their end instead of all over (much faster inserts)."""
    ms = int(at.timestamp() * 1000)
    rand_a, rand_b = rng.getrandbits(12), rng.getrandbits(62)
    return uuid.UUID(int=(ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b)


def _sla(world: World, order: dict[str, Any], exam_type_id: Any) -> None:
    policy = world.sla.get((order["priority"], exam_type_id)) or world.sla.get(
        (order["priority"], None)
    )
    if policy is not None:
        clock = Clock.from_policy(order["received_at"], *policy)
        order["sla_due_at"], order["sla_warn_at"] = clock.due_at, clock.warn_at


def _screening_answer(
    rng: random.Random, item: str, at: datetime, patient: Patient
) -> dict[str, Any]:
    options = SCREENING.get(item, [("Answered", "cleared")])
    answer, result = options[0] if rng.random() < 0.9 or len(options) == 1 else options[1]
    value_date = None
    value_number = None
    if item == "pregnancy":
        if patient.sex == "F":
            value_date = _local_date(at) - timedelta(days=rng.randint(3, 27))
        else:
            answer = "Not applicable"
    elif item == "egfr":
        value_number = rng.randint(48, 110)
        value_date = _local_date(at) - timedelta(days=rng.randint(1, 25))
        answer = f"eGFR {value_number}"
    elif item == "weight":
        value_number = rng.randint(48, 135)
        answer = f"{value_number} kg"
    elif item == "blood-glucose":
        value_number = rng.randint(78, 160)
        answer = f"{value_number} mg/dL"
    return {
        "item_id": item,
        "answer": answer,
        "value_date": value_date,
        "value_number": Decimal(value_number) if value_number is not None else None,
        "result": result,
        "at": at,
    }


def _rows_for(rng: random.Random, world: World, plan: h.Plan, accession: str, rows: Rows) -> None:
    users = world.users
    o = plan.order
    triage = next((s for s in plan.steps if s.action is A.TRIAGE), None)
    triager = users[triage.by].id if triage is not None else None
    order_id = _uuid(rng, plan.received_at)
    payer = o["payer"]
    order: dict[str, Any] = {
        "id": order_id,
        "created_at": plan.received_at,
        "updated_at": plan.steps[-1].at if plan.steps else plan.received_at,
        "patient_id": o["patient"].id,
        "exam_type_id": o["exam_type"].id,
        "site_id": o["site"].id,
        "priority": o["priority"],
        "patient_class": o["patient_class"],
        "payer_id": payer.id if payer is not None else None,
        "ordering_provider": o["ordering_provider"],
        "ordering_provider_npi": o["ordering_provider_npi"],
        "ordering_location": o["ordering_location"],
        "ordering_phone": o["ordering_phone"],
        "clinical_indication": o["clinical_indication"],
        "signed_order": o["signed_order"],
        "prior_imaging_note": o["prior_imaging_note"],
        "lmp_date": o["lmp_date"],
        "requested_date": o["requested_date"],
        "placer_order_number": o["placer_order_number"],
        "source": OrderSource.DEMO.value,
        "received_at": plan.received_at,
        "received_by_id": users[o["received_by"]].id,
        "is_complete": not plan.incomplete,
        "missing": list(plan.incomplete),
        "protocol": f"Standard {plan.exam_type.name} protocol" if triage is not None else "",
        "triaged_by_id": triager,
        "owner_id": triager,
        "sla_due_at": None,
        "sla_warn_at": None,
    }
    _sla(world, order, plan.exam_type.id)
    rows.orders.add(**order)
    rows.order_history.add(
        **order,
        history_date=plan.received_at,
        history_type="+",
        history_user_id=order["received_by_id"],
        history_change_reason=None,
    )
    for position, code in enumerate(o["diagnoses"], 1):
        rows.diagnoses.add(order_id=order_id, code=code, position=position)

    booking = plan.booking
    last = plan.steps[-1] if plan.steps else None
    exam_id = _uuid(rng, plan.received_at)
    exam: dict[str, Any] = {
        "id": exam_id,
        "created_at": plan.received_at,
        "updated_at": last.at if last else plan.received_at,
        "order_id": order_id,
        "state": VALUE[plan.state],
        "accession_number": accession,
        "study_instance_uid": new_study_instance_uid(),
        "room_id": booking.room.id if booking else None,
        "scheduled_start": booking.start if booking else None,
        "scheduled_end": booking.end if booking else None,
        "technologist_id": plan.technologist.id if plan.technologist else None,
        "radiologist_id": plan.radiologist.id if plan.radiologist else None,
        "report_text": "",
        "images_count": plan.images_count,
        "reason_code": "",
        "reason_text": "",
        "requested_at": plan.received_at,
        "state_changed_at": last.at if last else plan.received_at,
    }
    for name in STATE_FIELDS:
        exam[name] = None
    if last is not None and last.action in (A.CANCEL, A.NO_SHOW, A.DISCONTINUE):
        exam["reason_code"] = last.reason_code
    previous = S.REQUESTED
    for step in plan.steps:
        if step.action is not A.RESCHEDULE:
            exam[STAMP[step.to_state]] = step.at
        rows.transitions.add(
            exam_id=exam_id,
            action=VALUE[step.action],
            from_state=VALUE[previous],
            to_state=VALUE[step.to_state],
            at=step.at,
            by_id=users[step.by].id if step.by else None,
            actor=step.by or step.actor,
            reason_code=step.reason_code,
            reason="",
            details=step.details,
        )
        previous = step.to_state
    if exam["reported_at"] is not None:
        findings, impression = rng.choice(IMPRESSIONS)
        exam["report_text"] = REPORT_TEXT.format(
            name=plan.exam_type.name,
            indication=o["clinical_indication"] or "Not given.",
            findings=findings,
            impression=impression,
        )
    # Every exam row carries the same keys (``Table``): the scanner only when booked.
    exam["device_id"] = world.devices.get(booking.room.pk) if booking is not None else None
    rows.exams.add(**exam)
    if booking is not None and plan.state in HOLDS_ROOM:
        _reservation_rows(world, plan, booking, exam, rows)
    _auth_rows(rng, world, plan, order_id, rows)
    if plan.incomplete and plan.state is S.REQUESTED:
        at = plan.received_at
        for action in rng.sample(["faxed", "called", "left_message", "emailed"], rng.randint(1, 3)):
            at = min(at + timedelta(hours=rng.uniform(0.5, 20)), world.now)
            rows.outreach.add(
                order_id=order_id,
                action=action,
                note="Asked the referrer's office for the missing items.",
                at=at,
                by_id=users["coordinator"].id,
            )
    _intake_rows(rng, world, plan, exam, rows)
    if exam["billed_at"] is not None:
        for code in world.codes[plan.exam_type.id]:
            rows.charges.add(
                exam_id=exam_id,
                procedure_code_id=code,
                modifiers="TC",
                units=1,
                payer_id=order["payer_id"],
                posted_at=exam["billed_at"],
                posted_by_id=users["billing"].id,
            )


def _reservation_rows(
    world: World, plan: h.Plan, booking: h.Booking, exam: dict[str, Any], rows: Rows
) -> None:
    """The time a booked exam keeps, as ``booking.claim`` would have reserved it: the room to
    the end plus turnover, its scanner, and (collected, checked for overlap at the end) the
    sonographer or technologist. Every row names all three resource columns (``Table``)."""
    start, end = booking.start, booking.end
    common = {"start": start, "exam_id": exam["id"], "active": True, "created_at": world.now}
    turnover = timedelta(minutes=plan.exam_type.turnover_min)
    world.room_reservations.append((booking.room.pk, exam["id"], start, end, turnover))
    device_id = exam.get("device_id")
    if device_id is not None:
        rows.reservations.add(room_id=None, device_id=device_id, staff_id=None, end=end, **common)
    if plan.technologist is not None:
        world.staff_reservations.append((plan.technologist.pk, exam["id"], start, end))


def _room_reservation_rows(world: World, rows: Rows) -> None:
    """Each room's time to the exam's end plus turnover, cut at the next booking: the generated
    days pack exams by their durations, leaving turnover to the gaps between them."""
    ordered = sorted(world.room_reservations, key=itemgetter(0, 2))
    for index, (room_id, exam_id, start, end, turnover) in enumerate(ordered):
        finish = end + turnover
        if index + 1 < len(ordered) and ordered[index + 1][0] == room_id:
            finish = max(end, min(finish, ordered[index + 1][2]))
        rows.reservations.add(
            room_id=room_id,
            device_id=None,
            staff_id=None,
            exam_id=exam_id,
            start=start,
            end=finish,
            active=True,
            created_at=world.now,
        )


def _staff_reservation_rows(world: World, rows: Rows) -> int:
    """A person rostered to two rooms at once in the generated data keeps the first booking."""
    kept = 0
    last_end: dict[Any, datetime] = {}
    for staff_id, exam_id, start, end in sorted(world.staff_reservations, key=itemgetter(2)):
        if staff_id in last_end and start < last_end[staff_id]:
            continue
        last_end[staff_id] = end
        rows.reservations.add(
            room_id=None,
            device_id=None,
            staff_id=staff_id,
            exam_id=exam_id,
            start=start,
            end=end,
            active=True,
            created_at=world.now,
        )
        kept += 1
    return kept


STATE_FIELDS = [f"{state.value}_at" for state in S if state is not S.REQUESTED]
#: Plain strings for the enums (reading ``.value`` a million times costs seconds).
VALUE: dict[Any, str] = {member: member.value for member in [*A, *S]}
STAMP: dict[Any, str] = {state: f"{state.value}_at" for state in S}


def _auth_rows(rng: random.Random, world: World, plan: h.Plan, order_id: Any, rows: Rows) -> None:
    auth_plan = plan.auth
    if auth_plan is None:
        return
    by = world.users["coordinator"].id
    approved = auth_plan.status == "approved"
    payer = plan.order["payer"]
    auth_id = _uuid(rng, auth_plan.requested_at)
    auth: dict[str, Any] = {
        "id": auth_id,
        "created_at": auth_plan.requested_at,
        "updated_at": auth_plan.decided_at or auth_plan.requested_at,
        "order_id": order_id,
        "number": f"{payer.payer_code[:3]}{rng.randint(10_000_000, 99_999_999)}"
        if approved and payer is not None
        else "",
        "status": auth_plan.status,
        "valid_from": auth_plan.valid_from,
        "valid_to": auth_plan.valid_to,
        "approved_units": 1 if approved else None,
        "requested_at": auth_plan.requested_at,
        "decided_at": auth_plan.decided_at,
        "created_by_id": by,
        "note": "Clinical notes sent with the request." if rng.random() < 0.5 else "",
    }
    rows.auths.add(**auth)
    rows.auth_history.add(
        **auth,
        history_date=auth["updated_at"],
        history_type="+",
        history_user_id=by,
        history_change_reason=None,
    )
    end = auth_plan.decided_at or world.now
    at = auth_plan.requested_at
    for _ in range(rng.randint(1, 2)):
        at = at + (end - at) * rng.uniform(0.1, 0.6)
        channel = rng.choice(["portal", "portal", "phone", "fax"])
        rows.contacts.add(
            authorization_id=auth_id,
            channel=channel,
            contact_name="" if channel == "portal" else rng.choice(["Dana", "Luis", "Priya"]),
            reference=f"REF{rng.randint(100000, 999999)}",
            note="Request submitted." if channel == "portal" else "Status check.",
            at=at,
            by_id=by,
        )


def _intake_rows(
    rng: random.Random, world: World, plan: h.Plan, exam: dict[str, Any], rows: Rows
) -> None:
    arrived: datetime | None = exam["arrived_at"]
    if arrived is None:
        return
    begun: datetime | None = exam["in_progress_at"]
    exam_id = exam["id"]
    users = world.users
    front, tech = users["scheduler"].id, users["technologist"].id
    limit = begun or min(world.now, exam["cancelled_at"] or world.now)
    performed = begun is not None

    def when(minutes: float) -> datetime:
        return min(arrived + timedelta(minutes=minutes), limit)

    if (performed and plan.override != "identity") or (not performed and rng.random() < 0.75):
        method = rng.choice(list(IdentityMethod)).value
        rows.identity.add(exam_id=exam_id, method=method, at=when(1), by_id=front)
    items = world.screening.get(plan.exam_type.id, [])
    if plan.override == "screening" and items:
        items = items[1:]
    if not performed:
        if plan.state is S.CANCELLED and exam["reason_code"] == "screening_failed" and items:
            answer = _screening_answer(rng, items[0], when(5), plan.patient)
            answer.update(result=ScreeningResult.FAILED.value, answer="Contraindication found")
            rows.answers.add(exam_id=exam_id, by_id=tech, **answer)
            return
        items = items[: rng.randint(0, len(items))]
    for i, item in enumerate(items):
        answer = _screening_answer(rng, item, when(3 + i), plan.patient)
        rows.answers.add(exam_id=exam_id, by_id=tech, **answer)
    if not performed:
        return
    if plan.exam_type.consent_required:
        patient = plan.patient
        typed = rng.random() < 0.2
        rows.consents.add(
            exam_id=exam_id,
            method=(ConsentMethod.TYPED_WITNESSED if typed else ConsentMethod.SIGNATURE).value,
            signer_name=f"{patient.given_name} {patient.family_name}",
            signer_relationship="self",
            signature_svg="" if typed else "M10 40 C 30 10, 50 70, 80 30 S 120 20, 140 40",
            witness_name="R. Alvarez, RN" if typed else "",
            at=when(10),
            by_id=tech,
        )
    if plan.exam_type.prep_instructions.strip():
        prep_ok = plan.override != "prep"
        fasting = "npo" in world.screening.get(plan.exam_type.id, [])
        rows.preps.add(
            exam_id=exam_id,
            npo_since=arrived - timedelta(hours=rng.uniform(6, 12)) if fasting else None,
            full_bladder=None,
            medication_hold="",
            prep_ok=prep_ok,
            note="" if prep_ok else "Preparation not followed.",
            at=when(6),
            by_id=tech,
        )
    if plan.patient.interpreter_needed and plan.override != "interpreter":
        rows.interpreters.add(
            exam_id=exam_id,
            language=plan.patient.language,
            interpreter_id=f"INT-{rng.randint(1000, 9999)}",
            mode=rng.choice(["in_person", "phone", "video", "video"]),
            at=when(2),
            by_id=tech,
        )
    if plan.override and begun is not None:
        rows.overrides.add(
            exam_id=exam_id,
            stop=plan.override,
            detail=STOP_DETAIL[plan.override],
            reason=rng.choice(OVERRIDE_REASONS[plan.override]),
            at=begun,
            by_id=users["coordinator"].id,
            roles="coordinator",
            action=A.BEGIN.value,
        )


# --- the step ----------------------------------------------------------------------------------


@contextmanager
def _large_cache() -> Iterator[None]:
    """SQLite keeps only 2 MB of pages by default; a million-row insert runs far faster with
    its indexes in memory. Restored afterwards (the setting lives with the connection)."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA cache_size = -262144")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {before}")


def history_scale(ctx: DemoContext) -> float:
    """Exams per room-day relative to the full department (the demo's 5,000 patients).

    Falls with the square of a smaller demo's patient count, so the few-patient demos the tests
    build stay quick (and their patients do not each collect dozens of exams).
    """
    if SCALE is not None:
        return SCALE
    return min(1.0, ctx.patients_count / DEFAULT_PATIENTS) ** 2


def generate(ctx: DemoContext) -> None:
    users = {
        u.username: u
        for u in User.objects.filter(
            username__in=["coordinator", "scheduler", "technologist", "radiologist", "billing"]
        )
    }
    if not ctx.patients_count or len(users) < 5:
        ctx.log("exam history: skipped (needs patients and the demo logins)")
        return
    _ensure_diagnosis_codes()
    _reference_rules(users)
    now = _now(ctx)
    world = _world(ctx, now, users)
    _calendars(world, ctx.today)
    if not world.patients:
        ctx.log("exam history: skipped (no patients)")
        return
    scale = history_scale(ctx)
    started = time_module.perf_counter()
    plans = list(_booked_plans(ctx, world, scale))
    plans.extend(_open_plans(ctx, world, scale))
    plans.sort(key=lambda p: p.received_at)

    planned = time_module.perf_counter()
    rng = ctx.random("exam-history-rows")
    sequence, _ = AccessionSequence.objects.get_or_create(name="accession")
    first = sequence.next_value
    rows = Rows.create()
    with _large_cache():
        for offset, plan in enumerate(plans):
            _rows_for(rng, world, plan, f"RF{first + offset:08d}", rows)
            if offset % CHUNK == CHUNK - 1:
                rows.flush()
        rows.flush()
        _room_reservation_rows(world, rows)
        staff_kept = _staff_reservation_rows(world, rows)
        rows.reservations.flush()
    written = time_module.perf_counter()
    sequence.next_value = first + len(plans)
    sequence.save(update_fields=["next_value"])
    states: dict[str, int] = defaultdict(int)
    for plan in plans:
        states[plan.state.value] += 1
    ctx.objects["exam_states"] = dict(states)
    ctx.log(
        f"{len(plans)} orders and exams, {rows.transitions.count} transitions, "
        f"{rows.charges.count} charges, {rows.reservations.count} reservations "
        f"({staff_kept} of {len(world.staff_reservations)} staff bookings kept: no double "
        "booking); "
        + ", ".join(f"{state} {states[state]}" for state in sorted(states))
        + f" (planned in {planned - started:.1f} s, written in {written - planned:.1f} s)"
    )
    _record_past_escalations(now)


def _record_past_escalations(now: datetime) -> None:
    """Mark the clocks that passed before the demo began as already escalated.

    In a running department the worker escalated them when they passed; without these rows the
    first worker run after ``make run`` would send thousands of stale notices at once.
    """
    from radflow.orders.models import EscalationLevel, SlaEscalation
    from radflow.orders.selectors import open_clock_orders

    open_orders = open_clock_orders()
    rows = [
        SlaEscalation(order_id=pk, level=EscalationLevel.WARNING, at=warn_at or now)
        for pk, warn_at in open_orders.filter(sla_warn_at__lte=now).values_list("pk", "sla_warn_at")
    ]
    rows += [
        SlaEscalation(order_id=pk, level=EscalationLevel.BREACH, at=due_at or now)
        for pk, due_at in open_orders.filter(sla_due_at__lte=now).values_list("pk", "sla_due_at")
    ]
    SlaEscalation.objects.bulk_create(rows, batch_size=2000)
