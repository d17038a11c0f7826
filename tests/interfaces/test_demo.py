"""The demo's DICOM step: every demo device with an AE title is a registered modality."""

from __future__ import annotations

from datetime import date
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from radflow.catalog import demo as catalog_demo
from radflow.demo import STEPS, DemoContext
from radflow.interfaces import demo as interfaces_demo
from radflow.interfaces.dicom_policy import caller_decision, policy_get
from radflow.interfaces.models import ApplicationEntity, UnknownCallerPolicy
from radflow.scheduling import demo as scheduling_demo
from radflow.scheduling.models import Device

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_modalities() -> None:
    ctx = DemoContext(seed=1, today=date(2026, 3, 2), patients_count=0)
    for module in (catalog_demo, scheduling_demo, interfaces_demo):
        module.generate(ctx)


def test_the_step_runs_once_the_devices_exist() -> None:
    modules = [step.module for step in STEPS]

    assert modules.index("radflow.interfaces.demo") > modules.index("radflow.scheduling.demo")


def test_every_demo_device_is_registered_under_its_ae_title(demo_modalities: None) -> None:
    devices = {d.ae_title: d for d in Device.objects.exclude(ae_title="")}
    aes = {ae.ae_title: ae for ae in ApplicationEntity.objects.all()}

    assert len(aes) >= 20
    assert set(aes) == set(devices)
    for title, ae in aes.items():
        device = devices[title]
        assert (ae.device_id, ae.room_id, ae.modality_id) == (
            device.pk,
            device.room_id,
            device.modality_id,
        )
        assert ae.station_name == device.station_name
        assert ae.active and ae.may_send_mpps and ae.host == ""


def test_scanners_see_their_room_and_ultrasound_systems_see_everything(
    demo_modalities: None,
) -> None:
    ct = ApplicationEntity.objects.filter(modality_id="CT").first()
    us = ApplicationEntity.objects.filter(modality_id="US").first()
    assert ct is not None and us is not None

    ct_decision = caller_decision(calling_ae=ct.ae_title, address="127.0.0.1")
    us_decision = caller_decision(calling_ae=us.ae_title, address="127.0.0.1")

    assert ct_decision.restriction is not None
    assert ct_decision.restriction.room_id == str(ct.room_id)
    assert us_decision.accept and us_decision.restriction is None


def test_an_unregistered_findscu_gets_the_worklist_read_only(demo_modalities: None) -> None:
    assert policy_get().unknown_caller == UnknownCallerPolicy.READ_ONLY

    decision = caller_decision(calling_ae="FINDSCU", address="127.0.0.1")

    assert decision.accept and not decision.may_send_mpps and decision.restriction is None


def test_make_runs_printout_says_where_the_worklist_answers(settings: Any) -> None:
    settings.DICOM_AE_TITLE, settings.DICOM_PORT = "RADFLOW", 11112
    out = StringIO()

    call_command("demo", "--print-logins", stdout=out)

    assert "DICOM worklist: AE RADFLOW at 127.0.0.1:11112" in out.getvalue()
