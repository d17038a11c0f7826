"""The outbox: written with the change, sent by the worker after the commit, retried with
backoff, one patient's messages in order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import transaction
from django.utils import timezone

from radflow.core.errors import ValidationFailed
from radflow.notifications.models import Outbox, OutboxChannel, OutboxStatus
from radflow.notifications.outbox import MAX_ATTEMPTS, backoff, outbox_deliver_due, outbox_enqueue

pytestmark = pytest.mark.django_db

#: Recipients the flaky backend refuses, to simulate a mail server rejecting them.
REFUSED: set[str] = set()


class FlakyBackend(EmailBackend):
    """The test mail box, refusing mail to the addresses in ``REFUSED``."""

    def send_messages(self, messages: Any) -> int:
        for message in messages:
            if set(message.to) & REFUSED:
                raise ConnectionRefusedError("mail server refused the connection")
        return super().send_messages(messages)


@pytest.fixture
def flaky(settings: Any) -> Iterator[set[str]]:
    settings.EMAIL_BACKEND = "tests.notifications.test_outbox.FlakyBackend"
    REFUSED.clear()
    yield REFUSED
    REFUSED.clear()


def email(to: str, subject: str = "Your appointment time has changed", **extra: Any) -> Outbox:
    return outbox_enqueue(
        channel=OutboxChannel.EMAIL, recipient=to, subject=subject, body="Dear Ana", **extra
    )


def test_a_message_written_in_a_transaction_that_rolls_back_is_never_sent() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        email("ana@example.org")
        raise RuntimeError("the change failed")
    assert Outbox.objects.count() == 0
    assert outbox_deliver_due() == 0
    assert mail.outbox == []


def test_due_messages_are_sent_through_the_email_backend_and_marked_sent() -> None:
    message = email("ana@example.org", key="patient:1")
    assert outbox_deliver_due() == 1
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT
    assert message.sent_at is not None
    assert message.attempts == 1
    assert [m.to for m in mail.outbox] == [["ana@example.org"]]
    assert mail.outbox[0].subject == "Your appointment time has changed"
    assert outbox_deliver_due() == 0  # sent once only
    assert len(mail.outbox) == 1


def test_a_failed_send_is_retried_after_a_growing_backoff(flaky: set[str]) -> None:
    flaky.add("ana@example.org")
    start = timezone.now()
    message = email("ana@example.org", at=start)
    assert outbox_deliver_due(now=start) == 0
    message.refresh_from_db()
    assert message.status == OutboxStatus.PENDING
    assert message.attempts == 1
    assert "refused" in message.last_error
    assert message.next_attempt_at == start + backoff(1)
    # Not due yet: nothing is tried.
    assert outbox_deliver_due(now=start + backoff(1) - timedelta(seconds=1)) == 0
    message.refresh_from_db()
    assert message.attempts == 1
    # Second failure doubles the wait.
    assert outbox_deliver_due(now=start + backoff(1)) == 0
    message.refresh_from_db()
    assert message.attempts == 2
    assert backoff(2) == 2 * backoff(1)
    # The server comes back: the next due run sends it.
    flaky.clear()
    assert outbox_deliver_due(now=message.next_attempt_at) == 1
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT
    assert message.last_error == ""
    assert len(mail.outbox) == 1


def test_a_message_that_keeps_failing_is_given_up_after_the_last_attempt(
    flaky: set[str],
) -> None:
    flaky.add("gone@example.org")
    message = email("gone@example.org")
    moment: datetime = timezone.now()
    for _ in range(MAX_ATTEMPTS):
        outbox_deliver_due(now=moment)
        message.refresh_from_db()
        moment = message.next_attempt_at
    assert message.status == OutboxStatus.FAILED
    assert message.attempts == MAX_ATTEMPTS
    assert outbox_deliver_due(now=moment + timedelta(days=1)) == 0


def test_one_patients_messages_go_out_in_order_while_others_are_not_held_up(
    flaky: set[str],
) -> None:
    flaky.add("ana@example.org")
    first = email("ana@example.org", subject="first", key="patient:ana")
    second = email("ana.work@example.org", subject="second", key="patient:ana")
    other = email("ben@example.org", subject="other", key="patient:ben")
    assert outbox_deliver_due() == 1
    assert [m.subject for m in mail.outbox] == ["other"]
    second.refresh_from_db()
    assert second.status == OutboxStatus.PENDING
    assert second.attempts == 0  # not even tried while the first waits
    flaky.clear()
    first.refresh_from_db()
    assert outbox_deliver_due(now=first.next_attempt_at) == 2
    assert [m.subject for m in mail.outbox] == ["other", "first", "second"]
    other.refresh_from_db()
    assert other.status == OutboxStatus.SENT


def test_a_patient_without_an_address_is_recorded_as_skipped_and_never_sent() -> None:
    message = email("  ")
    assert message.status == OutboxStatus.SKIPPED
    assert outbox_deliver_due() == 0
    assert mail.outbox == []


def test_hl7_messages_are_refused_until_the_interfaces_issue_adds_the_sender() -> None:
    with pytest.raises(ValidationFailed) as refused:
        outbox_enqueue(channel=OutboxChannel.HL7, recipient="EPIC", body="MSH|^~\\&|...")
    assert "interfaces" in str(refused.value.errors["channel"])
    assert Outbox.objects.count() == 0


def test_the_worker_runs_the_outbox_job() -> None:
    from radflow.worklists.management.commands import worker

    email("ana@example.org")
    done = worker.run_jobs()
    assert done["outbox_deliver"] == 1
    assert len(mail.outbox) == 1
