"""The demo's EHR interface: an ORM^O01 sent to ``radflow hl7`` on ``make run`` becomes an order."""

from __future__ import annotations

from datetime import date

import pytest

from radflow.catalog import demo as catalog_demo
from radflow.demo import DemoContext
from radflow.interfaces import demo as interfaces_demo
from radflow.interfaces.hl7_inbound import hl7_receive
from radflow.interfaces.models import Hl7Interface
from radflow.orders.models import Order
from radflow.patients.demo import MRN_AUTHORITY
from radflow.scheduling import demo as scheduling_demo
from tests.core.hl7.messages import load
from tests.interfaces.hl7_world import Ack
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_the_demo_ehr_sends_orders_for_the_demo_patients() -> None:
    ctx = DemoContext(seed=1, today=date(2026, 3, 2), patients_count=0)
    for module in (catalog_demo, scheduling_demo, interfaces_demo):
        module.generate(ctx)
    patient = PatientFactory.create(mrn="00012345", mrn_authority=MRN_AUTHORITY)
    raw = load("orm_o01-nw-epic-v231.hl7").replace(
        b"00451234^^^RGH", f"00012345^^^{MRN_AUTHORITY}".encode()
    )

    ack = Ack.of(hl7_receive(raw=raw, peer="127.0.0.1:40000"))

    assert ack.code == "AA"
    interface = Hl7Interface.objects.get()
    assert (interface.sending_application, interface.sending_facility) == ("EPIC", "RIVERBEND")
    order = Order.objects.get()
    assert (order.patient, order.exam_type.code) == (patient, "us-abdomen-complete")
    assert order.site is not None and order.site.code == "MAIN"
