"""ICD-10-CM code format (CMS): a letter, two characters, then up to four after the dot.

Only the shape is checked here; whether a code exists is the reference list's business, and a
referrer may send a valid code that list does not hold.
"""

from __future__ import annotations

import re

from radflow.core.errors import ValidationFailed

# Category: letter (U is reserved for special purposes but used, e.g. U07.1), digit, alphanumeric;
# then an optional dot and 1-4 alphanumerics (7th character extensions such as S72.001A).
ICD10_CM = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")


def normalize_icd10(raw: str) -> str:
    """``r10.9``, `` R109 `` → ``R10.9``; raises ``ValidationFailed`` for anything malformed."""
    code = raw.strip().upper().replace(" ", "")
    if "." not in code and len(code) > 3:
        code = f"{code[:3]}.{code[3:]}"
    if not ICD10_CM.match(code):
        raise ValidationFailed(
            {
                "diagnosis_codes": [
                    f"“{raw.strip()}” is not an ICD-10-CM code: expected a letter, two characters, "
                    "and optionally a dot and up to four more (e.g. R10.9, O26.891)."
                ]
            }
        )
    return code


def parse_icd10_list(raw: str) -> list[str]:
    """Codes separated by commas, semicolons or spaces, normalized, duplicates dropped in order."""
    codes: list[str] = []
    for part in re.split(r"[,;\s]+", raw.strip()):
        if part:
            code = normalize_icd10(part)
            if code not in codes:
                codes.append(code)
    return codes
