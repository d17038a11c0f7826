"""Writes for rosters: generate (solve), publish, swaps, sick calls, leave, wishes and set-up.

Every rule a roster must keep is checked by the core (``radflow.core.rostering``): the solver
builds rosters that keep them, the evaluator checks a swap against all of them at once. These
functions turn the department's rows into the core's ``Instance`` through ``problem.py``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mass_mail
from django.db import connection, models, transaction
from django.utils import timezone

from radflow.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from radflow.core.rostering.evaluate import evaluate
from radflow.core.rostering.instance import (
    Assignment,
    Cover,
    Instance,
    Progress,
    SolveResult,
    Violation,
)
from radflow.notifications.services import notify
from radflow.rostering.models import (
    CalendarFeed,
    CoverageRequirement,
    LeaveKind,
    LeaveRequest,
    RequestStatus,
    Roster,
    RosterAssignment,
    RosterRun,
    RosterSettings,
    RosterStatus,
    RunKind,
    RunStatus,
    ShiftPreference,
    ShiftType,
    SickCall,
    StaffRosterRules,
    SwapRequest,
    SwapStatus,
)
from radflow.rostering.problem import (
    Problem,
    build_problem,
    coverage_report,
    minimum_met,
    obvious_conflicts,
    roster_settings,
    rule_words,
    split_instance,
    unmet_requests,
)
from radflow.staff.models import StaffMember

logger = logging.getLogger("radflow.rostering")

#: Rosters being worked on: a new one may not overlap them.
OPEN_STATUSES = (RosterStatus.DRAFT, RosterStatus.SOLVING, RosterStatus.SOLVED)
#: Progress is written to the run row at most this often.
PROGRESS_EVERY_SECONDS = 0.5
#: Days after a sick call that are re-solved with it (recovery, rest after a changed night).
SICK_CALL_TAIL_DAYS = 2
#: Solve time of a sick-call re-solve when no limit is given: most days are frozen.
SICK_CALL_SECONDS = 20


class SwapBreaksRule(Conflict):
    code = "swap_breaks_rule"


class RosterNotPublishable(Conflict):
    code = "roster_not_publishable"


def _invalid(name: str, message: str) -> ValidationFailed:
    return ValidationFailed({name: [message]}, message)


def _user(by: Any) -> Any:
    return by if getattr(by, "is_authenticated", False) else None


def _validate(obj: models.Model, exclude: list[str] | None = None) -> None:
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise ValidationFailed(exc.message_dict) from exc


def _may_plan(by: Any) -> bool:
    return bool(getattr(by, "has_perm", None) and by.has_perm("rostering.publish_roster"))


# --- rosters and runs ---------------------------------------------------------------------------


@transaction.atomic
def roster_create(*, start: date, weeks: int, by: Any) -> Roster:
    """A draft roster from a Monday; refuses to overlap another roster still being made."""
    if start.weekday() != 0:
        raise _invalid("start", f"A roster starts on a Monday; {start} is not one.")
    if not 1 <= weeks <= 8:
        raise _invalid("weeks", "A roster covers 1 to 8 weeks.")
    end = start + timedelta(days=7 * weeks - 1)
    for other in Roster.objects.select_for_update().filter(status__in=OPEN_STATUSES):
        if other.start <= end and start <= other.end:
            raise _invalid("start", f"It overlaps {other} ({other.get_status_display().lower()}).")
    roster = Roster(start=start, weeks=weeks, created_by=_user(by))
    _validate(roster, exclude=["created_by", "published_by"])
    roster.save()
    return roster


@transaction.atomic
def roster_run_start(
    *,
    roster: Roster,
    by: Any,
    seconds: int | None = None,
    kind: str = RunKind.GENERATE,
) -> RosterRun:
    """Queue a solve; the runner picks it up once this transaction commits."""
    roster = Roster.objects.select_for_update().get(pk=roster.pk)
    if kind == RunKind.GENERATE and roster.status not in (RosterStatus.DRAFT, RosterStatus.SOLVED):
        raise Conflict(f"A {roster.get_status_display().lower()} roster cannot be generated again.")
    if RosterRun.objects.filter(
        roster=roster, status__in=(RunStatus.QUEUED, RunStatus.RUNNING)
    ).exists():
        raise Conflict("This roster is already being solved.")
    limit = seconds if seconds is not None else roster_settings().solve_seconds
    if not 1 <= limit <= 3600:
        raise _invalid("seconds", "Solve for 1 s to 1 hour.")
    run = RosterRun.objects.create(
        roster=roster, kind=kind, seconds_limit=limit, requested_by=_user(by)
    )
    if kind == RunKind.GENERATE:
        roster.status = RosterStatus.SOLVING
        roster.save(update_fields=["status", "updated_at"])
    _queue(run.pk)
    return run


def _queue(run_id: UUID) -> None:
    from radflow.rostering import runner

    transaction.on_commit(lambda: runner.submit(run_id))


@transaction.atomic
def roster_run_cancel(*, run: RosterRun, by: Any) -> RosterRun:
    """Stop a run: a queued one never starts; a running one stops and keeps the best roster found.

    The stop reaches a solve in another web process too: the run's progress writer sees that the
    row is no longer RUNNING and stops its solver.
    """
    run = RosterRun.objects.select_for_update().get(pk=run.pk)
    if run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
        raise Conflict("The run has already ended.")
    was_queued = run.status == RunStatus.QUEUED
    run.status = RunStatus.CANCELLED
    if was_queued:
        run.finished_at = timezone.now()
        _release_roster(run)
    run.save(update_fields=["status", "finished_at", "updated_at"])
    from radflow.rostering import runner

    runner.stop(run.pk)
    return run


def _release_roster(run: RosterRun) -> None:
    if run.kind == RunKind.GENERATE:
        Roster.objects.filter(pk=run.roster_id, status=RosterStatus.SOLVING).update(
            status=RosterStatus.DRAFT, updated_at=timezone.now()
        )


def published_rows(roster: Roster) -> dict[tuple[UUID, date], UUID]:
    return {
        (staff_id, on): shift_id
        for staff_id, on, shift_id in RosterAssignment.objects.filter(roster=roster).values_list(
            "staff_id", "on_date", "shift_type_id"
        )
    }


def _sick_window(sick: SickCall, roster: Roster, today: date) -> tuple[date, date] | None:
    first = max(sick.start, today, roster.start)
    last = min(sick.end + timedelta(days=SICK_CALL_TAIL_DAYS), roster.end)
    return (first, last) if first <= last else None


class _ProgressWriter:
    """Keeps the solver's progress and writes it to the run row every ``PROGRESS_EVERY_SECONDS``.

    The solver reports from its own threads, which must not touch the database (they hold no
    connection of ours, and a test's transaction is invisible to them): reports are only kept
    here. They are written by the thread that runs the solve when it reports, and, in the
    background runner, by a small flusher thread with its own connection, so the progress page
    moves even while CP-SAT is still looking for its first roster.
    """

    def __init__(self, run_id: UUID, stop: threading.Event) -> None:
        self.run_id = run_id
        self.stop = stop
        self.trace: list[list[float | int]] = []
        self.lock = threading.Lock()
        self.owner = threading.get_ident()
        self.last = 0.0
        self.written = 0
        self.done = threading.Event()
        self.thread: threading.Thread | None = None

    def __call__(self, progress: Progress) -> None:
        with self.lock:
            self.trace.append([round(progress.seconds, 2), progress.objective, progress.best_bound])
        if threading.get_ident() == self.owner:
            now = time.monotonic()
            if now - self.last >= PROGRESS_EVERY_SECONDS:
                self.last = now
                self.flush()

    def start_background(self) -> None:
        def loop() -> None:
            from django.db import connection

            try:
                while not self.done.wait(PROGRESS_EVERY_SECONDS):
                    self.flush()
            finally:
                connection.close()

        self.thread = threading.Thread(target=loop, name="roster-progress", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.done.set()
        if self.thread is not None:
            self.thread.join()

    def flush(self) -> None:
        with self.lock:
            trace = [list(point) for point in self.trace]
        if len(trace) == self.written and trace:
            return
        values: dict[str, Any] = {"trace": trace, "updated_at": timezone.now()}
        if trace:
            values.update(objective=int(trace[-1][1]), best_bound=int(trace[-1][2]))
        updated = RosterRun.objects.filter(pk=self.run_id, status=RunStatus.RUNNING).update(
            **values
        )
        self.written = len(trace)
        if not updated:
            self.stop.set()  # cancelled meanwhile, possibly from another process


#: Under-cover weight of a minimum while looking for a first roster with minimums made soft.
RELAXED_MINIMUM_WEIGHT = 1000
#: Share of a part's time spent on that first roster.
RELAXED_SHARE = 0.4


def _relaxed(part: Instance) -> Instance:
    """The part with every hard minimum turned into a heavy soft cover."""
    from dataclasses import replace

    extra = [
        Cover(
            day=cover.day,
            shift=cover.shift,
            requirement=cover.minimum,
            under_weight=RELAXED_MINIMUM_WEIGHT,
            over_weight=0,
            skill=cover.skill,
        )
        for cover in part.cover
        if cover.minimum > 0
    ]
    return replace(
        part, cover=tuple(replace(cover, minimum=0) for cover in part.cover) + tuple(extra)
    )


def _solve_part(
    part: Instance,
    *,
    seconds: float,
    workers: int,
    seed: int,
    on_progress: Callable[[Progress], None],
    hint: Assignment | None,
    stop: threading.Event | None,
) -> SolveResult:
    """``solve`` with a first roster from the part with soft minimums as its hint.

    CP-SAT can spend minutes looking for a first roster that meets every hard minimum cover of a
    busy team, while the same team with heavy soft minimums is solved in seconds and its roster
    usually meets them all; as a hint it gives the real solve a start. If the real solve finds
    nothing in time, that roster is used when it breaks no hard rule.
    """
    from radflow.core.rostering.solve import solve

    if hint or not any(cover.minimum > 0 for cover in part.cover):
        return solve(
            part,
            seconds=seconds,
            workers=workers,
            seed=seed,
            on_progress=on_progress,
            hint=hint,
            stop=stop,
        )
    first = solve(
        _relaxed(part), seconds=seconds * RELAXED_SHARE, workers=workers, seed=seed, stop=stop
    )
    result = solve(
        part,
        seconds=seconds * (1 - RELAXED_SHARE),
        workers=workers,
        seed=seed,
        on_progress=on_progress,
        hint=first.assignment or None,
        stop=stop,
    )
    if result.status != "unknown" or not first.assignment:
        return result
    check = evaluate(part, first.assignment)
    if check.violations:
        return result
    on_progress(Progress(seconds=seconds, objective=check.objective, best_bound=0))
    return SolveResult(
        status="feasible",
        objective=check.objective,
        best_bound=0,
        seconds=result.seconds + first.seconds,
        assignment=first.assignment,
    )


def solve_in_parts(
    instance: Instance,
    *,
    seconds: float,
    workers: int = 2,
    seed: int = 0,
    on_progress: Callable[[Progress], None] | None = None,
    hint: Assignment | None = None,
    stop: threading.Event | None = None,
) -> SolveResult:
    """``solve`` on each independent part of the roster (``split_instance``), merged.

    Smallest parts first, each given a share of the time left in proportion to its size, so time
    a small team did not need goes to the larger ones. Progress reports the sum over the parts
    solved so far plus the best of the part being solved.
    """
    started = time.monotonic()
    deadline = started + seconds
    parts = [
        part
        for part in split_instance(instance)
        if any(limit > 0 for e in part.employees for limit in e.max_shifts.values())
    ]
    parts.sort(key=lambda part: len(part.employees))
    assignment: Assignment = {}
    objective = bound = 0
    statuses: list[str] = []
    trace: list[Progress] = []
    left = sum(len(part.employees) for part in parts)
    for part in parts:
        remaining = deadline - time.monotonic()
        share = max(1.0, remaining * len(part.employees) / max(1, left))
        left -= len(part.employees)
        done_objective, done_bound = objective, bound

        def report(
            progress: Progress, base: tuple[int, int] = (done_objective, done_bound)
        ) -> None:
            point = Progress(
                seconds=time.monotonic() - started,
                objective=base[0] + progress.objective,
                best_bound=base[1] + progress.best_bound,
            )
            trace.append(point)
            if on_progress is not None:
                on_progress(point)

        ids = {employee.id for employee in part.employees}
        part_hint = {key: value for key, value in (hint or {}).items() if key[0] in ids}
        result = _solve_part(
            part,
            seconds=share,
            workers=workers,
            seed=seed,
            on_progress=report,
            hint=part_hint or None,
            stop=stop,
        )
        if result.status in ("infeasible", "unknown"):
            return SolveResult(
                status=result.status,
                objective=None,
                best_bound=None,
                seconds=time.monotonic() - started,
                assignment={},
                trace=tuple(trace),
                conflicts=result.conflicts,
            )
        assignment.update(result.assignment)
        objective += result.objective or 0
        bound += result.best_bound or 0
        statuses.append(result.status)
    return SolveResult(
        status="optimal" if all(s == "optimal" for s in statuses) else "feasible",
        objective=objective,
        best_bound=bound,
        seconds=time.monotonic() - started,
        assignment=assignment,
        trace=tuple(trace),
    )


def roster_run_execute(
    *,
    run_id: UUID,
    stop: threading.Event | None = None,
    solve_fn: Callable[..., Any] | None = None,
) -> RosterRun:
    """Solve one queued run and store its verdict; the runner (or a test) calls it.

    Not one transaction on purpose: a solve takes up to minutes, and holding a write transaction
    that long would block every other writer on SQLite. Each step (claim, progress, verdict) is its
    own short transaction; the claim makes sure one run is solved once.
    """
    stop = stop or threading.Event()
    with transaction.atomic():
        run = (
            RosterRun.objects.select_for_update(of=("self",))
            .select_related("roster")
            .get(pk=run_id)
        )
        if run.status != RunStatus.QUEUED:
            return run
        run.status = RunStatus.RUNNING
        run.started_at = timezone.now()
        run.save(update_fields=["status", "started_at", "updated_at"])
    roster = run.roster
    sick: SickCall | None = None
    try:
        previous: dict[tuple[UUID, date], UUID] | None = None
        frozen: set[date] | None = None
        extra: dict[UUID, set[date]] | None = None
        if run.kind == RunKind.SICK_CALL:
            sick = SickCall.objects.filter(run=run).first()
            if sick is None:
                raise NotFound("The sick call of this run is gone.")
            window = _sick_window(sick, roster, timezone.localdate())
            previous = published_rows(roster)
            days = set(roster.days)
            inside = (
                {window[0] + timedelta(days=i) for i in range((window[1] - window[0]).days + 1)}
                if window
                else set()
            )
            frozen = days - inside
            extra = {
                sick.staff_id: {
                    sick.start + timedelta(days=i) for i in range((sick.end - sick.start).days + 1)
                }
                & inside
            }
        problem = build_problem(
            roster=roster, previous=previous, frozen=frozen, extra_days_off=extra
        )
        conflicts = obvious_conflicts(problem)
        writer = _ProgressWriter(run.pk, stop)
        # A flusher with its own connection only outside a transaction: inside one (the demo, a
        # test) it could neither see the run row nor get past the outer transaction's locks.
        if not getattr(settings, "ROSTER_RUN_SYNC", False) and not connection.in_atomic_block:
            writer.start_background()
        if conflicts:
            result = None
        else:
            hint = dict(problem.instance.previous) if previous else None
            result = (solve_fn or solve_in_parts)(
                problem.instance,
                seconds=float(run.seconds_limit),
                workers=2,
                seed=0,
                on_progress=writer,
                hint=hint,
                stop=stop,
            )
        writer.close()
        writer.flush()
        _finish(run, problem, result, conflicts, writer.trace, sick)
    except Exception as exc:
        logger.exception("roster run %s failed", run.pk)
        with transaction.atomic():
            RosterRun.objects.filter(pk=run.pk).update(
                status=RunStatus.FAILED,
                error=f"{type(exc).__name__}: {exc}",
                finished_at=timezone.now(),
                updated_at=timezone.now(),
            )
            _release_roster(run)
    run.refresh_from_db()
    return run


@transaction.atomic
def _finish(
    run: RosterRun,
    problem: Problem,
    result: Any,
    conflicts: list[str],
    trace: list[list[float | int]],
    sick: SickCall | None,
) -> None:
    run = RosterRun.objects.select_for_update().get(pk=run.pk)
    cancelled = run.status == RunStatus.CANCELLED
    run.trace = trace
    run.finished_at = timezone.now()
    run.error = "\n".join(problem.notes)
    fields = [
        "trace",
        "finished_at",
        "error",
        "status",
        "solver_status",
        "objective",
        "best_bound",
        "coverage",
        "unmet_requests",
        "conflicts",
        "updated_at",
    ]
    roster = Roster.objects.select_for_update().get(pk=run.roster_id)
    if result is None or result.status == "infeasible":
        found = conflicts or [problem.humanize(text) for text in result.conflicts]
        run.status = RunStatus.INFEASIBLE
        run.solver_status = "infeasible"
        run.conflicts = found or [
            "The rules and the minimum cover cannot all be met, but no smaller set of them was "
            "found in the time allowed."
        ]
        run.save(update_fields=fields)
        _release_roster(run)
        return
    if not result.assignment and result.status == "unknown":
        run.status = RunStatus.CANCELLED if cancelled else RunStatus.FAILED
        run.solver_status = "stopped" if cancelled else "unknown"
        if not cancelled:
            run.error = (
                f"No roster was found within {run.seconds_limit} s. Give the solver more time, "
                "or relax a minimum cover or a rule.\n" + run.error
            ).strip()
        run.save(update_fields=fields)
        _release_roster(run)
        return
    assignment: Assignment = result.assignment
    run.status = RunStatus.FINISHED
    run.solver_status = "stopped" if cancelled else result.status
    run.objective = result.objective
    run.best_bound = result.best_bound
    run.coverage = coverage_report(problem, assignment)
    run.unmet_requests = unmet_requests(problem, assignment)
    run.conflicts = []
    run.save(update_fields=fields)
    if run.kind == RunKind.GENERATE:
        RosterAssignment.objects.filter(roster=roster).delete()
        RosterAssignment.objects.bulk_create(
            RosterAssignment(roster=roster, staff_id=staff_id, on_date=on, shift_type_id=shift)
            for staff_id, on, shift in problem.rows(assignment)
        )
        roster.status = RosterStatus.SOLVED
        roster.objective = result.objective
        roster.best_bound = result.best_bound
        roster.save(update_fields=["status", "objective", "best_bound", "updated_at"])
    elif sick is not None:
        sick.changes = _diff(problem, assignment)
        sick.save(update_fields=["changes", "updated_at"])


def _diff(problem: Problem, assignment: Assignment) -> list[list[str | None]]:
    """[staff id, date, published shift code or None, proposed shift code or None] per change."""
    before = dict(problem.instance.previous)
    keys = sorted(set(before) | set(assignment), key=lambda key: (key[1], key[0]))
    return [
        [
            str(problem.staff_of[who]),
            problem.date_of(day).isoformat(),
            before.get(key),
            assignment.get(key),
        ]
        for key in keys
        for who, day in [key]
        if before.get(key) != assignment.get(key) and who in problem.staff_of
    ]


def latest_finished_run(roster: Roster) -> RosterRun | None:
    return (
        RosterRun.objects.filter(roster=roster, kind=RunKind.GENERATE, status=RunStatus.FINISHED)
        .order_by("-finished_at")
        .first()
    )


def _staff_recipients(staff: Iterable[StaffMember]) -> tuple[list[Any], list[str]]:
    users, emails = [], []
    for member in staff:
        if member.user_id is not None and member.user is not None:
            users.append(member.user)
        elif member.email:
            emails.append(member.email)
    return users, emails


def _tell(
    staff: Iterable[StaffMember], *, kind: str, title: str, body: str = "", url: str = ""
) -> None:
    """In-app for people with a login (email copy on commit), email alone for the others."""
    users, emails = _staff_recipients(staff)
    if users:
        notify(recipients=users, kind=kind, title=title, body=body, url=url)
    if emails:
        base = getattr(settings, "RADFLOW_BASE_URL", "")
        message = f"{body}\n\n{base}{url}".strip()
        mails = [(title, message, settings.DEFAULT_FROM_EMAIL, [email]) for email in emails]
        transaction.on_commit(lambda: send_mass_mail(mails, fail_silently=False))


def _roster_url(roster: Roster) -> str:
    return f"/rosters/{roster.pk}/"


@transaction.atomic
def roster_publish(*, roster: Roster, by: Any, notify_staff: bool = True) -> Roster:
    """Make a solved roster the one staff see; it supersedes an overlapping published roster.

    Needs a finished run whose roster meets every minimum cover.
    """
    roster = Roster.objects.select_for_update().get(pk=roster.pk)
    if roster.status != RosterStatus.SOLVED:
        raise RosterNotPublishable(
            f"Only a solved roster can be published; this one is "
            f"{roster.get_status_display().lower()}."
        )
    run = latest_finished_run(roster)
    if run is None:
        raise RosterNotPublishable("The roster has no finished solve to publish.")
    short = [row for row in run.coverage if int(row["assigned"]) < int(row["minimum"])]
    if short:
        first = short[0]
        raise RosterNotPublishable(
            f"{len(short)} shift(s) are below their minimum cover, e.g. {first['shift']} on "
            f"{first['date']}: {first['assigned']} of {first['minimum']}"
            f"{' with ' + str(first['skill']) if first.get('skill') else ''}."
        )
    overlapping = [
        other.pk
        for other in Roster.objects.filter(status=RosterStatus.PUBLISHED, start__lte=roster.end)
        if other.end >= roster.start and other.pk != roster.pk
    ]
    Roster.objects.filter(pk__in=overlapping).update(
        status=RosterStatus.SUPERSEDED, updated_at=timezone.now()
    )
    roster.status = RosterStatus.PUBLISHED
    roster.published_by = _user(by)
    roster.published_at = timezone.now()
    roster.save(update_fields=["status", "published_by", "published_at", "updated_at"])
    if not notify_staff:
        return roster
    people = StaffMember.objects.filter(roster_rules__rostered=True, active=True).select_related(
        "user"
    )
    _tell(
        people,
        kind="roster_published",
        title=f"Roster published: {roster.start:%d %b} to {roster.end:%d %b %Y}",
        body="Your shifts for these weeks are in RadFlow and in your calendar feed.",
        url="/rosters/mine/",
    )
    return roster


# --- swaps ----------------------------------------------------------------------------------


def _swap_plan(
    swap: SwapRequest, current: Mapping[tuple[UUID, date], UUID]
) -> dict[tuple[UUID, date], UUID | None]:
    """The person-days a swap changes: key -> new shift type id (None: day off)."""
    requester, partner = swap.requester_id, swap.partner_id
    give = current.get((requester, swap.give_date))
    if give is None:
        raise _invalid("give_date", f"{swap.requester} has no shift on {swap.give_date} to give.")
    if swap.take_date is None:
        if current.get((partner, swap.give_date)) is not None:
            raise _invalid("partner", f"{swap.partner} already works on {swap.give_date}.")
        return {(requester, swap.give_date): None, (partner, swap.give_date): give}
    take = current.get((partner, swap.take_date))
    if take is None:
        raise _invalid("take_date", f"{swap.partner} has no shift on {swap.take_date} to swap.")
    if swap.take_date == swap.give_date:
        return {(requester, swap.give_date): take, (partner, swap.give_date): give}
    if current.get((partner, swap.give_date)) is not None:
        raise _invalid("partner", f"{swap.partner} already works on {swap.give_date}.")
    if current.get((requester, swap.take_date)) is not None:
        raise _invalid("take_date", f"{swap.requester} already works on {swap.take_date}.")
    return {
        (requester, swap.give_date): None,
        (partner, swap.give_date): give,
        (partner, swap.take_date): None,
        (requester, swap.take_date): take,
    }


def swap_violations(swap: SwapRequest) -> tuple[list[str], dict[tuple[UUID, date], UUID | None]]:
    """Rules and cover the swap would break, in words, and the person-days it changes.

    The whole published roster is checked by the core evaluator before and after the swap; only
    what the swap newly breaks counts (a rule already broken by a later leave is not the swap's).
    """
    roster = swap.roster
    current = published_rows(roster)
    plan = _swap_plan(swap, current)
    problem = build_problem(roster=roster)
    after_rows = dict(current)
    for key, shift in plan.items():
        if shift is None:
            after_rows.pop(key, None)
        else:
            after_rows[key] = shift
    before = evaluate(problem.instance, problem.assignment_from_rows(_as_rows(current)))
    after = evaluate(problem.instance, problem.assignment_from_rows(_as_rows(after_rows)))
    seen = {_violation_key(v) for v in before.violations}
    broken = [v for v in after.violations if _violation_key(v) not in seen]
    return [_rule_words(problem, v) for v in broken], plan


def _as_rows(rows: Mapping[tuple[UUID, date], UUID]) -> list[tuple[UUID, date, UUID]]:
    return [(staff, on, shift) for (staff, on), shift in rows.items()]


def _violation_key(violation: Violation) -> tuple[str, str | None, int | None, str]:
    return (violation.rule, violation.employee, violation.day, violation.detail)


def _rule_words(problem: Problem, violation: Violation) -> str:
    return rule_words(problem, violation)


def _check_swap_people(swap: SwapRequest, by: Any) -> None:
    if swap.requester_id == swap.partner_id:
        raise _invalid("partner", "Choose someone else to swap with.")
    if swap.roster.status != RosterStatus.PUBLISHED:
        raise _invalid("roster", "Shifts can be swapped only on a published roster.")
    today = timezone.localdate()
    for name, on in (("give_date", swap.give_date), ("take_date", swap.take_date)):
        if on is None:
            continue
        if not swap.roster.start <= on <= swap.roster.end:
            raise _invalid(name, f"{on} is not in this roster.")
        if on < today:
            raise _invalid(name, f"{on} is in the past.")
    own = getattr(by, "staff_member", None) if by is not None else None
    if not _may_plan(by) and (own is None or own.pk != swap.requester_id):
        raise PermissionDenied("Only the person giving the shift or a coordinator can ask.")


@transaction.atomic
def swap_request(
    *,
    roster: Roster,
    requester: StaffMember,
    partner: StaffMember,
    give_date: date,
    take_date: date | None,
    note: str = "",
    by: Any,
) -> SwapRequest:
    """Ask to swap (or give away) a shift; refused at once, naming the rule, if it breaks one."""
    roster = Roster.objects.get(pk=roster.pk)
    swap = SwapRequest(
        roster=roster,
        requester=requester,
        partner=partner,
        give_date=give_date,
        take_date=take_date,
        note=note,
    )
    _validate(swap, exclude=["decided_by"])
    _check_swap_people(swap, by)
    broken, _plan = swap_violations(swap)
    if broken:
        raise SwapBreaksRule("The swap would break " + "; ".join(broken))
    swap.save()
    coordinators = _coordinators()
    if coordinators:
        notify(
            recipients=coordinators,
            kind="swap_requested",
            title=f"Swap requested: {requester} and {partner} ({give_date})",
            url="/rosters/swaps/",
        )
    return swap


def _coordinators() -> list[Any]:
    from django.contrib.auth.models import Permission
    from django.contrib.auth.models import User as AuthUser

    permission = Permission.objects.filter(
        codename="publish_roster", content_type__app_label="rostering"
    ).first()
    if permission is None:
        return []
    return list(
        AuthUser.objects.filter(
            models.Q(groups__permissions=permission) | models.Q(user_permissions=permission),
            is_active=True,
        ).distinct()
    )


def _decided(swap: SwapRequest, status: str, by: Any, reason: str = "") -> SwapRequest:
    swap.status = status
    swap.reason = reason
    swap.decided_by = _user(by)
    swap.decided_at = timezone.now()
    swap.save(update_fields=["status", "reason", "decided_by", "decided_at", "updated_at"])
    return swap


def _open_swap(swap: SwapRequest) -> SwapRequest:
    swap = (
        SwapRequest.objects.select_for_update(of=("self",))
        .select_related("roster", "requester__user", "partner__user")
        .get(pk=swap.pk)
    )
    if swap.status != SwapStatus.REQUESTED:
        raise Conflict(f"The swap is already {swap.get_status_display().lower()}.")
    return swap


@transaction.atomic
def swap_approve(*, swap: SwapRequest, by: Any) -> SwapRequest:
    """Apply a swap after checking it again: if the roster changed so that it now breaks a rule
    (or a shift moved), it is REFUSED with the reason instead."""
    swap = _open_swap(swap)
    Roster.objects.select_for_update().get(pk=swap.roster_id)
    try:
        broken, plan = swap_violations(swap)
    except ValidationFailed as exc:
        reason = "; ".join(message for messages in exc.errors.values() for message in messages)
        return _decided(swap, SwapStatus.REFUSED, by, f"The roster changed: {reason}")
    if swap.roster.status != RosterStatus.PUBLISHED:
        return _decided(swap, SwapStatus.REFUSED, by, "The roster is no longer the published one.")
    if broken:
        return _decided(
            swap, SwapStatus.REFUSED, by, "The swap would now break " + "; ".join(broken)
        )
    for (staff_id, on), _shift in plan.items():
        RosterAssignment.objects.filter(roster=swap.roster, staff_id=staff_id, on_date=on).delete()
    RosterAssignment.objects.bulk_create(
        RosterAssignment(roster=swap.roster, staff_id=staff_id, on_date=on, shift_type_id=shift)
        for (staff_id, on), shift in plan.items()
        if shift is not None
    )
    _decided(swap, SwapStatus.APPROVED, by)
    _tell(
        [swap.requester, swap.partner],
        kind="swap_approved",
        title=f"Swap approved: {swap.give_date}"
        + (f" / {swap.take_date}" if swap.take_date else ""),
        url="/rosters/mine/",
    )
    return swap


@transaction.atomic
def swap_decline(*, swap: SwapRequest, by: Any, reason: str) -> SwapRequest:
    swap = _open_swap(swap)
    if not reason.strip():
        raise _invalid("reason", "Say why the swap is declined.")
    _decided(swap, SwapStatus.DECLINED, by, reason.strip())
    _tell([swap.requester], kind="swap_declined", title="Swap declined", body=reason.strip())
    return swap


@transaction.atomic
def swap_withdraw(*, swap: SwapRequest, by: Any) -> SwapRequest:
    swap = _open_swap(swap)
    own = getattr(by, "staff_member", None)
    if not _may_plan(by) and (own is None or own.pk != swap.requester_id):
        raise PermissionDenied("Only the person who asked can withdraw the swap.")
    return _decided(swap, SwapStatus.WITHDRAWN, by)


# --- sick calls -----------------------------------------------------------------------------


def published_roster_on(on: date) -> Roster | None:
    """The published roster that covers ``on`` (the newest one when several do)."""
    candidates = [
        roster
        for roster in Roster.objects.filter(status=RosterStatus.PUBLISHED, start__lte=on)
        if roster.end >= on
    ]
    candidates.sort(key=lambda roster: roster.published_at or roster.created_at, reverse=True)
    return candidates[0] if candidates else None


@transaction.atomic
def sick_call_report(
    *, staff: StaffMember, start: date, end: date, by: Any, seconds: int | None = None
) -> SickCall:
    """Record a sick call (as approved sick leave) and queue a re-solve of the affected days.

    The re-solve keeps the published roster as far as it can (each changed person-day costs
    ``change_weight``), freezes every day outside today..end+2, and proposes its changes for the
    coordinator to apply.
    """
    if end < start:
        raise _invalid("end", "The last day is before the first.")
    roster = published_roster_on(start) or published_roster_on(end)
    if roster is None:
        raise _invalid("start", "No published roster covers these days.")
    if end + timedelta(days=SICK_CALL_TAIL_DAYS) < timezone.localdate():
        # Every day it could change is over: a re-solve would only contradict what happened.
        raise _invalid("end", "These days are over, so there is nothing left to re-plan.")
    leave = LeaveRequest(
        staff=staff,
        kind=LeaveKind.SICK,
        start=start,
        end=end,
        status=RequestStatus.APPROVED,
        note="Sick call",
        decided_by=_user(by),
        decided_at=timezone.now(),
    )
    _validate(leave, exclude=["decided_by"])
    leave.save()
    run = RosterRun.objects.create(
        roster=roster,
        kind=RunKind.SICK_CALL,
        seconds_limit=seconds or min(SICK_CALL_SECONDS, roster_settings().solve_seconds),
        requested_by=_user(by),
    )
    sick = SickCall.objects.create(
        staff=staff, roster=roster, start=start, end=end, reported_by=_user(by), run=run
    )
    _queue(run.pk)
    return sick


@transaction.atomic
def sick_call_apply(*, sick_call: SickCall, by: Any) -> SickCall:
    """Write the re-solve's proposal into the published roster and tell whoever it moved."""
    sick = (
        SickCall.objects.select_for_update(of=("self",))
        .select_related("roster", "run")
        .get(pk=sick_call.pk)
    )
    run = sick.run
    if run is None or run.status != RunStatus.FINISHED:
        raise Conflict("The re-solve has not finished with a roster to apply.")
    if sick.roster.status != RosterStatus.PUBLISHED:
        raise Conflict("The roster is no longer the published one.")
    if sick.applied_at is not None:
        raise Conflict("These changes were already applied.")
    codes = dict(ShiftType.objects.values_list("code", "pk"))
    current = published_rows(sick.roster)
    for staff_id, on_text, old, _new in sick.changes:
        key = (UUID(str(staff_id)), date.fromisoformat(str(on_text)))
        now = current.get(key)
        if (codes.get(old) if old else None) != now:
            raise Conflict("The roster changed since the re-solve; report the sick call again.")
    moved: set[UUID] = set()
    for staff_id, on_text, _old, new in sick.changes:
        key = (UUID(str(staff_id)), date.fromisoformat(str(on_text)))
        RosterAssignment.objects.filter(
            roster=sick.roster, staff_id=key[0], on_date=key[1]
        ).delete()
        if new:
            RosterAssignment.objects.create(
                roster=sick.roster, staff_id=key[0], on_date=key[1], shift_type_id=codes[new]
            )
        moved.add(key[0])
    sick.applied_at = timezone.now()
    sick.applied_by = _user(by)
    sick.save(update_fields=["applied_at", "applied_by", "updated_at"])
    people = StaffMember.objects.filter(pk__in=moved - {sick.staff_id}).select_related("user")
    _tell(
        people,
        kind="roster_changed",
        title="Your shifts changed (sick cover)",
        body="The published roster was changed to cover a colleague's sick leave.",
        url="/rosters/mine/",
    )
    return sick


def sick_call_applied(sick: SickCall) -> bool:
    return sick.applied_at is not None


# --- leave and wishes -----------------------------------------------------------------------


@transaction.atomic
def leave_request_create(
    *, staff: StaffMember, kind: str, start: date, end: date, note: str = "", by: Any
) -> LeaveRequest:
    own = getattr(by, "staff_member", None)
    if not _may_plan(by) and (own is None or own.pk != staff.pk):
        raise PermissionDenied("You can ask for leave only for yourself.")
    if end < start:
        raise _invalid("end", "The last day is before the first.")
    overlap = LeaveRequest.objects.filter(staff=staff, start__lte=end, end__gte=start).exclude(
        status=RequestStatus.DECLINED
    )
    if overlap.exists():
        raise _invalid("start", "This overlaps leave already asked for.")
    leave = LeaveRequest(staff=staff, kind=kind, start=start, end=end, note=note)
    _validate(leave, exclude=["decided_by"])
    leave.save()
    return leave


@transaction.atomic
def leave_request_decide(*, leave: LeaveRequest, approve: bool, by: Any) -> LeaveRequest:
    leave = (
        LeaveRequest.objects.select_for_update(of=("self",))
        .select_related("staff__user")
        .get(pk=leave.pk)
    )
    if leave.status != RequestStatus.REQUESTED:
        raise Conflict(f"The request is already {leave.get_status_display().lower()}.")
    leave.status = RequestStatus.APPROVED if approve else RequestStatus.DECLINED
    leave.decided_by = _user(by)
    leave.decided_at = timezone.now()
    leave.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])
    _tell(
        [leave.staff],
        kind="leave_decided",
        title=f"Leave {leave.start}\u2013{leave.end} {leave.get_status_display().lower()}",
        url="/rosters/leave/",
    )
    return leave


@transaction.atomic
def preference_save(
    *,
    staff: StaffMember,
    shift_type: ShiftType | None,
    weekday: int | None,
    on_date: date | None,
    wants: bool,
    weight: int,
    by: Any,
    preference: ShiftPreference | None = None,
) -> ShiftPreference:
    own = getattr(by, "staff_member", None)
    if not _may_plan(by) and (own is None or own.pk != staff.pk):
        raise PermissionDenied("You can set only your own preferences.")
    if (weekday is None) == (on_date is None):
        raise _invalid("weekday", "Choose a weekday or a date (one of them).")
    if wants and shift_type is None:
        raise _invalid("shift_type", "Say which shift you would like to work.")
    item = preference or ShiftPreference(staff=staff)
    item.shift_type = shift_type
    item.weekday = weekday
    item.on_date = on_date
    item.wants = wants
    item.weight = weight
    _validate(item)
    item.save()
    return item


@transaction.atomic
def preference_delete(*, preference: ShiftPreference, by: Any) -> None:
    own = getattr(by, "staff_member", None)
    if not _may_plan(by) and (own is None or own.pk != preference.staff_id):
        raise PermissionDenied("You can remove only your own preferences.")
    preference.delete()


# --- set-up ---------------------------------------------------------------------------------


def _set_fields(obj: models.Model, fields: Mapping[str, Any], allowed: Iterable[str]) -> None:
    names = set(allowed)
    unknown = set(fields) - names
    if unknown:
        raise ValidationFailed({name: ["Not a field that can be set here."] for name in unknown})
    for name, value in fields.items():
        setattr(obj, name, value)


SHIFT_TYPE_FIELDS = (
    "site",
    "code",
    "name",
    "kind",
    "modality",
    "start",
    "end",
    "paid_minutes",
    "callback_minutes",
    "weekend_only",
    "active",
)


@transaction.atomic
def shift_type_save(*, shift_type: ShiftType | None, by: Any, **fields: Any) -> ShiftType:
    """Create or change a shift type; on-call shifts need a call-back time."""
    item = shift_type or ShiftType()
    _set_fields(item, fields, SHIFT_TYPE_FIELDS)
    if item.kind == "on_call" and item.callback_minutes is None:
        raise _invalid("callback_minutes", "An on-call shift needs a call-back time.")
    _validate(item)
    item.save()
    return item


@transaction.atomic
def coverage_save(
    *, requirement: CoverageRequirement | None, by: Any, **fields: Any
) -> CoverageRequirement:
    item = requirement or CoverageRequirement()
    _set_fields(
        item,
        fields,
        ("shift_type", "weekday", "on_date", "modality", "competency", "minimum", "preferred"),
    )
    if (item.weekday is None) == (item.on_date is None):
        raise _invalid("weekday", "Choose a weekday or a date (one of them).")
    if item.preferred < item.minimum:
        raise _invalid("preferred", "Preferred cannot be below the minimum.")
    _validate(item)
    item.save()
    return item


@transaction.atomic
def coverage_delete(*, requirement: CoverageRequirement, by: Any) -> None:
    requirement.delete()


RULE_FIELDS = (
    "rostered",
    "contracted_minutes_per_week",
    "flex_minutes_per_week",
    "max_consecutive_days",
    "min_consecutive_days",
    "min_consecutive_days_off",
    "max_weekends_per_4_weeks",
    "max_nights_per_4_weeks",
    "max_on_call_per_4_weeks",
)


@transaction.atomic
def staff_rules_save(
    *,
    staff: StaffMember,
    by: Any,
    shift_types: Iterable[ShiftType] | None = None,
    **fields: Any,
) -> StaffRosterRules:
    rules = StaffRosterRules.objects.filter(staff=staff).first() or StaffRosterRules(staff=staff)
    fields.pop("staff", None)
    _set_fields(rules, fields, RULE_FIELDS)
    if rules.min_consecutive_days > rules.max_consecutive_days:
        raise _invalid("min_consecutive_days", "The minimum run is longer than the maximum.")
    _validate(rules)
    rules.save()
    if shift_types is not None:
        rules.shift_types.set(list(shift_types))
    return rules


@transaction.atomic
def roster_settings_save(*, by: Any, **fields: Any) -> RosterSettings:
    item = roster_settings()
    _set_fields(item, fields, [f.name for f in RosterSettings._meta.fields if f.name != "id"])
    if item.solve_seconds < 1:
        raise _invalid("solve_seconds", "Solve for at least 1 s.")
    _validate(item)
    item.save()
    return item


@transaction.atomic
def calendar_feed_rotate(*, staff: StaffMember, by: Any) -> CalendarFeed:
    """A new secret URL for the person's calendar; the old one stops working at once."""
    from radflow.rostering.models import _feed_token

    own = getattr(by, "staff_member", None)
    if not _may_plan(by) and (own is None or own.pk != staff.pk):
        raise PermissionDenied("You can rotate only your own calendar link.")
    feed, created = CalendarFeed.objects.get_or_create(staff=staff)
    if not created:
        feed.token = _feed_token()
        feed.save(update_fields=["token"])
    return feed


@transaction.atomic
def calendar_feed_for(*, staff: StaffMember) -> CalendarFeed:
    """The person's feed, made on first use."""
    feed, _ = CalendarFeed.objects.get_or_create(staff=staff)
    return feed


@transaction.atomic
def runs_fail_stuck(*, now: Any = None) -> int:
    """Runs RUNNING far past their limit (a web process died mid-solve) become FAILED."""
    moment = now or timezone.now()
    failed = 0
    for run in RosterRun.objects.select_for_update().filter(status=RunStatus.RUNNING):
        started = run.started_at or run.created_at
        if moment - started > timedelta(seconds=run.seconds_limit, minutes=10):
            run.status = RunStatus.FAILED
            run.error = "The solve stopped without a result (the process running it ended)."
            run.finished_at = moment
            run.save(update_fields=["status", "error", "finished_at", "updated_at"])
            _release_roster(run)
            failed += 1
    return failed


__all__ = [
    "RosterNotPublishable",
    "SwapBreaksRule",
    "calendar_feed_rotate",
    "coverage_save",
    "leave_request_create",
    "leave_request_decide",
    "minimum_met",
    "preference_delete",
    "preference_save",
    "roster_create",
    "roster_publish",
    "roster_run_cancel",
    "roster_run_execute",
    "roster_run_start",
    "roster_settings_save",
    "runs_fail_stuck",
    "shift_type_save",
    "sick_call_apply",
    "sick_call_report",
    "staff_rules_save",
    "swap_approve",
    "swap_decline",
    "swap_request",
    "swap_withdraw",
]
