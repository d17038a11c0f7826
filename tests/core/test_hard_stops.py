"""What blocks an exam from beginning, computed from plain facts, without a database."""

from __future__ import annotations

from dataclasses import replace

import pytest

from radflow.core.hard_stops import IntakeFacts, Stop, hard_stops

#: An intake where everything that could be asked was asked and passed.
ALL_CLEAR = IntakeFacts(
    identity_confirmed=True,
    required_screening=frozenset({"pregnancy", "latex-allergy"}),
    screening_results={"pregnancy": "cleared", "latex-allergy": "flagged"},
    consent_required=True,
    consent_captured=True,
    prep_required=True,
    prep_ok=True,
    interpreter_needed=True,
    interpreter_logged=True,
    auth_required=True,
    auth_approved_for_day=True,
)


def codes(facts: IntakeFacts) -> list[str]:
    return [stop.code for stop in hard_stops(facts)]


def test_an_intake_with_everything_done_has_no_hard_stop() -> None:
    assert hard_stops(ALL_CLEAR) == []


def test_an_exam_that_needs_nothing_has_no_hard_stop_once_identity_is_confirmed() -> None:
    assert hard_stops(IntakeFacts(identity_confirmed=True, required_screening=frozenset())) == []


@pytest.mark.parametrize(
    ("change", "stop"),
    [
        (
            {"identity_confirmed": False},
            Stop("identity", "Identity not confirmed with two identifiers."),
        ),
        (
            {"screening_results": {"pregnancy": "cleared"}},
            Stop("screening", "Screening not answered: latex-allergy."),
        ),
        (
            {"screening_results": {"pregnancy": "failed", "latex-allergy": "cleared"}},
            Stop("screening", "Screening failed: pregnancy."),
        ),
        (
            {"consent_captured": False},
            Stop("consent", "Consent is required and has not been captured."),
        ),
        ({"prep_ok": None}, Stop("prep", "Preparation not verified.")),
        ({"prep_ok": False}, Stop("prep", "Preparation not followed.")),
        (
            {"interpreter_logged": False},
            Stop("interpreter", "Interpreter needed; none logged."),
        ),
        (
            {"auth_approved_for_day": False},
            Stop("authorization", "No approved pre-authorization valid today."),
        ),
    ],
    ids=[
        "identity",
        "screening-missing",
        "screening-failed",
        "consent",
        "prep-unverified",
        "prep-failed",
        "interpreter",
        "authorization",
    ],
)
def test_each_missing_or_failed_item_is_one_hard_stop_saying_what(
    change: dict[str, object], stop: Stop
) -> None:
    assert hard_stops(replace(ALL_CLEAR, **change)) == [stop]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "change",
    [
        {"consent_required": False, "consent_captured": False},
        {"prep_required": False, "prep_ok": None},
        {"prep_required": False, "prep_ok": False},
        {"interpreter_needed": False, "interpreter_logged": False},
        {"auth_required": False, "auth_approved_for_day": False},
        {"required_screening": frozenset(), "screening_results": {}},
    ],
    ids=["consent", "prep-unverified", "prep-failed", "interpreter", "authorization", "screening"],
)
def test_an_item_the_exam_does_not_need_never_stops_it(change: dict[str, object]) -> None:
    assert hard_stops(replace(ALL_CLEAR, **change)) == []  # type: ignore[arg-type]


def test_a_flagged_screening_answer_passes_with_precautions() -> None:
    facts = replace(
        ALL_CLEAR, screening_results={"pregnancy": "flagged", "latex-allergy": "flagged"}
    )
    assert hard_stops(facts) == []


def test_answers_to_questions_not_required_do_not_matter() -> None:
    facts = replace(
        ALL_CLEAR,
        screening_results={**ALL_CLEAR.screening_results, "contrast-allergy": "failed"},
    )
    assert hard_stops(facts) == []


def test_missing_and_failed_screening_are_one_stop_listing_both_sorted() -> None:
    facts = replace(
        ALL_CLEAR,
        required_screening=frozenset({"pregnancy", "latex-allergy", "npo", "egfr"}),
        screening_results={"pregnancy": "failed", "egfr": "failed"},
    )
    assert hard_stops(facts) == [
        Stop("screening", "Screening not answered: latex-allergy, npo; failed: egfr, pregnancy.")
    ]


def test_nothing_done_gives_every_stop_in_the_order_intake_asks() -> None:
    facts = IntakeFacts(
        identity_confirmed=False,
        required_screening=frozenset({"pregnancy"}),
        consent_required=True,
        prep_required=True,
        interpreter_needed=True,
        auth_required=True,
    )
    assert codes(facts) == [
        "identity",
        "screening",
        "consent",
        "prep",
        "interpreter",
        "authorization",
    ]
