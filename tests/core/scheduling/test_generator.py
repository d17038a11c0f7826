"""The seeded bench day: the mix issue 5 asks for, the same for the same seed."""

from __future__ import annotations

from collections import Counter

from radflow.core.scheduling.day import Priority
from radflow.core.scheduling.generator import dst_day, generate_day, real_minute


def test_the_bench_day_has_the_mix_of_issue_5():
    day = generate_day(1)

    kinds = Counter(
        "stat"
        if e.priority == Priority.STAT
        else "outpatient"
        if e.booked_start is not None
        else "inpatient"
        for e in day.exams
    )
    assert kinds == {"outpatient": 180, "inpatient": 50, "stat": 20}
    assert (len(day.rooms), len(day.staff)) == (12, 20)
    assert len({frozenset(e.rooms) for e in day.exams}) >= 4  # rooms differ in capability
    assert len({frozenset(e.staff) for e in day.exams}) >= 4  # staff differ in competency
    for e in day.exams:
        assert 15 <= e.duration <= 65
        assert e.rooms and e.staff
        if e.booked_start is not None:
            assert e.notified and e.booked_start % 15 == 0
        if e.priority == Priority.STAT:
            assert e.target_start == e.release + 60


def test_the_same_seed_gives_the_same_day_and_another_seed_another():
    assert generate_day(4) == generate_day(4)
    assert generate_day(4) != generate_day(5)


def test_a_daylight_saving_day_keeps_its_clock_times():
    spring, autumn = dst_day(2, horizon=1380), dst_day(2, horizon=1500)
    normal = generate_day(2)

    assert spring.rooms[0].open[0].start == real_minute(7 * 60, 1380) == 6 * 60
    assert autumn.rooms[0].open[0].start == 8 * 60
    for day, shift in ((spring, -60), (autumn, 60)):
        for a, b in zip(normal.exams, day.exams, strict=True):
            assert b.release == a.release + shift
