"""Demo step: contrast agents in stock, a dose for every contrast exam of the year's history,
eGFR results, premedication, and a realistic reaction rate.

Runs after the exam history and supplies: each performed exam whose type takes contrast gets a
dose of the agent its protocol uses (iodinated for CT and IR, gadolinium for MR, Lumason for
contrast-enhanced ultrasound), drawn from the lot then current on its room's contrast cabinet,
with the ledger rows that issued it. The eGFR intake recorded becomes the patient's result; an
exam that had none gets a lab result from the days before (or, for a STAT, a radiologist's
override). Patients with a known moderate or severe contrast allergy, or who reacted earlier in
the year, are premedicated. Reactions follow published rates: allergic-like about 0.4 % mild for
iodinated agents (0.2 % for gadolinium and microbubbles), moderate and severe about ten times
rarer, plus a few physiologic reactions and extravasations. Rows are bulk-inserted.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, cast

from django.contrib.auth.models import User
from django.db.models import Q
from django.utils import timezone

from radflow.catalog.models import ExamType
from radflow.contrast import rules
from radflow.contrast.models import (
    AdverseEvent,
    ContrastAdministration,
    ContrastAgent,
    EgfrResult,
    EgfrSource,
    Premedication,
    PremedicationDose,
    ReactionKind,
)
from radflow.contrast.rules import AgentClass, Grade
from radflow.contrast.selectors import requirement_for
from radflow.contrast.services import CLASS_WORDS, GRADE_RANK
from radflow.core.exam_states import ExamState
from radflow.demo.context import DemoContext
from radflow.exams.demo import Table
from radflow.exams.demo import _now as demo_now
from radflow.exams.models import Exam, HardStop, Override
from radflow.intake.models import ScreeningAnswer
from radflow.patients.models import Allergy, AllergyCategory, AllergySeverity
from radflow.scheduling.models import Room
from radflow.staff.models import JobRole, StaffMember
from radflow.supplies.models import (
    Item,
    ItemCategory,
    LocationKind,
    Lot,
    MovementKind,
    StockLocation,
    StockMovement,
    Vendor,
)

BATCH = 2000


@dataclass(frozen=True)
class AgentPlan:
    key: str
    name: str
    brand: str
    manufacturer: str
    agent_class: AgentClass
    gbca_group: str
    concentration: str
    concentration_unit: str
    routes: tuple[str, ...]
    item_name: str
    item_unit: str
    catalogue_number: str
    unit_price: str
    report_prefix: str


AGENTS: tuple[AgentPlan, ...] = (
    AgentPlan(
        "omnipaque350",
        "Iohexol 350",
        "Omnipaque 350",
        "GE HealthCare",
        AgentClass.IODINATED,
        "",
        "350",
        "mgI/mL",
        ("iv", "ia", "oral"),
        "Omnipaque 350 (iohexol), 100 mL bottle",
        "bottle",
        "OMNI350-100",
        "41.80",
        "GEHC-PV",
    ),
    AgentPlan(
        "omnipaque300",
        "Iohexol 300",
        "Omnipaque 300",
        "GE HealthCare",
        AgentClass.IODINATED,
        "",
        "300",
        "mgI/mL",
        ("iv", "ia", "oral", "intra_articular"),
        "Omnipaque 300 (iohexol), 50 mL bottle",
        "bottle",
        "OMNI300-50",
        "23.60",
        "GEHC-PV",
    ),
    AgentPlan(
        "isovue370",
        "Iopamidol 370",
        "Isovue-370",
        "Bracco Diagnostics",
        AgentClass.IODINATED,
        "",
        "370",
        "mgI/mL",
        ("iv", "ia"),
        "Isovue-370 (iopamidol), 100 mL bottle",
        "bottle",
        "ISO370-100",
        "54.90",
        "BRC-PV",
    ),
    AgentPlan(
        "visipaque320",
        "Iodixanol 320",
        "Visipaque 320",
        "GE HealthCare",
        AgentClass.IODINATED,
        "",
        "320",
        "mgI/mL",
        ("iv", "ia"),
        "Visipaque 320 (iodixanol), 100 mL bottle",
        "bottle",
        "VISI320-100",
        "88.40",
        "GEHC-PV",
    ),
    AgentPlan(
        "gadavist",
        "Gadobutrol",
        "Gadavist",
        "Bayer",
        AgentClass.GADOLINIUM,
        "II",
        "1.0",
        "mmol/mL",
        ("iv",),
        "Gadavist (gadobutrol), 10 mL prefilled syringe",
        "syringe",
        "GAD-PFS-10",
        "98.50",
        "BAY-PV",
    ),
    AgentPlan(
        "dotarem",
        "Gadoterate meglumine",
        "Dotarem",
        "Guerbet",
        AgentClass.GADOLINIUM,
        "II",
        "0.5",
        "mmol/mL",
        ("iv",),
        "Dotarem (gadoterate), 20 mL vial",
        "vial",
        "DOT-V20",
        "71.20",
        "GBT-PV",
    ),
    AgentPlan(
        "eovist",
        "Gadoxetate disodium",
        "Eovist",
        "Bayer",
        AgentClass.GADOLINIUM,
        "III",
        "0.25",
        "mmol/mL",
        ("iv",),
        "Eovist (gadoxetate), 10 mL prefilled syringe",
        "syringe",
        "EOV-PFS-10",
        "262.00",
        "BAY-PV",
    ),
    AgentPlan(
        "lumason",
        "Sulfur hexafluoride lipid-type A microspheres",
        "Lumason",
        "Bracco Diagnostics",
        AgentClass.ULTRASOUND,
        "",
        "8",
        "µL/mL",
        ("iv", "intravesical"),
        "Lumason kit (sulfur hexafluoride microspheres)",
        "kit",
        "LUM-KIT-5",
        "184.00",
        "BRC-PV",
    ),
)

#: exam type code → (agent key, dose range in mL, flow rate range in mL/s or None)
PROTOCOLS: dict[str, tuple[str, tuple[int, int], tuple[float, float] | None]] = {
    "ct-head-w": ("omnipaque350", (60, 80), (1.5, 2.0)),
    "ct-neck-w": ("omnipaque350", (70, 90), (1.5, 2.5)),
    "ct-chest-w": ("omnipaque350", (60, 80), (2.0, 3.0)),
    "ct-abd-pelvis-w": ("omnipaque350", (80, 120), (2.5, 3.5)),
    "ct-abd-pelvis-wo-w": ("omnipaque350", (90, 120), (2.5, 3.5)),
    "cta-head-neck": ("isovue370", (65, 85), (4.0, 5.0)),
    "cta-chest-pe": ("isovue370", (60, 80), (4.0, 5.0)),
    "cta-coronary": ("isovue370", (60, 90), (5.0, 6.0)),
    "ir-ivc-filter": ("omnipaque300", (30, 60), None),
    "mr-abdomen-wo-w": ("eovist", (6, 10), (1.0, 1.0)),
    "us-abdomen-ceus": ("lumason", (2, 3), None),
}
#: Without a protocol above: CT and IR iodinated, MR gadolinium (Dotarem at the outpatient
#: centre, Gadavist elsewhere), US microbubbles.
DEFAULT_BY_CLASS = {
    AgentClass.IODINATED: ("omnipaque350", (70, 100), (2.0, 3.0)),
    AgentClass.GADOLINIUM: ("gadavist", (5, 10), (1.5, 2.0)),
    AgentClass.ULTRASOUND: ("lumason", (2, 3), None),
}
SITES = (
    "Right antecubital, 20 G",
    "Left antecubital, 20 G",
    "Right antecubital, 18 G",
    "Left forearm, 22 G",
    "Right hand, 22 G",
    "Power port",
)

#: Reaction probability per dose by class: (allergic mild, moderate, severe, physiologic,
#: extravasation). Published allergic-like rates are 0.2-0.7 % for low-osmolality iodinated
#: agents and 0.1-0.3 % for gadolinium; severe ones 0.01-0.04 %.
RATES: dict[AgentClass, tuple[float, float, float, float, float]] = {
    AgentClass.IODINATED: (0.0040, 0.0006, 0.00015, 0.0012, 0.0004),
    AgentClass.GADOLINIUM: (0.0020, 0.0003, 0.00008, 0.0010, 0.0001),
    AgentClass.ULTRASOUND: (0.0020, 0.0003, 0.0001, 0.0010, 0.0),
}
SYMPTOMS = {
    ("allergic_like", "mild"): (["urticaria"], ["urticaria", "pruritus"], ["nasal_congestion"]),
    ("allergic_like", "moderate"): (
        ["urticaria", "facial_edema"],
        ["bronchospasm"],
        ["throat_tightness", "urticaria"],
    ),
    ("allergic_like", "severe"): (
        ["laryngeal_edema", "hypotension"],
        ["anaphylaxis", "bronchospasm", "hypotension"],
    ),
    ("physiologic", "mild"): (["nausea_vomiting"], ["flushing"], ["nausea_vomiting", "flushing"]),
    ("extravasation", "mild"): (["extravasation"],),
}
TREATMENT = {
    "mild": (
        "Observation 30 min; resolved without treatment.",
        "Diphenhydramine 25 mg PO; observed 30 min.",
    ),
    "moderate": (
        "Diphenhydramine 50 mg IV; observed 2 h.",
        "Albuterol 2 puffs by inhaler, oxygen 2 L/min; observed 2 h.",
    ),
    "severe": (
        "Epinephrine 0.3 mg IM (1 mg/mL), oxygen 10 L/min, 1 L normal saline; rapid response "
        "team called.",
    ),
    "extravasation": ("Elevation and cold compresses; surgical review not needed.",),
}
OUTCOME = {"mild": "resolved", "moderate": "observed", "severe": "emergency"}
PREMEDICATION = "ACR elective oral: prednisone 13 h"


def _id(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _agents(rng: random.Random, ctx: DemoContext) -> dict[str, ContrastAgent]:
    """The agents with their supply items (under the supplies demo's vendors where it has them)."""
    vendors: dict[str, Vendor] = dict(ctx.objects.get("supplies.vendors") or {})
    for plan in AGENTS:
        if plan.manufacturer not in vendors:
            vendors[plan.manufacturer] = Vendor.objects.get_or_create(
                name=plan.manufacturer,
                defaults={"quoted_lead_time_days": 5, "payment_terms": "Net 30"},
            )[0]
    items = {
        plan.key: Item(
            id=_id(rng),
            name=plan.item_name,
            category=ItemCategory.CONTRAST,
            unit=plan.item_unit,
            vendor=vendors[plan.manufacturer],
            catalogue_number=plan.catalogue_number,
            unit_price=Decimal(plan.unit_price),
            lot_tracked=True,
        )
        for plan in AGENTS
    }
    Item.objects.bulk_create(items.values())
    agents = {
        plan.key: ContrastAgent(
            id=_id(rng),
            name=plan.name,
            brand=plan.brand,
            manufacturer=plan.manufacturer,
            agent_class=plan.agent_class.value,
            gbca_group=plan.gbca_group,
            concentration=Decimal(plan.concentration),
            concentration_unit=plan.concentration_unit,
            routes=list(plan.routes),
            dose_unit="mL",
            supply_item=items[plan.key],
            safety_programme=f"{plan.manufacturer} pharmacovigilance (and FDA MedWatch)",
        )
        for plan in AGENTS
    }
    ContrastAgent.objects.bulk_create(agents.values())
    return agents


def _cabinets(rng: random.Random, room_ids: set[Any]) -> dict[Any, StockLocation]:
    """Each contrast room's stock location: its shelf, or a new contrast cabinet."""
    found = {loc.room_id: loc for loc in StockLocation.objects.filter(room_id__in=room_ids)}
    new = [
        StockLocation(
            id=_id(rng),
            name=f"{room.name} contrast cabinet",
            code=room.code,
            kind=LocationKind.ROOM,
            site=room.site,
            room=room,
        )
        for room in Room.objects.filter(pk__in=room_ids - set(found)).select_related("site")
    ]
    StockLocation.objects.bulk_create(new)
    found.update({loc.room_id: loc for loc in new})
    return found


@dataclass
class Dose:
    """One dose as the demo plans it, before it becomes rows."""

    id: uuid.UUID
    exam_id: Any
    patient_id: Any
    room_id: Any
    given_at: datetime
    agent: str
    dose: Decimal
    flow: Decimal | None
    site: str
    by_id: Any
    egfr: tuple[Decimal, date] | None
    premedicated: bool = False
    lot_id: Any = None
    movement_id: Any = None


def _dose(rng: random.Random, low: int, high: int) -> Decimal:
    """Small gadolinium and microbubble doses to 0.5 mL (by weight); iodinated to 5 mL."""
    if high <= 20:
        return Decimal(rng.randint(low * 2, high * 2)) / 2
    return Decimal(rng.randrange(low, high + 1, 5))


def _aware(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=timezone.get_current_timezone())


@dataclass
class World:
    """What the steps below share: the stream, the people, and the rows being gathered."""

    rng: random.Random
    now: datetime
    today: date
    technologist: User
    radiologist: User
    radiologists: list[str]
    egfrs: Table
    overrides: list[Override] = field(default_factory=list)
    premeds: list[Premedication] = field(default_factory=list)
    premed_doses: list[PremedicationDose] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def egfr(self, **values: Any) -> None:
        stamp = values["recorded_at"]
        self.egfrs.add(id=_id(self.rng), created_at=stamp, updated_at=stamp, **values)

    def premedicate(self, exam_id: Any, begun: datetime, by_id: Any) -> None:
        """ACR's 13-hour oral regimen, taken at home and finished at check-in."""
        premedication = Premedication(
            id=_id(self.rng),
            created_at=begun,
            updated_at=begun,
            exam_id=exam_id,
            protocol=PREMEDICATION,
            ordered_by=self.rng.choice(self.radiologists),
            recorded_at=begun - timedelta(minutes=self.rng.randint(10, 40)),
            recorded_by_id=by_id,
        )
        self.premeds.append(premedication)
        for hours, drug, by in (
            (13, "Prednisone", "Patient, at home"),
            (7, "Prednisone", "Patient, at home"),
            (1, "Prednisone", "Patient, at check-in"),
            (1, "Diphenhydramine", "RN at check-in"),
        ):
            self.premed_doses.append(
                PremedicationDose(
                    premedication=premedication,
                    drug=drug,
                    dose="50 mg",
                    route="oral",
                    given_at=begun - timedelta(hours=hours, minutes=self.rng.randint(0, 20)),
                    given_by=by,
                )
            )


def generate(ctx: DemoContext) -> None:
    users: dict[str, User] = ctx.objects.get("users") or {
        u.username: u for u in User.objects.filter(username__in=["technologist", "radiologist"])
    }
    technologist, radiologist = users.get("technologist"), users.get("radiologist")
    if technologist is None or radiologist is None:
        ctx.log("contrast: skipped (needs the demo logins)")
        return
    rng = ctx.random("contrast")
    world = World(
        rng=rng,
        now=demo_now(ctx),
        today=ctx.today,
        technologist=technologist,
        radiologist=radiologist,
        radiologists=[
            f"Dr. {s.given_name} {s.family_name}"
            for s in StaffMember.objects.filter(job_role=JobRole.RADIOLOGIST).order_by(
                "employee_number"
            )
        ]
        or ["Radiologist on duty"],
        egfrs=Table(EgfrResult),
    )
    agents = _agents(rng, ctx)
    types = list(ExamType.objects.filter(Q(contrast=True) | Q(contrast_requirement__isnull=False)))
    required = {t.pk: r for t in types if (r := requirement_for(t)) is not None}
    doses = _plan_doses(world, required, {t.pk: t.code for t in types})
    events, allergies = _reactions(world, doses)
    administrations = Table(ContrastAdministration)
    movements = _stock(rng, agents, doses, ctx.today)
    for dose in doses:
        administrations.add(
            id=dose.id,
            created_at=dose.given_at,
            updated_at=dose.given_at,
            exam_id=dose.exam_id,
            agent_id=agents[dose.agent].pk,
            lot_id=dose.lot_id,
            stock_movement_id=dose.movement_id,
            dose=dose.dose,
            dose_unit="mL",
            route="iv",
            injection_site=dose.site,
            flow_rate=dose.flow,
            given_at=dose.given_at,
            given_by_id=dose.by_id,
            egfr_value=dose.egfr[0] if dose.egfr else None,
            egfr_date=dose.egfr[1] if dose.egfr else None,
            note="",
        )
    _future_egfrs(world, required)
    world.egfrs.flush()
    Override.objects.bulk_create(world.overrides, batch_size=BATCH)
    Premedication.objects.bulk_create(world.premeds, batch_size=BATCH)
    PremedicationDose.objects.bulk_create(world.premed_doses, batch_size=BATCH)
    administrations.flush()
    onsets = {key: allergy.recorded_at for key, allergy in allergies.items()}
    Allergy.objects.bulk_create(allergies.values())  # stamps recorded_at with now
    for key, allergy in allergies.items():  # the allergy dates from the reaction, not from today
        Allergy.objects.filter(pk=allergy.pk).update(recorded_at=onsets[key])
    for event in events:
        allergy_key: tuple[Any, str] | None = getattr(event, "allergy_key", None)
        if allergy_key is not None:
            event.allergy = allergies[allergy_key]
    AdverseEvent.objects.bulk_create(events, batch_size=BATCH)
    counts = world.counts
    ctx.log(
        f"{len(doses)} contrast doses, {len(events)} reactions "
        f"({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}), "
        f"{len(world.premeds)} premedications, {world.egfrs.count} eGFR results, "
        f"{movements} stock movements"
    )


def _plan_doses(
    world: World, required: dict[Any, rules.Requirement], type_codes: dict[Any, str]
) -> list[Dose]:
    """A dose for each exam that began, with the eGFR that cleared it (intake's, a lab result
    from the days before, or a radiologist's override for a STAT) and premedication for the
    patients with a known moderate or severe contrast allergy."""
    rng = world.rng
    exams = list(
        Exam.objects.filter(order__exam_type_id__in=required, in_progress_at__isnull=False)
        .exclude(room__isnull=True)
        .order_by("in_progress_at", "pk")
        .values(
            "id",
            "state",
            "in_progress_at",
            "completed_at",
            "room_id",
            "room__site__code",
            "order__patient_id",
            "order__exam_type_id",
            "order__priority",
            "technologist__user_id",
        )
    )
    answers = {
        row["exam_id"]: row
        for row in ScreeningAnswer.objects.filter(
            item_id="egfr", value_number__isnull=False, value_date__isnull=False
        ).values("exam_id", "exam__order__patient_id", "value_number", "value_date", "at", "by_id")
    }
    for exam_id, row in answers.items():  # what intake recorded is the patient's result too
        world.egfr(
            patient_id=row["exam__order__patient_id"],
            value=row["value_number"],
            measured_on=row["value_date"],
            source=EgfrSource.INTAKE,
            reference="",
            exam_id=exam_id,
            recorded_at=row["at"],
            recorded_by_id=row["by_id"],
        )
    allergic: dict[Any, set[AgentClass | None]] = defaultdict(set)
    for patient_id, substance in Allergy.objects.filter(
        category=AllergyCategory.CONTRAST,
        severity__in=[AllergySeverity.MODERATE, AllergySeverity.SEVERE],
    ).values_list("patient_id", "substance"):
        allergic[patient_id].add(rules.agent_class_of(substance))

    doses: list[Dose] = []
    for exam in exams:
        if exam["state"] == ExamState.DISCONTINUED and rng.random() < 0.5:
            continue  # stopped before the injection
        rule = required[exam["order__exam_type_id"]]
        code = type_codes[exam["order__exam_type_id"]]
        agent_key, (low, high), flow = PROTOCOLS.get(code, DEFAULT_BY_CLASS[rule.agent_class])
        if rule.agent_class is AgentClass.GADOLINIUM and code not in PROTOCOLS:
            agent_key = "dotarem" if exam["room__site__code"] == "OIC" else "gadavist"
        elif agent_key == "omnipaque350" and rng.random() < 0.08:
            agent_key = "visipaque320"  # iso-osmolar, for the frail and the diabetic
        begun: datetime = cast(datetime, exam["in_progress_at"])  # filtered: not null
        latest = min(filter(None, [exam["completed_at"], world.now]))
        given_at = min(begun + timedelta(minutes=rng.randint(3, 12)), latest)
        patient_id = exam["order__patient_id"]
        by_id = exam["technologist__user_id"] or world.technologist.pk
        answer = answers.get(exam["id"])
        egfr: tuple[Decimal, date] | None = None
        if answer is not None:  # filtered: both present
            egfr = (cast(Decimal, answer["value_number"]), cast(date, answer["value_date"]))
        elif rule.egfr_required:
            egfr = _missing_egfr(world, dict(exam), rule)
        known = allergic.get(patient_id, set())
        premedicated = rule.reaction_screening and bool(known & {rule.agent_class, None})
        if premedicated:
            world.premedicate(exam["id"], begun, by_id)
        doses.append(
            Dose(
                id=_id(rng),
                exam_id=exam["id"],
                patient_id=patient_id,
                room_id=exam["room_id"],
                given_at=given_at,
                agent=agent_key,
                dose=_dose(rng, low, high),
                flow=Decimal(str(round(rng.uniform(*flow), 1))) if flow else None,
                site="Right common femoral vein sheath"
                if code.startswith("ir-")
                else rng.choice(SITES),
                by_id=by_id,
                egfr=egfr,
                premedicated=premedicated,
            )
        )
    return doses


def _missing_egfr(
    world: World, exam: dict[str, Any], rule: rules.Requirement
) -> tuple[Decimal, date] | None:
    """No eGFR at intake: a STAT went ahead on a radiologist's override; otherwise the lab's
    result from the days before was on file."""
    begun: datetime = exam["in_progress_at"]
    if exam["order__priority"] == "stat":
        world.counts["overrides"] += 1
        world.overrides.append(
            Override(
                exam_id=exam["id"],
                stop=HardStop.CONTRAST,
                detail="Contrast: no eGFR on file (one from the last "
                f"{rule.egfr_window_days} days is required).",
                reason="Emergent study: contrast given before the eGFR result (ACR: no eGFR "
                "is needed when waiting would harm the patient).",
                at=begun,
                by=world.radiologist,
                roles="radiologist",
                action="begin",
            )
        )
        return None
    measured = timezone.localdate(begun) - timedelta(days=world.rng.randint(1, 20))
    value = Decimal(world.rng.randint(45, 115))
    world.counts["lab eGFR"] += 1
    world.egfr(
        patient_id=exam["order__patient_id"],
        value=value,
        measured_on=measured,
        source=EgfrSource.LAB,
        reference=f"LAB-{world.rng.randint(1000000, 9999999)}",
        exam_id=None,
        recorded_at=_aware(measured, 16),
        recorded_by_id=None,
    )
    return value, measured


def _reactions(
    world: World, doses: list[Dose]
) -> tuple[list[AdverseEvent], dict[tuple[Any, str], Allergy]]:
    """Reactions drawn dose by dose in time order; an allergic-like one goes on the patient's
    allergy list, and a moderate or severe one means premedication before the next dose of the
    class."""
    rng = world.rng
    plans = {plan.key: plan for plan in AGENTS}
    premedicated = {dose.exam_id for dose in doses if dose.premedicated}
    reacted: dict[Any, set[AgentClass]] = defaultdict(set)
    events: list[AdverseEvent] = []
    allergies: dict[tuple[Any, str], Allergy] = {}
    for dose in doses:
        plan = plans[dose.agent]
        agent_class = plan.agent_class
        if agent_class in reacted[dose.patient_id] and dose.exam_id not in premedicated:
            world.premedicate(dose.exam_id, dose.given_at, dose.by_id)
            premedicated.add(dose.exam_id)
        mild, moderate, severe, physiologic, extravasation = RATES[agent_class]
        if dose.exam_id in premedicated:  # breakthrough reactions are rarer and milder
            mild, moderate, severe = mild / 2, moderate / 4, 0.0
        draw = rng.random()
        kind, grade = "", Grade.MILD
        for p, k, g in (
            (severe, ReactionKind.ALLERGIC_LIKE, Grade.SEVERE),
            (moderate, ReactionKind.ALLERGIC_LIKE, Grade.MODERATE),
            (mild, ReactionKind.ALLERGIC_LIKE, Grade.MILD),
            (physiologic, ReactionKind.PHYSIOLOGIC, Grade.MILD),
            (extravasation, ReactionKind.EXTRAVASATION, Grade.MILD),
        ):
            if draw < p:
                kind, grade = k, g
                break
            draw -= p
        if not kind:
            continue
        onset = dose.given_at + timedelta(minutes=rng.randint(1, 25))
        symptoms = list(rng.choice(SYMPTOMS[(kind, grade)]))
        reported = grade != Grade.MILD or rng.random() < 0.15
        reported_on = min(
            timezone.localdate(onset) + timedelta(days=rng.randint(1, 5)), world.today
        )
        event = AdverseEvent(
            id=_id(rng),
            created_at=onset,
            updated_at=onset,
            administration_id=dose.id,
            onset_at=onset,
            grade=grade.value,
            kind=kind,
            symptoms=symptoms,
            treatment=rng.choice(TREATMENT["extravasation" if kind == "extravasation" else grade]),
            outcome=OUTCOME[grade] if grade != Grade.SEVERE or rng.random() < 0.7 else "admitted",
            reported_to_programme=reported,
            reported_on=reported_on if reported else None,
            report_reference=f"{plan.report_prefix}-{onset:%Y}-{rng.randint(10000, 99999)}"
            if reported
            else "",
            recorded_at=onset + timedelta(minutes=rng.randint(15, 60)),
            recorded_by_id=dose.by_id if grade != Grade.SEVERE else world.radiologist.pk,
        )
        events.append(event)
        world.counts[f"{kind} {grade}"] += 1
        if kind != ReactionKind.ALLERGIC_LIKE:
            continue
        key = (dose.patient_id, f"{plan.name} ({CLASS_WORDS[agent_class]})")
        event.allergy_key = key  # type: ignore[attr-defined]
        words = ", ".join(symptoms).replace("_", " ")
        known = allergies.get(key)
        if known is None or GRADE_RANK[grade] > GRADE_RANK[Grade(known.severity)]:
            allergies[key] = Allergy(
                patient_id=dose.patient_id,
                substance=key[1],
                category=AllergyCategory.CONTRAST,
                severity=grade.value,
                reaction=f"{grade.capitalize()} reaction: {words}"[:200],
                recorded_at=onset,
            )
        if grade in rules.BLOCKING_GRADES:
            reacted[dose.patient_id].add(agent_class)
    return events, allergies


def _lot_number(rng: random.Random, plan: AgentPlan, received: date) -> str:
    letters = "ABCDEFGHJKLMNPRSTUVWXY"
    return f"{plan.catalogue_number[:3]}{received:%y}{rng.choice(letters)}{rng.randint(100, 999)}"


def _stock(
    rng: random.Random, agents: dict[str, ContrastAgent], doses: list[Dose], today: date
) -> int:
    """Lots received every quarter into each contrast room's cabinet, one container issued per
    dose from the lot then current; the last two lots keep some stock, and one lot of about
    half the agents expires within two months (the dashboard's list)."""
    cabinets = _cabinets(rng, {dose.room_id for dose in doses})
    plans = {plan.key: plan for plan in AGENTS}
    first = min((d.given_at for d in doses), default=timezone.now()).date() - timedelta(days=14)
    received: dict[str, list[tuple[date, Lot]]] = {}
    lots: list[Lot] = []
    for key, agent in agents.items():
        day = first
        found: list[tuple[date, Lot]] = []
        while day <= today:
            lot = Lot(
                id=_id(rng),
                item=agent.supply_item,
                lot_number=_lot_number(rng, plans[key], day),
                expiry_date=day + timedelta(days=rng.randint(600, 760)),
            )
            found.append((day, lot))
            day += timedelta(days=rng.randint(84, 98))
        if len(found) >= 2 and rng.random() < 0.5:
            found[-2][1].expiry_date = today + timedelta(days=rng.randint(15, 55))
        received[key] = found
        lots.extend(lot for _, lot in found)
    Lot.objects.bulk_create(lots, batch_size=BATCH)

    rows = Table(StockMovement)
    used: dict[tuple[Any, Any], int] = defaultdict(int)
    users: dict[str, set[Any]] = defaultdict(set)
    issues: list[dict[str, Any]] = []
    for dose in doses:
        day = timezone.localdate(dose.given_at)
        lot = next(lot for start, lot in reversed(received[dose.agent]) if start <= day)
        location = cabinets[dose.room_id]
        used[(lot.pk, location.pk)] += 1
        users[dose.agent].add(location.pk)
        dose.lot_id, dose.movement_id = lot.pk, _id(rng)
        issues.append(
            {
                "id": dose.movement_id,
                "kind": MovementKind.EXAM_USE.value,
                "item_id": lot.item_id,
                "location_id": location.pk,
                "lot_id": lot.pk,
                "quantity": Decimal(-1),
                "exam_id": dose.exam_id,
                "unit_cost": None,
                "by_id": dose.by_id,
                "at": dose.given_at,
                "reason": f"Contrast: {agents[dose.agent].name} {dose.dose} mL",
            }
        )
    for key, found in received.items():
        item = agents[key].supply_item
        for index, (start, lot) in enumerate(found):
            keep = index >= len(found) - 2
            for location_id in sorted(users.get(key, set()), key=str):
                quantity = used.get((lot.pk, location_id), 0) + (rng.randint(6, 24) if keep else 0)
                if quantity:
                    rows.add(
                        id=_id(rng),
                        kind=MovementKind.RECEIPT.value,
                        item_id=lot.item_id,
                        location_id=location_id,
                        lot_id=lot.pk,
                        quantity=Decimal(quantity),
                        exam_id=None,
                        unit_cost=item.unit_price if item else None,
                        by_id=None,
                        at=_aware(start, 8),
                        reason="Contrast delivery",
                    )
    for issue in issues:
        rows.add(**issue)
    rows.flush()
    return rows.count


def _future_egfrs(world: World, required: dict[Any, rules.Requirement]) -> None:
    """Most patients booked for contrast already have a recent lab eGFR; the rest will be asked."""
    renal = [pk for pk, rule in required.items() if rule.egfr_required]
    booked = (
        Exam.objects.filter(
            order__exam_type_id__in=renal,
            state__in=[ExamState.SCHEDULED, ExamState.ARRIVED],
            scheduled_start__gte=world.now - timedelta(hours=12),
        )
        .order_by("scheduled_start", "pk")
        .values_list("order__patient_id", flat=True)
    )
    today = timezone.localdate(world.now)
    for patient_id in dict.fromkeys(booked):
        if world.rng.random() < 0.65:
            measured = today - timedelta(days=world.rng.randint(1, 20))
            world.egfr(
                patient_id=patient_id,
                value=Decimal(world.rng.randint(38, 112)),
                measured_on=measured,
                source=EgfrSource.LAB,
                reference=f"LAB-{world.rng.randint(1000000, 9999999)}",
                exam_id=None,
                recorded_at=_aware(measured, 17),
                recorded_by_id=None,
            )
