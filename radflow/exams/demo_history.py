"""The exam-history simulation behind ``radflow.exams.demo``: one plan per order, no database.

Each plan is what the services would have left behind had people worked the order: the steps
(action, state, time), the booking, the authorization and the intake, cut at "now" so past days
end billed, today is half done and the next four weeks hold what was already booked. The writer
in ``radflow.exams.demo`` turns plans into rows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from radflow.core.exam_states import ExamAction, ExamState

A = ExamAction
S = ExamState
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

#: Share of scheduled exams whose patient did not come, by modality (issue 4: 3-7 %).
NO_SHOW_RATE: dict[str, float] = {
    "US": 0.06,
    "MR": 0.05,
    "CT": 0.03,
    "DX": 0.03,
    "MG": 0.07,
    "NM": 0.04,
    "PT": 0.04,
    "XA": 0.03,
    "RF": 0.05,
}
DISCONTINUE_RATE = 0.005
#: Cancelled before booking, in advance, and on the day (about 5 % together).
CANCEL_UNBOOKED, CANCEL_ADVANCE, CANCEL_SAME_DAY = 0.008, 0.025, 0.017
RESCHEDULE_RATE = 0.07
BOOKED_WHILE_PENDING = 0.3
AUTH_DENIED_RATE = 0.03
OVERRIDE_RATE = 0.01
#: Future bookings whose authorization was approved for a window ending too early.
EXPIRING_RATE = 0.15
#: Signed exams a billing hold keeps unbilled, reports left unsigned, exams left unread.
STUCK_SIGNED, STUCK_REPORTED, STUCK_COMPLETED = 0.012, 0.004, 0.002

CANCEL_UNBOOKED_CODES = ["referrer_withdrew", "duplicate_order", "not_indicated"]
CANCEL_ADVANCE_CODES = ["patient_request", "patient_request", "patient_unwell", "staff_unavailable"]
CANCEL_SAME_DAY_CODES = ["patient_unwell", "patient_request", "equipment_down"]
CANCEL_ARRIVED_CODES = ["prep_not_done", "screening_failed"]
NO_SHOW_CODES = ["no_contact", "no_contact", "forgot", "transport", "late_refused"]
NO_SHOW_INPATIENT_CODES = ["transport"]
DISCONTINUE_CODES = [
    "patient_intolerance",
    "patient_intolerance",
    "clinical_change",
    "equipment_failure",
    "contrast_reaction",
    "wrong_protocol",
]
RESCHEDULE_CODES = ["patient_request", "patient_request", "equipment_down", "staff_unavailable"]


@dataclass(frozen=True, slots=True)
class Booking:
    room: Any  # scheduling.Room
    start: datetime
    end: datetime
    duration: int  # booked minutes


@dataclass(slots=True)
class Step:
    action: ExamAction
    to_state: ExamState
    at: datetime
    reason_code: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    by: str = ""  # demo username; "" = a system actor (``actor`` then names it)
    actor: str = ""


@dataclass(slots=True)
class AuthPlan:
    status: str  # pending, approved, denied
    requested_at: datetime
    decided_at: datetime | None = None
    valid_from: date | None = None
    valid_to: date | None = None


@dataclass(slots=True)
class Plan:
    """One order and its exam as the services would have left them."""

    order: dict[str, Any]
    exam_type: Any
    patient: Any
    received_at: datetime
    steps: list[Step] = field(default_factory=list)
    booking: Booking | None = None
    technologist: Any = None
    radiologist: Any = None
    auth: AuthPlan | None = None
    #: The hard stop a coordinator overrode at begin, if any.
    override: str = ""
    images_count: int | None = None
    incomplete: list[str] = field(default_factory=list)
    triaged_only: bool = False

    @property
    def state(self) -> ExamState:
        return self.steps[-1].to_state if self.steps else S.REQUESTED

    def at(self, state: ExamState) -> datetime | None:
        for step in self.steps:
            if step.to_state is state and step.action is not A.RESCHEDULE:
                return step.at
        return None


@dataclass(frozen=True, slots=True)
class Timing:
    """When each thing would happen if nothing stopped it (before cutting at now)."""

    received: datetime
    triaged: datetime
    decided: datetime | None
    scheduled: datetime
    arrived: datetime
    begun: datetime
    completed: datetime
    reported: datetime
    signed: datetime
    billed: datetime


def lead_time(rng: random.Random, priority: str, patient_class: str, code: str) -> timedelta:
    """Receipt to booked start: minutes for STAT, hours for urgent, days for routine."""
    if priority == "stat":
        return timedelta(minutes=rng.randint(12, 50))
    if priority == "urgent":
        hours = rng.uniform(1.5, 20) if patient_class != "outpatient" else rng.uniform(3, 44)
        return timedelta(hours=hours)
    if patient_class != "outpatient":
        return timedelta(hours=rng.uniform(4, 36))
    if code.startswith("mg-screening"):
        return timedelta(days=rng.triangular(5, 56, 21), hours=rng.uniform(0, 10))
    return timedelta(days=rng.triangular(1, 42, 7), hours=rng.uniform(0, 10))


def timing(
    rng: random.Random,
    *,
    booking: Booking,
    priority: str,
    patient_class: str,
    code: str,
    auth_lead_days: int | None,
) -> Timing:
    start = booking.start
    received = start - lead_time(rng, priority, patient_class, code)
    window = start - received
    if priority == "stat":
        triaged = received + timedelta(minutes=rng.uniform(1, 6))
    elif priority == "urgent":
        triaged = received + min(timedelta(minutes=rng.uniform(10, 150)), window * 0.2)
    else:
        triaged = received + min(timedelta(hours=rng.uniform(0.5, 30)), window * 0.25)
    decided = None
    if auth_lead_days is not None:
        decided = triaged + min(
            timedelta(days=auth_lead_days * rng.uniform(0.4, 1.2), hours=rng.uniform(1, 8)),
            (start - triaged) * 0.6,
        )
    ready = decided or triaged
    if priority == "stat":
        scheduled = ready + timedelta(minutes=rng.uniform(1, 4))
    else:
        scheduled = ready + min(timedelta(hours=rng.uniform(0.2, 20)), (start - ready) * 0.4)
    scheduled = min(scheduled, start - 5 * MIN)
    if rng.random() < 0.12:
        arrived = start + timedelta(minutes=rng.uniform(1, 20))
    else:
        arrived = start - timedelta(minutes=rng.uniform(5, 20))
    arrived = max(arrived, scheduled + MIN)
    wait = timedelta(minutes=rng.triangular(0, 40, 6))
    begun = max(arrived, start) + wait
    completed = begun + timedelta(minutes=booking.duration * rng.uniform(0.8, 1.2))
    if priority == "stat":
        to_report = timedelta(minutes=rng.uniform(10, 60))
    elif priority == "urgent":
        to_report = timedelta(hours=rng.uniform(0.5, 6))
    else:
        to_report = timedelta(hours=rng.triangular(1, 24, 4))
    reported = completed + to_report
    if rng.random() < 0.4:
        signed = reported + timedelta(minutes=rng.uniform(1, 5))
    else:
        signed = reported + timedelta(hours=rng.uniform(0.1, 12))
    billed = signed + timedelta(days=rng.uniform(1, 4))
    return Timing(
        received=received,
        triaged=triaged,
        decided=decided,
        scheduled=scheduled,
        arrived=arrived,
        begun=begun,
        completed=completed,
        reported=reported,
        signed=signed,
        billed=billed,
    )


class StepLog:
    """Appends steps with times that never go backwards and never pass ``now``."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.steps: list[Step] = []
        self.stopped = False

    def add(self, action: ExamAction, to: ExamState, at: datetime, **extra: Any) -> bool:
        if self.stopped:
            return False
        if self.steps:
            at = max(at, self.steps[-1].at)
        if at > self.now:
            self.stopped = True
            return False
        self.steps.append(Step(action, to, at, **extra))
        return True


def booking_details(booking: Booking) -> dict[str, str]:
    return {
        "room": booking.room.code,
        "start": booking.start.isoformat(),
        "end": booking.end.isoformat(),
    }


@dataclass(frozen=True)
class Who:
    """The demo usernames that act at each step (one login per role exists)."""

    triage: str = "coordinator"
    front_desk: str = "scheduler"
    performer: str = "technologist"
    reader: str = "radiologist"
    biller: str = "billing"


WHO = Who()


class Balance:
    """Keeps a random rate close to its target over any stretch of exams.

    Each draw is random, but the odds rise while the count lags what the rate expects and drop
    to nil once it runs ahead, so a few weeks of one modality already show the intended rate.
    """

    def __init__(self) -> None:
        self.expected: dict[str, float] = {}
        self.actual: dict[str, int] = {}

    def draw(self, rng: random.Random, key: str, rate: float, *, allowed: bool = True) -> bool:
        gap = self.expected.get(key, 0.0) - self.actual.get(key, 0)
        odds = 0.0 if gap < -1 or not allowed else min(1.0, rate * (1 + max(0.0, gap) * 2))
        hit = rng.random() < odds
        self.expected[key] = self.expected.get(key, 0.0) + rate
        self.actual[key] = self.actual.get(key, 0) + hit
        return hit


def _outcome(rng: random.Random, balance: Balance, modality: str, priority: str) -> str:
    rate = NO_SHOW_RATE.get(modality, 0.04)
    if balance.draw(rng, modality, rate, allowed=priority != "stat"):
        return "no_show"
    draw = rng.random()
    for name, share in (
        ("cancel_unbooked", CANCEL_UNBOOKED),
        ("cancel_advance", CANCEL_ADVANCE),
        ("cancel_same_day", CANCEL_SAME_DAY),
        ("discontinue", DISCONTINUE_RATE),
    ):
        if draw < share:
            return name
        draw -= share
    return "done"


def simulate_booked(
    rng: random.Random,
    plan: Plan,
    *,
    booking: Booking,
    t: Timing,
    modality: str,
    priority: str,
    auth_codes: list[str] | None,
    auth_lead_days: int,
    local_date: Any,
    now: datetime,
    overridable: list[str],
    balance: Balance,
) -> None:
    """Walk the order from triage to billing (or an early end) and keep what happened by now.

    ``local_date`` turns an aware time into the department's calendar date, as the
    authorization window rule does; ``overridable`` lists the hard stops that could be overridden.
    """
    log = StepLog(now)
    outcome = _outcome(rng, balance, modality, priority)
    triager = WHO.triage if rng.random() < 0.7 else WHO.reader
    triage_details = {"exam_type": plan.exam_type.code, "priority": priority}
    log.add(A.TRIAGE, S.TRIAGED, t.triaged, by=triager, details=triage_details)
    need = {"auth_required": auth_codes is not None, "auth_codes": list(auth_codes or [])}
    denied = False
    while_pending = False
    if auth_codes is not None:
        log.add(A.REQUIRE_AUTH, S.PENDING_AUTH, t.triaged, by=triager, details=need)
        decided_at = t.decided or t.triaged
        denied = rng.random() < AUTH_DENIED_RATE
        earliest = local_date(t.received) + timedelta(days=auth_lead_days)
        while_pending = (
            not denied
            and priority != "stat"
            and rng.random() < BOOKED_WHILE_PENDING
            and local_date(booking.start) >= earliest
        )
        decided = decided_at <= now
        plan.auth = AuthPlan(
            status=("denied" if denied else "approved") if decided else "pending",
            requested_at=t.triaged,
            decided_at=decided_at if decided else None,
        )
        if plan.auth.status == "approved":
            valid_from = min(local_date(decided_at), local_date(booking.start))
            plan.auth.valid_from = valid_from
            plan.auth.valid_to = max(valid_from + timedelta(days=60), local_date(booking.start))
            if while_pending and booking.start > now and rng.random() < EXPIRING_RATE:
                # Approved after booking, for a shorter window: the coordinator's expiry flag.
                plan.auth.valid_to = max(valid_from, local_date(booking.start) - 3 * DAY)
        if denied:
            log.add(
                A.CANCEL, S.CANCELLED, decided_at + HOUR, by=WHO.triage, reason_code="auth_denied"
            )
            plan.steps = log.steps
            return
    else:
        log.add(A.AUTHORIZE, S.AUTHORIZED, t.triaged, by=triager, details=need)

    scheduled_at = t.scheduled
    if while_pending:
        scheduled_at = min(t.triaged + timedelta(hours=rng.uniform(0.2, 6)), t.scheduled)
    elif t.decided is not None:
        log.add(A.AUTHORIZE, S.AUTHORIZED, t.decided, actor=f"authorization by {WHO.triage}")

    if outcome == "cancel_unbooked":
        at = scheduled_at - (scheduled_at - t.triaged) * rng.uniform(0.1, 0.9)
        code = rng.choice(CANCEL_UNBOOKED_CODES)
        log.add(A.CANCEL, S.CANCELLED, at, by=WHO.triage, reason_code=code)
        plan.steps = log.steps
        return

    original = booking
    rescheduled = rng.random() < RESCHEDULE_RATE and booking.start - scheduled_at > 2 * DAY
    if rescheduled:
        shift = timedelta(
            days=rng.choice([-2, -1, 1, 1, 2, 3, 7]), minutes=rng.choice([-60, 0, 90])
        )
        moved = booking.start + shift
        if moved - scheduled_at < DAY:
            moved = booking.start + timedelta(days=2)
        original = Booking(booking.room, moved, moved + (booking.end - booking.start), 0)
    if not log.add(
        A.SCHEDULE, S.SCHEDULED, scheduled_at, by=WHO.front_desk, details=booking_details(original)
    ):
        plan.steps = log.steps
        return
    plan.booking = booking
    if rescheduled:
        first = min(original.start, booking.start)
        at = scheduled_at + (first - scheduled_at) * rng.uniform(0.2, 0.7)
        details = {
            "from_room": original.room.code,
            "from_start": original.start.isoformat(),
            **booking_details(booking),
        }
        code = rng.choice(RESCHEDULE_CODES)
        log.add(A.RESCHEDULE, S.SCHEDULED, at, by=WHO.front_desk, details=details, reason_code=code)

    if outcome == "cancel_advance":
        span = booking.start - scheduled_at
        at = scheduled_at + span * rng.uniform(0.2, 0.9)
        at = min(at, booking.start - min(DAY, span * 0.5))
        code = rng.choice(CANCEL_ADVANCE_CODES)
        log.add(A.CANCEL, S.CANCELLED, at, by=WHO.front_desk, reason_code=code)
        plan.steps = log.steps
        return
    if outcome == "cancel_same_day" and rng.random() < 0.7:
        at = booking.start - timedelta(hours=rng.uniform(0.5, 4))
        code = rng.choice(CANCEL_SAME_DAY_CODES)
        log.add(A.CANCEL, S.CANCELLED, at, by=WHO.front_desk, reason_code=code)
        plan.steps = log.steps
        return
    if outcome == "no_show":
        inpatient = plan.order["patient_class"] != "outpatient"
        code = rng.choice(NO_SHOW_INPATIENT_CODES if inpatient else NO_SHOW_CODES)
        at = booking.start + timedelta(minutes=rng.uniform(30, 90))
        log.add(A.NO_SHOW, S.NO_SHOW, at, by=WHO.front_desk, reason_code=code)
        plan.steps = log.steps
        return

    if not log.add(A.ARRIVE, S.ARRIVED, t.arrived, by=WHO.front_desk):
        plan.steps = log.steps
        return
    if outcome == "cancel_same_day":
        at = t.arrived + timedelta(minutes=rng.uniform(8, 25))
        code = rng.choice(CANCEL_ARRIVED_CODES)
        log.add(A.CANCEL, S.CANCELLED, at, by=WHO.front_desk, reason_code=code)
        plan.steps = log.steps
        return
    begin_details: dict[str, Any] = {}
    if overridable and rng.random() < OVERRIDE_RATE:
        plan.override = rng.choice(overridable)
        begin_details = {"overridden": [plan.override]}
    if not log.add(A.BEGIN, S.IN_PROGRESS, t.begun, by=WHO.performer, details=begin_details):
        plan.steps = log.steps
        return
    if outcome == "discontinue":
        at = t.begun + (t.completed - t.begun) * rng.uniform(0.1, 0.6)
        code = rng.choice(DISCONTINUE_CODES)
        log.add(A.DISCONTINUE, S.DISCONTINUED, at, by=WHO.performer, reason_code=code)
        plan.steps = log.steps
        return
    if log.add(A.COMPLETE, S.COMPLETED, t.completed, by=WHO.performer):
        plan.images_count = images_count(rng, modality)
    # A few stop short of billing for good: unread, unsigned or held by billing.
    stuck = rng.random()
    last = (
        S.COMPLETED
        if stuck < STUCK_COMPLETED
        else S.REPORTED
        if stuck < STUCK_COMPLETED + STUCK_REPORTED
        else S.SIGNED
        if stuck < STUCK_COMPLETED + STUCK_REPORTED + STUCK_SIGNED
        else S.BILLED
    )
    for action, state, at, who in (
        (A.REPORT, S.REPORTED, t.reported, WHO.reader),
        (A.SIGN, S.SIGNED, t.signed, WHO.reader),
        (A.BILL, S.BILLED, t.billed, WHO.biller),
    ):
        if log.steps[-1].to_state in (last, S.IN_PROGRESS) or not log.add(
            action, state, at, by=who
        ):
            break
    plan.steps = log.steps


IMAGES: dict[str, tuple[int, int]] = {
    "US": (18, 80),
    "CT": (250, 1400),
    "MR": (300, 2200),
    "DX": (1, 4),
    "MG": (4, 8),
    "NM": (40, 400),
    "PT": (300, 900),
    "XA": (20, 240),
    "RF": (10, 60),
}


def images_count(rng: random.Random, modality: str) -> int:
    low, high = IMAGES.get(modality, (1, 50))
    return rng.randint(low, high)
