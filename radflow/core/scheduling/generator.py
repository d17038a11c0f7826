"""A realistic, seeded ultrasound day: the benchmark day of issue 5 and the tests' random days.

About 72 % booked outpatients (booked on each room's 15-minute booking grid, arriving about a
quarter of an hour early, a few late), 20 % inpatient/ED requests released through the day with
2-6 hour windows (ED ones urgent, due within two hours), 8 % STATs (due within the hour). Rooms
differ in capability (general, vascular, OB, endocavitary, procedure), staff in competencies and
shifts (early, middle and late shifts with staggered lunch breaks, part-timers); eligibility
follows capability and competency. Two interpreters, a device on PM service over lunch, and a
procedure room with two machines, each away part of the day.

Times are local clock times converted to real minutes (``real_minute``), so the same day on a
daylight-saving change date has its clock times at the right minute counts.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

from radflow.core.scheduling.day import (
    Day,
    Device,
    Exam,
    Priority,
    Resource,
    Room,
    Staff,
    Weights,
    Window,
)

#: Local hour at which the clocks change on a DST day (EU: 02:00 -> 03:00 and 03:00 -> 02:00).
DST_CHANGE = 3 * 60


def real_minute(local: int, horizon: int = 1440) -> int:
    """Real minutes since local midnight of a local clock time (in minutes) after the change
    hour: 60 fewer on a 23-hour day, 60 more on a 25-hour day."""
    return local + (horizon - 1440) if local >= DST_CHANGE else local


def local_minute(real: int, horizon: int = 1440) -> int:
    """The local clock time (in minutes) of a real minute count after the change hour."""
    shifted = real - (horizon - 1440)
    return shifted if shifted >= DST_CHANGE else real


@dataclass(frozen=True)
class ExamType:
    code: str
    name: str
    needs: str  # room capability and staff competency
    duration: int
    turnover: int


EXAM_TYPES = {
    t.code: t
    for t in (
        ExamType("ABD", "US abdomen complete", "gen", 25, 5),
        ExamType("RUQ", "US right upper quadrant", "gen", 20, 5),
        ExamType("REN", "US renal", "gen", 20, 5),
        ExamType("PEL", "US pelvis transabdominal", "gen", 20, 5),
        ExamType("THY", "US thyroid", "gen", 15, 5),
        ExamType("BRE", "US breast", "gen", 15, 5),
        ExamType("SCR", "US scrotum", "gen", 20, 5),
        ExamType("MSK", "US musculoskeletal", "gen", 20, 5),
        ExamType("DVT", "US venous duplex leg", "vasc", 25, 5),
        ExamType("CAR", "US carotid duplex", "vasc", 30, 5),
        ExamType("ART", "US arterial duplex leg", "vasc", 40, 5),
        ExamType("OB1", "US OB first trimester", "ob", 15, 5),
        ExamType("OBA", "US OB anatomy", "ob", 40, 5),
        ExamType("OBG", "US OB growth", "ob", 25, 5),
        ExamType("TV", "US transvaginal", "endo", 15, 10),
        ExamType("BX", "US-guided liver biopsy", "proc", 60, 15),
        ExamType("FNA", "US-guided thyroid FNA", "proc", 30, 15),
        ExamType("PAR", "US-guided paracentesis", "proc", 40, 15),
    )
}

OUTPATIENT_MIX = {
    "ABD": 10, "RUQ": 8, "REN": 10, "PEL": 8, "THY": 10, "BRE": 8, "SCR": 4, "MSK": 5,
    "DVT": 5, "CAR": 4, "ART": 2, "OB1": 6, "OBA": 4, "OBG": 4, "TV": 6, "BX": 2, "FNA": 2,
}  # fmt: skip
INPATIENT_MIX = {
    "ABD": 10, "RUQ": 8, "REN": 10, "PEL": 3, "DVT": 10, "CAR": 3, "ART": 2, "OB1": 2,
    "TV": 3, "BX": 3, "PAR": 4,
}  # fmt: skip
STAT_MIX = {"DVT": 5, "RUQ": 4, "ABD": 3, "REN": 2, "SCR": 2, "TV": 2, "OB1": 2}
#: Inpatients take longer: transport, positioning, portable monitoring.
INPATIENT_EXTRA = 5

H = 60
#: (capabilities, opening, closing) per room in the order rooms are added: the first four
#: already cover every capability, so small test days stay workable.
ROOM_TEMPLATES: tuple[tuple[frozenset[str], int, int], ...] = (
    (frozenset({"gen"}), 7 * H, 19 * H),
    (frozenset({"gen", "vasc"}), 7 * H, 19 * H),
    (frozenset({"gen", "ob", "endo"}), 7 * H, 19 * H),
    (frozenset({"gen", "proc", "endo"}), 7 * H, 19 * H),
    (frozenset({"gen"}), 7 * H, 19 * H),
    (frozenset({"gen", "vasc"}), 7 * H, 19 * H),
    (frozenset({"gen", "ob"}), 8 * H, 17 * H),
    (frozenset({"gen", "endo"}), 7 * H, 19 * H),
    (frozenset({"gen"}), 7 * H, 19 * H),
    (frozenset({"gen", "vasc"}), 8 * H, 17 * H),
    (frozenset({"gen", "ob", "endo"}), 7 * H, 19 * H),
    (frozenset({"gen", "proc"}), 8 * H, 17 * H),
)

#: Shift patterns: (start, end, lunch start or None).
EARLY, MIDDLE, LATE = (7 * H, 15 * H + 30), (8 * H, 16 * H + 30), (10 * H + 30, 19 * H)
PART_AM, PART_PM, PART_MID = (8 * H, 12 * H + 30), (12 * H + 30, 17 * H), (9 * H, 13 * H)
#: (competencies, shift) per staff member in the order they are added: early, middle and late
#: shifts interleave so that a small team still covers the day.
STAFF_TEMPLATES: tuple[tuple[frozenset[str], tuple[int, int]], ...] = (
    (frozenset({"gen", "vasc", "endo"}), EARLY),
    (frozenset({"gen", "ob", "endo"}), MIDDLE),
    (frozenset({"gen", "proc", "endo"}), LATE),
    (frozenset({"gen", "ob", "endo"}), EARLY),
    (frozenset({"gen", "vasc", "endo"}), MIDDLE),
    (frozenset({"gen", "vasc", "endo"}), LATE),
    (frozenset({"gen", "proc", "endo"}), EARLY),
    (frozenset({"gen", "ob"}), MIDDLE),
    (frozenset({"gen", "ob", "endo"}), LATE),
    (frozenset({"gen"}), EARLY),
    (frozenset({"gen", "proc"}), MIDDLE),
    (frozenset({"gen"}), LATE),
    (frozenset({"gen", "vasc"}), EARLY),
    (frozenset({"gen", "endo"}), MIDDLE),
    (frozenset({"gen", "vasc"}), LATE),
    (frozenset({"gen", "ob", "endo"}), EARLY),
    (frozenset({"gen", "endo"}), MIDDLE),
    (frozenset({"gen", "endo"}), PART_AM),
    (frozenset({"gen", "ob"}), PART_PM),
    (frozenset({"gen"}), PART_MID),
)
LUNCHES = (11 * H, 11 * H + 30, 12 * H, 12 * H + 30, 13 * H, 13 * H + 30)
LATE_LUNCHES = (14 * H + 30, 15 * H, 15 * H + 30)

GRID = 15
#: How many patients' booked slots wait in the queue for one staff member on shift.
BOOKING_CEILING = 1.0


def _pick(rng: random.Random, mix: dict[str, int], allowed: set[str]) -> ExamType:
    codes = [c for c in mix if EXAM_TYPES[c].needs in allowed]
    return EXAM_TYPES[rng.choices(codes, weights=[mix[c] for c in codes])[0]]


def generate_day(
    seed: int,
    *,
    exams: int = 250,
    rooms: int = 12,
    staff: int = 20,
    horizon: int = 1440,
    weights: Weights | None = None,
) -> Day:
    """The bench day of issue 5 (deterministic for a seed); ``horizon`` 1380/1500 for DST days."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security

    def at(local: int) -> int:
        return real_minute(local, horizon)

    room_list: list[Room] = []
    capabilities: dict[str, frozenset[str]] = {}
    local_hours: dict[str, tuple[int, int]] = {}
    devices: list[Device] = []
    for i in range(rooms):
        caps, opens, closes = ROOM_TEMPLATES[i % len(ROOM_TEMPLATES)]
        room_id = f"R{i + 1:02d}"
        kinds = "/".join(sorted(caps - {"gen"})) or "general"
        room_list.append(Room(room_id, (Window(at(opens), at(closes)),), f"Room {i + 1} ({kinds})"))
        capabilities[room_id] = caps
        local_hours[room_id] = (opens, closes)
        whole = (Window(0, horizon),)
        if i == 3:  # the procedure room's two machines: one on PM service, one lent to ICU
            devices.append(
                Device(
                    f"US-{room_id}-A", room_id, (Window(0, at(13 * H)), Window(at(15 * H), horizon))
                )
            )
            devices.append(Device(f"US-{room_id}-B", room_id, (Window(at(10 * H), horizon),)))
        elif i == 5:  # PM service over lunch
            devices.append(
                Device(
                    f"US-{room_id}", room_id, (Window(0, at(12 * H)), Window(at(13 * H), horizon))
                )
            )
        else:
            devices.append(Device(f"US-{room_id}", room_id, whole))

    staff_list: list[Staff] = []
    competencies: dict[str, frozenset[str]] = {}
    local_shifts: dict[str, tuple[int, int]] = {}
    for i in range(staff):
        comps, (begin, end) = STAFF_TEMPLATES[i % len(STAFF_TEMPLATES)]
        staff_id = f"S{i + 1:02d}"
        shifts: tuple[Window, ...]
        if end - begin > 6 * H:
            lunch = rng.choice(LATE_LUNCHES if begin >= 10 * H else LUNCHES)
            shifts = (Window(at(begin), at(lunch)), Window(at(lunch + 30), at(end)))
        else:
            shifts = (Window(at(begin), at(end)),)
        staff_list.append(Staff(staff_id, shifts, f"Sonographer {i + 1}"))
        competencies[staff_id] = comps
        local_shifts[staff_id] = (begin, end)

    interpreters = (
        Resource("INT-ES", (Window(at(8 * H), at(16 * H)),)),
        Resource("INT-AR", (Window(at(9 * H), at(13 * H)), Window(at(14 * H), at(16 * H)))),
    )
    interpreter_hours = {"INT-ES": [(8 * H, 16 * H)], "INT-AR": [(9 * H, 13 * H), (14 * H, 16 * H)]}

    room_caps = set().union(*capabilities.values()) if capabilities else set()
    staff_comps = set().union(*competencies.values()) if competencies else set()
    allowed = room_caps & staff_comps

    def eligible(t: ExamType) -> tuple[frozenset[str], frozenset[str]]:
        return (
            frozenset(r for r, c in capabilities.items() if t.needs in c),
            frozenset(k for k, c in competencies.items() if t.needs in c),
        )

    n_out = round(exams * 0.72)
    n_stat = round(exams * 0.08)
    n_in = exams - n_out - n_stat
    result: list[Exam] = []
    accession = 1000 * (seed % 1000)

    def label(t: ExamType) -> str:
        return f"ACC{accession + len(result) + 1:07d} {t.name}"

    # Outpatients: every room's booking grid offers slots; a share of them is booked, never more
    # at once than there are staff members on shift (the booking office's rule of thumb).
    slots: list[tuple[int, str, ExamType]] = []
    for room in room_list:
        opens, closes = local_hours[room.id]
        t = opens
        while True:
            kind = _pick(rng, _room_mix(capabilities[room.id]), allowed & capabilities[room.id])
            if t + kind.duration + kind.turnover > closes:
                break
            slots.append((t, room.id, kind))
            t += math.ceil((kind.duration + kind.turnover) / GRID) * GRID
    rng.shuffle(slots)
    booked: list[tuple[int, str, ExamType]] = []
    load: dict[int, int] = {}
    for slot in slots:
        if len(booked) >= n_out:
            break
        t, room_id, kind = slot
        on_shift = sum(1 for b, e in local_shifts.values() if b <= t < e)
        if load.get(t, 0) >= BOOKING_CEILING * on_shift:
            continue
        booked.append(slot)
        for minute in range(t, t + kind.duration, GRID):
            load[minute - minute % GRID] = load.get(minute - minute % GRID, 0) + 1
    booked.sort()
    for t, _room_id, kind in booked:
        rooms_ok, staff_ok = eligible(kind)
        late = rng.random() < 0.08
        arrival = t + rng.randint(5, 30) if late else t - 15 + round(rng.gauss(0, 7))
        arrival = max(t - 40, arrival)
        resources: frozenset[str] = frozenset()
        if rng.random() < 0.05:
            # Booked with an interpreter, who waits for the patient at least an hour.
            for res, spans in interpreter_hours.items():
                if any(a <= t and max(t, arrival) + kind.duration + H <= b for a, b in spans):
                    resources = frozenset({res})
                    break
        result.append(
            Exam(
                id=f"E{len(result) + 1:03d}",
                duration=kind.duration,
                priority=Priority.ROUTINE,
                release=at(arrival),
                window_end=None,
                target_start=None,
                booked_start=at(t),
                notified=True,
                rooms=rooms_ok,
                staff=staff_ok,
                resources=resources,
                turnover=kind.turnover,
                label=label(kind),
            )
        )

    # Inpatient and ED requests: released through the day, to be done within a few hours.
    for _ in range(n_in):
        kind = _pick(rng, INPATIENT_MIX, allowed)
        rooms_ok, staff_ok = eligible(kind)
        release = rng.randint(7 * H, 16 * H)
        end = min(release + rng.randint(2 * H, 6 * H), 19 * H)
        urgent = rng.random() < 0.4
        result.append(
            Exam(
                id=f"E{len(result) + 1:03d}",
                duration=kind.duration + INPATIENT_EXTRA,
                priority=Priority.URGENT if urgent else Priority.ROUTINE,
                release=at(release),
                window_end=at(end),
                target_start=at(release + 2 * H) if urgent else None,
                booked_start=None,
                notified=False,
                rooms=rooms_ok,
                staff=staff_ok,
                turnover=kind.turnover,
                label=label(kind),
            )
        )

    # STATs: released through the day, due within the hour.
    for _ in range(n_stat):
        kind = _pick(rng, STAT_MIX, allowed)
        rooms_ok, staff_ok = eligible(kind)
        release = rng.randint(7 * H + 30, 18 * H)
        result.append(
            Exam(
                id=f"E{len(result) + 1:03d}",
                duration=kind.duration,
                priority=Priority.STAT,
                release=at(release),
                window_end=None,
                target_start=at(release + H),
                booked_start=None,
                notified=False,
                rooms=rooms_ok,
                staff=staff_ok,
                turnover=kind.turnover,
                label=label(kind),
            )
        )

    return Day(
        rooms=tuple(room_list),
        devices=tuple(devices),
        staff=tuple(staff_list),
        resources=interpreters,
        exams=tuple(result),
        weights=weights or Weights(),
        horizon=horizon,
    )


def _room_mix(caps: frozenset[str]) -> dict[str, int]:
    """What a room's booking grid is mostly booked with: its specialty, then general work."""
    special = caps - {"gen"}
    mix: dict[str, int] = {}
    for code, weight in OUTPATIENT_MIX.items():
        needs = EXAM_TYPES[code].needs
        if needs not in caps:
            continue
        mix[code] = weight * (4 if needs in special else 1)
    return mix


def dst_day(seed: int, *, horizon: int, exams: int = 250, rooms: int = 12, staff: int = 20) -> Day:
    """The same kind of day on a daylight-saving change date (``horizon`` 1380 or 1500)."""
    if horizon not in (1380, 1500):
        raise ValueError("a DST day has 1380 (spring) or 1500 (autumn) minutes")
    return generate_day(seed, exams=exams, rooms=rooms, staff=staff, horizon=horizon)


def with_room_down(day: Day, room_id: str, start: int, end: int) -> Day:
    """``day`` with ``room_id`` closed over ``[start, end)`` (a room that went down)."""
    rooms: list[Room] = []
    for room in day.rooms:
        if room.id == room_id:
            windows: list[Window] = []
            for w in room.open:
                if w.start < start:
                    windows.append(Window(w.start, min(w.end, start)))
                if w.end > end:
                    windows.append(Window(max(w.start, end), w.end))
            room = replace(room, open=tuple(windows))
        rooms.append(room)
    return replace(day, rooms=tuple(rooms))
