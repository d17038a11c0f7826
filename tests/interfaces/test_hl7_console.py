"""The HL7 message console as the interface analyst and the coordinator use it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from radflow.audit.models import AccessLog
from radflow.core.roles import Role
from radflow.interfaces.models import (
    Hl7Destination,
    Hl7Direction,
    Hl7Message,
    Hl7Status,
)
from tests.conftest import client_for, make_user
from tests.interfaces import hl7_messages
from tests.patients.factories import PatientFactory

pytestmark = pytest.mark.django_db

CONSOLE = reverse("interfaces:hl7")
DEAD_LETTERS = reverse("interfaces:hl7_dead_letters")
OUTBOUND = reverse("interfaces:hl7_outbound")


@pytest.fixture
def analyst() -> User:
    return make_user(Role.INTERFACE_ANALYST, "ianalyst")


@pytest.fixture
def analyst_client(analyst: User) -> Client:
    return client_for(analyst)


def detail_url(message: Hl7Message, name: str = "hl7_message") -> str:
    return reverse(f"interfaces:{name}", kwargs={"pk": message.pk})


def shown(response: Any) -> set[str]:
    """The control IDs of the messages a console page lists."""
    page = response.content.decode()
    return {m.control_id for m in Hl7Message.objects.all() if f'id="msg-{m.pk}"' in page}


def local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


# --- search -------------------------------------------------------------------------------------


@pytest.fixture
def traffic() -> dict[str, Any]:
    now = timezone.now()
    epic = hl7_messages.interface()
    pacs = hl7_messages.destination()
    return {
        "now": now,
        "epic": epic,
        "pacs": pacs,
        "adt": hl7_messages.message(
            control="ADT1", mrn="MRN-A", interface=epic, at=now - timedelta(hours=3)
        ),
        "orm": hl7_messages.message(
            template=hl7_messages.ORM_O01,
            control="ORM2",
            mrn="MRN-B",
            accession="ACC2",
            status=Hl7Status.REJECTED,
            at=now - timedelta(hours=2),
        ),
        "siu": hl7_messages.message(
            template=hl7_messages.SIU_S12,
            control="SIU3",
            mrn="MRN-A",
            accession="ACC3",
            direction=Hl7Direction.OUT,
            status=Hl7Status.SENT,
            destination=pacs,
            at=now - timedelta(hours=1),
        ),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (lambda t: {}, {"ADT1", "ORM2", "SIU3"}),
        (lambda t: {"direction": "in"}, {"ADT1", "ORM2"}),
        (lambda t: {"direction": "out"}, {"SIU3"}),
        (lambda t: {"message_type": "ORM"}, {"ORM2"}),
        (lambda t: {"message_type": "siu^s12"}, {"SIU3"}),
        (lambda t: {"mrn": "MRN-A"}, {"ADT1", "SIU3"}),
        (lambda t: {"accession": "ACC2"}, {"ORM2"}),
        (lambda t: {"control_id": "SIU3"}, {"SIU3"}),
        (lambda t: {"status": "rejected"}, {"ORM2"}),
        (lambda t: {"interface": str(t["epic"].pk)}, {"ADT1"}),
        (lambda t: {"destination": str(t["pacs"].pk)}, {"SIU3"}),
        (lambda t: {"since": local(t["now"] - timedelta(minutes=150))}, {"ORM2", "SIU3"}),
        (lambda t: {"until": local(t["now"] - timedelta(minutes=90))}, {"ADT1", "ORM2"}),
        (lambda t: {"mrn": "MRN-A", "direction": "in"}, {"ADT1"}),
        (lambda t: {"mrn": "MRN-C"}, set()),
    ],
)
def test_each_filter_narrows_the_search(
    analyst_client: Client, traffic: dict[str, Any], query: Any, expected: set[str]
) -> None:
    response = analyst_client.get(CONSOLE, query(traffic))

    assert response.status_code == 200
    assert shown(response) == expected


def test_the_newest_message_comes_first(analyst_client: Client, traffic: dict[str, Any]) -> None:
    page = analyst_client.get(CONSOLE).content.decode()
    positions = [page.index(f'id="msg-{traffic[k].pk}"') for k in ("siu", "orm", "adt")]
    assert positions == sorted(positions)


def test_a_filter_that_is_not_understood_is_said_and_left_out(
    analyst_client: Client, traffic: dict[str, Any]
) -> None:
    response = analyst_client.get(CONSOLE, {"since": "yesterday", "mrn": "MRN-B"})

    assert "Some filters were not understood" in response.content.decode()
    assert shown(response) == {"ORM2"}


def test_the_console_records_each_patient_it_names(
    analyst_client: Client, analyst: User, traffic: dict[str, Any]
) -> None:
    patient = PatientFactory.create(mrn="MRN-A")

    analyst_client.get(CONSOLE, {"mrn": "MRN-A"})

    rows = AccessLog.objects.filter(user=analyst, action="interfaces.hl7_search")
    assert [row.patient_id for row in rows] == [patient.pk]


def test_the_console_page_costs_the_same_for_many_messages(
    analyst_client: Client, django_assert_max_num_queries: Any
) -> None:
    pacs = hl7_messages.destination()
    for n in range(40):
        hl7_messages.message(control=f"M{n}", mrn=f"MRN{n}")
        hl7_messages.message(
            template=hl7_messages.SIU_S12,
            control=f"S{n}",
            direction=Hl7Direction.OUT,
            status=Hl7Status.SENT,
            destination=pacs,
        )
    with django_assert_max_num_queries(16):
        response = analyst_client.get(CONSOLE)
    assert len(shown(response)) == 50


# --- one message --------------------------------------------------------------------------------


def test_the_message_page_shows_fields_by_name_the_ack_and_the_error(
    analyst_client: Client, analyst: User
) -> None:
    patient = PatientFactory.create(mrn="MRN004417")
    message = hl7_messages.message(
        status=Hl7Status.REJECTED,
        ack=hl7_messages.ACK_AE,
        error="PID-3: no patient with MRN MRN004417 at GENHOSP.",
    )

    response = analyst_client.get(detail_url(message))

    assert response.status_code == 200
    page = response.content.decode()
    assert "PID-5" in page and "Patient Name" in page
    assert "Family Name: OKONKWO" in page and "Given Name: ADAEZE" in page
    assert "Patient Identifier List" in page and "Assigning Authority: GENHOSP" in page
    assert "Message Control ID" in page and "MSG00001" in page
    assert "Acknowledgment Code" in page and "Unknown patient" in page
    assert "HL7 Error Code" in page
    assert "no patient with MRN MRN004417 at GENHOSP." in page
    assert "Edit and replay" in page
    opened = AccessLog.objects.filter(user=analyst, action="interfaces.hl7_message")
    assert [(row.patient_id, row.patient_mrn) for row in opened] == [(patient.pk, "MRN004417")]


def test_what_a_message_changed_links_to_the_records(analyst_client: Client) -> None:
    patient = PatientFactory.create(mrn="MRN004417")
    message = hl7_messages.message(
        patient=patient,
        changes=[
            {"what": "patient", "id": str(patient.pk), "action": "updated", "label": "Address"},
            {"what": "order", "id": str(patient.pk), "action": "created", "label": "PL77"},
            {"what": "note", "action": "kept", "label": "Z-segment ignored"},
        ],
    )

    page = analyst_client.get(detail_url(message)).content.decode()

    assert f'href="{reverse("patients:detail", kwargs={"pk": patient.pk})}">Address</a>' in page
    assert f'href="{reverse("orders:detail", kwargs={"pk": patient.pk})}">PL77</a>' in page
    assert "Z-segment ignored" in page


def test_a_message_that_could_not_be_read_is_still_shown(analyst_client: Client) -> None:
    message = hl7_messages.message(
        template="PID|1||{mrn}||DOE^JANE\nOBR|1|\xff",
        status=Hl7Status.REFUSED,
        error="The message does not begin with MSH.",
    )
    Hl7Message.objects.filter(pk=message.pk).update(raw=b"PID|1||MRN9||DOE^JANE\nOBR|1|\xff")

    response = analyst_client.get(detail_url(message))

    assert response.status_code == 200
    page = response.content.decode()
    assert "does not begin with MSH" in page
    assert "Family Name: DOE" in page
    assert "No ACK was sent yet." in page


def test_the_replay_chain_is_shown_both_ways(analyst_client: Client, analyst: User) -> None:
    original = hl7_messages.message(control="C1", status=Hl7Status.REPLAYED)
    copy = hl7_messages.message(control="C1", replay_of=original, replayed_by=analyst)

    first = analyst_client.get(detail_url(original)).content.decode()
    second = analyst_client.get(detail_url(copy)).content.decode()

    assert f'href="{detail_url(copy)}"' in first and "Edit and replay" not in first
    assert f'href="{detail_url(original)}"' in second and "made by ianalyst" in second


def test_a_role_without_the_console_is_refused(traffic: dict[str, Any]) -> None:
    director = client_for(make_user(Role.DIRECTOR))
    for url in (CONSOLE, DEAD_LETTERS, OUTBOUND, detail_url(traffic["orm"])):
        assert director.get(url).status_code == 403


# --- dead letters -----------------------------------------------------------------------------


def test_the_dead_letter_list_holds_what_was_refused_and_not_yet_replayed(
    analyst_client: Client,
) -> None:
    hl7_messages.message(control="OK")
    hl7_messages.message(control="AE", status=Hl7Status.REJECTED, error="Unknown exam code")
    hl7_messages.message(control="AR", status=Hl7Status.REFUSED, error="No interface")
    fixed = hl7_messages.message(control="FIXED", status=Hl7Status.REJECTED)
    hl7_messages.message(control="FIXED", replay_of=fixed)

    page = analyst_client.get(DEAD_LETTERS).content.decode()

    listed = {m.control_id for m in Hl7Message.objects.all() if f'id="dead-{m.pk}"' in page}
    assert listed == {"AE", "AR"}
    assert "Unknown exam code" in page and "No interface" in page


def test_the_replay_page_shows_the_message_one_segment_per_line(analyst_client: Client) -> None:
    message = hl7_messages.message(status=Hl7Status.REJECTED, error="Unknown patient")

    page = analyst_client.get(detail_url(message, "hl7_message_replay")).content.decode()

    assert "Unknown patient" in page
    assert "|ADT^A08^ADT_A01|MSG00001|P|2.5.1\nEVN|A08|" in page


def test_an_empty_edit_is_refused_and_nothing_is_replayed(analyst_client: Client) -> None:
    message = hl7_messages.message(status=Hl7Status.REJECTED)

    response = analyst_client.post(detail_url(message, "hl7_message_replay"), {"raw": "PID|1"})

    assert response.status_code == 422
    assert "The first segment must be MSH." in response.content.decode()
    assert Hl7Message.objects.count() == 1
    message.refresh_from_db()
    assert message.status == Hl7Status.REJECTED


def test_a_sent_message_is_not_replayed(analyst_client: Client) -> None:
    sent = hl7_messages.message(
        template=hl7_messages.SIU_S12,
        direction=Hl7Direction.OUT,
        status=Hl7Status.SENT,
        destination=hl7_messages.destination(),
    )

    response = analyst_client.get(detail_url(sent, "hl7_message_replay"), follow=True)

    assert "Only received messages are replayed" in response.content.decode()


# --- outbound queue ---------------------------------------------------------------------------


@pytest.fixture
def stopped() -> dict[str, Any]:
    pacs = hl7_messages.destination(
        stopped_at=timezone.now(), stopped_reason="SIU^S12 RF0000000007 answered AE"
    )
    out: dict[str, Any] = {
        "template": hl7_messages.SIU_S12,
        "direction": Hl7Direction.OUT,
        "destination": pacs,
    }
    held = hl7_messages.message(
        control="RF0000000007",
        accession="ACC7",
        status=Hl7Status.HELD,
        ack="MSH|^~\\&|PACS|GENHOSP|RADFLOW|RAD|20260302100001||ACK|P{control}|P|2.5.1\r"
        "MSA|AE|{control}|Unknown resource",
        error="AE: Unknown resource",
        order_key="patient:7",
        attempts=1,
        **out,
    )
    pending = hl7_messages.message(
        control="RF0000000008", status=Hl7Status.PENDING, order_key="patient:8", **out
    )
    return {"pacs": pacs, "held": held, "pending": pending}


def test_the_queue_shows_held_messages_their_error_and_ack_and_the_stop(
    analyst_client: Client, stopped: dict[str, Any]
) -> None:
    page = analyst_client.get(OUTBOUND).content.decode()

    assert "SIU^S12 RF0000000007 answered AE" in page
    assert "AE: Unknown resource" in page
    assert f'id="out-{stopped["held"].pk}"' in page and f'id="out-{stopped["pending"].pk}"' in page
    assert page.index(f'id="out-{stopped["held"].pk}"') < page.index(
        f'id="out-{stopped["pending"].pk}"'
    )
    assert "Release PACS" in page


def test_the_coordinator_skips_a_held_message(stopped: dict[str, Any]) -> None:
    coordinator = make_user(Role.COORDINATOR)
    held = stopped["held"]

    response = client_for(coordinator).post(detail_url(held, "hl7_message_skip"), follow=True)

    assert "RF0000000007 skipped" in response.content.decode()
    held.refresh_from_db()
    assert (held.status, held.replayed_by) == (Hl7Status.SKIPPED, coordinator)


def test_skipping_a_sent_message_is_refused_and_changes_nothing(
    analyst_client: Client, stopped: dict[str, Any]
) -> None:
    sent = hl7_messages.message(
        template=hl7_messages.SIU_S12,
        control="RF0000000001",
        direction=Hl7Direction.OUT,
        status=Hl7Status.SENT,
        destination=stopped["pacs"],
    )

    response = analyst_client.post(detail_url(sent, "hl7_message_skip"), follow=True)

    assert "Only a message waiting or held can be skipped" in response.content.decode()
    sent.refresh_from_db()
    assert sent.status == Hl7Status.SENT


def test_the_analyst_resends_a_held_message_as_it_is(
    analyst_client: Client, stopped: dict[str, Any]
) -> None:
    held = stopped["held"]

    response = analyst_client.post(detail_url(held, "hl7_message_resend"), follow=True)

    assert "is queued for PACS" in response.content.decode()
    held.refresh_from_db()
    assert held.status == Hl7Status.PENDING
    assert Hl7Message.objects.count() == 2


def test_the_analyst_edits_and_resends_a_held_message(
    analyst_client: Client, stopped: dict[str, Any]
) -> None:
    held = stopped["held"]
    url = detail_url(held, "hl7_message_resend")
    text = analyst_client.get(url).context["form"]["raw"].value()
    assert text.startswith("MSH|") and "\nSCH|" in text

    response = analyst_client.post(url, {"raw": text.replace("|30|min", "|45|min")})

    copy = Hl7Message.objects.get(replay_of=held)
    assert response.status_code == 302 and response["Location"] == detail_url(copy)
    assert bytes(copy.raw).split(b"\r")[1].endswith(b"|45|min")
    assert (copy.status, copy.control_id) == (Hl7Status.PENDING, "RF0000000007")
    held.refresh_from_db()
    assert held.status == Hl7Status.REPLAYED


def test_an_edit_that_changes_the_control_id_is_refused(
    analyst_client: Client, stopped: dict[str, Any]
) -> None:
    held = stopped["held"]
    url = detail_url(held, "hl7_message_resend")
    text = analyst_client.get(url).context["form"]["raw"].value()

    response = analyst_client.post(url, {"raw": text.replace("RF0000000007", "RF9")})

    assert response.status_code == 422
    assert "MSH-10 must stay RF0000000007" in response.content.decode()
    assert not Hl7Message.objects.filter(replay_of=held).exists()
    held.refresh_from_db()
    assert held.status == Hl7Status.HELD


def test_the_analyst_releases_a_stopped_destination(
    analyst_client: Client, stopped: dict[str, Any]
) -> None:
    pacs: Hl7Destination = stopped["pacs"]

    response = analyst_client.post(
        reverse("interfaces:hl7_destination_release", kwargs={"pk": pacs.pk}), follow=True
    )

    assert "PACS released" in response.content.decode()
    pacs.refresh_from_db()
    assert pacs.stopped_at is None
    assert "Release PACS" not in analyst_client.get(OUTBOUND).content.decode()


def test_a_role_without_replay_cannot_skip_resend_or_release(stopped: dict[str, Any]) -> None:
    director = client_for(make_user(Role.DIRECTOR))
    held = stopped["held"]
    for url in (
        detail_url(held, "hl7_message_skip"),
        detail_url(held, "hl7_message_resend"),
        reverse("interfaces:hl7_destination_release", kwargs={"pk": stopped["pacs"].pk}),
    ):
        assert director.post(url).status_code == 403
    held.refresh_from_db()
    assert held.status == Hl7Status.HELD


# --- Today card -------------------------------------------------------------------------------


def test_the_analysts_today_card_counts_what_waits(
    analyst_client: Client, stopped: dict[str, Any]
) -> None:
    hl7_messages.message(control="AE", status=Hl7Status.REJECTED)

    page = analyst_client.get(reverse("web:home")).content.decode()

    card = page[page.index('id="hl7-card"') :]
    assert '<p class="card-figure">2</p>' in card
    assert 'Dead letters</a> <span class="badge badge-bad">1</span>' in card
    assert 'Stopped destinations <span class="badge badge-bad">1</span>' in card


# --- edit and replay (the inbound part's ``hl7_replay``) ---------------------------------------

ORDER_WITH_UNKNOWN_CODE = (
    "MSH|^~\\&|EPIC|GENHOSP|RADFLOW|RAD|20260302091700||ORM^O01|ORD7781|P|2.3.1\r"
    "PID|1||MRN004417^^^GENHOSP^MR||OKONKWO^ADAEZE||19870423|F\r"
    "PV1|1|O\r"
    "ORC|NW|PL7781||||||1^once^^^^R|||||1234567893^HART^AMELIA\r"
    "OBR|1|PL7781||76799^US ABDOMEN UNLISTED^CPT|||||||||RUQ pain after meals"
    "|||1234567893^HART^AMELIA\r"
)


def test_a_dead_letter_edited_and_replayed_is_applied(
    analyst_client: Client, analyst: User, reference: None
) -> None:
    from radflow.interfaces.hl7_inbound import hl7_receive

    hl7_messages.interface(mrn_authority="GENHOSP", procedure_code_system="CPT")
    hl7_receive(raw=ORDER_WITH_UNKNOWN_CODE.encode(), peer="10.0.0.9")
    dead = Hl7Message.objects.get()
    assert dead.status == Hl7Status.REJECTED, dead.error
    page = analyst_client.get(DEAD_LETTERS).content.decode()
    assert f'id="dead-{dead.pk}"' in page

    url = detail_url(dead, "hl7_message_replay")
    text = analyst_client.get(url).context["form"]["raw"].value()
    response = analyst_client.post(
        url,
        {"raw": text.replace("76799^US ABDOMEN UNLISTED", "76700^US ABDOMEN COMPLETE")},
        follow=True,
    )

    replay = Hl7Message.objects.get(replay_of=dead)
    assert response.redirect_chain == [(detail_url(replay), 302)]
    shown_page = response.content.decode()
    assert "Replayed: Applied (AA), ACK AA." in shown_page
    assert replay.exam is not None
    assert reverse("exams:detail", kwargs={"pk": replay.exam.pk}) in shown_page
    assert (replay.status, replay.ack_code, replay.replayed_by) == (
        Hl7Status.APPLIED,
        "AA",
        analyst,
    )
    assert b"76700^US ABDOMEN COMPLETE^CPT" in bytes(replay.raw)
    assert b"\n" not in bytes(replay.raw)
    dead.refresh_from_db()
    assert dead.status == Hl7Status.REPLAYED
    assert f'id="dead-{dead.pk}"' not in analyst_client.get(DEAD_LETTERS).content.decode()


def test_a_replay_that_fails_again_leads_to_the_new_copy(
    analyst_client: Client, reference: None
) -> None:
    from radflow.interfaces.hl7_inbound import hl7_receive

    hl7_messages.interface(mrn_authority="GENHOSP", procedure_code_system="CPT")
    hl7_receive(raw=ORDER_WITH_UNKNOWN_CODE.encode(), peer="10.0.0.9")
    dead = Hl7Message.objects.get()
    url = detail_url(dead, "hl7_message_replay")
    text = analyst_client.get(url).context["form"]["raw"].value()

    response = analyst_client.post(url, {"raw": text.replace("76799", "76798")}, follow=True)

    copy = Hl7Message.objects.get(replay_of=dead)
    assert copy.status == Hl7Status.REJECTED
    assert response.redirect_chain[-1][0] == detail_url(copy, "hl7_message_replay")
    assert "The replayed message was not applied (Rejected (AE), ACK AE)" in (
        response.content.decode()
    )
    page = analyst_client.get(DEAD_LETTERS).content.decode()
    assert f'id="dead-{copy.pk}"' in page and f'id="dead-{dead.pk}"' not in page
