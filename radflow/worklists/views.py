"""Work lists per role and the STAT board.

Each page is a set of sections; htmx polls every section on its own (``?section=<key>``) and the
answer carries the section plus its count for the header (an out-of-band swap), so nobody
reloads. Rows are built here into plain cells so one section template serves every list; the
rules of what belongs on a list live in ``radflow.worklists.selectors``.

Every render shows patient names, so each one logs the patients it showed in one audit call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from radflow.accounts.access import page_requires
from radflow.audit.models import AccessChannel
from radflow.audit.services import AccessSource, access_record
from radflow.core.exam_states import ExamState
from radflow.core.sla import ClockState, format_remaining
from radflow.exams.models import Exam, Override
from radflow.intake.selectors import exam_hard_stops
from radflow.orders.models import Authorization, AuthStatus, Order, Priority
from radflow.orders.selectors import requirement_labels
from radflow.orders.services import order_assign_owner
from radflow.patients.models import Patient
from radflow.scheduling.models import Modality, Room, Site
from radflow.staff.models import StaffMember
from radflow.worklists import selectors
from radflow.worklists.selectors import Filters

#: Rows shown per section; the count in the header is the full count.
SECTION_LIMIT = 50
#: The technologist's list computes intake facts per exam (a few queries each), so it is capped;
#: one person's day is far below this.
MY_EXAMS_LIMIT = 40
REFRESH_SECONDS = 30
STAT_REFRESH_SECONDS = 15

_BADGE = {
    ClockState.ON_TRACK: "ok",
    ClockState.WARNING: "warn",
    ClockState.BREACHED: "bad",
    ClockState.STOPPED: "",
}


# --- display rows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    text: str = ""
    url: str = ""
    #: A second, quieter line (MRN, room, what is missing).
    note: str = ""
    #: ok / warn / bad: shown as a badge.
    badge: str = ""
    #: A live countdown to this time (countdown.js ticks it each second).
    due: datetime | None = None
    #: A POST button to this URL, labelled ``text``.
    post: str = ""


@dataclass
class Section:
    key: str
    title: str
    columns: tuple[str, ...]
    rows: list[list[Cell]] = field(default_factory=list)
    count: int = 0
    patients: list[Patient] = field(default_factory=list)
    empty: str = "Nothing here."
    more_url: str = ""
    more_label: str = ""
    note: str = ""
    refresh_url: str = ""


def _url(name: str, *args: Any) -> str:
    """A link to another area's page, or "" while that area has not shipped it."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _local(value: datetime | None, fmt: str = "%H:%M") -> str:
    return timezone.localtime(value).strftime(fmt) if value else ""


def _age(since: datetime | None, now: datetime) -> str:
    return format_remaining(now - since) if since else ""


def _patient(exam: Exam) -> Cell:
    patient = exam.order.patient
    link = _url("exams:detail", exam.pk) or _url("orders:detail", exam.order_id)
    return Cell(patient.display_name, url=link, note=f"MRN {patient.mrn}")


def _exam_type(exam: Exam) -> Cell:
    return Cell(str(exam.order.exam_type.name), note=exam.accession_number)


def _priority(exam: Exam) -> Cell:
    order = exam.order
    badge = {Priority.STAT: "bad", Priority.URGENT: "warn"}.get(Priority(order.priority), "")
    return Cell(order.get_priority_display(), badge=badge)


def _state(exam: Exam) -> Cell:
    return Cell(ExamState(exam.state).label)


def _clock(exam: Exam, now: datetime) -> Cell:
    clock = selectors.countdown(exam, now=now)
    if clock.state is None:
        return Cell(clock.text)
    return Cell(
        clock.text,
        badge=_BADGE[clock.state],
        due=clock.due_at,
        note=f"due {_local(clock.due_at, '%a %H:%M')}",
    )


def _room(exam: Exam) -> Cell:
    return Cell(exam.room.name if exam.room else "", note=_local(exam.scheduled_start, "%a %H:%M"))


def _post(name: str, pk: Any, label: str) -> Cell:
    url = _url(name, pk)
    return Cell(label, post=url) if url else Cell()


# --- sections ----------------------------------------------------------------------------------


def _section(
    key: str,
    title: str,
    columns: tuple[str, ...],
    rows: QuerySet[Any],
    row: Callable[[Any], list[Cell]],
    *,
    patient: Callable[[Any], Patient] = lambda exam: exam.order.patient,
    limit: int = SECTION_LIMIT,
    **extra: Any,
) -> Section:
    """The first ``limit`` rows and the full count (counted only when there are more)."""
    shown = list(rows[: limit + 1])
    count = len(shown) if len(shown) <= limit else rows.count()
    shown = shown[:limit]
    return Section(
        key=key,
        title=title,
        columns=columns,
        rows=[row(obj) for obj in shown],
        count=count,
        patients=[patient(obj) for obj in shown],
        **extra,
    )


@dataclass(frozen=True)
class Context:
    request: HttpRequest
    filters: Filters
    now: datetime


SectionBuilder = Callable[[Context], Section]


class WorklistFilterForm(forms.Form):
    """Site, modality and priority, as GET parameters; bad values are dropped, not shown."""

    site = forms.ModelChoiceField(
        queryset=Site.objects.order_by("name"), required=False, empty_label="All sites"
    )
    modality = forms.ModelChoiceField(
        queryset=Modality.objects.order_by("code"), required=False, empty_label="All modalities"
    )
    priority = forms.ChoiceField(choices=[("", "Any priority"), *Priority.choices], required=False)

    def __init__(self, *args: Any, fields: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        keep = set(fields)
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]

    def to_filters(self) -> Filters:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        site, modality = data.get("site"), data.get("modality")
        return Filters(
            site_id=site.pk if site else None,
            modality=modality.pk if modality else None,
            priority=data.get("priority") or None,
        )


def _render(
    request: HttpRequest,
    *,
    title: str,
    action: str,
    builders: dict[str, SectionBuilder],
    filter_fields: tuple[str, ...] = (),
    refresh: int = REFRESH_SECONDS,
    intro: str = "",
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """The whole page, or with htmx and ``?section=`` that one section and its header count."""
    form = WorklistFilterForm(request.GET or None, fields=filter_fields)
    context = Context(request=request, filters=form.to_filters(), now=timezone.now())
    query = request.GET.copy()
    query.pop("section", None)
    base = f"{request.path}?{query.urlencode()}&" if query else f"{request.path}?"
    wanted = request.GET.get("section", "")
    only = bool(getattr(request, "htmx", False)) and wanted in builders
    keys = [wanted] if only else list(builders)
    with transaction.atomic():
        sections = [builders[key](context) for key in keys]
        for section in sections:
            section.refresh_url = f"{base}section={section.key}"
        access_record(
            user=request.user,
            patients=[p for section in sections for p in section.patients],
            action=action,
            source=AccessSource.from_request(request, AccessChannel.WEB),
        )
    page = {
        "title": title,
        "intro": intro,
        "sections": sections,
        "form": form if filter_fields else None,
        "refresh": refresh,
        **(extra or {}),
    }
    if only:
        return render(
            request, "worklists/_section.html", {**page, "section": sections[0], "oob": True}
        )
    return render(request, "worklists/page.html", page)


# --- coordinator -------------------------------------------------------------------------------


def _triage_section(key: str, title: str) -> SectionBuilder:
    def build(ctx: Context) -> Section:
        return _section(
            key,
            title,
            ("Patient", "Exam", "Priority", "Received", "Clock"),
            selectors.to_triage(ctx.filters),
            lambda e: [
                _patient(e),
                _exam_type(e),
                _priority(e),
                Cell(_local(e.order.received_at, "%a %H:%M")),
                _clock(e, ctx.now),
            ],
        )

    return build


def _incomplete(ctx: Context) -> Section:
    return _section(
        "incomplete",
        "Incomplete referrals",
        ("Patient", "Exam", "Received", "Missing"),
        selectors.incomplete_referrals(ctx.filters),
        lambda e: [
            _patient(e),
            _exam_type(e),
            Cell(_local(e.order.received_at, "%a %H:%M"), note=_age(e.order.received_at, ctx.now)),
            Cell(", ".join(requirement_labels(list(e.order.missing)))),
        ],
        limit=10,
        more_url=_url("orders:incomplete"),
        more_label="The incomplete-referral queue",
    )


def _pending_auth(ctx: Context) -> Section:
    labels = dict(AuthStatus.choices)

    def row(e: Any) -> list[Cell]:
        status = getattr(e, "auth_status", None)
        return [
            _patient(e),
            _exam_type(e),
            Cell(str(e.order.payer) if e.order.payer else "No payer"),
            Cell(str(labels.get(status, "Not requested")) if status else "Not requested"),
            Cell(_local(e.last_contact_at, "%a %d %b %H:%M") or "No contact yet"),
        ]

    return _section(
        "pending_auth",
        "Pending authorization",
        ("Patient", "Exam", "Payer", "Authorization", "Last contact"),
        selectors.pending_authorization(ctx.filters),
        row,
    )


def _stat_summary(ctx: Context) -> Section:
    stats = selectors.open_stats(ctx.filters)
    return Section(
        key="stat",
        title="STAT board",
        columns=(),
        count=stats.count(),
        note="Open STAT orders, not begun yet.",
        more_url=reverse("worklists:stat_board"),
        more_label="Open the STAT board",
        empty="",
    )


def _sla_exceptions(ctx: Context) -> Section:
    return _section(
        "sla",
        "Clocks past warning",
        ("Patient", "Exam", "Priority", "State", "Clock", "Owner"),
        selectors.sla_exceptions(ctx.filters, now=ctx.now),
        lambda e: [
            _patient(e),
            _exam_type(e),
            _priority(e),
            _state(e),
            _clock(e, ctx.now),
            Cell(_owner(e.order)),
        ],
    )


def _owner(order: Order) -> str:
    owner = order.owner
    if owner is None:
        return "Nobody"
    return owner.get_full_name() or owner.get_username()


def _expiring(ctx: Context) -> Section:
    def row(a: Authorization) -> list[Cell]:
        exam: Exam = a.order.exam
        return [
            _patient(exam),
            _exam_type(exam),
            _room(exam),
            Cell(f"{a.valid_to:%Y-%m-%d}" if a.valid_to else "", badge="bad"),
        ]

    return _section(
        "expiring",
        "Authorizations ending before the booked date",
        ("Patient", "Exam", "Booked", "Valid until"),
        selectors.expiring_authorization_list(ctx.filters),
        row,
        patient=lambda a: a.order.patient,
    )


def _overrides(ctx: Context) -> Section:
    def row(o: Override) -> list[Cell]:
        return [
            _patient(o.exam),
            _exam_type(o.exam),
            Cell(o.get_stop_display(), note=o.detail),
            Cell(o.reason),
            Cell(o.by.get_username(), note=_local(o.at)),
        ]

    return _section(
        "overrides",
        "Overrides today",
        ("Patient", "Exam", "Hard stop", "Reason", "By"),
        selectors.overrides_on(timezone.localdate(ctx.now), ctx.filters),
        row,
        patient=lambda o: o.exam.order.patient,
    )


def _late(ctx: Context) -> Section:
    return _section(
        "late",
        "Late arrivals",
        ("Patient", "Exam", "Booked", "Late by", ""),
        selectors.late_arrivals(ctx.filters, now=ctx.now),
        lambda e: [
            _patient(e),
            _exam_type(e),
            _room(e),
            Cell(_age(e.scheduled_start, ctx.now), badge="warn"),
            _post("exams:arrive", e.pk, "Arrive"),
        ],
    )


def _rooms_down(ctx: Context) -> Section:
    rooms = selectors.rooms_down_with_bookings(timezone.localdate(ctx.now), ctx.filters)
    shown = list(rooms[:SECTION_LIMIT])

    def row(room: Room) -> list[Cell]:
        return [
            Cell(room.name, url=_url("scheduling:room_detail", room.pk), note=room.code),
            Cell(room.get_status_display(), badge="bad", note=room.status_note),
            Cell(str(room.booked)),  # type: ignore[attr-defined]
        ]

    return Section(
        key="rooms_down",
        title="Rooms out of service with bookings today",
        columns=("Room", "Status", "Booked exams"),
        rows=[row(room) for room in shown],
        count=len(shown),
    )


@page_requires("orders.add_completenessrule")
@require_GET
def coordinator(request: HttpRequest) -> HttpResponse:
    return _render(
        request,
        title="Coordinator work list",
        action="worklist.coordinator",
        filter_fields=("site", "modality", "priority"),
        builders={
            "triage": _triage_section("triage", "To triage"),
            "incomplete": _incomplete,
            "pending_auth": _pending_auth,
            "stat": _stat_summary,
            "sla": _sla_exceptions,
            "expiring": _expiring,
            "overrides": _overrides,
            "late": _late,
            "rooms_down": _rooms_down,
        },
    )


# --- front desk --------------------------------------------------------------------------------


def _arrival_row(ctx: Context, *, late: bool = False) -> Callable[[Exam], list[Cell]]:
    def row(e: Exam) -> list[Cell]:
        overdue = e.scheduled_start is not None and ctx.now - e.scheduled_start >= (
            selectors.LATE_AFTER
        )
        return [
            Cell(_local(e.scheduled_start), badge="warn" if overdue else ""),
            _patient(e),
            _exam_type(e),
            Cell(e.room.name if e.room else ""),
            Cell(_age(e.scheduled_start, ctx.now) if overdue or late else ""),
            Cell("Intake", url=_url("intake:exam", e.pk)),
            _post("exams:arrive", e.pk, "Arrive"),
        ]

    return row


_ARRIVAL_COLUMNS = ("Time", "Patient", "Exam", "Room", "Late by", "", "")


def _expected(ctx: Context) -> Section:
    return _section(
        "expected",
        "Arrivals today",
        _ARRIVAL_COLUMNS,
        selectors.expected_today(ctx.filters, now=ctx.now),
        _arrival_row(ctx),
    )


def _front_late(ctx: Context) -> Section:
    return _section(
        "late",
        "Late (15 minutes past)",
        _ARRIVAL_COLUMNS,
        selectors.late_arrivals(ctx.filters, now=ctx.now),
        _arrival_row(ctx, late=True),
    )


def _no_show(ctx: Context) -> Section:
    return _section(
        "no_show",
        "No-show candidates (30 minutes past)",
        _ARRIVAL_COLUMNS,
        selectors.no_show_candidates(ctx.filters, now=ctx.now),
        _arrival_row(ctx, late=True),
        note="Still booked half an hour after the start: call the patient or mark a no-show.",
    )


def _waiting(ctx: Context) -> Section:
    return _section(
        "waiting",
        "Arrived and waiting",
        ("Arrived", "Patient", "Exam", "Room", "Waiting", ""),
        selectors.waiting(ctx.filters),
        lambda e: [
            Cell(_local(e.arrived_at)),
            _patient(e),
            _exam_type(e),
            _room(e),
            Cell(_age(e.arrived_at, ctx.now)),
            Cell("Intake", url=_url("intake:exam", e.pk)),
        ],
    )


@page_requires("exams.arrive_exam")
@require_GET
def front_desk(request: HttpRequest) -> HttpResponse:
    return _render(
        request,
        title="Front desk",
        action="worklist.front_desk",
        filter_fields=("site", "modality"),
        builders={
            "expected": _expected,
            "late": _front_late,
            "no_show": _no_show,
            "waiting": _waiting,
        },
    )


# --- sonographer / technologist ----------------------------------------------------------------


def _readiness(exam: Exam, now: datetime) -> Cell:
    """✓ ready, or what intake still lacks (identity, screening, consent, prep ...)."""
    stops = exam_hard_stops(exam, on=timezone.localdate(now))
    if not stops:
        return Cell("✓ ready", badge="ok")
    return Cell(f"{len(stops)} to do", badge="warn", note=" ".join(stop.detail for stop in stops))


def _my_row(ctx: Context) -> Callable[[Exam], list[Cell]]:
    def row(e: Exam) -> list[Cell]:
        prep = e.order.exam_type.prep_instructions.strip()
        return [
            Cell(_local(e.scheduled_start)),
            _patient(e),
            _exam_type(e),
            Cell(e.room.name if e.room else ""),
            _state(e),
            Cell(prep or "None", note=e.order.instructions),
            _readiness(e, ctx.now),
        ]

    return row


_MY_COLUMNS = ("Time", "Patient", "Exam", "Room", "State", "Preparation", "Intake")


def _my_sections(staff: StaffMember | None) -> dict[str, SectionBuilder]:
    def mine(ctx: Context) -> Section:
        if staff is None:
            return Section("mine", "My exams today", _MY_COLUMNS)
        return _section(
            "mine",
            "My exams today",
            _MY_COLUMNS,
            selectors.my_exams_today(staff, now=ctx.now),
            _my_row(ctx),
            limit=MY_EXAMS_LIMIT,
        )

    def unassigned(ctx: Context) -> Section:
        if staff is None:
            return Section("unassigned", "Unassigned in my modalities", _MY_COLUMNS)
        return _section(
            "unassigned",
            "Unassigned in my modalities",
            _MY_COLUMNS,
            selectors.unassigned_today(staff, now=ctx.now),
            _my_row(ctx),
            limit=MY_EXAMS_LIMIT,
        )

    return {"mine": mine, "unassigned": unassigned}


@page_requires("exams.perform_exam")
@require_GET
def my_exams(request: HttpRequest) -> HttpResponse:
    staff = selectors.staff_member_for(request.user)
    intro = (
        ""
        if staff is not None
        else "Your account is not linked to a staff member, so no exams are assigned to you."
    )
    return _render(
        request,
        title="My exams today",
        action="worklist.my_exams",
        builders=_my_sections(staff),
        intro=intro,
    )


# --- radiologist -------------------------------------------------------------------------------


def _radiologist_sections(staff: StaffMember | None) -> dict[str, SectionBuilder]:
    def report(ctx: Context) -> Section:
        return _section(
            "report",
            "To report",
            ("Patient", "Exam", "Priority", "Completed", "Waiting"),
            selectors.to_report(ctx.filters),
            lambda e: [
                _patient(e),
                _exam_type(e),
                _priority(e),
                Cell(_local(e.completed_at, "%a %H:%M")),
                Cell(_age(e.completed_at, ctx.now)),
            ],
        )

    def sign(key: str, title: str, mine: bool) -> SectionBuilder:
        def build(ctx: Context) -> Section:
            return _section(
                key,
                title,
                ("Patient", "Exam", "Reported", "By", "Waiting"),
                selectors.to_sign(ctx.filters, staff=staff, mine=mine),
                lambda e: [
                    _patient(e),
                    _exam_type(e),
                    Cell(_local(e.reported_at, "%a %H:%M")),
                    Cell(str(e.radiologist) if e.radiologist else ""),
                    Cell(_age(e.reported_at, ctx.now)),
                ],
            )

        return build

    return {
        "protocol": _triage_section("protocol", "To protocol"),
        "report": report,
        "sign_mine": sign("sign_mine", "To sign: mine", True),
        "sign_others": sign("sign_others", "To sign: everyone else's", False),
    }


@page_requires("exams.report_exam")
@require_GET
def radiologist(request: HttpRequest) -> HttpResponse:
    return _render(
        request,
        title="Radiologist work list",
        action="worklist.radiologist",
        filter_fields=("site", "modality", "priority"),
        builders=_radiologist_sections(selectors.staff_member_for(request.user)),
    )


# --- billing -----------------------------------------------------------------------------------


def _to_bill(ctx: Context) -> Section:
    def row(e: Exam) -> list[Cell]:
        codes = ", ".join(c.code for c in e.order.exam_type.procedure_codes.all())
        return [
            _patient(e),
            _exam_type(e),
            Cell(str(e.order.payer) if e.order.payer else "Self-pay / none"),
            Cell(codes or "No code", badge="" if codes else "bad"),
            Cell(_local(e.signed_at, "%Y-%m-%d"), note=_age(e.signed_at, ctx.now)),
            _post("exams:bill", e.pk, "Bill"),
        ]

    return _section(
        "to_bill",
        "Signed, not billed",
        ("Patient", "Exam", "Payer", "Codes", "Signed", ""),
        selectors.signed_not_billed(ctx.filters),
        row,
    )


@page_requires("exams.bill_exam")
@require_GET
def billing(request: HttpRequest) -> HttpResponse:
    return _render(
        request,
        title="Billing work list",
        action="worklist.billing",
        filter_fields=("site", "modality"),
        builders={"to_bill": _to_bill},
    )


# --- STAT board --------------------------------------------------------------------------------


def _board_row(ctx: Context) -> Callable[[Exam], list[Cell]]:
    can_claim = ctx.request.user.has_perm("orders.change_order")

    def row(e: Exam) -> list[Cell]:
        owner = _owner(e.order)
        claim = (
            Cell("Take ownership", post=reverse("worklists:stat_claim", args=[e.order_id]))
            if can_claim and e.order.owner_id != ctx.request.user.pk
            else Cell()
        )
        return [
            _patient(e),
            _exam_type(e),
            Cell(_local(e.order.received_at, "%a %H:%M")),
            _clock(e, ctx.now),
            _state(e),
            Cell(owner, badge="" if e.order.owner_id else "warn"),
            claim,
        ]

    return row


_BOARD_COLUMNS = ("Patient", "Exam", "Received", "Time left", "State", "Owner", "")


def _stat_board(ctx: Context) -> Section:
    return _section(
        "stat",
        "Open STAT orders",
        _BOARD_COLUMNS,
        selectors.open_stats(ctx.filters),
        _board_row(ctx),
        empty="No open STAT orders.",
    )


def _urgent_board(ctx: Context) -> Section:
    return _section(
        "urgent",
        "Urgent orders near breach",
        _BOARD_COLUMNS,
        selectors.urgent_near_breach(ctx.filters, now=ctx.now),
        _board_row(ctx),
        empty="No urgent order is past its warning point.",
    )


@page_requires("orders.view_order")
@require_GET
def stat_board(request: HttpRequest) -> HttpResponse:
    return _render(
        request,
        title="STAT board",
        action="worklist.stat_board",
        filter_fields=("site", "modality"),
        refresh=STAT_REFRESH_SECONDS,
        builders={"stat": _stat_board, "urgent": _urgent_board},
        intro="Every STAT not yet begun, with the time left before its clock breaches.",
    )


@page_requires("orders.change_order")
@require_POST
def stat_claim(request: HttpRequest, pk: UUID) -> HttpResponse:
    order = get_object_or_404(Order, pk=pk)
    order_assign_owner(order=order, by=request.user, owner=request.user)
    exam = getattr(order, "exam", None)
    messages.success(request, f"You own {exam.accession_number if exam else 'the order'} now.")
    return redirect("worklists:stat_board")
