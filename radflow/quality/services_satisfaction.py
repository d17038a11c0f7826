"""Importing the survey vendor's CSV of patient satisfaction results: all rows or none.

Duplicates are detected two ways: a response id repeated inside the file is an error; one already
imported is an error too, unless the person importing asks to skip those (vendors' exports often
overlap the previous month's), in which case they are counted as skipped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from radflow.core.errors import ValidationFailed
from radflow.exams.models import Exam
from radflow.quality.models import SatisfactionImport, SatisfactionResponse
from radflow.quality.services import user_or_none
from radflow.quality.survey_csv import SurveyErrors, SurveyRow, capped, decode, parse
from radflow.scheduling.models import Modality, Site

MAX_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class ImportResult:
    batch: SatisfactionImport
    imported: int
    skipped: int


def _fail(messages: list[str]) -> ValidationFailed:
    return ValidationFailed({"file": capped(messages)}, message="The file was not imported.")


def _check_references(rows: list[SurveyRow]) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """Sites, modalities and exams the rows name; messages for those that do not exist."""
    sites = {s.code.upper(): s.pk for s in Site.objects.all()}
    modalities = {m.code.upper(): m.code for m in Modality.objects.all()}
    accessions = {r.accession_number for r in rows if r.accession_number}
    exams = dict(
        Exam.objects.filter(accession_number__in=accessions).values_list("accession_number", "pk")
    )
    messages: list[str] = []
    for row in rows:
        if row.site and row.site not in sites:
            messages.append(f"Row {row.line}: site “{row.site}” is not a RadFlow site code.")
        if row.modality and row.modality not in modalities:
            messages.append(f"Row {row.line}: modality “{row.modality}” is not a modality code.")
        if row.accession_number and row.accession_number not in exams:
            messages.append(f"Row {row.line}: no exam has accession number {row.accession_number}.")
    return {"sites": sites, "exams": exams}, modalities, messages


@transaction.atomic
def satisfaction_import(
    *, by: Any, filename: str, content: bytes, skip_known: bool = False
) -> ImportResult:
    if len(content) > MAX_BYTES:
        raise _fail(["The file is larger than 5 MB; split it."])
    today = timezone.localdate()
    try:
        rows = parse(decode(content), today=today)
    except SurveyErrors as exc:
        raise _fail(exc.messages) from exc
    lookups, modalities, messages = _check_references(rows)
    known = {
        response_id: (batch_name, imported_at)
        for response_id, batch_name, imported_at in SatisfactionResponse.objects.filter(
            response_id__in=[r.response_id for r in rows]
        ).values_list("response_id", "batch__filename", "batch__imported_at")
    }
    if known and not skip_known:
        for row in rows:
            if row.response_id in known:
                name, at = known[row.response_id]
                messages.append(
                    f"Row {row.line}: response {row.response_id} was already imported "
                    f"({name}, {timezone.localtime(at):%Y-%m-%d}). Tick “skip responses already "
                    "imported” to import the rest."
                )
    if messages:
        raise _fail(messages)
    fresh = [r for r in rows if r.response_id not in known]
    batch = SatisfactionImport.objects.create(
        filename=filename[:200],
        sha256=hashlib.sha256(content).hexdigest(),
        imported_at=timezone.now(),
        by=user_or_none(by),
        rows_imported=len(fresh),
        rows_skipped=len(rows) - len(fresh),
    )
    new = [
        SatisfactionResponse(
            response_id=r.response_id,
            survey_date=r.survey_date,
            site_id=lookups["sites"].get(r.site) if r.site else None,
            modality_id=modalities.get(r.modality) if r.modality else None,
            exam_id=lookups["exams"].get(r.accession_number) if r.accession_number else None,
            overall=r.overall,
            recommend=r.recommend,
            wait_time=r.wait_time,
            staff_courtesy=r.staff_courtesy,
            explanation=r.explanation,
            comment=r.comment,
            batch=batch,
        )
        for r in fresh
    ]
    try:
        with transaction.atomic():
            SatisfactionResponse.objects.bulk_create(new, batch_size=1000)
    except IntegrityError as exc:
        # Another import committed some of these response ids after we looked.
        raise _fail(["Another import added some of these responses just now; try again."]) from exc
    return ImportResult(batch=batch, imported=len(fresh), skipped=len(rows) - len(fresh))
