"""ICD-10-CM code shape alone, without a database."""

from __future__ import annotations

import pytest

from radflow.core.errors import ValidationFailed
from radflow.core.icd10 import normalize_icd10, parse_icd10_list


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("R10.9", "R10.9"),
        ("r109", "R10.9"),
        (" r10.9 ", "R10.9"),
        ("R10 .9", "R10.9"),
        ("R10.11", "R10.11"),
        ("S72.001A", "S72.001A"),
        ("s72001a", "S72.001A"),
        ("O26.891", "O26.891"),
        ("U07.1", "U07.1"),
        ("Z00", "Z00"),
        ("C50.911", "C50.911"),
        ("M1A.0710", "M1A.0710"),
    ],
)
def test_well_formed_codes_are_normalized_to_upper_case_with_a_dot(raw: str, code: str) -> None:
    assert normalize_icd10(raw) == code


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "10.9",
        "R1",
        "R",
        "RR0.9",
        "R10.",
        "R10.99999",
        "R1099999",
        "R10-9",
        "R10..9",
        "1R0.9",
        "R10.9/",
        "R10.9,Z00",
        "R1.09",
    ],
)
def test_malformed_codes_are_refused_with_a_message_naming_the_code(raw: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        normalize_icd10(raw)
    (message,) = caught.value.errors["diagnosis_codes"]
    assert f"“{raw.strip()}” is not an ICD-10-CM code" in message
    assert "e.g. R10.9" in message
    assert caught.value.field == "diagnosis_codes"


def test_a_list_splits_on_commas_semicolons_and_spaces_and_drops_repeats() -> None:
    assert parse_icd10_list("r10.9, R109; s72001a  O26.891\nU07.1") == [
        "R10.9",
        "S72.001A",
        "O26.891",
        "U07.1",
    ]


def test_an_empty_list_is_no_codes() -> None:
    assert parse_icd10_list("") == []
    assert parse_icd10_list(" , ; ") == []


def test_one_bad_code_in_a_list_refuses_the_list() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_icd10_list("R10.9, 10.9")
    assert "“10.9”" in caught.value.errors["diagnosis_codes"][0]
