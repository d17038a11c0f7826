"""Intake writes: identity, screening, consent, prep and interpreter for one exam.

Each function is one transaction: it checks the intake permission, locks the exam and refuses
unless it is ``scheduled`` or ``arrived`` (intake happens at arrival; once the exam has begun the
hard stops have been settled and the record is closed). Every refused call raises a
``RadflowError`` before anything is written. The hard-stop check (``intake.selectors``) reads only
the rows written here, so the front desk tablet and the sonographer's screen see the same answer.

Rules kept deliberately simple (and listed here so the department can read them):

- Identity: two identifiers, compared with the patient record: names without regard to case,
  accents or extra spaces; birth date and MRN exactly. A mismatch stores nothing and says which
  identifier did not match.
- Screening: one answer per item per exam (a new answer replaces the old). Pregnancy answered
  "yes" or "possibly" needs the LMP date. eGFR needs the value and the lab date (not in the
  future); on a contrast exam an eGFR older than the exam type's window (30 days unless the
  contrast settings say otherwise) is recorded as failed (a fresh lab is needed), and one below
  the minimum (30) is recorded as failed unless the user chose "flagged" and wrote a note (for
  example the radiologist's low-dose plan). The value is kept for the patient as well
  (``contrast.EgfrResult``), where the contrast screen of this and later exams reads it.
- Consent: one per exam. Signed on screen needs the drawn signature (an SVG path, at most 200 kB);
  typed needs a witness.
- Prep: a "not followed" answer needs a note saying what was not followed. Fall risk and
  isolation precautions are asked for every exam but are not hard stops: they are stored as
  screening answers when the catalog has ``fall-risk`` / ``isolation`` items, otherwise written at
  the start of the prep note.
- Interpreter: the interpreter's ID is required.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from radflow.catalog.models import ScreeningItem
from radflow.core.errors import Conflict, PermissionDenied, ValidationFailed
from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.intake.models import (
    Consent,
    ConsentMethod,
    IdentityCheck,
    IdentityMethod,
    InterpreterLog,
    PrepCheck,
    ScreeningAnswer,
    ScreeningResult,
)

#: Every intake write needs this permission (coordinator, scheduler, technologist, admin).
INTAKE_PERMISSION = "intake.add_identitycheck"

#: Intake is recorded while the patient is booked or waiting; not before, not after beginning.
INTAKE_STATES = (ExamState.SCHEDULED, ExamState.ARRIVED)

#: A drawn signature is a list of short strokes; anything bigger is not a signature.
SIGNATURE_MAX_CHARS = 200_000
#: Only SVG path commands and numbers: the path is drawn back into the page.
_SVG_PATH = re.compile(r"^[MmLl][MmLlHhVvCcSsQqZz0-9eE.,\-\s]*$")

#: eGFR rules for contrast exams (ACR Manual on Contrast Media uses 30 mL/min/1.73 m² as the line).
EGFR_MAX_AGE_DAYS = 30
EGFR_CONTRAST_MIN = Decimal(30)

#: Answers that mean the patient is or may be pregnant.
PREGNANCY_POSITIVE = frozenset({"yes", "possibly", "unsure", "unknown"})

#: Always-asked safety questions that are not hard stops, with the catalog item codes to use.
GENERAL_ITEMS = {"fall_risk": "fall-risk", "isolation": "isolation"}

INTERPRETER_MODES = ("in_person", "phone", "video")


# --- checks shared by every write -----------------------------------------------------------


def _open(exam: Exam, by: Any) -> Exam:
    """Check the permission, lock the exam and make sure intake is open for it."""
    if by is None or not by.has_perm(INTAKE_PERMISSION):
        raise PermissionDenied("Your role does not allow recording intake.")
    locked = (
        Exam.objects.select_for_update()
        .select_related("order", "order__patient", "order__exam_type")
        .get(pk=exam.pk)
    )
    if locked.state not in INTAKE_STATES:
        raise Conflict(
            "Intake is recorded while the exam is scheduled or arrived; this exam is "
            f"{locked.get_state_display().lower()}.",
            field="exam",
            code="intake_closed",
        )
    return locked


def _fold(text: str) -> str:
    """A name as intake compares it: no accents, no case, single spaces, no punctuation."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = re.sub(r"[\s\-'.\u2019]+", " ", plain)
    return plain.casefold().strip()


# --- identity -----------------------------------------------------------------------------


#: Which identifiers each method asks for.
_METHOD_NEEDS = {
    IdentityMethod.NAME_BIRTH_DATE: ("name", "birth_date"),
    IdentityMethod.NAME_MRN: ("name", "mrn"),
    IdentityMethod.MRN_BIRTH_DATE: ("mrn", "birth_date"),
}


@transaction.atomic
def identity_confirm(
    *,
    exam: Exam,
    by: Any,
    method: str,
    family_name: str = "",
    given_name: str = "",
    birth_date: date | None = None,
    mrn: str = "",
) -> IdentityCheck:
    """Confirm the patient in front of us is the exam's patient, with two identifiers."""
    exam = _open(exam, by)
    if method not in IdentityMethod.values:
        raise ValidationFailed({"method": ["Choose how identity was confirmed."]})
    needs = _METHOD_NEEDS[IdentityMethod(method)]
    patient = exam.order.patient
    missing: dict[str, list[str]] = {}
    if "name" in needs:
        if not family_name.strip():
            missing["family_name"] = ["Enter the family name the patient gives."]
        if not given_name.strip():
            missing["given_name"] = ["Enter the given name the patient gives."]
    if "birth_date" in needs and birth_date is None:
        missing["birth_date"] = ["Enter the birth date the patient gives."]
    if "mrn" in needs and not mrn.strip():
        missing["mrn"] = ["Enter the MRN from the wristband or card."]
    if missing:
        raise ValidationFailed(missing)
    mismatch: dict[str, list[str]] = {}
    if "name" in needs:
        given_on_record = {
            _fold(patient.given_name),
            _fold(f"{patient.given_name} {patient.middle_name}"),
        }
        if _fold(family_name) != _fold(patient.family_name):
            mismatch["family_name"] = ["The family name does not match the patient's record."]
        if _fold(given_name) not in given_on_record:
            mismatch["given_name"] = ["The given name does not match the patient's record."]
    if "birth_date" in needs and birth_date != patient.birth_date:
        mismatch["birth_date"] = ["The birth date does not match the patient's record."]
    if "mrn" in needs and mrn.strip() != patient.mrn:
        mismatch["mrn"] = ["The MRN does not match the patient's record."]
    if mismatch:
        raise ValidationFailed(mismatch, message="Identity does not match: stop and re-check.")
    check, _ = IdentityCheck.objects.update_or_create(
        exam=exam, defaults={"method": method, "at": timezone.now(), "by": by}
    )
    return check


# --- screening ----------------------------------------------------------------------------


def egfr_problem(
    *,
    contrast: bool,
    value_number: Decimal | None,
    value_date: date | None,
    today: date,
    max_age_days: int = EGFR_MAX_AGE_DAYS,
    minimum: Decimal = EGFR_CONTRAST_MIN,
) -> str:
    """Why this eGFR fails the contrast rule ("" when it passes or the exam has no contrast)."""
    if not contrast or value_number is None or value_date is None:
        return ""
    if value_date < today - timedelta(days=max_age_days):
        return f"the eGFR is older than {max_age_days} days; a new result is needed"
    if value_number < minimum:
        return f"the eGFR is below {minimum} for a contrast exam"
    return ""


def exam_egfr_problem(
    exam: Exam, *, value_number: Decimal | None, value_date: date | None, today: date
) -> str:
    """``egfr_problem`` with the exam type's contrast settings (``radflow.contrast``): an exam
    type that takes contrast and asks for the eGFR holds the answer to its window and minimum."""
    from radflow.contrast.selectors import requirement_for

    rule = requirement_for(exam.order.exam_type)
    return egfr_problem(
        contrast=rule is not None,
        value_number=value_number,
        value_date=value_date,
        today=today,
        max_age_days=rule.egfr_window_days if rule is not None else EGFR_MAX_AGE_DAYS,
        minimum=rule.egfr_minimum if rule is not None else EGFR_CONTRAST_MIN,
    )


def _answer_word(answer: str) -> str:
    return answer.strip().split(" ", 1)[0].split(":", 1)[0].casefold() if answer.strip() else ""


@transaction.atomic
def screening_record(
    *,
    exam: Exam,
    by: Any,
    item_code: str,
    answer: str,
    result: str,
    value_date: date | None = None,
    value_number: Decimal | None = None,
    note: str = "",
) -> ScreeningAnswer:
    """Record (or replace) the answer to one screening question; rules in the module docstring.

    ``answer`` is the patient's answer ("no", "yes" ...); ``note`` adds detail and is kept with it.
    """
    exam = _open(exam, by)
    item = ScreeningItem.objects.filter(code=item_code).first()
    if item is None:
        raise ValidationFailed({"item_code": [f"“{item_code}” is not a screening question."]})
    errors: dict[str, list[str]] = {}
    answer, note = answer.strip(), note.strip()
    full_answer = f"{answer}: {note}" if answer and note else answer
    if not answer:
        errors["answer"] = ["Record the patient's answer."]
    elif len(full_answer) > 200:
        errors["note"] = ["Keep the answer and note under 200 characters."]
    if result not in ScreeningResult.values:
        errors["result"] = ["Choose cleared, flagged or failed."]
    today = timezone.localdate()
    if value_date is not None and value_date > today:
        errors["value_date"] = ["The date is in the future."]
    if value_number is not None and value_number < 0:
        errors["value_number"] = ["The value cannot be negative."]
    if item.code == "pregnancy" and _answer_word(answer) in PREGNANCY_POSITIVE and not value_date:
        errors["value_date"] = ["Enter the date of the last menstrual period (LMP)."]
    if item.code == "egfr":
        if value_number is None:
            errors["value_number"] = ["Enter the eGFR value (mL/min/1.73 m²)."]
        if value_date is None and "value_date" not in errors:
            errors["value_date"] = ["Enter the date of the eGFR result."]
    if errors:
        raise ValidationFailed(errors)
    if item.code == "egfr":
        problem = exam_egfr_problem(
            exam, value_number=value_number, value_date=value_date, today=today
        )
        low_but_flagged = (
            problem.startswith("the eGFR is below") and result == ScreeningResult.FLAGGED and note
        )
        if problem and not low_but_flagged:
            result = ScreeningResult.FAILED
    saved, _ = ScreeningAnswer.objects.update_or_create(
        exam=exam,
        item=item,
        defaults={
            "answer": full_answer,
            "result": result,
            "value_date": value_date,
            "value_number": value_number,
            "at": timezone.now(),
            "by": by,
        },
    )
    if item.code == "egfr" and value_number is not None and value_date is not None:
        from radflow.contrast.services import egfr_from_intake

        # Kept for the patient too: the contrast screen of a later exam reads it.
        egfr_from_intake(exam=exam, by=by, value=value_number, measured_on=value_date)
    return saved


# --- consent ------------------------------------------------------------------------------


@transaction.atomic
def consent_capture(
    *,
    exam: Exam,
    by: Any,
    method: str,
    signer_name: str,
    signer_relationship: str = "self",
    signature_svg: str = "",
    witness_name: str = "",
) -> Consent:
    """Store the exam's consent with the time; a second consent for the same exam is refused."""
    exam = _open(exam, by)
    if Consent.objects.filter(exam=exam).exists():
        raise Conflict(
            "Consent for this exam was already captured.", field="consent", code="consent_exists"
        )
    errors: dict[str, list[str]] = {}
    signer_name, witness_name = signer_name.strip(), witness_name.strip()
    signature_svg = signature_svg.strip()
    relationship = signer_relationship.strip() or "self"
    if not signer_name:
        errors["signer_name"] = ["Enter the name of the person signing."]
    if len(relationship) > 40:
        errors["signer_relationship"] = ["Keep the relationship under 40 characters."]
    if method == ConsentMethod.SIGNATURE:
        if not signature_svg:
            errors["signature_svg"] = ["The signature is empty: ask the signer to sign the box."]
        elif len(signature_svg) > SIGNATURE_MAX_CHARS:
            errors["signature_svg"] = ["The signature is too large; clear it and sign again."]
        elif not _SVG_PATH.match(signature_svg):
            errors["signature_svg"] = ["The signature could not be read; clear it and sign again."]
    elif method == ConsentMethod.TYPED_WITNESSED:
        signature_svg = ""
        if not witness_name:
            errors["witness_name"] = ["A typed consent needs the witness's name."]
    else:
        errors["method"] = ["Choose how consent was given."]
    if errors:
        raise ValidationFailed(errors)
    return Consent.objects.create(
        exam=exam,
        method=method,
        signer_name=signer_name[:120],
        signer_relationship=relationship,
        signature_svg=signature_svg,
        witness_name=witness_name[:120],
        at=timezone.now(),
        by=by,
    )


# --- prep and the general safety questions --------------------------------------------------


def _general_notes(
    exam: Exam, by: Any, fall_risk: bool | None, isolation: str, now: datetime
) -> list[str]:
    """Store fall risk / isolation as screening answers where the catalog has the item.

    Returns the notes for the questions the catalog does not list (they go in the prep note).
    """
    values: dict[str, tuple[str, bool] | None] = {
        "fall_risk": None if fall_risk is None else ("yes" if fall_risk else "no", fall_risk),
        "isolation": (isolation, True) if isolation else None,
    }
    items = ScreeningItem.objects.in_bulk(list(GENERAL_ITEMS.values()))
    notes: list[str] = []
    for key, value in values.items():
        if value is None:
            continue
        text, flagged = value
        item = items.get(GENERAL_ITEMS[key])
        if item is not None:
            ScreeningAnswer.objects.update_or_create(
                exam=exam,
                item=item,
                defaults={
                    "answer": text,
                    "result": ScreeningResult.FLAGGED if flagged else ScreeningResult.CLEARED,
                    "value_date": None,
                    "value_number": None,
                    "at": now,
                    "by": by,
                },
            )
        elif key == "fall_risk":
            notes.append("Fall risk." if flagged else "No fall risk.")
        else:
            notes.append(f"Isolation: {text}.")
    return notes


@transaction.atomic
def prep_verify(
    *,
    exam: Exam,
    by: Any,
    prep_ok: bool,
    npo_since: datetime | None = None,
    full_bladder: bool | None = None,
    medication_hold: str = "",
    note: str = "",
    fall_risk: bool | None = None,
    isolation: str = "",
) -> PrepCheck:
    """Record whether the preparation was followed (a new check replaces the old one)."""
    exam = _open(exam, by)
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    note, medication_hold, isolation = note.strip(), medication_hold.strip(), isolation.strip()
    if npo_since is not None:
        if timezone.is_naive(npo_since):
            errors["npo_since"] = ["The time must carry a time zone."]
        elif npo_since > now:
            errors["npo_since"] = ["The time is in the future."]
    if not prep_ok and not note:
        errors["note"] = ["Say what was not followed (the radiologist decides what happens)."]
    if len(medication_hold) > 200:
        errors["medication_hold"] = ["Keep this under 200 characters."]
    if len(isolation) > 40:
        errors["isolation"] = ["Keep this under 40 characters."]
    if errors:
        raise ValidationFailed(errors)
    general = _general_notes(exam, by, fall_risk, isolation, now)
    full_note = " ".join([*general, note]).strip()
    if len(full_note) > 200:
        raise ValidationFailed({"note": ["Keep the note under 200 characters."]})
    check, _ = PrepCheck.objects.update_or_create(
        exam=exam,
        defaults={
            "prep_ok": prep_ok,
            "npo_since": npo_since,
            "full_bladder": full_bladder,
            "medication_hold": medication_hold,
            "note": full_note,
            "at": now,
            "by": by,
        },
    )
    return check


# --- interpreter --------------------------------------------------------------------------


@transaction.atomic
def interpreter_log(
    *, exam: Exam, by: Any, language: str, interpreter_id: str, mode: str = "in_person"
) -> InterpreterLog:
    """Log the interpreter who is present (a new entry replaces the old one)."""
    exam = _open(exam, by)
    errors: dict[str, list[str]] = {}
    language, interpreter_id = language.strip(), interpreter_id.strip()
    if not language or len(language) > 8:
        errors["language"] = ["Choose the language interpreted."]
    if not interpreter_id:
        errors["interpreter_id"] = ["Enter the interpreter's ID (badge or agency number)."]
    elif len(interpreter_id) > 40:
        errors["interpreter_id"] = ["Keep the ID under 40 characters."]
    if mode not in INTERPRETER_MODES:
        errors["mode"] = ["Choose in person, phone or video."]
    if errors:
        raise ValidationFailed(errors)
    log, _ = InterpreterLog.objects.update_or_create(
        exam=exam,
        defaults={
            "language": language,
            "interpreter_id": interpreter_id,
            "mode": mode,
            "at": timezone.now(),
            "by": by,
        },
    )
    return log
