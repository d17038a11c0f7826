"""What a new plan changes for each exam against the plan in force, for the coordinator's review."""

from __future__ import annotations

from dataclasses import dataclass

from radflow.core.scheduling.day import Assignment, Day, Plan


@dataclass(frozen=True)
class Change:
    exam_id: str
    before: Assignment | None
    after: Assignment | None
    time_changed: bool
    room_changed: bool
    staff_changed: bool
    #: The patient (or ward) must be told: a notified patient's time changed, or the exam no
    #: longer fits today.
    must_call: bool
    device_changed: bool = False


def plan_diff(day: Day, plan: Plan) -> list[Change]:
    """One ``Change`` per exam whose assignment differs from ``exam.current`` or that is not
    scheduled, in the day's exam order; unchanged exams are left out."""
    changes: list[Change] = []
    for exam in day.exams:
        before = exam.current
        after = plan.assignments.get(exam.id)
        if after is not None and after == before:
            continue
        time_changed = before is not None and (after is None or after.start != before.start)
        moved = before is not None and after is not None
        changes.append(
            Change(
                exam_id=exam.id,
                before=before,
                after=after,
                time_changed=time_changed,
                room_changed=moved and _differs(before, after, "room_id"),
                staff_changed=moved and _differs(before, after, "staff_id"),
                must_call=after is None or (exam.notified and time_changed),
                device_changed=moved and _differs(before, after, "device_id"),
            )
        )
    return changes


def _differs(before: Assignment | None, after: Assignment | None, field: str) -> bool:
    return getattr(before, field, None) != getattr(after, field, None)


__all__ = ["Change", "plan_diff"]
