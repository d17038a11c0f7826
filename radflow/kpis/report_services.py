"""Writes of the monthly report pack: build a version, write the commentary, publish, schedule.

A build is not one transaction on purpose (like a day plan's solve): computing and printing a
pack takes seconds, and a write transaction held that long would block every other writer on
SQLite. The claim, the progress notes and the result are each their own short transaction; the
claim makes sure a version is built once. Publishing prints outside its transaction too, then
stores the files only if the version is still the draft it printed.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from radflow.core.errors import Conflict, PermissionDenied, ValidationFailed
from radflow.kpis.report_data import (
    exam_rows,
    month_start,
    next_month,
    pack_data,
    previous_month,
)
from radflow.kpis.report_models import (
    BUILDING_STATUSES,
    COMMENTARY_FIELDS,
    FileKind,
    PackStatus,
    PackTrigger,
    ReportPack,
    ReportPackFile,
    ReportPackVersion,
)
from radflow.kpis.report_pdf import Edition, pack_pdf
from radflow.kpis.report_xlsx import pack_xlsx
from radflow.scheduling.models import Department

logger = logging.getLogger("radflow.kpis.report")

BUILD_PERMISSION = "kpis.build_report_pack"
PUBLISH_PERMISSION = "kpis.publish_report_pack"
#: A build still queued or building this long after it started belongs to a process that ended.
STUCK_AFTER = timedelta(minutes=30)


def _require(by: Any, permission: str, message: str) -> None:
    """A person needs the right; ``by=None`` is the system (the schedule, the command)."""
    if by is not None and not by.has_perm(permission):
        raise PermissionDenied(message)


def schedule_hour() -> int:
    """Local hour of the 1st after which last month's packs are built (after the KPI nightly
    catch-up, ``KPI_NIGHTLY_HOUR``, has rebuilt the month's last days)."""
    return int(getattr(settings, "REPORT_PACK_HOUR", 4))


def _person(user: Any) -> str:
    if user is None:
        return ""
    return str(user.get_full_name() or user.get_username())


def _builder(version: ReportPackVersion) -> str:
    person = _person(version.built_by)
    return person or f"the {version.get_trigger_display().lower()}"


def _stamp(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _draft_edition(version: ReportPackVersion) -> Edition:
    """What a draft's files print about their version."""
    return Edition(
        number=version.number,
        published=False,
        built_at=_stamp(version.started_at or version.created_at),
        built_by=_builder(version),
    )


# --- build ----------------------------------------------------------------------------------------


def _pack_for(month: date, department: Department | None) -> ReportPack:
    pack, _ = ReportPack.objects.get_or_create(month=month, department=department)
    return ReportPack.objects.select_for_update().get(pk=pack.pk)


@transaction.atomic
def report_pack_build_start(
    *,
    month: date,
    department: Department | None,
    by: Any,
    trigger: PackTrigger = PackTrigger.PAGE,
    run: bool = True,
) -> ReportPackVersion:
    """Queue a new version of the pack of ``month`` for ``department`` (None: every site); the
    runner builds it once this transaction commits (``run=False``: the caller builds it)."""
    _require(by, BUILD_PERMISSION, "Your role may not build report packs.")
    month = month_start(month)
    if month > month_start(timezone.localdate()):
        raise ValidationFailed({"month": ["That month has not started yet."]})
    pack = _pack_for(month, department)
    running = pack.versions.filter(status__in=BUILDING_STATUSES).first()
    if running is not None:
        raise ValidationFailed(
            {"month": [f"Version {running.number} of this pack is still being built."]}
        )
    number = (pack.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = ReportPackVersion.objects.create(
        pack=pack,
        number=number,
        trigger=trigger,
        built_by=by,
        commentary=pack.commentary(),
        step="Waiting to start",
    )
    if run:
        version_id = version.pk
        transaction.on_commit(lambda: _submit(version_id))
    logger.info("report pack %s version %s queued (%s)", pack.pk, number, trigger)
    return version


def _submit(version_id: UUID) -> None:
    from radflow.kpis import report_runner

    report_runner.submit(version_id)


def _note(version_id: UUID, percent: int, step: str) -> None:
    ReportPackVersion.objects.filter(pk=version_id, status=PackStatus.BUILDING).update(
        progress=percent, step=step[:80], updated_at=timezone.now()
    )


def _file(version: ReportPackVersion, kind: FileKind, content: bytes) -> None:
    ReportPackFile.objects.update_or_create(
        version=version,
        kind=kind,
        defaults={
            "content": content,
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
        },
    )


def report_pack_build_execute(
    *, version_id: UUID, now: datetime | None = None
) -> ReportPackVersion:
    """Build one queued version: compute and freeze its numbers, print its PDF and workbook."""
    with transaction.atomic():
        version = (
            ReportPackVersion.objects.select_for_update(of=("self",))
            .select_related("pack__department__site", "built_by")
            .get(pk=version_id)
        )
        if version.status != PackStatus.QUEUED:
            return version
        version.status = PackStatus.BUILDING
        version.started_at = timezone.now()
        version.progress = 1
        version.step = "Starting"
        version.save(update_fields=["status", "started_at", "progress", "step", "updated_at"])
    pack = version.pack
    started = time.monotonic()
    try:
        data = pack_data(
            month=pack.month,
            department=pack.department,
            now=now,
            progress=lambda percent, step: _note(version.pk, percent, step),
        )
        edition = _draft_edition(version)
        _note(version.pk, 70, "Drawing the charts and printing the PDF")
        pdf = pack_pdf(data, version.commentary, edition)
        _note(version.pk, 85, "Writing the workbook")
        workbook = pack_xlsx(data, edition, exam_rows(month=pack.month, department=pack.department))
        _note(version.pk, 97, "Storing the files")
        with transaction.atomic():
            _file(version, FileKind.PDF, pdf)
            _file(version, FileKind.XLSX, workbook)
            ReportPackVersion.objects.filter(pk=version.pk, status=PackStatus.BUILDING).update(
                status=PackStatus.DRAFT,
                data=data,
                progress=100,
                step="Built",
                finished_at=timezone.now(),
                build_seconds=round(time.monotonic() - started, 2),
                updated_at=timezone.now(),
            )
    except Exception as exc:
        logger.exception("report pack version %s failed", version.pk)
        ReportPackVersion.objects.filter(pk=version.pk).update(
            status=PackStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            step="Failed",
            finished_at=timezone.now(),
            build_seconds=round(time.monotonic() - started, 2),
            updated_at=timezone.now(),
        )
    version.refresh_from_db()
    return version


def report_pack_build_next(*, trigger: PackTrigger | None = None) -> ReportPackVersion | None:
    """Build the oldest queued version (of ``trigger`` only, if given); None if none waits."""
    queued = ReportPackVersion.objects.filter(status=PackStatus.QUEUED)
    if trigger is not None:
        queued = queued.filter(trigger=trigger)
    version = queued.order_by("created_at").first()
    if version is None:
        return None
    return report_pack_build_execute(version_id=version.pk)


def report_packs_fail_stuck(*, now: datetime | None = None) -> int:
    """Builds still queued or building long after they started (their process ended) fail."""
    moment = now or timezone.now()
    cutoff = moment - STUCK_AFTER
    stuck = ReportPackVersion.objects.filter(status__in=BUILDING_STATUSES).filter(
        Q(started_at__lt=cutoff) | Q(started_at__isnull=True, created_at__lt=cutoff)
    )
    return stuck.update(
        status=PackStatus.FAILED,
        error="The build stopped without a result (the process building it ended).",
        step="Failed",
        finished_at=moment,
        updated_at=moment,
    )


# --- commentary and publishing ------------------------------------------------------------------


@transaction.atomic
def report_pack_commentary_save(*, pack: ReportPack, by: Any, **commentary: str) -> ReportPack:
    """Save the commentary the next publication will print."""
    _require(by, PUBLISH_PERMISSION, "Your role may not write the report's commentary.")
    unknown = set(commentary) - set(COMMENTARY_FIELDS)
    if unknown:
        raise ValidationFailed({"__all__": [f"No commentary section {sorted(unknown)[0]}."]})
    pack = ReportPack.objects.select_for_update().get(pk=pack.pk)
    for name in COMMENTARY_FIELDS:
        if name in commentary:
            setattr(pack, name, (commentary[name] or "").strip())
    pack.commentary_by = by
    pack.commentary_at = timezone.now()
    pack.save(update_fields=[*COMMENTARY_FIELDS, "commentary_by", "commentary_at", "updated_at"])
    return pack


def report_pack_publish(*, version: ReportPackVersion, by: Any) -> ReportPackVersion:
    """Publish a built draft with the pack's commentary: its PDF is printed once more (the same
    frozen numbers, the final commentary, no draft mark); its files never change again."""
    _require(by, PUBLISH_PERMISSION, "Your role may not publish report packs.")
    version = ReportPackVersion.objects.select_related("pack", "built_by").get(pk=version.pk)
    if version.status != PackStatus.DRAFT:
        state = version.get_status_display().lower()
        message = f"Version {version.number} is {state}; only a built draft can be published."
        raise ValidationFailed({"version": [message]})
    commentary = version.pack.commentary()
    if not commentary["summary"]:
        raise ValidationFailed({"summary": ["Write the summary before publishing."]})
    published_at = timezone.now()
    edition = Edition(
        number=version.number,
        published=True,
        built_at=_stamp(version.started_at or version.created_at),
        built_by=_builder(version),
        published_at=_stamp(published_at),
        published_by=_person(by) or "RadFlow",
    )
    pdf = pack_pdf(version.data, commentary, edition)
    with transaction.atomic():
        locked = ReportPackVersion.objects.select_for_update().get(pk=version.pk)
        if locked.status != PackStatus.DRAFT:
            raise Conflict(f"Version {locked.number} was published meanwhile.")
        if ReportPack.objects.get(pk=version.pack_id).commentary() != commentary:
            raise Conflict("The commentary changed while the pack was printed; publish again.")
        _file(locked, FileKind.PDF, pdf)
        locked.status = PackStatus.PUBLISHED
        locked.commentary = commentary
        locked.published_by = by
        locked.published_at = published_at
        locked.save(
            update_fields=["status", "commentary", "published_by", "published_at", "updated_at"]
        )
    logger.info("report pack version %s published", version.pk)
    return locked


# --- the schedule --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scheduled:
    month: date
    queued: list[ReportPackVersion]


def scheduled_scopes() -> list[Department | None]:
    """Every site together, and each department apart when there are several."""
    departments = list(Department.objects.select_related("site").order_by("site__code", "name"))
    return [None, *departments] if len(departments) > 1 else [None]


def _has_activity(month: date, department: Department | None) -> bool:
    """Whether the rollups hold anything for the month and scope (no empty pack for the months
    before a department went live)."""
    from radflow.kpis.models import KpiDailySite

    rows = KpiDailySite.objects.filter(day__gte=month, day__lt=next_month(month))
    if department is not None:
        rows = rows.filter(site=department.site_id)
    return rows.exists()


def report_packs_schedule(*, now: datetime | None = None) -> Scheduled:
    """From the 1st at ``schedule_hour()``: queue last month's packs that no schedule has
    built yet (once per pack; a worker down on the 1st catches up on its next run). A scope
    with no activity that month gets no pack."""
    local = timezone.localtime(now or timezone.now())
    month = previous_month(local.date())
    if local.day == 1 and local.hour < schedule_hour():
        return Scheduled(month=month, queued=[])
    queued = []
    for department in scheduled_scopes():
        if not _has_activity(month, department):
            continue
        try:
            with transaction.atomic():
                pack = _pack_for(month, department)
                if pack.versions.filter(trigger=PackTrigger.SCHEDULE).exists():
                    continue
                queued.append(
                    report_pack_build_start(
                        month=month,
                        department=department,
                        by=None,
                        trigger=PackTrigger.SCHEDULE,
                        run=False,
                    )
                )
        except ValidationFailed:
            continue  # someone is building it from the page right now; the next run retries
    return Scheduled(month=month, queued=queued)
