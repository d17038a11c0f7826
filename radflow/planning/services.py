"""Writes for day plans: start a plan or re-plan, compute it, apply or discard it.

A plan is computed from a snapshot of the day (``planning.build_day``) and applied only to that
same day: ``plan_apply`` first checks that no exam of the day changed since, then moves every
exam through the booking service (``radflow.scheduling.booking``) in one transaction, so the
same double-booking checks hold and a refusal anywhere undoes every move. Patients whose time
changed are told through the outbox, after the commit.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from radflow.core.errors import Conflict, PermissionDenied, RadflowError, ValidationFailed
from radflow.core.scheduling.day import Assignment, Day, Metrics, Plan
from radflow.core.scheduling.diff import Change, plan_diff
from radflow.core.scheduling.evaluate import metrics, objective, validate
from radflow.core.scheduling.optimizer import dispatch_greedy, optimize, replan
from radflow.exams.models import Exam as ExamRecord
from radflow.notifications.models import OutboxChannel
from radflow.notifications.outbox import outbox_enqueue
from radflow.notifications.services import notify
from radflow.planning.models import DayPlanRun, PlanKind, PlanStatus
from radflow.planning.planning import (
    DayMapping,
    build_day,
    day_exams,
    exam_signature,
    scheduling_settings,
)

logger = logging.getLogger("radflow.planning")

PLAN_PERMISSION = "planning.plan_day"
#: Progress is written to the run row at most this often.
PROGRESS_EVERY_SECONDS = 0.5
#: A run still solving this long after its limit is taken as lost (its process ended).
STUCK_AFTER = timedelta(minutes=10)
#: Reason written on each moved exam's transition.
REPLAN_REASON = "Re-plan"


class PlanStale(Conflict):
    code = "plan_stale"


class PlanNotApplicable(Conflict):
    code = "plan_not_applicable"


def _user(by: Any) -> Any:
    return by if getattr(by, "is_authenticated", False) else None


def _require(by: Any) -> None:
    """A person needs the planning right; ``by=None`` is the system (demo, commands)."""
    if by is not None and not by.has_perm(PLAN_PERMISSION):
        raise PermissionDenied("Your role may not plan the day.")


def _site_today(site: Any, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(ZoneInfo(site.time_zone)).date()


# --- start --------------------------------------------------------------------------------------


@transaction.atomic
def plan_start(
    *,
    site: Any,
    on: date,
    by: Any,
    kind: str = PlanKind.REPLAN,
    trigger: str = "",
) -> DayPlanRun:
    """Queue a plan of the site's day; the runner computes it once this transaction commits."""
    _require(by)
    if kind not in PlanKind.values:
        raise ValidationFailed({"kind": [f"{kind!r} is not a kind of plan."]})
    if on < _site_today(site):
        raise ValidationFailed({"date": [f"{on} is over: only today or a later day is planned."]})
    busy = DayPlanRun.objects.select_for_update().filter(
        site=site, date=on, status__in=(PlanStatus.QUEUED, PlanStatus.RUNNING)
    )
    if busy.exists():
        raise Conflict("This day is already being planned; wait for that plan.", code="plan_busy")
    options = scheduling_settings()
    seconds = options.replan_seconds if kind == PlanKind.REPLAN else options.optimize_seconds
    run = DayPlanRun.objects.create(
        site=site,
        date=on,
        kind=kind,
        trigger=trigger.strip()[:200],
        seconds_limit=seconds,
        created_by=_user(by),
    )
    transaction.on_commit(lambda: _submit(run.pk))
    return run


def _submit(run_id: UUID) -> None:
    from radflow.planning import runner

    runner.submit(run_id)


# --- compute ------------------------------------------------------------------------------------


class _Progress:
    """Keeps the solver's improvements; written to the run by the thread that runs the plan.

    CP-SAT reports from its own threads, which hold no database connection of ours: they only
    append here. A small flusher thread with its own connection writes the trace every
    ``PROGRESS_EVERY_SECONDS`` in the background runner, so the page moves while it solves.
    """

    def __init__(self, run_id: UUID) -> None:
        self.run_id = run_id
        self.trace: list[list[float | int | None]] = []
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread: threading.Thread | None = None
        self.written = 0

    def __call__(self, seconds: float, value: int, bound: int | None) -> None:
        with self.lock:
            self.trace.append([round(seconds, 2), int(value), bound])

    def start_background(self) -> None:
        def loop() -> None:
            try:
                while not self.done.wait(PROGRESS_EVERY_SECONDS):
                    self.flush()
            finally:
                connection.close()

        self.thread = threading.Thread(target=loop, name="day-plan-progress", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.done.set()
        if self.thread is not None:
            self.thread.join()

    def flush(self) -> None:
        with self.lock:
            trace = [list(point) for point in self.trace]
        if len(trace) == self.written:
            return
        DayPlanRun.objects.filter(pk=self.run_id, status=PlanStatus.RUNNING).update(
            trace=trace, updated_at=timezone.now()
        )
        self.written = len(trace)


def _current_plan(day: Day) -> Plan:
    """The plan in force (every exam where it is booked now), scored like any other plan."""
    assignments = {exam.id: exam.current for exam in day.exams if exam.current is not None}
    unscheduled = {exam.id: "Not booked yet." for exam in day.exams if exam.current is None}
    empty = Metrics(0, 0, 0.0, 0.0, 0, 0, 0, 0)
    plan = Plan(assignments, unscheduled, 0, None, None, "current", 0.0, empty)
    plan.metrics = metrics(day, plan)
    plan.objective = objective(day, plan)
    return plan


def _slot(mapping: DayMapping, day: Day, item: Assignment | None) -> dict[str, Any] | None:
    if item is None:
        return None
    exam = next(e for e in day.exams if e.id == item.exam_id)
    return {
        "room": item.room_id,
        "device": item.device_id,
        "staff": item.staff_id if item.staff_id in mapping.staff else None,
        "start": mapping.at(item.start).isoformat(),
        "end": mapping.at(item.start + exam.duration).isoformat(),
    }


def _figures(day: Day, plan: Plan) -> dict[str, Any]:
    problems = validate(day, plan)
    return {
        "objective": plan.objective,
        "status": plan.status,
        "seconds": round(plan.seconds, 2),
        "metrics": asdict(plan.metrics),
        # Bookings that break a rule of the day as it now is (a room down, a shift gone).
        "broken": sum(1 for exam in day.exams if any(exam.id in text for text in problems)),
    }


def _change(mapping: DayMapping, day: Day, change: Change) -> dict[str, Any]:
    if change.before is None:
        kind = "book"
    elif change.after is None:
        kind = "unscheduled"
    else:
        kind = "move"
    return {
        "exam": change.exam_id,
        "kind": kind,
        "before": _slot(mapping, day, change.before),
        "after": _slot(mapping, day, change.after),
        "time_changed": change.time_changed,
        "room_changed": change.room_changed,
        "staff_changed": change.staff_changed,
        "must_call": change.must_call,
    }


def plan_result(day: Day, mapping: DayMapping, plan: Plan, greedy: Plan) -> dict[str, Any]:
    """What the run keeps: identifiers, times and figures only (the page joins the names)."""
    before = _current_plan(day)
    changes = [
        _change(mapping, day, change)
        for change in plan_diff(day, plan)
        if change.before != change.after
    ]
    unscheduled = {}
    for exam_id, why in plan.unscheduled.items():
        extra = mapping.reasons.get(exam_id, [])
        unscheduled[exam_id] = " ".join([why, *extra]).strip()
    return {
        **_figures(day, plan),
        "bound": plan.best_bound,
        "gap": plan.gap,
        "before": _figures(day, before),
        "greedy": _figures(day, greedy),
        "assignments": {
            exam_id: _slot(mapping, day, item) for exam_id, item in plan.assignments.items()
        },
        "unscheduled": unscheduled,
        "changes": changes,
        "snapshot": mapping.snapshot(),
        "now": mapping.at(mapping.now).isoformat(),
        "horizon": mapping.horizon,
    }


def plan_execute(*, run_id: UUID, now: datetime | None = None) -> DayPlanRun:
    """Compute one queued plan and store it; the runner (or a test) calls it.

    Not one transaction on purpose: the solve takes seconds and a write transaction held that
    long would block every other writer on SQLite. The claim, the progress and the verdict are
    each their own short transaction; the claim makes sure a run is computed once.
    """
    with transaction.atomic():
        run = (
            DayPlanRun.objects.select_for_update(of=("self",)).select_related("site").get(pk=run_id)
        )
        if run.status != PlanStatus.QUEUED:
            return run
        run.status = PlanStatus.RUNNING
        run.started_at = timezone.now()
        run.save(update_fields=["status", "started_at", "updated_at"])
    progress = _Progress(run.pk)
    try:
        day, mapping = build_day(run.site, run.date, now=now)
        background = not connection.in_atomic_block and not _sync()
        if background:
            progress.start_background()
        started = time.monotonic()
        greedy = dispatch_greedy(day)
        if run.kind == PlanKind.REPLAN:
            plan = replan(day, seconds=float(run.seconds_limit), workers=2, progress=progress)
        else:
            plan = optimize(day, seconds=float(run.seconds_limit), workers=2, progress=progress)
        progress.close()
        problems = validate(day, plan)
        if problems:
            raise RuntimeError("the optimizer's plan breaks a rule: " + "; ".join(problems[:5]))
        result = plan_result(day, mapping, plan, greedy)
        result["wall_seconds"] = round(time.monotonic() - started, 2)
        with transaction.atomic():
            DayPlanRun.objects.filter(pk=run.pk, status=PlanStatus.RUNNING).update(
                status=PlanStatus.DONE,
                result=result,
                trace=progress.trace or [[round(plan.seconds, 2), plan.objective, plan.best_bound]],
                finished_at=timezone.now(),
                updated_at=timezone.now(),
            )
    except Exception as exc:
        progress.close()
        logger.exception("day plan %s failed", run.pk)
        DayPlanRun.objects.filter(pk=run.pk).update(
            status=PlanStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
    run.refresh_from_db()
    return run


def _sync() -> bool:
    from radflow.planning import runner

    return runner.sync()


# --- apply and discard --------------------------------------------------------------------------


def _stale_reason(run: DayPlanRun, now: datetime) -> str | None:
    """What changed in the day since the plan was made, or None when nothing did."""
    snapshot: dict[str, list[str]] = run.result.get("snapshot", {})
    today = _site_today(run.site, now)
    current = {str(exam.pk): exam for exam in day_exams(run.site, run.date, today=today)}
    for exam_id, exam in current.items():
        if exam_id not in snapshot:
            return f"{exam.accession_number} was added to the day"
        if exam_signature(exam) != snapshot[exam_id]:
            return f"{exam.accession_number} was changed"
    gone = sorted(set(snapshot) - set(current))
    if gone:
        left = ExamRecord.objects.filter(pk=gone[0]).first()
        label = left.accession_number if left else "an exam"
        return f"{label} left the day"
    return None


def _moves(run: DayPlanRun) -> list[dict[str, Any]]:
    """The changes to make, ordered so that no move lands on a slot another still holds."""
    changes = [c for c in run.result.get("changes", []) if c["after"] is not None]
    return _conflict_free_order(changes)


def _holds(slot: dict[str, Any]) -> set[tuple[str, str]]:
    """The resources a slot holds: its room, and its staff member and device when set."""
    held = {("room", str(slot["room"]))}
    if slot.get("staff"):
        held.add(("staff", str(slot["staff"])))
    if slot.get("device"):
        held.add(("device", str(slot["device"])))
    return held


def _overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two slots (times parsed) that share a resource at the same time."""
    if a["start"] >= b["end"] or b["start"] >= a["end"]:
        return False
    return bool(_holds(a) & _holds(b))


def _conflict_free_order(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Moves whose target is clear of every exam still waiting to move go first."""
    pending = [dict(c, _after=_parsed(c["after"]), _before=_parsed(c["before"])) for c in changes]
    ordered: list[dict[str, Any]] = []
    while pending:
        ready = [
            change
            for change in pending
            if not any(
                other is not change
                and other["_before"] is not None
                and _overlaps(change["_after"], other["_before"])
                for other in pending
            )
        ]
        if not ready:
            # A cycle (exams trading places): every exam left gives its time back first, then
            # they move in plan order, each claiming its new time afresh.
            pending[0]["_release"] = [change["exam"] for change in pending]
            ready = pending[:1]
        for change in ready:
            pending.remove(change)
            ordered.append(change)
    return ordered


def _parsed(slot: dict[str, Any] | None) -> dict[str, Any] | None:
    if slot is None:
        return None
    return {
        **slot,
        "start": datetime.fromisoformat(slot["start"]),
        "end": datetime.fromisoformat(slot["end"]),
    }


def _why(exc: RadflowError) -> str:
    """The refusal in words: a validation error's messages, else its message."""
    if isinstance(exc, ValidationFailed):
        return " ".join(m for messages in exc.errors.values() for m in messages).rstrip(".")
    return exc.message.rstrip(".")


def _tell_patient(exam: ExamRecord, start: datetime, site: Any) -> bool:
    """An email with the new time: first name, time, site and its phone; nothing clinical."""
    patient = exam.order.patient
    local = start.astimezone(ZoneInfo(site.time_zone))
    phone = f" on {site.phone}" if site.phone else ""
    body = (
        f"Dear {patient.given_name},\n\n"
        f"Your appointment at {site.name} has been moved to {local:%A %-d %B %Y at %H:%M}.\n"
        f"If this time does not suit you, please call us{phone}.\n\n"
        f"{site.name}"
    )
    outbox_enqueue(
        channel=OutboxChannel.EMAIL,
        recipient=patient.email,
        subject=f"Your appointment time at {site.name} has changed",
        body=body,
        payload={
            "event": "appointment_moved",
            "exam": str(exam.pk),
            "accession": exam.accession_number,
            "site": str(site.pk),
            "start": local.isoformat(),
        },
        key=f"patient:{patient.pk}",
    )
    return bool(patient.email)


@transaction.atomic
def plan_apply(*, run: DayPlanRun, by: Any, now: datetime | None = None) -> DayPlanRun:
    """Make the plan the day's bookings, or change nothing.

    Refused when the day changed since the plan was made (any exam of the day moved, was added,
    began or left): the plan would be applied to a day it was not made for. Every move goes
    through ``booking.appointment_move`` (``appointment_book`` for a request not yet booked) in
    this one transaction: if one is refused, all are undone and the message says which.
    """
    from radflow.scheduling import booking

    _require(by)
    run = DayPlanRun.objects.select_for_update(of=("self",)).select_related("site").get(pk=run.pk)
    if run.status != PlanStatus.DONE:
        raise PlanNotApplicable(
            f"This plan is {run.get_status_display().lower()}; only a plan ready to review "
            "can be applied."
        )
    moment = now or timezone.now()
    stale = _stale_reason(run, moment)
    if stale:
        raise PlanStale(f"The day changed since this plan was made ({stale}); re-plan.")
    reason = f"{REPLAN_REASON}: {run.trigger}" if run.trigger else REPLAN_REASON
    moves = _moves(run)
    passed = [c["_after"]["start"] for c in moves if c["_after"]["start"] < moment]
    if passed:
        first = min(passed).astimezone(ZoneInfo(run.site.time_zone))
        raise PlanStale(f"The plan starts an exam at {first:%H:%M}, which has passed; re-plan.")
    exams = {
        str(exam.pk): exam
        for exam in ExamRecord.objects.select_related("order__patient").filter(
            pk__in=[change["exam"] for change in moves]
        )
    }
    from radflow.scheduling.models import Device, Room
    from radflow.staff.models import StaffMember

    rooms = Room.objects.in_bulk([c["_after"]["room"] for c in moves])
    staff = StaffMember.objects.in_bulk(
        [c["_after"]["staff"] for c in moves if c["_after"]["staff"]]
    )
    devices = Device.objects.in_bulk(
        [c["_after"]["device"] for c in moves if c["_after"]["device"]]
    )
    emailed = 0
    for change in moves:
        exam = exams[change["exam"]]
        after = change["_after"]
        target = {
            "room": rooms[UUID(after["room"])],
            "start": after["start"],
            "staff": staff.get(UUID(after["staff"])) if after["staff"] else None,
            "device": devices.get(UUID(after["device"])) if after["device"] else None,
        }
        try:
            for exam_id in change.get("_release", []):
                booking.release_for_exam(exams[exam_id])
            if change["before"] is None:
                booking.appointment_book(exam=exam, by=by, **target)
            else:
                booking.appointment_move(exam=exam, by=by, reason=reason, notify=False, **target)
        except RadflowError as exc:
            raise PlanNotApplicable(
                f"The plan was not applied, nothing changed: {exam.accession_number} could not "
                f"be moved ({_why(exc)})."
            ) from exc
        if change["time_changed"] and change["before"] is not None:
            emailed += _tell_patient(exam, after["start"], run.site)
    run.status = PlanStatus.APPLIED
    run.decided_by = _user(by)
    run.decided_at = moment
    to_call = sum(1 for change in run.result.get("changes", []) if change["must_call"])
    run.result = {**run.result, "applied": {"moves": len(moves), "emailed": emailed}}
    run.save(update_fields=["status", "decided_by", "decided_at", "result", "updated_at"])
    people = {user.pk: user for user in (_user(by), run.created_by) if user is not None}
    if people:
        notify(
            recipients=people.values(),
            kind="day_replanned",
            title=(
                f"Plan applied at {run.site.code} for {run.date:%d %b}: {len(moves)} "
                f"appointment(s) changed, {to_call} patient(s) to call"
            ),
            body=f"{emailed} patient(s) were emailed their new time.",
            url=reverse("planning:run", kwargs={"pk": run.pk}),
        )
    return run


@transaction.atomic
def plan_discard(*, run: DayPlanRun, by: Any) -> DayPlanRun:
    """Set a plan aside; no booking changes."""
    _require(by)
    run = DayPlanRun.objects.select_for_update().get(pk=run.pk)
    if run.status not in (PlanStatus.DONE, PlanStatus.FAILED):
        raise PlanNotApplicable(
            f"This plan is {run.get_status_display().lower()}; only a finished plan can be "
            "discarded."
        )
    run.status = PlanStatus.DISCARDED
    run.decided_by = _user(by)
    run.decided_at = timezone.now()
    run.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])
    return run


@transaction.atomic
def plan_runs_fail_stuck(*, now: datetime | None = None) -> int:
    """Runs still solving long past their limit (their process ended) become failed."""
    moment = now or timezone.now()
    failed = 0
    for run in DayPlanRun.objects.select_for_update().filter(
        status__in=(PlanStatus.QUEUED, PlanStatus.RUNNING)
    ):
        started = run.started_at or run.created_at
        if moment - started > timedelta(seconds=run.seconds_limit) + STUCK_AFTER:
            run.status = PlanStatus.FAILED
            run.error = "The plan stopped without a result (the process computing it ended)."
            run.finished_at = moment
            run.save(update_fields=["status", "error", "finished_at", "updated_at"])
            failed += 1
    return failed


@transaction.atomic
def scheduling_settings_save(*, by: Any, **fields: Any) -> Any:
    """Save the optimizer's weights and time limits."""
    from radflow.scheduling.services import full_clean_or_fail

    if by is not None and not by.has_perm("planning.change_departmentschedulingsettings"):
        raise PermissionDenied("Your role may not change the scheduling settings.")
    item = scheduling_settings()
    allowed = {f.name for f in type(item)._meta.fields} - {"id", "created_at", "updated_at"}
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise ValidationFailed({name: ["Not a scheduling setting."] for name in unknown})
    for name, value in fields.items():
        setattr(item, name, value)
    full_clean_or_fail(item)
    item.save()
    return item


__all__ = [
    "PlanNotApplicable",
    "PlanStale",
    "plan_apply",
    "plan_discard",
    "plan_execute",
    "plan_result",
    "plan_runs_fail_stuck",
    "plan_start",
    "scheduling_settings_save",
]
