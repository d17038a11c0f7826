"""What one exam adds to the daily rollups: each event on its own local day, DST days whole."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from radflow.core.kpis.rollup import (
    Accumulator,
    ExamFact,
    LocalCalendar,
    accumulate,
    days_touched,
)

NY = ZoneInfo("America/New_York")
CAL = LocalCalendar(NY)
KEY = ("site", "room", "US", "abdomen", "outpatient", "routine", "payer", "sono", "1234567893")
STAT_KEY = (*KEY[:5], "stat", *KEY[6:])


def local(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=NY)


def counts(acc: Accumulator, day: date) -> dict[str, int]:
    total: dict[str, int] = {}
    for (d, _key), row in acc.rows.items():
        if d == day:
            for name, n in row.counts.items():
                total[name] = total.get(name, 0) + n
    return total


def test_a_spring_forward_day_is_23_hours_and_an_autumn_day_25() -> None:
    assert CAL.split(local(2026, 3, 8, 0), local(2026, 3, 9, 0)) == [(date(2026, 3, 8), 23 * 3600)]
    assert CAL.split(local(2026, 11, 1, 0), local(2026, 11, 2, 0)) == [
        (date(2026, 11, 1), 25 * 3600)
    ]


def test_an_exam_past_midnight_counts_on_its_first_day_and_scans_on_both() -> None:
    fact = ExamFact(
        key=KEY,
        requested_at=local(2026, 3, 2, 9),
        scheduled_at=local(2026, 3, 2, 10),
        scheduled_start=local(2026, 3, 7, 23, 30),
        arrived_at=local(2026, 3, 7, 23, 20),
        in_progress_at=local(2026, 3, 7, 23, 40),
        completed_at=local(2026, 3, 8, 0, 25),
        reported_at=local(2026, 3, 8, 4, 0),  # after the 02:00 → 03:00 jump
        signed_at=local(2026, 3, 8, 4, 10),
        rvu_milli=810,
    )
    acc = accumulate([fact], NY, date(2026, 3, 1), date(2026, 3, 31))
    first, second = counts(acc, date(2026, 3, 7)), counts(acc, date(2026, 3, 8))
    assert first["completed"] == 1 and first["duration_s"] == 45 * 60
    assert first["wait_s"] == 20 * 60 and first["scanned_s"] == 20 * 60
    assert first["appt_due"] == first["appt_completed"] == 1
    assert first["rvu_milli"] == 810
    assert second["scanned_s"] == 25 * 60 and "completed" not in second
    # 00:25 EST to 04:00 EDT is 2 h 35 min of real time, not 3 h 35 min on the clock.
    assert second["reported"] == 1 and second["report_s"] == 155 * 60
    assert second["sign_s"] == 10 * 60
    assert counts(acc, date(2026, 3, 2)) == {"orders": 1, "scheduled": 1, "sched_s": 3600}


def test_a_cancellation_after_arrival_is_a_same_day_cancellation_not_a_no_show() -> None:
    fact = ExamFact(
        key=KEY,
        requested_at=local(2026, 3, 1, 9),
        scheduled_start=local(2026, 3, 8, 11),
        arrived_at=local(2026, 3, 8, 10, 50),
        cancelled_at=local(2026, 3, 8, 11, 15),
        reason_code="prep_not_done",
    )
    acc = accumulate([fact], NY, date(2026, 3, 1), date(2026, 3, 31))
    day = counts(acc, date(2026, 3, 8))
    assert day == {"appt_due": 1, "same_day_cancel": 1, "cancel_after_arrival": 1}
    assert list(acc.reasons.values()) == [1]
    assert next(iter(acc.reasons))[2:] == ("cancel", "prep_not_done")


def test_a_cancellation_days_ahead_is_not_an_appointment_due() -> None:
    fact = ExamFact(
        key=KEY,
        requested_at=local(2026, 3, 1, 9),
        scheduled_start=local(2026, 3, 8, 11),
        cancelled_at=local(2026, 3, 6, 15),
    )
    acc = accumulate([fact], NY, date(2026, 3, 1), date(2026, 3, 31))
    assert counts(acc, date(2026, 3, 8)) == {}


def test_a_no_show_counts_on_the_appointments_day_with_its_reason() -> None:
    fact = ExamFact(
        key=KEY,
        requested_at=local(2026, 10, 20, 9),
        scheduled_start=local(2026, 11, 1, 9),
        no_show_at=local(2026, 11, 1, 10, 30),
        reason_code="no_contact",
    )
    acc = accumulate([fact], NY, date(2026, 10, 1), date(2026, 11, 30))
    assert counts(acc, date(2026, 11, 1)) == {"appt_due": 1, "no_show": 1}
    assert list(acc.reasons) == [(date(2026, 11, 1), KEY, "no_show", "no_contact")]


def test_a_stat_begun_after_its_due_time_counts_but_is_not_met() -> None:
    received = local(2026, 3, 8, 12)
    late = ExamFact(
        key=STAT_KEY,
        requested_at=received,
        in_progress_at=received + timedelta(minutes=75),
        sla_due_at=received + timedelta(minutes=60),
    )
    on_time = ExamFact(
        key=STAT_KEY,
        requested_at=received,
        in_progress_at=received + timedelta(minutes=40),
        sla_due_at=received + timedelta(minutes=60),
    )
    acc = accumulate([late, on_time], NY, date(2026, 3, 8), date(2026, 3, 8))
    day = counts(acc, date(2026, 3, 8))
    assert (day["stat_n"], day["stat_met"]) == (2, 1)
    assert "urgent_n" not in day


def test_days_outside_the_range_are_left_out_and_the_site_rows_add_up() -> None:
    fact = ExamFact(
        key=KEY,
        requested_at=local(2026, 2, 27, 9),
        scheduled_at=local(2026, 2, 28, 9),
        in_progress_at=local(2026, 3, 1, 9),
        completed_at=local(2026, 3, 1, 9, 30),
        overrides=(local(2026, 3, 1, 8, 59),),
    )
    acc = accumulate([fact, fact], NY, date(2026, 3, 1), date(2026, 3, 31))
    assert {day for day, _ in acc.rows} == {date(2026, 3, 1)}
    ((site_key, row),) = acc.site_rows().items()
    assert site_key == (date(2026, 3, 1), ("site", "US"))
    assert row.counts["completed"] == 2 and row.counts["overrides"] == 2
    assert row.hist["duration"] == {30: 2}


def test_every_day_an_exam_touches_is_listed() -> None:
    fact = ExamFact(
        key=KEY,
        requested_at=local(2026, 3, 2, 9),
        scheduled_start=local(2026, 3, 7, 23, 30),
        in_progress_at=local(2026, 3, 7, 23, 40),
        completed_at=local(2026, 3, 9, 0, 5),  # a scan over two midnights
    )
    assert days_touched(fact, CAL) == {
        date(2026, 3, 2),
        date(2026, 3, 7),
        date(2026, 3, 8),
        date(2026, 3, 9),
    }
    assert fact.requested_at.astimezone(UTC).tzinfo is UTC


def test_a_documentation_gap_follows_the_audits_clocks() -> None:
    from radflow.core.kpis.rollup import DocRules, documentation_gap

    done = local(2026, 3, 8, 10)
    fact = ExamFact(
        key=KEY,
        requested_at=done,
        in_progress_at=done,
        completed_at=done,
        state="completed",
        images_count=30,
    )
    assert not documentation_gap(fact, DocRules(now=done + timedelta(hours=23)))
    assert documentation_gap(fact, DocRules(now=done + timedelta(hours=25)))
    billed = ExamFact(key=KEY, requested_at=done, state="billed", has_charge=True, images_count=12)
    assert not documentation_gap(billed, DocRules(now=done))
    assert documentation_gap(
        ExamFact(key=KEY, requested_at=done, state="billed"), DocRules(now=done)
    )
    consent = ExamFact(
        key=KEY, requested_at=done, state="billed", has_charge=True, consent_required=True
    )
    assert documentation_gap(consent, DocRules(now=done))
    assert DocRules(now=done).settle_days == 4


def test_performed_exams_and_their_gaps_count_on_the_day_they_began() -> None:
    from radflow.core.kpis.rollup import DocRules

    begun = local(2026, 3, 7, 23, 40)
    fact = ExamFact(
        key=KEY,
        requested_at=begun,
        in_progress_at=begun,
        completed_at=begun + timedelta(minutes=45),
        state="completed",
    )
    rules = DocRules(now=begun + timedelta(days=3))
    acc = accumulate([fact], NY, date(2026, 3, 1), date(2026, 3, 31), rules)
    assert counts(acc, date(2026, 3, 7))["performed"] == 1
    assert counts(acc, date(2026, 3, 7))["doc_gap"] == 1
