"""The demo department: deterministic for a seed, complete, refuses to overwrite, logins work."""

from __future__ import annotations

from datetime import date
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import Client
from django.urls import NoReverseMatch, reverse

from radflow.catalog.models import ExamType
from radflow.core.roles import Role
from radflow.demo import DEMO_LOGINS, DEMO_PASSWORD, DemoNotEmpty, demo_generate
from radflow.patients.models import Patient
from radflow.scheduling.models import (
    Device,
    Probe,
    ProbeType,
    Room,
    Site,
    SpauldingClass,
    ae_title_validator,
)
from radflow.staff.models import JobRole, StaffMember

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 2)
SMALL = 40


def snapshot() -> dict[str, Any]:
    """What a person would compare between two demo databases (primary keys aside)."""
    return {
        "patients": list(
            Patient.objects.order_by("mrn").values_list(
                "mrn", "family_name", "given_name", "birth_date", "sex", "language", "phone"
            )
        ),
        "staff": list(
            StaffMember.objects.order_by("employee_number").values_list(
                "employee_number", "family_name", "given_name", "job_role", "fte", "hire_date"
            )
        ),
        "devices": list(
            Device.objects.order_by("ae_title").values_list(
                "ae_title", "serial_number", "model_name", "install_date", "room__code"
            )
        ),
        "probes": list(
            Probe.objects.order_by("serial_number").values_list(
                "serial_number", "model_name", "device__ae_title"
            )
        ),
    }


def generate_and_roll_back(seed: int) -> dict[str, Any]:
    """Fill the (empty) test database, read it back, and leave it empty again."""
    with transaction.atomic():
        demo_generate(seed=seed, patients=SMALL, today=TODAY)
        result = snapshot()
        transaction.set_rollback(True)
    assert not Site.objects.exists()
    return result


def test_the_same_seed_gives_the_same_department() -> None:
    first = generate_and_roll_back(seed=1)
    second = generate_and_roll_back(seed=1)

    assert first == second
    assert len(first["patients"]) == SMALL
    assert len(first["devices"]) >= 20


def test_another_seed_gives_other_patients() -> None:
    one = generate_and_roll_back(seed=1)
    two = generate_and_roll_back(seed=2)

    assert [p[0] for p in one["patients"]] != [p[0] for p in two["patients"]]
    assert [p[1:3] for p in one["patients"]] != [p[1:3] for p in two["patients"]]


def test_the_department_has_its_sites_rooms_equipment_and_staff() -> None:
    demo_generate(seed=1, patients=SMALL, today=TODAY)

    assert Site.objects.count() == 3
    assert set(Site.objects.values_list("time_zone", flat=True)) == {"America/New_York"}
    rooms_by_modality = {
        code: Room.objects.filter(modality_id=code).count()
        for code in ("US", "CT", "MR", "DX", "MG", "NM")
    }
    assert rooms_by_modality == {"US": 15, "CT": 3, "MR": 2, "DX": 4, "MG": 2, "NM": 1}
    assert Room.objects.filter(capabilities__code="portable", modality_id="US").count() == 1
    assert Room.objects.filter(capabilities__code="3d-4d").count() >= 2
    assert all(room.opening_hours.exists() for room in Room.objects.all())

    ae_titles = list(Device.objects.values_list("ae_title", flat=True))
    assert len(set(ae_titles)) == len(ae_titles)
    for title in ae_titles:
        ae_title_validator(title)
        assert len(title) <= 16
    for device in Device.objects.filter(modality_id="US"):
        assert 3 <= device.probes.count() <= 4, device
    for probe in Probe.objects.filter(probe_type__in=[ProbeType.ENDOCAVITARY, ProbeType.TEE]):
        assert probe.spaulding_class == SpauldingClass.SEMI_CRITICAL
    assert Probe.objects.filter(probe_type=ProbeType.TEE).exists()

    assert 55 <= StaffMember.objects.count() <= 80
    assert StaffMember.objects.filter(job_role=JobRole.SONOGRAPHER).count() >= 25
    assert StaffMember.objects.filter(job_role=JobRole.RADIOLOGIST).count() == 8
    assert StaffMember.objects.filter(modalities__code="CT").exists()
    assert ExamType.objects.count() >= 45


def test_patients_are_valid_varied_and_uniquely_numbered() -> None:
    demo_generate(seed=1, patients=300, today=TODAY)

    patients = list(Patient.objects.all())
    assert len(patients) == 300
    assert len({p.mrn for p in patients}) == 300
    for patient in patients[:50]:
        patient.full_clean()
        assert 0 <= (TODAY - patient.birth_date).days // 365 <= 98
    languages = {p.language for p in patients}
    assert {"en", "es"} <= languages
    assert len(languages) >= 4
    assert any(p.interpreter_needed for p in patients)
    assert not any(p.interpreter_needed for p in patients if p.language == "en")
    assert Patient.history.count() == 300


def test_it_refuses_a_database_that_already_has_a_site() -> None:
    Site.objects.create(name="Somewhere Else", code="ELSE")

    with pytest.raises(DemoNotEmpty, match="1 site"):
        demo_generate(seed=1, patients=SMALL, today=TODAY)

    err = StringIO()
    with pytest.raises(CommandError, match="already holds data") as raised:
        call_command("demo", "--patients", "5", stderr=err)
    assert raised.value.returncode == 1
    assert not Patient.objects.exists()


def test_if_empty_skips_quietly_when_data_exists() -> None:
    Site.objects.create(name="Somewhere Else", code="ELSE")
    out = StringIO()

    call_command("demo", "--if-empty", "--patients", "5", stdout=out)

    assert out.getvalue() == ""
    assert Site.objects.count() == 1


def test_print_logins_lists_every_role_and_creates_nothing() -> None:
    out = StringIO()

    call_command("demo", "--print-logins", stdout=out)

    for role in Role:
        assert role.value in out.getvalue()
    assert DEMO_PASSWORD in out.getvalue()
    assert not Site.objects.exists()
    assert [username for username, _ in DEMO_LOGINS] == [role.value for role in Role]


def test_the_command_builds_the_demo_and_prints_the_logins() -> None:
    out = StringIO()

    call_command("demo", "--seed", "3", "--patients", "12", "--today", "2026-03-02", stdout=out)

    assert Patient.objects.count() == 12
    assert "Demo department created (seed 3)" in out.getvalue()
    assert "infection_preventionist" in out.getvalue()


def test_every_demo_login_works_and_reaches_home() -> None:
    demo_generate(seed=1, patients=5, today=TODAY)
    try:
        home = reverse("web:home")
    except NoReverseMatch:
        home = None

    for username, _label in DEMO_LOGINS:
        user = User.objects.get(username=username)
        assert list(user.groups.values_list("name", flat=True)) == [username]
        client = Client()
        assert client.login(username=username, password=DEMO_PASSWORD), username
        if home is not None:
            assert client.get(home).status_code == 200, username
    if home is None:
        pytest.skip("web:home does not exist yet")


def test_demo_logins_belong_to_staff_of_the_matching_job() -> None:
    demo_generate(seed=1, patients=5, today=TODAY)

    assert User.objects.get(username="coordinator").staff_member.job_role == JobRole.COORDINATOR
    assert User.objects.get(username="technologist").staff_member.job_role == JobRole.SONOGRAPHER
    assert User.objects.get(username="admin").is_superuser
    assert not StaffMember.objects.filter(user__username="auditor").exists()
