"""The exam's transition table alone, without a database (DESIGN.md, "The exam's life")."""

from __future__ import annotations

import pytest

from radflow.core.errors import Conflict
from radflow.core.exam_states import (
    BEFORE_ARRIVAL,
    FINAL_STATES,
    STARTED,
    TRANSITIONS,
    ExamAction,
    ExamState,
    IllegalTransition,
    actions_from,
    past_tense,
    transition_for,
)

S = ExamState
A = ExamAction

#: The table as DESIGN.md and issue 4 describe it, written out independently of the module.
EXPECTED: dict[ExamAction, tuple[set[ExamState], ExamState, str, str | None]] = {
    A.TRIAGE: ({S.REQUESTED}, S.TRIAGED, "exams.triage_exam", None),
    A.REQUIRE_AUTH: ({S.TRIAGED}, S.PENDING_AUTH, "exams.triage_exam", None),
    A.AUTHORIZE: ({S.TRIAGED, S.PENDING_AUTH}, S.AUTHORIZED, "exams.triage_exam", None),
    A.SCHEDULE: ({S.AUTHORIZED, S.PENDING_AUTH}, S.SCHEDULED, "exams.schedule_exam", None),
    A.RESCHEDULE: ({S.SCHEDULED}, S.SCHEDULED, "exams.schedule_exam", None),
    A.ARRIVE: ({S.SCHEDULED}, S.ARRIVED, "exams.arrive_exam", None),
    A.BEGIN: ({S.ARRIVED}, S.IN_PROGRESS, "exams.perform_exam", None),
    A.COMPLETE: ({S.IN_PROGRESS}, S.COMPLETED, "exams.perform_exam", None),
    A.DISCONTINUE: ({S.IN_PROGRESS}, S.DISCONTINUED, "exams.perform_exam", "discontinue"),
    A.REPORT: ({S.COMPLETED}, S.REPORTED, "exams.report_exam", None),
    A.SIGN: ({S.REPORTED}, S.SIGNED, "exams.sign_exam", None),
    A.BILL: ({S.SIGNED}, S.BILLED, "exams.bill_exam", None),
    A.CANCEL: (
        {S.REQUESTED, S.TRIAGED, S.PENDING_AUTH, S.AUTHORIZED, S.SCHEDULED, S.ARRIVED},
        S.CANCELLED,
        "exams.cancel_exam",
        "cancel",
    ),
    A.NO_SHOW: ({S.SCHEDULED}, S.NO_SHOW, "exams.arrive_exam", "no_show"),
}


def test_every_action_has_exactly_one_row_in_the_table() -> None:
    assert set(TRANSITIONS) == set(ExamAction)
    assert set(EXPECTED) == set(ExamAction)


@pytest.mark.parametrize("action", list(ExamAction), ids=str)
def test_each_action_moves_from_its_sources_to_its_target_with_its_permission(
    action: ExamAction,
) -> None:
    sources, target, permission, reason_kind = EXPECTED[action]
    transition = TRANSITIONS[action]
    assert transition.action is action
    assert transition.sources == frozenset(sources)
    assert transition.target is target
    assert transition.permission == permission
    assert transition.reason_kind == reason_kind
    assert transition.reason_required is (reason_kind is not None)


@pytest.mark.parametrize("action", list(ExamAction), ids=str)
def test_transition_for_accepts_exactly_the_sources(action: ExamAction) -> None:
    sources = EXPECTED[action][0]
    for state in ExamState:
        if state in sources:
            assert transition_for(state, action).target is EXPECTED[action][1]
            assert transition_for(state.value, action.value) is TRANSITIONS[action]
        else:
            with pytest.raises(IllegalTransition):
                transition_for(state, action)


@pytest.mark.parametrize("state", sorted(FINAL_STATES), ids=str)
def test_a_final_state_has_no_way_out(state: ExamState) -> None:
    assert actions_from(state) == []
    for action in ExamAction:
        with pytest.raises(IllegalTransition):
            transition_for(state, action)


def test_every_state_but_the_final_ones_has_a_way_on() -> None:
    for state in ExamState:
        assert bool(actions_from(state)) is (state not in FINAL_STATES)


def test_actions_from_lists_the_table_order() -> None:
    assert actions_from(S.SCHEDULED) == [A.RESCHEDULE, A.ARRIVE, A.CANCEL, A.NO_SHOW]
    assert actions_from("in_progress") == [A.COMPLETE, A.DISCONTINUE]
    assert actions_from(S.PENDING_AUTH) == [A.AUTHORIZE, A.SCHEDULE, A.CANCEL]


def test_every_state_is_reachable_from_requested() -> None:
    seen = {S.REQUESTED}
    frontier = [S.REQUESTED]
    while frontier:
        state = frontier.pop()
        for action in actions_from(state):
            target = TRANSITIONS[action].target
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == set(ExamState)


def test_nothing_leads_back_to_requested_and_a_started_exam_cannot_be_cancelled() -> None:
    assert all(t.target is not S.REQUESTED for t in TRANSITIONS.values())
    assert not (TRANSITIONS[A.CANCEL].sources & STARTED)


def test_the_state_groups_do_not_overlap() -> None:
    assert not (BEFORE_ARRIVAL & STARTED)
    assert not (BEFORE_ARRIVAL & FINAL_STATES)
    assert {S.BILLED, S.DISCONTINUED} == FINAL_STATES & STARTED


def test_an_illegal_transition_names_the_state_and_the_states_that_could() -> None:
    with pytest.raises(IllegalTransition) as caught:
        transition_for(S.ARRIVED, A.ARRIVE)
    message = str(caught.value)
    assert message == (
        "An exam that is arrived cannot be arrived; only an exam that is scheduled can."
    )
    assert caught.value.code == "illegal_transition"
    assert caught.value.field == "state"
    assert isinstance(caught.value, Conflict)
    assert caught.value.http_status == 409


def test_an_illegal_transition_from_a_two_word_state_reads_as_words() -> None:
    with pytest.raises(IllegalTransition) as caught:
        transition_for(S.NO_SHOW, A.CANCEL)
    message = caught.value.message
    assert message.startswith("An exam that is no show cannot be cancelled;")
    assert "arrived, authorized, pending auth, requested, scheduled, triaged" in message


def test_each_action_has_a_past_tense_for_messages() -> None:
    assert past_tense(A.NO_SHOW) == "marked no-show"
    assert past_tense("require_auth") == "sent for authorization"
    assert all(past_tense(action) for action in ExamAction)


def test_unknown_states_and_actions_are_value_errors() -> None:
    with pytest.raises(ValueError):
        transition_for("lost", A.TRIAGE)
    with pytest.raises(ValueError):
        transition_for(S.REQUESTED, "teleport")


def test_only_a_reschedule_stamps_no_state_time() -> None:
    for action, transition in TRANSITIONS.items():
        if action is A.RESCHEDULE:
            assert transition.timestamp_field is None
        else:
            assert transition.timestamp_field == f"{transition.target.value}_at"


def test_states_have_labels_for_people() -> None:
    assert S.PENDING_AUTH.label == "Pending authorization"
    assert S.NO_SHOW.label == "No-show"
    assert S.IN_PROGRESS.label == "In progress"
