"""The shipped reference catalog: complete, consistent, and safe to load again and again."""

from __future__ import annotations

import json
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from radflow.catalog.models import Competency, ExamType, ProcedureCode, ScreeningItem
from radflow.catalog.reference import DATA_DIR, load_reference
from radflow.scheduling.models import Modality, RoomCapability

pytestmark = pytest.mark.django_db

#: The ultrasound CPT codes DESIGN.md lists.
# fmt: off
DESIGN_US_CODES = [
    "76700", "76705", "76770", "76775", "76536", "76641", "76642", "76856", "76857", "76830",
    "76801", "76805", "76811", "76813", "76815", "76816", "76817", "76818", "76870", "76881",
    "76882", "76942", "76937", "93880", "93970", "93971", "93975", "93976",
]
# fmt: on


def table_counts() -> dict[str, int]:
    return {
        "modalities": Modality.objects.count(),
        "capabilities": RoomCapability.objects.count(),
        "screening": ScreeningItem.objects.count(),
        "competencies": Competency.objects.count(),
        "codes": ProcedureCode.objects.count(),
        "exam types": ExamType.objects.count(),
        "exam history": ExamType.history.count(),
        "exam codes": ExamType.procedure_codes.through.objects.count(),
        "exam screening": ExamType.required_screening.through.objects.count(),
    }


def test_loading_twice_gives_the_same_rows_and_no_new_history() -> None:
    load_reference()
    first = table_counts()
    result = load_reference()

    assert table_counts() == first
    assert sum(result.created.values()) == 0
    assert sum(result.updated.values()) == 0
    assert first["exam types"] >= 45
    assert first["modalities"] >= 8


def test_every_ultrasound_code_in_the_design_is_billed_by_an_ultrasound_exam() -> None:
    load_reference()

    for code in DESIGN_US_CODES:
        exams = ExamType.objects.filter(procedure_codes__code=code)
        assert exams.exists(), f"no exam type bills {code}"
        assert ProcedureCode.objects.get(code=code).description


def test_every_exam_type_has_positive_durations_and_needs_a_competency() -> None:
    load_reference()

    for exam in ExamType.objects.prefetch_related("required_competencies"):
        durations = [
            exam.default_duration_min,
            exam.duration_inpatient_min,
            exam.duration_portable_min,
            exam.duration_bariatric_min,
        ]
        assert all(d is None or d > 0 for d in durations), exam.code
        assert exam.default_duration_min > 0
        assert exam.required_competencies.exists(), exam.code


def test_contrast_exams_screen_for_allergy_and_kidney_function() -> None:
    load_reference()

    contrast_exams = ExamType.objects.filter(contrast=True)
    assert contrast_exams.count() >= 10
    for exam in contrast_exams:
        screening = set(exam.required_screening.values_list("code", flat=True))
        # Ultrasound enhancing agents are not nephrotoxic: no eGFR for contrast ultrasound.
        kidney = set() if exam.modality_id == "US" else {"egfr"}
        assert {"contrast-allergy", *kidney} <= screening, exam.code


def test_duplex_exams_need_a_room_with_the_vascular_package() -> None:
    load_reference()

    for code in ("93880", "93970", "93971", "93975", "93976"):
        for exam in ExamType.objects.filter(procedure_codes__code=code):
            assert exam.required_capabilities.filter(code="vascular").exists(), exam.code


def test_prep_instructions_reach_the_exam_types() -> None:
    load_reference()

    abdomen = ExamType.objects.get(code="us-abdomen-complete")
    pelvis = ExamType.objects.get(code="us-pelvis-transabdominal")
    assert "8 hours" in abdomen.prep_instructions
    assert "32 oz" in pelvis.prep_instructions
    assert ExamType.objects.get(code="us-liver-biopsy").consent_required
    assert Modality.objects.get(code="XA").name == "Interventional radiology"


def test_reloading_restores_an_edited_exam_unless_asked_to_keep_edits() -> None:
    load_reference()
    ExamType.objects.filter(code="us-abdomen-complete").update(default_duration_min=99)

    load_reference(update_existing=False)
    assert ExamType.objects.get(code="us-abdomen-complete").default_duration_min == 99

    result = load_reference()
    assert ExamType.objects.get(code="us-abdomen-complete").default_duration_min == 45
    assert result.updated == {"exam types": 1}


def test_an_exam_naming_an_unknown_competency_loads_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(DATA_DIR, data_dir)
    catalog = json.loads((data_dir / "exam_types.json").read_text())
    catalog["exam_types"][-1]["competencies"] = ["juggling"]
    (data_dir / "exam_types.json").write_text(json.dumps(catalog))

    with pytest.raises(ValueError, match="juggling"):
        load_reference(data_dir=data_dir)

    assert not ExamType.objects.exists()
    assert not Modality.objects.exists()


def test_the_command_says_what_it_loaded() -> None:
    out = StringIO()
    call_command("load_reference", stdout=out)

    assert "Reference data loaded" in out.getvalue()
    assert f"exam types: {ExamType.objects.count()} created" in out.getvalue()
