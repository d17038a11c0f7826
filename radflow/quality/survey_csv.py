"""The patient satisfaction CSV: its columns and a parser that names every bad cell.

Plain Python (no Django): the import service checks the parsed rows against the database
(sites, modalities, accession numbers, responses already imported) and writes them all or none.

Columns (a header row, any order, names case-insensitive):

=====================  ========  ==========================================================
column                 required  value
=====================  ========  ==========================================================
response_id            yes       the survey vendor's id of the response (unique)
survey_date            yes       YYYY-MM-DD, the day the patient answered (not in the future)
overall                yes       overall rating 1-5
recommend              no        likelihood to recommend 0-10 (Net Promoter Score)
wait_time              no        rating 1-5
staff_courtesy         no        rating 1-5
explanation            no        "the exam was explained to me" 1-5
site                   no        RadFlow site code, e.g. MAIN
modality               no        modality code, e.g. US
accession_number       no        the exam's accession number, when the vendor has it
comment                no        free text, up to 2,000 characters
=====================  ========  ==========================================================
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

REQUIRED = ("response_id", "survey_date", "overall")
OPTIONAL = (
    "recommend",
    "wait_time",
    "staff_courtesy",
    "explanation",
    "site",
    "modality",
    "accession_number",
    "comment",
)
COLUMNS = REQUIRED + OPTIONAL
MAX_ROWS = 50_000
MAX_COMMENT = 2000
#: Errors shown at most; the rest are counted.
MAX_ERRORS = 50

SCALES: dict[str, tuple[int, int]] = {
    "overall": (1, 5),
    "recommend": (0, 10),
    "wait_time": (1, 5),
    "staff_courtesy": (1, 5),
    "explanation": (1, 5),
}

EXAMPLE = (
    "response_id,survey_date,overall,recommend,wait_time,staff_courtesy,explanation,site,"
    "modality,accession_number,comment\n"
    "PG-100234,2026-02-03,5,10,4,5,5,MAIN,US,,Quick and friendly.\n"
    "PG-100235,2026-02-03,3,6,2,4,3,OIC,CT,,Waited 50 minutes past my time.\n"
)


@dataclass(frozen=True)
class SurveyRow:
    line: int
    response_id: str
    survey_date: date
    overall: int
    recommend: int | None
    wait_time: int | None
    staff_courtesy: int | None
    explanation: int | None
    site: str
    modality: str
    accession_number: str
    comment: str


class SurveyErrors(Exception):
    """The file's problems, one message per bad cell, row numbers as a spreadsheet shows them."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages[:3]))
        self.messages = messages


def capped(messages: list[str]) -> list[str]:
    if len(messages) <= MAX_ERRORS:
        return messages
    return [*messages[:MAX_ERRORS], f"… and {len(messages) - MAX_ERRORS} more problems."]


def decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SurveyErrors(
            ["The file is not UTF-8 text: save it from the spreadsheet as “CSV UTF-8”."]
        ) from exc


def _rating(raw: str, column: str, line: int, errors: list[str]) -> int | None:
    low, high = SCALES[column]
    text = raw.strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        errors.append(f"Row {line}: {column} “{text}” is not a whole number from {low} to {high}.")
        return None
    return value


def parse(text: str, *, today: date) -> list[SurveyRow]:
    """Every data row of ``text`` as a ``SurveyRow``, or ``SurveyErrors`` listing every problem
    (header, cells, repeated response ids) so one fix-and-retry is enough."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise SurveyErrors(["The file is empty: it needs a header row and at least one response."])
    names = [cell.strip().lower() for cell in header]
    problems: list[str] = []
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        problems.append(f"Missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}.")
    unknown = [n for n in names if n and n not in COLUMNS]
    if unknown:
        problems.append(
            f"Unknown column{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)} "
            f"(the columns are {', '.join(COLUMNS)})."
        )
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if repeated:
        problems.append(f"Column given twice: {', '.join(repeated)}.")
    if problems:
        raise SurveyErrors(problems)
    index = {name: position for position, name in enumerate(names) if name}
    rows: list[SurveyRow] = []
    errors: list[str] = []
    first_seen: dict[str, int] = {}
    for line, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue  # a blank line at the end of a spreadsheet export
        if len(rows) >= MAX_ROWS:
            raise SurveyErrors([f"The file has more than {MAX_ROWS:,} rows; split it."])
        if len(cells) > len(names):
            errors.append(f"Row {line}: {len(cells)} cells but {len(names)} columns.")
            continue

        def cell(column: str, cells: list[str] = cells) -> str:
            position = index.get(column)
            return cells[position].strip() if position is not None and position < len(cells) else ""

        before = len(errors)
        response_id = cell("response_id")
        if not response_id:
            errors.append(f"Row {line}: response_id is empty.")
        elif len(response_id) > 64:
            errors.append(f"Row {line}: response_id is longer than 64 characters.")
        elif response_id in first_seen:
            errors.append(
                f"Row {line}: response {response_id} appears again (first on row "
                f"{first_seen[response_id]})."
            )
        else:
            first_seen[response_id] = line
        raw_date = cell("survey_date")
        survey_date: date | None = None
        try:
            survey_date = date.fromisoformat(raw_date)
        except ValueError:
            errors.append(f"Row {line}: survey_date “{raw_date}” is not a date like 2026-02-03.")
        if survey_date is not None and survey_date > today:
            errors.append(f"Row {line}: survey_date {survey_date} is in the future.")
        overall = _rating(cell("overall"), "overall", line, errors)
        if overall is None and not cell("overall"):
            errors.append(f"Row {line}: overall is empty.")
        ratings = {c: _rating(cell(c), c, line, errors) for c in SCALES if c != "overall"}
        comment = cell("comment")
        if len(comment) > MAX_COMMENT:
            errors.append(f"Row {line}: the comment is longer than {MAX_COMMENT:,} characters.")
        if len(errors) > before or survey_date is None or overall is None:
            continue
        rows.append(
            SurveyRow(
                line=line,
                response_id=response_id,
                survey_date=survey_date,
                overall=overall,
                recommend=ratings["recommend"],
                wait_time=ratings["wait_time"],
                staff_courtesy=ratings["staff_courtesy"],
                explanation=ratings["explanation"],
                site=cell("site").upper(),
                modality=cell("modality").upper(),
                accession_number=cell("accession_number"),
                comment=comment,
            )
        )
    if errors:
        raise SurveyErrors(capped(errors))
    if not rows:
        raise SurveyErrors(["The file has a header but no responses."])
    return rows
