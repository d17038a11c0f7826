"""The HL7 settings pages (interfaces, destinations, retention) and the retention purge."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from radflow.core.errors import ValidationFailed
from radflow.core.roles import Role
from radflow.interfaces import services_hl7_setup
from radflow.interfaces.models import (
    Hl7Destination,
    Hl7Direction,
    Hl7Interface,
    Hl7Message,
    Hl7Status,
)
from radflow.interfaces.selectors_hl7 import interface_settings_get
from radflow.interfaces.services_hl7_setup import (
    hl7_destination_save,
    hl7_interface_save,
    hl7_messages_purge,
    interface_settings_save,
)
from radflow.worklists.management.commands.worker import JOBS
from tests.conftest import client_for, make_user
from tests.interfaces import hl7_messages
from tests.scheduling.factories import SiteFactory

pytestmark = pytest.mark.django_db

INTERFACES = reverse("interfaces:hl7_interfaces")
ADD_INTERFACE = reverse("interfaces:hl7_interface_add")
DESTINATIONS = reverse("interfaces:hl7_destinations")
ADD_DESTINATION = reverse("interfaces:hl7_destination_add")
SETTINGS = reverse("interfaces:hl7_settings")


@pytest.fixture
def analyst() -> User:
    return make_user(Role.INTERFACE_ANALYST, "ianalyst")


@pytest.fixture
def analyst_client(analyst: User) -> Client:
    return client_for(analyst)


def interface_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "name": "Epic orders",
        "sending_application": "EPIC",
        "sending_facility": "GENHOSP",
        "mrn_authority": "GENHOSP",
        "procedure_code_system": "CPT",
        "site": "",
        "active": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def destination_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "name": "Sectra PACS",
        "host": "pacs.genhosp.org",
        "port": "2575",
        "receiving_application": "SECTRA",
        "receiving_facility": "GENHOSP",
        "version": "2.3.1",
        "sends_scheduling": "on",
        "sends_status": "on",
        "active": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- interfaces -------------------------------------------------------------------------------


def test_the_analyst_adds_an_interface_for_a_site_and_sees_it_listed(
    analyst_client: Client,
) -> None:
    site = SiteFactory.create(name="Main campus")

    response = analyst_client.post(ADD_INTERFACE, interface_data(site=str(site.pk)), follow=True)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Interface Epic orders saved." in page
    interface = Hl7Interface.objects.get()
    assert (interface.sending_application, interface.mrn_authority, interface.site) == (
        "EPIC",
        "GENHOSP",
        site,
    )
    assert "Main campus" in page and "CPT" in page


def test_the_analyst_edits_an_interface(analyst_client: Client) -> None:
    interface = hl7_interface_save(name="Epic orders", sending_application="EPIC")
    url = reverse("interfaces:hl7_interface_edit", kwargs={"pk": interface.pk})
    assert 'value="Epic orders"' in analyst_client.get(url).content.decode()

    response = analyst_client.post(url, interface_data(active=None, mrn_authority="MRN"))

    assert response.status_code == 302
    interface.refresh_from_db()
    assert (interface.active, interface.mrn_authority) == (False, "MRN")


def test_two_active_interfaces_cannot_claim_the_same_sender(analyst_client: Client) -> None:
    hl7_interface_save(name="Epic ADT", sending_application="EPIC", sending_facility="GENHOSP")

    response = analyst_client.post(ADD_INTERFACE, interface_data(sending_application="epic"))

    assert response.status_code == 422
    assert "The active interface Epic ADT already accepts messages from epic/GENHOSP" in (
        response.content.decode()
    )
    assert Hl7Interface.objects.count() == 1
    # An inactive one may share it (a planned cut-over).
    assert analyst_client.post(ADD_INTERFACE, interface_data(active=None)).status_code == 302


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "  ", "This field is required."),
        ("sending_application", "EPIC^1.2.3", "namespace ID alone"),
        ("mrn_authority", "GEN|HOSP", "namespace ID alone"),
    ],
)
def test_a_bad_interface_is_refused_and_nothing_is_saved(
    analyst_client: Client, field: str, value: str, message: str
) -> None:
    response = analyst_client.post(ADD_INTERFACE, interface_data(**{field: value}))

    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Hl7Interface.objects.exists()


def test_interface_names_are_unique_whatever_the_case() -> None:
    hl7_interface_save(name="Epic orders", sending_application="EPIC")
    with pytest.raises(ValidationFailed) as refused:
        hl7_interface_save(name="EPIC ORDERS", sending_application="CERNER")
    assert refused.value.errors == {"name": ["An interface named EPIC ORDERS already exists."]}


# --- destinations -----------------------------------------------------------------------------


def test_the_analyst_adds_a_destination_and_sees_it_listed(analyst_client: Client) -> None:
    response = analyst_client.post(ADD_DESTINATION, destination_data(), follow=True)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Destination Sectra PACS saved." in page
    assert "pacs.genhosp.org:2575" in page
    destination = Hl7Destination.objects.get()
    assert (destination.version, destination.sends_scheduling, destination.sends_status) == (
        "2.3.1",
        True,
        True,
    )


def test_editing_a_destination_keeps_its_stop(analyst_client: Client) -> None:
    destination = hl7_messages.destination(stopped_at=timezone.now(), stopped_reason="AE")
    url = reverse("interfaces:hl7_destination_edit", kwargs={"pk": destination.pk})

    response = analyst_client.post(url, destination_data(name="PACS", port="3575"))

    assert response.status_code == 302
    destination.refresh_from_db()
    assert destination.port == 3575
    assert destination.stopped_at is not None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"host": "pacs genhosp"}, "is neither an IP address nor a host name"),
        ({"port": "70000"}, "less than or equal to 65535"),
        ({"version": "2.7"}, "Select a valid choice"),
        ({"sends_scheduling": None, "sends_status": None}, "scheduling messages, status"),
        ({"receiving_facility": "GEN~HOSP"}, "namespace ID alone"),
    ],
)
def test_a_bad_destination_is_refused_and_nothing_is_saved(
    analyst_client: Client, overrides: dict[str, Any], message: str
) -> None:
    response = analyst_client.post(ADD_DESTINATION, destination_data(**overrides))

    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Hl7Destination.objects.exists()


def test_the_destination_service_checks_what_the_form_cannot() -> None:
    with pytest.raises(ValidationFailed) as refused:
        hl7_destination_save(name="PACS", host="", port=0, version="2.4")
    assert set(refused.value.errors) == {"host", "port", "version"}
    assert not Hl7Destination.objects.exists()


# --- retention --------------------------------------------------------------------------------


def test_the_analyst_sets_the_retention(analyst_client: Client, analyst: User) -> None:
    assert "Messages are kept <strong>365 days" in analyst_client.get(SETTINGS).content.decode()

    response = analyst_client.post(SETTINGS, {"retention_days": "90"}, follow=True)

    assert "Messages are kept 90 days." in response.content.decode()
    settings = interface_settings_get()
    assert (settings.retention_days, settings.updated_by) == (90, analyst)


@pytest.mark.parametrize("days", ["0", "4000", "soon"])
def test_a_retention_out_of_range_is_refused(analyst_client: Client, days: str) -> None:
    response = analyst_client.post(SETTINGS, {"retention_days": days})

    assert response.status_code == 422
    assert interface_settings_get().retention_days == 365


def test_the_service_refuses_a_retention_the_form_would_not_send() -> None:
    with pytest.raises(ValidationFailed) as refused:
        interface_settings_save(retention_days=0)
    assert "retention_days" in refused.value.errors


def test_the_coordinator_uses_the_console_but_not_the_settings() -> None:
    client = client_for(make_user(Role.COORDINATOR))
    assert client.get(reverse("interfaces:hl7")).status_code == 200
    for url in (SETTINGS, INTERFACES, DESTINATIONS, ADD_INTERFACE, ADD_DESTINATION):
        assert client.get(url).status_code == 403
    assert client.post(SETTINGS, {"retention_days": "1"}).status_code == 403
    assert interface_settings_get().retention_days == 365


# --- purge ------------------------------------------------------------------------------------


def _old(days: int = 400) -> Any:
    return timezone.now() - timedelta(days=days)


def _left() -> set[str]:
    return set(Hl7Message.objects.values_list("control_id", flat=True))


def test_the_purge_deletes_old_finished_messages_and_keeps_what_waits_for_someone() -> None:
    pacs = hl7_messages.destination()
    out: dict[str, Any] = {
        "template": hl7_messages.SIU_S12,
        "direction": Hl7Direction.OUT,
        "destination": pacs,
    }
    hl7_messages.message(control="OLD-APPLIED", at=_old())
    hl7_messages.message(control="OLD-SENT", status=Hl7Status.SENT, at=_old(), **out)
    hl7_messages.message(control="OLD-SKIPPED", status=Hl7Status.SKIPPED, at=_old(), **out)
    hl7_messages.message(control="NEW-APPLIED", at=_old(300))
    hl7_messages.message(control="OLD-REJECTED", status=Hl7Status.REJECTED, at=_old())
    hl7_messages.message(control="OLD-REFUSED", status=Hl7Status.REFUSED, at=_old())
    hl7_messages.message(control="OLD-RECEIVED", status=Hl7Status.RECEIVED, at=_old())
    hl7_messages.message(control="OLD-PENDING", status=Hl7Status.PENDING, at=_old(), **out)
    hl7_messages.message(control="OLD-HELD", status=Hl7Status.HELD, at=_old(), **out)

    assert hl7_messages_purge() == 3

    assert _left() == {
        "NEW-APPLIED",
        "OLD-REJECTED",
        "OLD-REFUSED",
        "OLD-RECEIVED",
        "OLD-PENDING",
        "OLD-HELD",
    }


def test_the_purge_follows_the_retention_setting() -> None:
    hl7_messages.message(control="40-DAYS", at=_old(40))
    interface_settings_save(retention_days=30)

    assert hl7_messages_purge() == 1
    assert _left() == set()


def test_a_replay_chain_goes_as_a_whole_newest_copy_first() -> None:
    original = hl7_messages.message(control="CHAIN-1", status=Hl7Status.REJECTED, at=_old(500))
    hl7_messages.message(control="CHAIN-2", replay_of=original, at=_old(450))
    replaced = hl7_messages.message(control="OTHER-1", status=Hl7Status.REPLAYED, at=_old(500))
    hl7_messages.message(control="OTHER-2", replay_of=replaced, at=_old(450))

    assert hl7_messages_purge() == 4
    assert _left() == set()


def test_a_chain_whose_newest_copy_is_kept_stays_whole() -> None:
    # The replay was refused again: a dead letter, so the original stays with it.
    failed = hl7_messages.message(control="FAIL-1", status=Hl7Status.REPLAYED, at=_old(500))
    hl7_messages.message(
        control="FAIL-2", status=Hl7Status.REJECTED, replay_of=failed, at=_old(450)
    )
    # The replay is recent: the old original stays until the replay is old too.
    recent = hl7_messages.message(control="RECENT-1", status=Hl7Status.REJECTED, at=_old(500))
    hl7_messages.message(control="RECENT-2", replay_of=recent, at=_old(10))

    assert hl7_messages_purge() == 0
    assert _left() == {"FAIL-1", "FAIL-2", "RECENT-1", "RECENT-2"}


def test_the_purge_works_in_batches_until_nothing_is_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(services_hl7_setup, "PURGE_BATCH", 2)
    for n in range(5):
        hl7_messages.message(control=f"BATCH-{n}", at=_old())
    hl7_messages.message(control="KEEP", status=Hl7Status.REJECTED, at=_old())

    assert hl7_messages_purge() == 5
    assert _left() == {"KEEP"}


def test_the_worker_runs_the_purge() -> None:
    hl7_messages.message(control="OLD", at=_old())

    assert dict(JOBS)["hl7_messages_purge"]() == 1
    assert _left() == set()
