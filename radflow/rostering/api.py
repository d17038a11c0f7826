"""``/api/rosters``: rosters and their assignments, solve runs, publishing, a person's own
shifts and swap requests.

The same services as the pages; a service's refusal (a Monday start, cover not met, a swap that
breaks a rule) becomes problem+json with its stable code through the API's handler.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema, Status

from radflow.accounts.api_auth import requires
from radflow.core.errors import NotFound, ValidationFailed
from radflow.rostering import selectors, services
from radflow.rostering.models import (
    Roster,
    RosterAssignment,
    RosterRun,
    SwapRequest,
)
from radflow.rostering.schemas import (
    AssignmentOut,
    RosterIn,
    RosterOut,
    RunIn,
    RunOut,
    ShiftOut,
    SwapIn,
    SwapOut,
)
from radflow.staff.models import StaffMember

router = Router(tags=["rosters"])

VIEW = "rostering.view_roster"
PLAN = "rostering.publish_roster"


def _roster(roster_id: UUID) -> Roster:
    roster = Roster.objects.filter(pk=roster_id).first()
    if roster is None:
        raise NotFound("No roster has this id.", field="roster_id")
    return roster


def _own_staff(request: HttpRequest) -> StaffMember:
    user = request.user
    staff = (
        StaffMember.objects.filter(user=user, active=True).first()
        if user.is_authenticated
        else None
    )
    if staff is None:
        raise NotFound("Your account is not linked to a staff member.")
    return staff


@router.get("/", response=list[RosterOut], summary="List rosters", auth=requires(VIEW))
def list_rosters(request: HttpRequest) -> Any:
    """Newest first, every status (drafts, solved, published, superseded)."""
    return list(selectors.roster_list())


@router.post("/", response={201: RosterOut}, summary="Create a roster", auth=requires(PLAN))
def create_roster(request: HttpRequest, payload: RosterIn) -> Status[Roster]:
    roster = services.roster_create(start=payload.start, weeks=payload.weeks, by=request.user)
    return Status(201, roster)


@router.get("/{uuid:roster_id}", response=RosterOut, summary="Read one roster", auth=requires(VIEW))
def get_roster(request: HttpRequest, roster_id: UUID) -> Roster:
    return _roster(roster_id)


@router.get(
    "/{uuid:roster_id}/assignments",
    response=list[AssignmentOut],
    summary="A roster's assignments",
    auth=requires(VIEW),
)
def roster_assignments(request: HttpRequest, roster_id: UUID) -> list[dict[str, Any]]:
    """Every person-day with a shift, in date and shift order; times in the site's zone."""
    roster = _roster(roster_id)
    rows = RosterAssignment.objects.filter(roster=roster).select_related(
        "staff", "shift_type", "shift_type__site"
    )
    out = []
    for row in rows:
        start, end = row.shift_type.bounds(row.on_date)
        out.append(
            {
                "staff_id": row.staff_id,
                "employee_number": row.staff.employee_number,
                "name": str(row.staff),
                "date": row.on_date,
                "shift": row.shift_type.code,
                "kind": row.shift_type.kind,
                "start": start,
                "end": end,
            }
        )
    return out


@router.post(
    "/{uuid:roster_id}/runs",
    response={202: RunOut},
    summary="Start solving a roster",
    auth=requires(PLAN),
)
def start_run(request: HttpRequest, roster_id: UUID, payload: RunIn) -> Status[RosterRun]:
    """Queued and solved in the background; poll ``GET /runs/{run_id}`` for progress."""
    roster = _roster(roster_id)
    run = services.roster_run_start(roster=roster, by=request.user, seconds=payload.seconds)
    return Status(202, run)


@router.get("/runs/{uuid:run_id}", response=RunOut, summary="A run's progress", auth=requires(VIEW))
def run_status(request: HttpRequest, run_id: UUID) -> RosterRun:
    run = RosterRun.objects.filter(pk=run_id).first()
    if run is None:
        raise NotFound("No run has this id.", field="run_id")
    return run


@router.post(
    "/{uuid:roster_id}/publish", response=RosterOut, summary="Publish a roster", auth=requires(PLAN)
)
def publish_roster(request: HttpRequest, roster_id: UUID) -> Roster:
    return services.roster_publish(roster=_roster(roster_id), by=request.user)


class ShiftRange(Schema):
    start: date | None = None
    end: date | None = None


@router.get(
    "/mine/shifts",
    response=list[ShiftOut],
    summary="My published shifts",
    auth=requires("rostering.view_rosterassignment"),
)
def my_shifts(request: HttpRequest, period: Query[ShiftRange]) -> list[dict[str, Any]]:
    """From ``start`` (default today) to ``end`` (default six weeks on), published rosters only."""
    staff = _own_staff(request)
    start = period.start or timezone.localdate()
    end = period.end or start + timedelta(days=42)
    if end < start:
        raise ValidationFailed({"end": ["The end cannot be before the start."]})
    return [
        {
            "date": row.date,
            "shift": row.shift_type.code,
            "name": row.shift_type.name,
            "kind": row.shift_type.kind,
            "site": row.shift_type.site.code,
            "start": row.start,
            "end": row.end,
            "callback_minutes": row.shift_type.callback_minutes,
        }
        for row in selectors.person_shifts(staff=staff, start=start, end=end)
    ]


@router.post(
    "/swaps",
    response={201: SwapOut},
    summary="Ask for a swap",
    auth=requires("rostering.add_swaprequest"),
)
def create_swap(request: HttpRequest, payload: SwapIn) -> Status[SwapRequest]:
    """Checked against every rule and the cover at once; one that breaks a rule is refused with
    code ``swap_breaks_rule`` naming the rule and the person, and nothing is saved."""
    staff = _own_staff(request)
    partner = StaffMember.objects.filter(pk=payload.partner_id, active=True).first()
    if partner is None:
        raise ValidationFailed({"partner_id": ["No active staff member has this id."]})
    if partner.pk == staff.pk:
        raise ValidationFailed({"partner_id": ["You cannot swap with yourself."]})
    swap = services.swap_request(
        roster=_roster(payload.roster_id),
        requester=staff,
        partner=partner,
        give_date=payload.give_date,
        take_date=payload.take_date,
        note=payload.note,
        by=request.user,
    )
    return Status(201, swap)


@router.post(
    "/swaps/{uuid:swap_id}/approve",
    response=SwapOut,
    summary="Approve a swap",
    auth=requires("rostering.change_swaprequest"),
)
def approve_swap(request: HttpRequest, swap_id: UUID) -> SwapRequest:
    """Re-checked against today's roster: if it now breaks a rule its status becomes
    ``refused`` with the reason, instead of approved."""
    swap = SwapRequest.objects.filter(pk=swap_id).first()
    if swap is None:
        raise NotFound("No swap request has this id.", field="swap_id")
    return services.swap_approve(swap=swap, by=request.user)
