"""Demo step: shift types and cover for the three sites, rules for every rostered person, leave,
wishes, US federal holidays, and a published six-week roster solved by the real solver.

The roster starts on the Monday of the demo's "today" so the calendars show the current week.
Main runs ultrasound round the clock (day, ED evening, weekend nights, weeknight on-call), CT with
weekend nights and weeknight on-call, and radiologists reading days plus nightly on-call; the
outpatient centre and the women's clinic work weekday days. A pending swap and a sick call that
was already re-solved and applied show the after-publishing work.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

from django.utils import timezone

from radflow.catalog.models import Competency
from radflow.demo.context import DemoContext
from radflow.rostering import services
from radflow.rostering.models import (
    CoverageRequirement,
    LeaveKind,
    LeaveRequest,
    PublicHoliday,
    RequestStatus,
    Roster,
    RosterAssignment,
    RosterSettings,
    RunKind,
    RunStatus,
    ShiftKind,
    ShiftPreference,
    ShiftType,
    StaffRosterRules,
)
from radflow.scheduling.models import Modality, Site
from radflow.staff.models import JobRole, StaffMember

WEEKS = 6
SOLVE_SECONDS = 20
#: A second try when a loaded machine found no roster in time (the demo stays under 3 min).
RETRY_SECONDS = 40
SICK_SECONDS = 5
WEEKDAYS = (0, 1, 2, 3, 4)
WEEKEND = (5, 6)
EVERY_DAY = tuple(range(7))
MON_THU = (0, 1, 2, 3)
FRI_SUN = (4, 5, 6)

ROSTERED_ROLES = (JobRole.SONOGRAPHER, JobRole.TECHNOLOGIST, JobRole.RADIOLOGIST, JobRole.NURSE)


@dataclass(frozen=True)
class ShiftPlan:
    site: str
    code: str
    name: str
    kind: ShiftKind
    modality: str | None
    start: time
    end: time
    paid: int
    #: (weekdays, minimum, preferred)
    cover: tuple[tuple[tuple[int, ...], int, int], ...]
    callback: int | None = None
    weekend_only: bool = False
    #: Cover on public holidays (minimum, preferred); None keeps the weekday's cover.
    holiday: tuple[int, int] | None = (0, 0)


D = ShiftKind.DAY
E = ShiftKind.EVENING
N = ShiftKind.NIGHT
OC = ShiftKind.ON_CALL

SHIFTS: list[ShiftPlan] = [
    # Main hospital ultrasound: days, ED evenings, in-house weekend nights, weeknight on-call.
    ShiftPlan(
        "MAIN",
        "MAIN-US-D",
        "Main US day",
        D,
        "US",
        time(7, 30),
        time(16),
        480,
        ((WEEKDAYS, 4, 6), (WEEKEND, 2, 2)),
        holiday=(2, 2),
    ),
    ShiftPlan(
        "MAIN",
        "MAIN-US-E",
        "Main US ED evening",
        E,
        "US",
        time(15),
        time(23, 30),
        480,
        ((EVERY_DAY, 1, 2),),
        holiday=None,
    ),
    ShiftPlan(
        "MAIN",
        "MAIN-US-N",
        "Main US ED night",
        N,
        "US",
        time(23),
        time(7, 30),
        480,
        ((FRI_SUN, 1, 1),),
        holiday=None,
    ),
    ShiftPlan(
        "MAIN",
        "MAIN-US-OC",
        "Main US on call",
        OC,
        "US",
        time(23),
        time(7, 30),
        120,
        ((MON_THU, 1, 1),),
        callback=30,
        holiday=None,
    ),
    # Main CT: days every day, in-house weekend nights, weeknight on-call.
    ShiftPlan(
        "MAIN",
        "MAIN-CT-D",
        "Main CT day",
        D,
        "CT",
        time(7),
        time(15, 30),
        480,
        ((WEEKDAYS, 1, 2), (WEEKEND, 1, 1)),
        holiday=(1, 1),
    ),
    ShiftPlan(
        "MAIN",
        "MAIN-CT-N",
        "Main CT night",
        N,
        "CT",
        time(22),
        time(6, 30),
        480,
        ((FRI_SUN, 1, 1),),
        holiday=None,
    ),
    ShiftPlan(
        "MAIN",
        "MAIN-CT-OC",
        "Main CT on call",
        OC,
        "CT",
        time(22),
        time(6, 30),
        120,
        ((MON_THU, 0, 1),),
        callback=30,
        holiday=None,
    ),
    ShiftPlan(
        "MAIN",
        "MAIN-MR-D",
        "Main MR day",
        D,
        "MR",
        time(7),
        time(15, 30),
        480,
        ((WEEKDAYS, 1, 2),),
    ),
    ShiftPlan(
        "MAIN",
        "MAIN-DX-D",
        "Main X-ray day",
        D,
        "DX",
        time(7),
        time(15, 30),
        480,
        ((WEEKDAYS, 1, 2), (WEEKEND, 1, 1)),
        holiday=(1, 1),
    ),
    ShiftPlan(
        "MAIN",
        "MAIN-NM-D",
        "Main nuclear medicine day",
        D,
        "NM",
        time(7, 30),
        time(16),
        480,
        ((WEEKDAYS, 1, 2),),
    ),
    ShiftPlan(
        "MAIN",
        "MAIN-IR-D",
        "Main interventional day",
        D,
        "XA",
        time(7, 30),
        time(16),
        480,
        ((WEEKDAYS, 0, 1),),
    ),
    ShiftPlan(
        "MAIN",
        "MAIN-RN-D",
        "Main imaging nurse day",
        D,
        None,
        time(7, 30),
        time(16),
        480,
        ((WEEKDAYS, 1, 1),),
    ),
    ShiftPlan(
        "MAIN",
        "MAIN-RAD-D",
        "Main radiologist reading day",
        D,
        None,
        time(8),
        time(16, 30),
        480,
        ((WEEKDAYS, 2, 3),),
    ),
    ShiftPlan(
        "MAIN",
        "MAIN-RAD-OC",
        "Main radiologist on call",
        OC,
        None,
        time(17),
        time(8),
        240,
        ((EVERY_DAY, 1, 1),),
        callback=30,
        holiday=None,
    ),
    # Outpatient imaging centre: weekday days (ultrasound also a late shift).
    ShiftPlan(
        "OIC",
        "OIC-US-D",
        "OIC US day",
        D,
        "US",
        time(7),
        time(15, 30),
        480,
        ((WEEKDAYS, 3, 4),),
    ),
    ShiftPlan(
        "OIC",
        "OIC-US-L",
        "OIC US late",
        D,
        "US",
        time(10, 30),
        time(19),
        480,
        ((WEEKDAYS, 1, 3),),
    ),
    ShiftPlan(
        "OIC",
        "OIC-CT-D",
        "OIC CT day",
        D,
        "CT",
        time(7),
        time(15, 30),
        480,
        ((WEEKDAYS, 1, 2),),
    ),
    ShiftPlan(
        "OIC",
        "OIC-MR-D",
        "OIC MR day",
        D,
        "MR",
        time(7),
        time(15, 30),
        480,
        ((WEEKDAYS, 1, 2),),
    ),
    ShiftPlan(
        "OIC",
        "OIC-DX-D",
        "OIC X-ray day",
        D,
        "DX",
        time(7),
        time(15, 30),
        480,
        ((WEEKDAYS, 0, 1),),
    ),
    ShiftPlan(
        "OIC",
        "OIC-MG-D",
        "OIC mammography day",
        D,
        "MG",
        time(7),
        time(15, 30),
        480,
        ((WEEKDAYS, 0, 1),),
    ),
    ShiftPlan(
        "OIC",
        "OIC-RAD-D",
        "OIC radiologist reading day",
        D,
        None,
        time(8),
        time(16, 30),
        480,
        ((WEEKDAYS, 1, 2),),
    ),
    # Women's health clinic: weekday days.
    ShiftPlan(
        "WHC",
        "WHC-US-D",
        "WHC US day",
        D,
        "US",
        time(8),
        time(16, 30),
        480,
        ((WEEKDAYS, 3, 6),),
    ),
    ShiftPlan(
        "WHC",
        "WHC-MG-D",
        "WHC mammography day",
        D,
        "MG",
        time(8),
        time(16, 30),
        480,
        ((WEEKDAYS, 1, 2),),
    ),
    ShiftPlan(
        "WHC",
        "WHC-RAD-D",
        "WHC radiologist reading day",
        D,
        None,
        time(8),
        time(16, 30),
        480,
        ((WEEKDAYS, 0, 1),),
    ),
]

#: Competency cover on some ultrasound shifts: (shift code, competency, weekdays, min, preferred).
COMPETENCY_COVER = [
    ("MAIN-US-D", "us-vascular-venous", WEEKDAYS, 1, 2),
    ("OIC-US-D", "us-vascular-venous", WEEKDAYS, 1, 1),
    ("WHC-US-D", "us-ob-second-third", WEEKDAYS, 1, 2),
]
#: Fewer holders than this at the site: the competency is wanted (preferred) but not a minimum.
MIN_HOLDERS_FOR_MINIMUM = 4


def us_federal_holidays(year: int) -> list[tuple[date, str]]:
    """The US federal holidays of ``year`` (observed dates are not shifted)."""

    def nth(month: int, weekday: int, n: int) -> date:
        first = date(year, month, 1)
        offset = (weekday - first.weekday()) % 7
        return first + timedelta(days=offset + 7 * (n - 1))

    def last(month: int, weekday: int) -> date:
        day = date(year, month + 1, 1) - timedelta(days=1)
        return day - timedelta(days=(day.weekday() - weekday) % 7)

    return [
        (date(year, 1, 1), "New Year's Day"),
        (nth(1, 0, 3), "Martin Luther King Jr. Day"),
        (nth(2, 0, 3), "Washington's Birthday"),
        (last(5, 0), "Memorial Day"),
        (date(year, 6, 19), "Juneteenth"),
        (date(year, 7, 4), "Independence Day"),
        (nth(9, 0, 1), "Labor Day"),
        (nth(10, 0, 2), "Columbus Day"),
        (date(year, 11, 11), "Veterans Day"),
        (nth(11, 3, 4), "Thanksgiving Day"),
        (date(year, 12, 25), "Christmas Day"),
    ]


def _shift_types(sites: dict[str, Site], holidays: list[date]) -> dict[str, ShiftType]:
    modalities = {m.code: m for m in Modality.objects.all()}
    made: dict[str, ShiftType] = {}
    requirements: list[CoverageRequirement] = []
    for plan in SHIFTS:
        shift = ShiftType.objects.create(
            site=sites[plan.site],
            code=plan.code,
            name=plan.name,
            kind=plan.kind,
            modality=modalities.get(plan.modality) if plan.modality else None,
            start=plan.start,
            end=plan.end,
            paid_minutes=plan.paid,
            callback_minutes=plan.callback,
            weekend_only=plan.weekend_only,
        )
        made[plan.code] = shift
        for weekdays, minimum, preferred in plan.cover:
            requirements.extend(
                CoverageRequirement(
                    shift_type=shift, weekday=day, minimum=minimum, preferred=preferred
                )
                for day in weekdays
            )
        if plan.holiday is not None:
            minimum, preferred = plan.holiday
            requirements.extend(
                CoverageRequirement(
                    shift_type=shift, on_date=day, minimum=minimum, preferred=preferred
                )
                for day in holidays
            )
    CoverageRequirement.objects.bulk_create(requirements)
    return made


def _minutes(member: StaffMember) -> int:
    return int(round(float(member.fte) * 2400 / 30) * 30)


def _rules(
    staff: list[StaffMember], shifts: dict[str, ShiftType], rng: random.Random
) -> list[StaffMember]:
    """Rules by FTE for every sonographer, technologist, radiologist and nurse."""
    rostered = [m for m in staff if m.job_role in ROSTERED_ROLES and m.active]
    by_site_role: dict[tuple[str, str], list[ShiftType]] = {
        ("MAIN", JobRole.RADIOLOGIST): [shifts["MAIN-RAD-D"], shifts["MAIN-RAD-OC"]],
        ("OIC", JobRole.RADIOLOGIST): [shifts["OIC-RAD-D"]],
        ("WHC", JobRole.RADIOLOGIST): [shifts["WHC-RAD-D"]],
        ("MAIN", JobRole.NURSE): [shifts["MAIN-RN-D"]],
    }
    for member in rostered:
        minutes = _minutes(member)
        rules = StaffRosterRules.objects.create(
            staff=member,
            contracted_minutes_per_week=minutes,
            flex_minutes_per_week=480,
            max_consecutive_days=5 if member.fte >= 0.8 else 4,
            min_consecutive_days=1,
            min_consecutive_days_off=2 if member.fte >= 1 else 1,
            max_weekends_per_4_weeks=3,
            max_nights_per_4_weeks=8,
            max_on_call_per_4_weeks=8 if member.job_role == JobRole.RADIOLOGIST else 6,
        )
        listed = by_site_role.get((member.home_site.code, member.job_role))
        if listed:
            rules.shift_types.set(listed)
    del rng
    return rostered


def _holders(staff: list[StaffMember], on: date) -> dict[str, dict[str, int]]:
    """Per competency, how many people at each site hold it on ``on``."""
    from radflow.credentials.selectors import staff_skills

    skills = staff_skills(staff_ids=[m.pk for m in staff], on=on)
    counts: dict[str, dict[str, int]] = {}
    for member in staff:
        for code in skills.get(member.pk, frozenset()):
            site_counts = counts.setdefault(code, {})
            site_counts[member.home_site.code] = site_counts.get(member.home_site.code, 0) + 1
    return counts


def _competency_cover(
    shifts: dict[str, ShiftType], staff: list[StaffMember], start: date, end: date
) -> None:
    holders_start = _holders(staff, start)
    holders_end = _holders(staff, end)
    known = set(Competency.objects.values_list("code", flat=True))
    for code, competency, weekdays, minimum, preferred in COMPETENCY_COVER:
        if competency not in known:
            continue
        site = shifts[code].site.code
        held = min(
            holders_start.get(competency, {}).get(site, 0),
            holders_end.get(competency, {}).get(site, 0),
        )
        if held == 0:
            continue
        CoverageRequirement.objects.bulk_create(
            CoverageRequirement(
                shift_type=shifts[code],
                weekday=day,
                competency_id=competency,
                minimum=minimum if held >= MIN_HOLDERS_FOR_MINIMUM else 0,
                preferred=min(preferred, held),
            )
            for day in weekdays
        )


def _leave_and_wishes(
    rostered: list[StaffMember],
    shifts: dict[str, ShiftType],
    start: date,
    coordinator: Any,
    rng: random.Random,
) -> None:
    sonographers = [m for m in rostered if m.job_role == JobRole.SONOGRAPHER]
    others = [m for m in rostered if m.job_role != JobRole.SONOGRAPHER]
    chosen = rng.sample(sonographers, 7) + rng.sample(others, 3)
    kinds = [LeaveKind.ANNUAL] * 6 + [LeaveKind.STUDY] * 2 + [LeaveKind.OTHER] * 2
    for index, member in enumerate(chosen):
        first = start + timedelta(days=rng.randint(3, 7 * WEEKS - 6))
        length = rng.choice((1, 2, 3, 5))
        approved = index % 3 != 2
        LeaveRequest.objects.create(
            staff=member,
            kind=kinds[index],
            start=first,
            end=first + timedelta(days=length - 1),
            status=RequestStatus.APPROVED if approved else RequestStatus.REQUESTED,
            note="" if approved else "Family event",
            decided_by=coordinator if approved else None,
        )
    wishes: list[ShiftPreference] = []
    main_us = [m for m in sonographers if m.home_site.code == "MAIN"]
    for member in rng.sample(main_us, 4):
        wishes.append(
            ShiftPreference(
                staff=member,
                shift_type=shifts["MAIN-US-N"],
                weekday=rng.choice(FRI_SUN),
                wants=False,
                weight=rng.choice((5, 10, 20)),
            )
        )
    for member in rng.sample(main_us, 3):
        wishes.append(
            ShiftPreference(
                staff=member,
                shift_type=shifts["MAIN-US-E"],
                weekday=rng.choice(WEEKDAYS),
                wants=True,
                weight=rng.choice((5, 10)),
            )
        )
    for member in rng.sample(sonographers, 5):
        wishes.append(
            ShiftPreference(
                staff=member,
                weekday=rng.choice(WEEKDAYS),
                wants=False,
                weight=rng.choice((3, 5, 8)),
            )
        )
    for member in rng.sample(others, 3):
        wishes.append(
            ShiftPreference(
                staff=member,
                on_date=start + timedelta(days=rng.randint(7, 7 * WEEKS - 1)),
                wants=False,
                weight=rng.choice((10, 30)),
            )
        )
    ShiftPreference.objects.bulk_create(wishes)


def _pending_swap(roster: Roster, coordinator: Any, today: date) -> None:
    """A same-day exchange of the outpatient centre's day and late ultrasound shifts between two
    sonographers, waiting for the coordinator: hours, rest and days in a row stay the same, so
    only the competency cover can stand in its way (then the next pair is tried).

    Swaps are only ever asked for days still ahead on the real calendar, so a demo built for
    another ``today`` (the tests) may have none to offer."""
    today = max(today, timezone.localdate())
    rows = list(
        RosterAssignment.objects.filter(
            roster=roster,
            on_date__gt=today + timedelta(days=7),
            shift_type__code__in=("OIC-US-D", "OIC-US-L"),
        )
        .select_related("staff", "shift_type")
        .order_by("on_date", "staff__employee_number")
    )
    tries = 0
    for give in rows:
        if give.shift_type.code != "OIC-US-L":
            continue
        for take in rows:
            if take.on_date != give.on_date or take.shift_type.code != "OIC-US-D":
                continue
            tries += 1
            if tries > 10:
                return
            try:
                services.swap_request(
                    roster=roster,
                    requester=give.staff,
                    partner=take.staff,
                    give_date=give.on_date,
                    take_date=take.on_date,
                    note="School pick-up that day",
                    by=coordinator,
                )
            except services.SwapBreaksRule:
                continue
            return


def setup(ctx: DemoContext) -> tuple[date, date]:
    """Everything a roster is made from (shifts, cover, rules, leave, wishes), without solving.

    Returns the first and last day of the demo roster: the current week and the five after it.
    ``bench/roster_department.py`` times the solve of exactly this set-up.
    """
    rng = ctx.random("rostering")
    sites: dict[str, Site] = ctx.objects["sites"]
    staff: list[StaffMember] = ctx.objects["staff"]
    coordinator = ctx.objects.get("users", {}).get("coordinator")
    start = ctx.today - timedelta(days=ctx.today.weekday())
    end = start + timedelta(days=7 * WEEKS - 1)

    holidays: list[tuple[date, str]] = []
    for year in (start.year - 1, start.year, start.year + 1):
        holidays.extend(us_federal_holidays(year))
    PublicHoliday.objects.bulk_create(
        PublicHoliday(on_date=day, name=name) for day, name in holidays
    )
    RosterSettings.objects.create(solve_seconds=60)
    shifts = _shift_types(sites, [day for day, _ in holidays if start <= day <= end])
    rostered = _rules(staff, shifts, rng)
    _competency_cover(shifts, rostered, start, end)
    _leave_and_wishes(rostered, shifts, start, coordinator, rng)
    return start, end


def generate(ctx: DemoContext) -> None:
    coordinator = ctx.objects.get("users", {}).get("coordinator")
    start, end = setup(ctx)
    roster = services.roster_create(start=start, weeks=WEEKS, by=coordinator)
    run = services.roster_run_start(roster=roster, by=coordinator, seconds=SOLVE_SECONDS)
    run = services.roster_run_execute(run_id=run.pk)
    if run.status == RunStatus.FAILED:
        run = services.roster_run_start(roster=roster, by=coordinator, seconds=RETRY_SECONDS)
        run = services.roster_run_execute(run_id=run.pk)
    if run.status != RunStatus.FINISHED:
        raise RuntimeError(
            f"The demo roster did not solve ({run.status}): {run.error} {run.conflicts}"
        )
    services.roster_publish(roster=roster, by=coordinator, notify_staff=False)
    ctx.log(
        f"roster {start}..{end}: {roster.assignments.count()} shifts, "
        f"{len(run.unmet_requests)} wishes not granted, {run.solver_status}"
    )

    _pending_swap(roster, coordinator, ctx.today)

    # A sick call already handled: yesterday (or today on a Monday), re-solved and applied.
    sick_day = max(start, ctx.today - timedelta(days=1))
    # A demo dated in the past (tests) leaves no day the re-solve could still change.
    reachable = sick_day + timedelta(days=services.SICK_CALL_TAIL_DAYS) >= timezone.localdate()
    working = list(
        RosterAssignment.objects.filter(
            roster=roster, on_date=sick_day, shift_type__code="MAIN-US-D"
        ).order_by("staff__employee_number")
    )
    if working and reachable:
        sick = services.sick_call_report(
            staff=working[0].staff,
            start=sick_day,
            end=sick_day,
            by=coordinator,
            seconds=SICK_SECONDS,
        )
        solved = services.roster_run_execute(run_id=sick.run.pk) if sick.run else None
        if solved and solved.status == RunStatus.FINISHED and solved.kind == RunKind.SICK_CALL:
            services.sick_call_apply(sick_call=sick, by=coordinator)
    ctx.objects["roster"] = roster
