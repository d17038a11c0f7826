"""Who the DICOM server lets in: each decision of ``caller_decision`` (registry and policy)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from radflow.core.dicom.worklist import Restriction
from radflow.interfaces.dicom_policy import (
    CallerDecision,
    association_seen,
    caller_decision,
    policy_get,
    same_address,
)
from radflow.interfaces.models import ApplicationEntity, DicomPolicy, UnknownCallerPolicy
from radflow.interfaces.services import ae_create, ae_deactivate, policy_set
from tests.scheduling.factories import DeviceFactory, RoomFactory

pytestmark = pytest.mark.django_db


def register(**kwargs: object) -> ApplicationEntity:
    room = RoomFactory.create()
    device = DeviceFactory.create(room=room, ae_title=kwargs.pop("ae_title", "US_MAIN_01"))
    return ae_create(ae_title=device.ae_title, device=device, **kwargs)  # type: ignore[arg-type]


def test_a_registered_active_ae_from_any_address_is_accepted_with_mpps() -> None:
    register()

    decision = caller_decision(calling_ae="US_MAIN_01", address="10.1.2.3")

    assert decision == CallerDecision(True, True, None, "registered")


def test_a_registered_ae_from_its_own_address_is_accepted() -> None:
    register(host="10.20.0.15")

    assert caller_decision(calling_ae="US_MAIN_01", address="10.20.0.15").accept
    # An IPv4 caller seen on a dual-stack socket is the same machine.
    assert caller_decision(calling_ae="US_MAIN_01", address="::ffff:10.20.0.15").accept


def test_a_registered_ae_calling_from_another_address_is_rejected() -> None:
    register(host="10.20.0.15")

    decision = caller_decision(calling_ae="US_MAIN_01", address="10.20.0.99")

    assert not decision.accept
    assert not decision.may_send_mpps
    assert decision.reason == "address mismatch"


def test_a_deactivated_ae_is_rejected_even_when_unknown_callers_are_let_in() -> None:
    ae = register()
    ae_deactivate(ae=ae)
    policy_set(unknown_caller=UnknownCallerPolicy.READ_ONLY)

    decision = caller_decision(calling_ae="US_MAIN_01", address="127.0.0.1")

    assert not decision.accept
    assert decision.reason == "registered AE is inactive"


def test_an_ae_registered_without_mpps_is_accepted_but_may_not_send_mpps() -> None:
    register(may_send_mpps=False)

    decision = caller_decision(calling_ae="US_MAIN_01", address="127.0.0.1")

    assert decision.accept
    assert not decision.may_send_mpps


def test_a_station_restricted_to_its_room_and_modality_gets_that_restriction() -> None:
    ae = register(restrict_to_room=True, restrict_to_modality=True)

    decision = caller_decision(calling_ae="US_MAIN_01", address="127.0.0.1")

    assert decision.restriction == Restriction(room_id=str(ae.room_id), modality="US")


def test_a_station_restricted_to_its_modality_only_sees_every_room() -> None:
    register(restrict_to_modality=True)

    decision = caller_decision(calling_ae="US_MAIN_01", address="127.0.0.1")

    assert decision.restriction == Restriction(room_id=None, modality="US")


def test_a_station_restricted_to_a_room_that_was_removed_is_rejected_not_shown_everything() -> None:
    ae = register(restrict_to_room=True)
    ApplicationEntity.objects.filter(pk=ae.pk).update(room=None)  # the room's FK is SET_NULL

    decision = caller_decision(calling_ae="US_MAIN_01", address="127.0.0.1")

    assert not decision.accept


def test_an_unknown_ae_is_rejected_by_default() -> None:
    decision = caller_decision(calling_ae="STRANGER", address="127.0.0.1")

    assert not decision.accept
    assert decision.reason == "unknown AE, rejected by policy"
    assert policy_get().unknown_caller == UnknownCallerPolicy.REJECT


def test_an_unknown_ae_is_accepted_read_only_under_the_read_only_policy() -> None:
    policy_set(unknown_caller=UnknownCallerPolicy.READ_ONLY)

    decision = caller_decision(calling_ae="FINDSCU", address="127.0.0.1")

    assert decision == CallerDecision(True, False, None, "unknown AE, read-only")


def test_ae_titles_are_matched_exactly_apart_from_padding() -> None:
    register()

    assert caller_decision(calling_ae="US_MAIN_01  ", address="127.0.0.1").accept
    assert not caller_decision(calling_ae="us_main_01", address="127.0.0.1").accept


def test_the_policy_row_is_made_once_on_first_use() -> None:
    assert not DicomPolicy.objects.exists()

    first = policy_get()
    second = policy_get()

    assert first.pk == second.pk
    assert DicomPolicy.objects.count() == 1


def test_a_decision_costs_one_query_for_a_registered_ae_and_two_for_an_unknown_one() -> None:
    register()
    policy_get()

    with CaptureQueriesContext(connection) as registered:
        caller_decision(calling_ae="US_MAIN_01", address="127.0.0.1")
    with CaptureQueriesContext(connection) as unknown:
        caller_decision(calling_ae="STRANGER", address="127.0.0.1")

    assert len(registered.captured_queries) == 1
    assert len(unknown.captured_queries) == 2


def test_an_accepted_association_stamps_last_seen_in_one_update() -> None:
    ae = register()
    decision = caller_decision(calling_ae="US_MAIN_01", address="127.0.0.1")
    moment = datetime(2026, 3, 2, 14, 5, tzinfo=UTC)

    with time_machine.travel(moment, tick=False), CaptureQueriesContext(connection) as queries:
        updated = association_seen("US_MAIN_01", "127.0.0.1", decision)

    assert updated == 1
    assert len(queries.captured_queries) == 1
    assert queries.captured_queries[0]["sql"].lstrip().upper().startswith("UPDATE")
    ae.refresh_from_db()
    assert ae.last_seen_at == moment


def test_a_rejected_association_does_not_count_as_the_modality_being_seen() -> None:
    ae = register(host="10.20.0.15")
    decision = caller_decision(calling_ae="US_MAIN_01", address="10.9.9.9")

    assert association_seen("US_MAIN_01", "10.9.9.9", decision) == 0
    ae.refresh_from_db()
    assert ae.last_seen_at is None


def test_an_unknown_caller_let_in_read_only_updates_nothing() -> None:
    policy_set(unknown_caller=UnknownCallerPolicy.READ_ONLY)
    ae = register()
    decision = caller_decision(calling_ae="FINDSCU", address="127.0.0.1")

    assert association_seen("FINDSCU", "127.0.0.1", decision) == 0
    ae.refresh_from_db()
    assert ae.last_seen_at is None


@pytest.mark.parametrize(
    ("registered", "address", "same"),
    [
        ("10.0.0.5", "10.0.0.5", True),
        ("10.0.0.5", "::ffff:10.0.0.5", True),
        ("::ffff:10.0.0.5", "10.0.0.5", True),
        ("fe80::1", "fe80:0:0:0:0:0:0:1", True),
        ("10.0.0.5", "10.0.0.6", False),
        ("10.0.0.5", "", False),
    ],
)
def test_addresses_are_compared_as_ip_addresses(registered: str, address: str, same: bool) -> None:
    assert same_address(registered, address) is same
