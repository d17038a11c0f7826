"""Reads of the waitlist: the list page, and who fits a freed slot, best first.

``candidates_for_slot`` answers "who could take Room 3 from 10:30 to 11:00": open entries whose
exam needs the room's modality and capabilities and fits in the time, ranked by priority, then
days on the waitlist, then fit (the fewest minutes left over), each with a sentence saying why it
ranks where it does. The board asks the same question for every freed slot of a day, so the
ranking is split from the loading: ``open_entries`` once, ``rank_candidates`` per slot.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from radflow.audit.services import AccessSource, access_record
from radflow.catalog.models import ExamType
from radflow.core.errors import NotFound
from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.orders.models import PRIORITY_RANK, Priority
from radflow.patients.models import Patient
from radflow.scheduling.models import Room, RoomCapability
from radflow.waitlist.models import OPEN_STATUSES, WaitlistEntry, WaitlistStatus

Reader = AbstractBaseUser | AnonymousUser | None

ENTRY_RELATED = (
    "order",
    "order__patient",
    "order__exam_type",
    "order__exam_type__modality",
    "order__exam",
    "order__exam__room",
    "preferred_site",
)
#: Exams that may take a freed slot: not booked yet, or booked later than the slot.
CANDIDATE_STATES = (
    ExamState.TRIAGED,
    ExamState.PENDING_AUTH,
    ExamState.AUTHORIZED,
    ExamState.SCHEDULED,
)


def _entries() -> QuerySet[WaitlistEntry]:
    return WaitlistEntry.objects.select_related(*ENTRY_RELATED).prefetch_related(
        Prefetch(
            "order__exam_type__required_capabilities",
            queryset=RoomCapability.objects.only("code"),
        )
    )


def waitlist_rows(*, status: str = "", q: str = "") -> QuerySet[WaitlistEntry]:
    """The list page: open entries by default, most urgent and longest waiting first."""
    rows = _entries()
    rows = rows.filter(status=status) if status else rows.filter(status__in=OPEN_STATUSES)
    if q.strip():
        term = q.strip()
        rows = rows.filter(
            Q(order__exam__accession_number__iexact=term)
            | Q(order__patient__mrn__iexact=term)
            | Q(order__patient__family_name__istartswith=term)
        )
    return _by_urgency(rows)


def _by_urgency(rows: QuerySet[WaitlistEntry]) -> QuerySet[WaitlistEntry]:
    rank = Case(
        *(When(priority=p, then=Value(r)) for p, r in PRIORITY_RANK.items()),
        default=Value(9),
        output_field=IntegerField(),
    )
    return rows.annotate(urgency=rank).order_by("urgency", "added_at")


@transaction.atomic
def waitlist_page_audited(
    *, user: Reader, entries: Sequence[WaitlistEntry], action: str, source: AccessSource
) -> list[WaitlistEntry]:
    """Log one read per patient the page shows, in the same transaction as the read."""
    shown = list(entries)
    access_record(
        user=user, patients=[e.order.patient for e in shown], action=action, source=source
    )
    return shown


def entry_get(*, entry_id: UUID) -> WaitlistEntry:
    entry = _entries().filter(pk=entry_id).first()
    if entry is None:
        raise NotFound(f"No waitlist entry with id {entry_id}.", field="id")
    return entry


def open_entries() -> list[WaitlistEntry]:
    """Every entry still waiting (what the board ranks freed slots against): three queries."""
    return list(
        _entries().filter(
            status=WaitlistStatus.ACTIVE, order__exam__state__in=list(CANDIDATE_STATES)
        )
    )


@dataclass(frozen=True)
class Candidate:
    entry: WaitlistEntry
    exam: Exam
    patient: Patient
    exam_type: ExamType
    duration: int
    leftover: int
    days_waiting: int
    rank: int
    reason: str


def _duration(entry: WaitlistEntry) -> int:
    order = entry.order
    return int(order.exam_type.duration_for(order.patient_class))


def _fits(
    entry: WaitlistEntry, room: Room, capabilities: frozenset[str], start: datetime, minutes: int
) -> bool:
    order = entry.order
    exam: Exam = order.exam
    if order.exam_type.modality_id != room.modality_id:
        return False
    needed = {c.code for c in order.exam_type.required_capabilities.all()}
    if not needed <= capabilities:
        return False
    if entry.preferred_site_id is not None and entry.preferred_site_id != room.site_id:
        return False
    if exam.state == ExamState.SCHEDULED and (
        exam.scheduled_start is None or exam.scheduled_start <= start
    ):
        return False  # already booked at least as early: this slot is no improvement
    return _duration(entry) <= minutes


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _reason(entry: WaitlistEntry, days: int, duration: int, leftover: int, start: datetime) -> str:
    parts = [
        Priority(entry.priority).label,
        f"{_plural(days, 'day')} on the waitlist",
        f"{duration}-min exam, "
        + ("fills the slot exactly" if leftover == 0 else f"{leftover} min left over"),
    ]
    exam: Exam = entry.order.exam
    if exam.scheduled_start is not None:
        booked = timezone.localtime(exam.scheduled_start)
        later = (booked.date() - timezone.localtime(start).date()).days
        parts.append(
            f"booked {booked:%d %b %H:%M}"
            + (f", {_plural(later, 'day')} later" if later >= 1 else ", later that day")
        )
    if entry.wanted_before is not None:
        parts.append(f"wants it before {entry.wanted_before:%d %b}")
    if entry.preferred_times:
        parts.append(f"prefers {entry.preferred_times}")
    return " · ".join(parts)


def rank_candidates(
    entries: Iterable[WaitlistEntry],
    *,
    room: Room,
    capabilities: Iterable[str],
    start: datetime,
    end: datetime,
    now: datetime | None = None,
) -> list[Candidate]:
    """The entries that fit ``room`` from ``start`` to ``end``, best first, with the reason."""
    now = now or timezone.now()
    minutes = int((end - start).total_seconds() // 60)
    caps = frozenset(capabilities)
    fitting = [e for e in entries if _fits(e, room, caps, start, minutes)]

    def key(entry: WaitlistEntry) -> tuple[int, int, int, datetime]:
        days = (now - entry.added_at).days
        return (
            PRIORITY_RANK.get(Priority(entry.priority), 9),
            -days,
            minutes - _duration(entry),
            entry.added_at,
        )

    result = []
    for rank, entry in enumerate(sorted(fitting, key=key), start=1):
        days = max(0, (now - entry.added_at).days)
        duration = _duration(entry)
        result.append(
            Candidate(
                entry=entry,
                exam=entry.order.exam,
                patient=entry.order.patient,
                exam_type=entry.order.exam_type,
                duration=duration,
                leftover=minutes - duration,
                days_waiting=days,
                rank=rank,
                reason=_reason(entry, days, duration, minutes - duration, start),
            )
        )
    return result


def candidates_for_slot(*, room: Room, start: datetime, end: datetime) -> list[Candidate]:
    """Open waitlist entries that fit ``room`` between ``start`` and ``end``, ranked."""
    capabilities = room.capabilities.values_list("code", flat=True)
    return rank_candidates(
        open_entries(), room=room, capabilities=list(capabilities), start=start, end=end
    )


def candidates_audited(
    *, user: Reader, candidates: Sequence[Candidate], action: str, source: AccessSource
) -> list[Candidate]:
    access_record(user=user, patients=[c.patient for c in candidates], action=action, source=source)
    return list(candidates)


def open_entry_for_order(order_id: Any) -> WaitlistEntry | None:
    return WaitlistEntry.objects.filter(order_id=order_id, status__in=OPEN_STATUSES).first()
