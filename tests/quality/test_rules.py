"""The quality program's arithmetic, without a database."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from radflow.quality.rules import (
    ItemScore,
    add_working_days,
    audit_total,
    draw_sample,
    median_days,
    months_between,
    nps,
    pick_reviewer,
    redact,
    seeded_order,
)

FEB = date(2026, 2, 1)
ACCESSIONS = [f"RF{n:08d}" for n in range(1, 41)]


def no_holidays(day: date) -> bool:
    return False


def test_the_same_seed_month_and_person_draw_the_same_sample_whatever_the_order() -> None:
    shuffled = list(ACCESSIONS)
    random.Random(7).shuffle(shuffled)

    first = draw_sample(ACCESSIONS, size=5, seed="qa", month=FEB, person="E10001")
    again = draw_sample(shuffled, size=5, seed="qa", month=FEB, person="E10001")

    assert first == again
    assert len(first) == 5
    assert set(first) <= set(ACCESSIONS)


def test_another_person_month_or_seed_draws_differently() -> None:
    base = draw_sample(ACCESSIONS, size=5, seed="qa", month=FEB, person="E10001")

    assert draw_sample(ACCESSIONS, size=5, seed="qa", month=FEB, person="E10002") != base
    assert (
        draw_sample(ACCESSIONS, size=5, seed="qa", month=date(2026, 3, 1), person="E10001") != base
    )
    assert draw_sample(ACCESSIONS, size=5, seed="other", month=FEB, person="E10001") != base


def test_a_person_with_fewer_exams_than_the_sample_size_has_them_all_drawn() -> None:
    assert (
        sorted(draw_sample(ACCESSIONS[:3], size=5, seed="qa", month=FEB, person="E1"))
        == (ACCESSIONS[:3])
    )


@given(size=st.integers(min_value=0, max_value=40), bigger=st.integers(min_value=0, max_value=40))
def test_a_larger_sample_keeps_every_exam_of_the_smaller_one(size: int, bigger: int) -> None:
    small = draw_sample(ACCESSIONS, size=size, seed="qa", month=FEB, person="E1")
    large = draw_sample(ACCESSIONS, size=size + bigger, seed="qa", month=FEB, person="E1")
    assert large[: len(small)] == small
    assert seeded_order(ACCESSIONS, seed="qa", month=FEB, person="E1")[:size] == small


def test_reviews_go_to_the_least_loaded_radiologist() -> None:
    rng = random.Random(1)
    assert pick_reviewer(["B", "C", "D"], load={"B": 2, "C": 0, "D": 1}, rng=rng) == "C"
    assert pick_reviewer([], load={}, rng=rng) is None


def test_a_complaint_received_on_friday_is_due_five_working_days_later() -> None:
    friday = date(2026, 2, 6)
    assert add_working_days(friday, 5, is_holiday=no_holidays) == date(2026, 2, 13)


def test_weekends_and_holidays_do_not_count_as_working_days() -> None:
    saturday = date(2026, 2, 7)
    presidents_day = date(2026, 2, 16)

    due = add_working_days(saturday, 5, is_holiday=lambda d: d == presidents_day)

    # Mon 9 .. Fri 13 would be five; from Saturday the fifth is Friday 13th.
    assert due == date(2026, 2, 13)
    assert add_working_days(date(2026, 2, 13), 1, is_holiday=lambda d: d == presidents_day) == (
        date(2026, 2, 17)
    )


def test_a_pass_earns_full_points_a_partial_half_and_not_applicable_is_left_out() -> None:
    total = audit_total(
        [
            ItemScore(2, result="pass"),
            ItemScore(2, result="partial"),
            ItemScore(2, result="fail"),
            ItemScore(2, result="na"),
            ItemScore(4, points=Decimal(3)),
        ]
    )
    assert (total.earned, total.possible) == (Decimal(6), Decimal(10))
    assert total.percent == Decimal("60.0")


def test_an_audit_with_nothing_applicable_has_no_percent() -> None:
    assert audit_total([ItemScore(2, result="na")]).percent is None


def test_net_promoter_score_is_promoters_minus_detractors_in_percent() -> None:
    score = nps([10, 9, 9, 8, 7, 6, 3, 10])
    assert (score.promoters, score.passives, score.detractors) == (4, 2, 2)
    assert score.score == 25.0
    assert nps([]).score is None


def test_median_resolution_is_in_calendar_days() -> None:
    pairs = [(date(2026, 2, 2), date(2026, 2, 4)), (date(2026, 2, 2), date(2026, 2, 12))]
    assert median_days(pairs) == 6.0
    assert median_days([]) is None


def test_the_reader_is_redacted_from_a_report_signature() -> None:
    text = "IMPRESSION: Normal.\nElectronically signed by Dr. Priya NAIR, MD."
    assert redact(text, ["Priya", "Nair"]) == (
        "IMPRESSION: Normal.\nElectronically signed by Dr. [reader] [reader], MD."
    )
    assert redact("Nairobi trip", ["Nair"]) == "Nairobi trip"


def test_months_between_includes_both_ends() -> None:
    assert months_between(date(2025, 11, 20), date(2026, 2, 3)) == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
    ]
