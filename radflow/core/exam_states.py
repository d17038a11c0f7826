"""The exam's life as a table: which action moves which state to which, and who may take it.

DESIGN.md: ``requested → triaged → (pending_auth →) authorized → scheduled → arrived → in_progress →
completed → reported → signed → billed``, plus ``cancelled``, ``no_show`` and ``discontinued``.
Kept free of Django so the HL7, DICOM and FHIR mappings and the property tests read the same table
that ``radflow.exams.services`` enforces.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from radflow.core.errors import Conflict


class ExamState(StrEnum):
    REQUESTED = "requested"
    TRIAGED = "triaged"
    PENDING_AUTH = "pending_auth"
    AUTHORIZED = "authorized"
    SCHEDULED = "scheduled"
    ARRIVED = "arrived"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REPORTED = "reported"
    SIGNED = "signed"
    BILLED = "billed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    DISCONTINUED = "discontinued"

    @property
    def label(self) -> str:
        return _LABELS.get(self, self.value.replace("_", " ").capitalize())


_LABELS = {ExamState.PENDING_AUTH: "Pending authorization", ExamState.NO_SHOW: "No-show"}

#: States from which nothing more happens to the exam.
FINAL_STATES = frozenset(
    {ExamState.BILLED, ExamState.CANCELLED, ExamState.NO_SHOW, ExamState.DISCONTINUED}
)

#: States of an order not yet started, still on someone's to-do list before the patient comes.
BEFORE_ARRIVAL = frozenset(
    {
        ExamState.REQUESTED,
        ExamState.TRIAGED,
        ExamState.PENDING_AUTH,
        ExamState.AUTHORIZED,
        ExamState.SCHEDULED,
    }
)

#: States in which the SLA clock still runs: ordered, not yet begun, not ended early.
CLOCK_RUNNING = BEFORE_ARRIVAL | {ExamState.ARRIVED}

#: States in which the exam has been performed (the SLA clock has stopped).
STARTED = frozenset(
    {
        ExamState.IN_PROGRESS,
        ExamState.COMPLETED,
        ExamState.REPORTED,
        ExamState.SIGNED,
        ExamState.BILLED,
        ExamState.DISCONTINUED,
    }
)


class ExamAction(StrEnum):
    TRIAGE = "triage"
    REQUIRE_AUTH = "require_auth"
    AUTHORIZE = "authorize"
    SCHEDULE = "schedule"
    RESCHEDULE = "reschedule"
    ARRIVE = "arrive"
    BEGIN = "begin"
    COMPLETE = "complete"
    DISCONTINUE = "discontinue"
    REPORT = "report"
    SIGN = "sign"
    BILL = "bill"
    CANCEL = "cancel"
    NO_SHOW = "no_show"


@dataclass(frozen=True)
class Transition:
    action: ExamAction
    sources: frozenset[ExamState]
    target: ExamState
    #: The Django permission ("app.codename") a person needs; system actors (HL7, MPPS) are
    #: checked at their own boundary.
    permission: str
    reason_required: bool = False
    #: The coded reason kind (cancel, no_show, discontinue) when one must be given.
    reason_kind: str | None = None

    @property
    def timestamp_field(self) -> str | None:
        """The exam field stamped on entry; a reschedule stamps none (its row keeps the time)."""
        if self.action is ExamAction.RESCHEDULE:
            return None
        return f"{self.target.value}_at"


def _t(
    action: ExamAction,
    sources: set[ExamState],
    target: ExamState,
    permission: str,
    *,
    reason_kind: str | None = None,
) -> Transition:
    return Transition(
        action=action,
        sources=frozenset(sources),
        target=target,
        permission=permission,
        reason_required=reason_kind is not None,
        reason_kind=reason_kind,
    )


S = ExamState
TRANSITIONS: dict[ExamAction, Transition] = {
    t.action: t
    for t in (
        _t(ExamAction.TRIAGE, {S.REQUESTED}, S.TRIAGED, "exams.triage_exam"),
        _t(ExamAction.REQUIRE_AUTH, {S.TRIAGED}, S.PENDING_AUTH, "exams.triage_exam"),
        _t(ExamAction.AUTHORIZE, {S.TRIAGED, S.PENDING_AUTH}, S.AUTHORIZED, "exams.triage_exam"),
        # Booking may precede the payer's answer (within the rule's lead time); beginning may not.
        _t(ExamAction.SCHEDULE, {S.AUTHORIZED, S.PENDING_AUTH}, S.SCHEDULED, "exams.schedule_exam"),
        _t(ExamAction.RESCHEDULE, {S.SCHEDULED}, S.SCHEDULED, "exams.schedule_exam"),
        _t(ExamAction.ARRIVE, {S.SCHEDULED}, S.ARRIVED, "exams.arrive_exam"),
        _t(ExamAction.BEGIN, {S.ARRIVED}, S.IN_PROGRESS, "exams.perform_exam"),
        _t(ExamAction.COMPLETE, {S.IN_PROGRESS}, S.COMPLETED, "exams.perform_exam"),
        _t(
            ExamAction.DISCONTINUE,
            {S.IN_PROGRESS},
            S.DISCONTINUED,
            "exams.perform_exam",
            reason_kind="discontinue",
        ),
        _t(ExamAction.REPORT, {S.COMPLETED}, S.REPORTED, "exams.report_exam"),
        _t(ExamAction.SIGN, {S.REPORTED}, S.SIGNED, "exams.sign_exam"),
        _t(ExamAction.BILL, {S.SIGNED}, S.BILLED, "exams.bill_exam"),
        _t(
            ExamAction.CANCEL,
            {S.REQUESTED, S.TRIAGED, S.PENDING_AUTH, S.AUTHORIZED, S.SCHEDULED, S.ARRIVED},
            S.CANCELLED,
            "exams.cancel_exam",
            reason_kind="cancel",
        ),
        _t(
            ExamAction.NO_SHOW, {S.SCHEDULED}, S.NO_SHOW, "exams.arrive_exam", reason_kind="no_show"
        ),
    )
}


class IllegalTransition(Conflict):
    code = "illegal_transition"


def transition_for(state: ExamState | str, action: ExamAction | str) -> Transition:
    """The transition ``action`` takes from ``state``, or ``IllegalTransition`` saying why not."""
    state = ExamState(state)
    transition = TRANSITIONS[ExamAction(action)]
    if state not in transition.sources:
        allowed = ", ".join(sorted(s.value.replace("_", " ") for s in transition.sources))
        raise IllegalTransition(
            f"An exam that is {state.value.replace('_', ' ')} cannot be "
            f"{past_tense(transition.action)}; only an exam that is {allowed} can.",
            field="state",
        )
    return transition


def actions_from(state: ExamState | str) -> list[ExamAction]:
    """Every action the table allows from ``state``, in the table's order."""
    state = ExamState(state)
    return [action for action, t in TRANSITIONS.items() if state in t.sources]


_PAST = {
    ExamAction.TRIAGE: "triaged",
    ExamAction.REQUIRE_AUTH: "sent for authorization",
    ExamAction.AUTHORIZE: "authorized",
    ExamAction.SCHEDULE: "scheduled",
    ExamAction.RESCHEDULE: "rescheduled",
    ExamAction.ARRIVE: "arrived",
    ExamAction.BEGIN: "begun",
    ExamAction.COMPLETE: "completed",
    ExamAction.DISCONTINUE: "discontinued",
    ExamAction.REPORT: "reported",
    ExamAction.SIGN: "signed",
    ExamAction.BILL: "billed",
    ExamAction.CANCEL: "cancelled",
    ExamAction.NO_SHOW: "marked no-show",
}


def past_tense(action: ExamAction | str) -> str:
    """``cancel`` → ``cancelled``: for messages such as "cannot be cancelled"."""
    return _PAST[ExamAction(action)]
