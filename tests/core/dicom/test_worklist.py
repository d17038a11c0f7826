"""The plain values a worklist step is made of: names, name keys, IDs, pregnancy status."""

from __future__ import annotations

import pytest

from radflow.core.dicom.worklist import name_key, person_name, pregnancy_status, procedure_ids


def test_a_person_name_drops_trailing_empty_components() -> None:
    assert person_name("Doe", "Jane") == "Doe^Jane"
    assert person_name("Doe", "Jane", "", "Dr.") == "Doe^Jane^^Dr."
    assert person_name("Doe") == "Doe"
    assert person_name("") == ""


def test_delimiters_inside_a_name_part_cannot_split_it() -> None:
    assert person_name("Smith^Jones", "Ann=Marie", "A\\B") == "Smith Jones^Ann Marie^A B"
    assert person_name("  van  der Berg ", "Anna") == "van der Berg^Anna"


def test_name_keys_compare_names_in_any_case_and_script() -> None:
    assert name_key("DOE^JANE^") == name_key("doe^jane") == "doe^jane"
    assert name_key("ΠΑΠΑΔΟΠΟΎΛΟΥ^ΕΛΈΝΗ") == name_key("Παπαδοπούλου^Ελένη")
    assert name_key("STRASSE") == name_key("Straße")
    assert name_key("I") == name_key("\u0131")  # a modality upper-cases dotless i to I
    assert name_key("Yamada^Tarou=山田^太郎=") == "yamada^tarou=山田^太郎"


def test_both_procedure_ids_are_the_accession_number() -> None:
    assert procedure_ids("RF00000042") == ("RF00000042", "RF00000042")


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ("Not pregnant", 1),
        ("No", 1),
        ("Possibly: LMP uncertain", 2),
        ("Unsure", 2),
        ("Yes: 12 weeks", 3),
        ("Unknown", 4),
        ("Not applicable", None),
        ("N/A (male)", None),
        ("", None),
        ("Native", None),
    ],
)
def test_pregnancy_status_comes_from_the_screening_answer(answer: str, status: int | None) -> None:
    assert pregnancy_status(answer) == status
