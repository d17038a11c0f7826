"""Demo step: probe uses and reprocessing across the year's exam history (issue 10).

Each endocavitary exam that began in the history gets the endocavitary probe of its ultrasound
system, and the probe a passing high-level disinfection after the exam (a trophon2 at every site;
at the main hospital also a UV-C cabinet and an OPA soak station), a few cycles failing first.
Disinfectant lots, daily solution tests and device checks (with a failure or two) cover the same
year. Today every endocavitary probe is reprocessed, or on a patient now, except one: it was used
this morning without a cycle and is attached to the next exam waiting to begin, which shows the
probe hard stop.

Rows are written as the services would write them, with ``bulk_create``.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.utils import timezone

from radflow.core.exam_states import ExamState
from radflow.demo.context import DemoContext
from radflow.exams.models import Exam
from radflow.infection.models import (
    AgentKind,
    CheckFrequency,
    DeviceQcLog,
    DisinfectionAgent,
    GelType,
    IndicatorResult,
    PassFail,
    ProbeUse,
    Reprocessing,
    ReprocessingDevice,
    ReprocessingLevel,
    ReprocessingMethod,
    ReprocessorKind,
    SolutionTest,
    UseSource,
)
from radflow.scheduling.models import Probe, ProbeType, Room
from radflow.staff.models import StaffMember

#: Exam types that use an endocavitary probe (the demo records those uses).
ENDOCAVITARY_EXAM_TYPES = ("us-pelvis-ta-tv", "us-transvaginal", "us-ob-transvaginal")
#: Share of the main hospital's cycles by method: trophon, UV-C, OPA soak.
MAIN_MIX = (0.75, 0.15, 0.10)
#: Roughly one use in this many has a failed cycle before its passing one (at least a few).
FAILED_EVERY = 400
BATCH = 2000
MEC_FAILED = "Failed its minimum effective concentration test"


def _now(ctx: DemoContext) -> datetime:
    """The demo's "now", as the exam history has it: the real clock today, else 10:30."""
    if ctx.today == timezone.localdate():
        return timezone.now()
    zone = ZoneInfo(timezone.get_current_timezone_name())
    return datetime.combine(ctx.today, time(10, 30), tzinfo=zone).astimezone(UTC)


def _local(day: date, at: time) -> datetime:
    zone = ZoneInfo(timezone.get_current_timezone_name())
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


@dataclass
class Kit:
    """What a site reprocesses with."""

    trophon: ReprocessingDevice
    uv: ReprocessingDevice | None = None
    soak_room: Room | None = None


@dataclass
class UseRow:
    use: ProbeUse
    begun: datetime
    ended: datetime | None
    site_id: Any
    state: str


def generate(ctx: DemoContext) -> None:
    probes = list(
        Probe.objects.filter(probe_type=ProbeType.ENDOCAVITARY, device__room__isnull=False)
        .select_related("device__room__site")
        .order_by("serial_number")
    )
    users: dict[str, User] = ctx.objects.get("users", {})
    if not probes or "technologist" not in users:
        ctx.log("probe use: skipped (needs endocavitary probes and the demo logins)")
        return
    rng = ctx.random("infection")
    now = _now(ctx)
    first_day = ctx.today - timedelta(days=400)
    kits = _kits(probes, rng)
    wipes, cartridges, opa = _agents(ctx, first_day, rng, kits)
    rows = _uses(ctx, probes, users, rng)
    showcase = _showcase(ctx, rows, now)
    cycles = _cycles(rows, kits, cartridges, opa, users, rng, now, showcase)
    ProbeUse.objects.bulk_create([r.use for r in rows], batch_size=BATCH)
    extra = _attach_showcase(showcase, users, now)
    Reprocessing.objects.bulk_create(cycles, batch_size=BATCH)
    tests = _solution_tests(ctx, opa, users, rng, now)
    checks = _device_checks(ctx, kits, users, rng, now)
    failed = sum(1 for c in cycles if c.level == ReprocessingLevel.NONE)
    ctx.objects["infection"] = {"showcase": extra, "kits": kits, "wipes": wipes}
    ctx.log(
        f"{len(rows)} probe uses, {len(cycles)} reprocessing cycles ({failed} failed), "
        f"{tests} solution tests, {checks} device checks"
        + (f"; probe {extra.probe.serial_number} waits for HLD" if extra else "")
    )


# --- devices and disinfectants -----------------------------------------------------------------


def _kits(probes: list[Probe], rng: random.Random) -> dict[Any, Kit]:
    rooms_by_site: dict[Any, list[Room]] = defaultdict(list)
    for probe in probes:
        room = probe.device.room if probe.device else None
        if room is not None and room not in rooms_by_site[room.site_id]:
            rooms_by_site[room.site_id].append(room)
    devices: list[ReprocessingDevice] = []
    kits: dict[Any, Kit] = {}
    biggest = max(rooms_by_site, key=lambda site: len(rooms_by_site[site]))
    for site_id, rooms in sorted(rooms_by_site.items(), key=lambda item: item[1][0].code):
        room = rooms[0]
        code = room.site.code
        trophon = ReprocessingDevice(
            name=f"trophon2 — {room.site.name}",
            kind=ReprocessorKind.HYDROGEN_PEROXIDE_MIST,
            manufacturer="Nanosonics",
            model_name="trophon2",
            serial_number=f"T2-{code}-{rng.randint(10000, 99999)}",
            room=room,
            cycle_minutes=7,
            qc_frequency=CheckFrequency.DAILY,
            qc_check="Self-test and chemical indicator challenge",
        )
        kit = Kit(trophon=trophon)
        devices.append(trophon)
        if site_id == biggest:
            kit.uv = ReprocessingDevice(
                name=f"Antigermix S1 UV-C — {room.site.name}",
                kind=ReprocessorKind.UV_C,
                manufacturer="Germitec",
                model_name="Antigermix S1",
                serial_number=f"AGX-{code}-{rng.randint(1000, 9999)}",
                room=rooms[-1],
                cycle_minutes=2,
                qc_frequency=CheckFrequency.WEEKLY,
                qc_check="UV-C lamp intensity check",
            )
            kit.soak_room = rooms[-1]
            devices.append(kit.uv)
        kits[site_id] = kit
    ReprocessingDevice.objects.bulk_create(devices)
    return kits


def _agents(
    ctx: DemoContext, first_day: date, rng: random.Random, kits: dict[Any, Kit]
) -> tuple[DisinfectionAgent, list[DisinfectionAgent], list[DisinfectionAgent]]:
    """Wipes; trophon cartridges a lot a quarter; OPA soak solution a fresh batch each 14 days."""
    wipes = DisinfectionAgent(
        name="Sani-Cloth Prime",
        kind=AgentKind.QUATERNARY_AMMONIUM,
        manufacturer="PDI",
        lot_number=f"SCP-{rng.randint(100000, 999999)}",
        expires_on=ctx.today + timedelta(days=420),
    )
    cartridges = [
        DisinfectionAgent(
            name="trophon Sonex-HL cartridge",
            kind=AgentKind.HYDROGEN_PEROXIDE,
            manufacturer="Nanosonics",
            lot_number=f"SHL{start:%y%m}-{rng.randint(100, 999)}",
            expires_on=start + timedelta(days=240),
            opened_on=start,
        )
        for start in (first_day + timedelta(days=91 * q) for q in range(6))
        if start <= ctx.today
    ]
    opa: list[DisinfectionAgent] = []
    soak = next((k.soak_room for k in kits.values() if k.soak_room is not None), None)
    if soak is not None:
        day = first_day
        while day <= ctx.today:
            opa.append(
                DisinfectionAgent(
                    name="Cidex OPA",
                    kind=AgentKind.OPA,
                    manufacturer="ASP",
                    lot_number=f"OPA{day:%y%m%d}",
                    expires_on=day + timedelta(days=500),
                    opened_on=day,
                    use_life_days=14,
                    min_exposure_minutes=12,
                    test_frequency=CheckFrequency.DAILY,
                    room=soak,
                )
            )
            day += timedelta(days=14)
        for older, newer in pairwise(opa):
            older.discarded_at = _local(newer.opened_on or ctx.today, time(7, 30))
            older.discard_reason = "Use life ended: solution replaced"
        if len(opa) > 2:  # one batch failed its strip test on its last morning
            failing = opa[len(opa) // 2]
            last_day = (failing.opened_on or ctx.today) + timedelta(days=13)
            failing.discarded_at = _local(last_day, time(7, 15))
            failing.discard_reason = MEC_FAILED
    DisinfectionAgent.objects.bulk_create([wipes, *cartridges, *opa])
    return wipes, cartridges, opa


# --- uses --------------------------------------------------------------------------------------


def _uses(
    ctx: DemoContext, probes: list[Probe], users: dict[str, User], rng: random.Random
) -> list[UseRow]:
    by_device = {p.device_id: p for p in reversed(probes)}  # the first by serial wins
    by_site: dict[Any, list[Probe]] = defaultdict(list)
    for probe in probes:
        room = probe.device.room if probe.device is not None else None
        if room is not None:
            by_site[room.site_id].append(probe)
    staff_users = dict(StaffMember.objects.filter(user__isnull=False).values_list("pk", "user_id"))
    exams = (
        Exam.objects.filter(
            in_progress_at__isnull=False,
            order__exam_type__code__in=ENDOCAVITARY_EXAM_TYPES,
            room__isnull=False,
        )
        .values(
            "pk",
            "device_id",
            "room__site_id",
            "in_progress_at",
            "completed_at",
            "discontinued_at",
            "state",
            "technologist_id",
            "accession_number",
        )
        .order_by("in_progress_at", "accession_number")
    )
    lots = [f"CV-{rng.randint(10000, 99999)}" for _ in range(8)]
    rows: list[UseRow] = []
    for exam in exams:
        found = by_device.get(exam["device_id"])
        if found is None:
            site_probes = by_site.get(exam["room__site_id"])
            if not site_probes:
                continue
            found = site_probes[int(exam["accession_number"][2:]) % len(site_probes)]
        chosen: Probe = found
        begun = exam["in_progress_at"]
        if begun is None:  # excluded by the query; the type does not know
            continue
        tech = exam["technologist_id"]
        use = ProbeUse(
            probe=chosen,
            exam_id=exam["pk"],
            at=begun - timedelta(minutes=1),
            by_id=staff_users.get(tech) or users["technologist"].pk,
            operator_id=tech,
            cover_used=True,
            cover_lot=lots[(begun.toordinal() // 30) % len(lots)],
            gel=GelType.STERILE,
            source=UseSource.DEMO,
        )
        rows.append(
            UseRow(
                use=use,
                begun=begun,
                ended=exam["completed_at"] or exam["discontinued_at"],
                site_id=exam["room__site_id"],
                state=exam["state"],
            )
        )
    return rows


@dataclass
class Showcase:
    """The probe left waiting for HLD, its last use and the exam it is attached to."""

    probe: Probe
    last_use: UseRow
    exam: Exam


def _showcase(ctx: DemoContext, rows: list[UseRow], now: datetime) -> Showcase | None:
    """The next endocavitary exam that has not begun (today's if there is one left, else the
    next booked), and its system's probe, last used and ended before now: that use gets no
    cycle."""
    last_by_probe: dict[Any, UseRow] = {}
    for row in rows:
        if row.ended is not None and row.ended < now:
            last_by_probe[row.use.probe_id] = row
    start = _local(ctx.today, time.min)
    waiting = (
        Exam.objects.filter(
            state__in=[ExamState.ARRIVED, ExamState.SCHEDULED],
            scheduled_start__gte=start,
            order__exam_type__code__in=ENDOCAVITARY_EXAM_TYPES,
            device__isnull=False,
        )
        .select_related("device")
        .order_by("state", "scheduled_start", "accession_number")  # arrived before scheduled
    )
    busy = {r.use.probe_id for r in rows if r.ended is None}
    for exam in waiting:
        probe = next(
            (
                row.use.probe
                for row in last_by_probe.values()
                if row.use.probe.device_id == exam.device_id and row.use.probe_id not in busy
            ),
            None,
        )
        if probe is not None:
            return Showcase(probe=probe, last_use=last_by_probe[probe.pk], exam=exam)
    return None


def _attach_showcase(
    showcase: Showcase | None, users: dict[str, User], now: datetime
) -> Showcase | None:
    if showcase is None:
        return None
    exam = showcase.exam
    ProbeUse.objects.create(
        probe=showcase.probe,
        exam=exam,
        at=min(now, exam.arrived_at or now),
        by=users["technologist"],
        operator_id=exam.technologist_id,
        cover_used=True,
        cover_lot=showcase.last_use.use.cover_lot,
        gel=GelType.STERILE,
        source=UseSource.DEMO,
    )
    return showcase


# --- cycles ------------------------------------------------------------------------------------

#: How a failed cycle failed: (result, indicator, exposure met, why).
FAILURES = [
    (PassFail.PASS, IndicatorResult.FAIL, True, "the chemical indicator / test strip failed"),
    (PassFail.FAIL, IndicatorResult.PASS, True, "the cycle failed"),
    (PassFail.PASS, IndicatorResult.PASS, False, "the minimum exposure time was not met"),
]


def _cycles(
    rows: list[UseRow],
    kits: dict[Any, Kit],
    cartridges: list[DisinfectionAgent],
    opa: list[DisinfectionAgent],
    users: dict[str, User],
    rng: random.Random,
    now: datetime,
    showcase: Showcase | None,
) -> list[Reprocessing]:
    """A passing cycle after each use that ended, before the probe's next use (or now)."""
    by_probe: dict[Any, list[UseRow]] = defaultdict(list)
    for row in rows:
        by_probe[row.use.probe_id].append(row)
    operator = users.get("technologist")
    failing = set(rng.sample(range(len(rows)), k=min(len(rows), max(4, len(rows) // FAILED_EVERY))))
    index = {id(row): n for n, row in enumerate(rows)}
    cycles: list[Reprocessing] = []
    for uses in by_probe.values():
        for row, nxt in zip(uses, [*uses[1:], None], strict=True):
            if row.ended is None or (showcase is not None and row is showcase.last_use):
                continue
            ceiling = min(nxt.begun - timedelta(seconds=30) if nxt else now, now)
            ended = min(row.ended + timedelta(minutes=rng.randint(8, 45)), ceiling)
            if ended <= row.begun + timedelta(minutes=1):
                continue
            kit = kits[row.site_id]
            draw = rng.random()
            method = ReprocessingMethod.HLD_AUTOMATED
            device: ReprocessingDevice | None = kit.trophon
            agent = _batch(cartridges, ended)
            soak = _batch(opa, ended - timedelta(minutes=12)) if kit.uv is not None else None
            if soak is not None and draw < MAIN_MIX[2]:
                method, device, agent = ReprocessingMethod.HLD_SOAK, None, soak
            elif kit.uv is not None and draw < MAIN_MIX[1] + MAIN_MIX[2]:
                device, agent = kit.uv, None
            minutes = device.cycle_minutes if device is not None else 12
            if index[id(row)] in failing and ended - timedelta(minutes=2 * minutes + 5) > row.begun:
                result, indicator, exposure, why = rng.choice(FAILURES)
                first_end = ended - timedelta(minutes=minutes + 4)
                cycles.append(_cycle(row, method, device, agent, first_end, minutes, operator, rng))
                failed = cycles[-1]
                failed.result, failed.indicator, failed.exposure_met = result, indicator, exposure
                failed.level, failed.problems = ReprocessingLevel.NONE, why
                failed.note = "Repeated at once."
            cycles.append(_cycle(row, method, device, agent, ended, minutes, operator, rng))
    return cycles


def _batch(agents: list[DisinfectionAgent], at: datetime) -> DisinfectionAgent | None:
    """The lot or batch in use at ``at``: opened by then and not yet discarded."""
    day = timezone.localdate(at)
    current = [
        a
        for a in agents
        if a.opened_on is not None
        and a.opened_on <= day
        and (a.discarded_at is None or a.discarded_at > at)
    ]
    return current[-1] if current else None


def _cycle(
    row: UseRow,
    method: str,
    device: ReprocessingDevice | None,
    agent: DisinfectionAgent | None,
    ended: datetime,
    minutes: int,
    operator: User | None,
    rng: random.Random,
) -> Reprocessing:
    return Reprocessing(
        probe_id=row.use.probe_id,
        method=method,
        device=device,
        agent=agent,
        cycle_id=f"{rng.randint(100000, 999999)}" if device is not None else "",
        result=PassFail.PASS,
        indicator=IndicatorResult.PASS,
        exposure_met=True,
        started_at=ended - timedelta(minutes=minutes),
        ended_at=ended,
        operator=operator,
        level=ReprocessingLevel.HIGH,
        problems="",
    )


# --- solution tests and device checks ----------------------------------------------------------


def _solution_tests(
    ctx: DemoContext,
    opa: list[DisinfectionAgent],
    users: dict[str, User],
    rng: random.Random,
    now: datetime,
) -> int:
    """A strip test of the OPA soak every morning; one failed the day before a batch's end."""
    if not opa:
        return 0
    by = users.get("technologist")
    tests: list[SolutionTest] = []
    for agent in opa:
        if agent.opened_on is None:
            continue
        day = agent.opened_on
        last_day = agent.opened_on + timedelta(days=13)
        while day <= min(last_day, ctx.today):
            at = _local(day, time(7, 15))
            if at > now:
                break
            fails = agent.discard_reason == MEC_FAILED and day == last_day
            tests.append(
                SolutionTest(
                    agent=agent,
                    at=at,
                    result=PassFail.FAIL if fails else PassFail.PASS,
                    strip_lot=f"MEC-{agent.opened_on:%y%m}",
                    by=by,
                    note="Below MEC: solution discarded" if fails else "",
                )
            )
            day += timedelta(days=1)
    SolutionTest.objects.bulk_create(tests, batch_size=BATCH)
    return len(tests)


def _device_checks(
    ctx: DemoContext,
    kits: dict[Any, Kit],
    users: dict[str, User],
    rng: random.Random,
    now: datetime,
) -> int:
    """Each device's scheduled check over the history; two fail and pass again after service.
    Today the UV-C cabinet's weekly check is the one still to do."""
    by = users.get("technologist")
    biomed = users.get("biomed", by)
    logs: list[DeviceQcLog] = []
    devices = [d for kit in kits.values() for d in (kit.trophon, kit.uv) if d is not None]
    days = [ctx.today - timedelta(days=n) for n in range(365, -1, -1)]
    failure_days = {days[len(days) // 3], days[2 * len(days) // 3]}
    for device in devices:
        # Weekly checks fall on today's weekday, so this week's is the one still to do.
        schedule = days[len(days) % 7 - 1 :: 7] if device.qc_frequency == "weekly" else days
        for day in schedule:
            at = _local(day, time(7, 0))
            if at > now or (day == ctx.today and device.kind == ReprocessorKind.UV_C):
                continue
            failed = day in failure_days and device.kind != ReprocessorKind.UV_C
            logs.append(
                DeviceQcLog(
                    device=device,
                    at=at,
                    check_name=device.qc_check,
                    result=PassFail.FAIL if failed else PassFail.PASS,
                    by=by,
                    note="Self-test error E21: service called" if failed else "",
                )
            )
            if failed:
                logs.append(
                    DeviceQcLog(
                        device=device,
                        at=at + timedelta(hours=5),
                        check_name=device.qc_check,
                        result=PassFail.PASS,
                        by=biomed,
                        note="Serviced (pump seal replaced); check repeated",
                    )
                )
    DeviceQcLog.objects.bulk_create(logs, batch_size=BATCH)
    return len(logs)
