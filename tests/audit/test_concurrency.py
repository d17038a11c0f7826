"""Appends from several threads at once still make one gapless, intact chain."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import OperationalError, connection, connections

from radflow.audit.models import AccessChannel, AccessLog
from radflow.audit.selectors import access_chain_verify
from radflow.audit.services import AccessSource, access_record
from tests.patients.factories import PatientFactory

WRITERS = 4


def append_with_retry(**kwargs: Any) -> None:
    """The test database is in-memory SQLite with a shared cache, which answers "locked" at
    once where a file database waits its busy timeout; retry as that timeout would."""
    for _ in range(500):
        try:
            access_record(**kwargs)
        except OperationalError as exc:
            if connection.vendor != "sqlite" or "locked" not in str(exc):
                raise
            time.sleep(0.005)
        else:
            return
    raise AssertionError("never got the write lock")


APPENDS_EACH = 8


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_a_gapless_chain(coordinator: User) -> None:
    patients = [PatientFactory.create() for _ in range(3)]
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            start.wait(timeout=10)
            for _ in range(APPENDS_EACH):
                append_with_retry(
                    user=coordinator,
                    patients=patients[: 1 + number % 3],
                    action="patient.search",
                    source=AccessSource(AccessChannel.API, f"127.0.0.{number + 1}"),
                )
        except BaseException as exc:  # reported to the main thread below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    expected = sum(APPENDS_EACH * (1 + n % 3) for n in range(WRITERS))
    seqs = list(AccessLog.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, expected + 1))
    status = access_chain_verify()
    assert status.summary == f"OK: {expected} rows, chain intact"
