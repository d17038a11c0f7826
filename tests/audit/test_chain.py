"""The access log's chain end to end: real page reads, then an attacker with database rights."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from radflow.audit import append_only
from radflow.audit.models import AccessLog
from tests.conftest import client_for
from tests.patients.factories import PatientFactory


def run_verify() -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("audit", "verify", stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def read_some_records(user: User) -> int:
    """Open three records and one search page; return how many rows that logged."""
    client = client_for(user)
    patients = [PatientFactory.create(family_name=f"Chainson{i}") for i in range(3)]
    for patient in patients:
        assert client.get(reverse("patients:detail", kwargs={"pk": patient.pk})).status_code == 200
    assert client.get(reverse("patients:list"), {"q": "Chainson"}).status_code == 200
    return 3 + 3


def tamper(sql: str, params: list[Any]) -> None:
    """What someone with rights on the database could do: lift the guard, change, put it back."""
    with append_only.lifted(connection), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.django_db
def test_rows_appended_by_page_reads_verify_as_intact(coordinator: User) -> None:
    count = read_some_records(coordinator)
    assert AccessLog.objects.count() == count
    code, out, _ = run_verify()
    assert code == 0
    assert out.strip() == f"OK: {count} rows, chain intact"


@pytest.mark.django_db
def test_an_altered_row_is_reported_as_the_first_broken_link(coordinator: User) -> None:
    read_some_records(coordinator)
    tamper("UPDATE audit_accesslog SET username = %s WHERE seq = %s", ["someone_else", 3])
    code, _, err = run_verify()
    assert code == 1
    assert err.strip() == "BROKEN at #3: row content does not match its hash"


@pytest.mark.django_db
def test_an_altered_row_with_a_recomputed_hash_breaks_the_next_link(coordinator: User) -> None:
    from radflow.audit.services import access_fields
    from radflow.core.audit_chain import row_hash

    read_some_records(coordinator)
    row = AccessLog.objects.get(seq=2)
    row.username = "someone_else"
    forged = row_hash(row.prev_hash, access_fields(row))
    tamper(
        "UPDATE audit_accesslog SET username = %s, row_hash = %s WHERE seq = %s",
        ["someone_else", forged, 2],
    )
    code, _, err = run_verify()
    assert code == 1
    assert err.startswith("BROKEN at #3:")


@pytest.mark.django_db
def test_a_deleted_row_is_detected(coordinator: User) -> None:
    read_some_records(coordinator)
    tamper("DELETE FROM audit_accesslog WHERE seq = %s", [4])
    code, _, err = run_verify()
    assert code == 1
    assert err.strip() == "BROKEN at #5: sequence gap: expected #4"


@pytest.mark.django_db
def test_deleting_the_last_rows_is_caught_by_the_head(coordinator: User) -> None:
    count = read_some_records(coordinator)
    tamper("DELETE FROM audit_accesslog WHERE seq >= %s", [count - 1])
    code, _, err = run_verify()
    assert code == 1
    assert (
        err.strip() == f"BROKEN at #{count - 1}: rows missing at the end: the head records #{count}"
    )


@pytest.mark.django_db
def test_the_verify_page_shows_the_same_result_as_the_command(
    coordinator: User, auditor: User
) -> None:
    read_some_records(coordinator)
    page = client_for(auditor).get(reverse("audit:verify"))
    assert "OK: 6 rows, chain intact" in page.content.decode()
    tamper("UPDATE audit_accesslog SET action = %s WHERE seq = %s", ["nothing.to.see", 5])
    page = client_for(auditor).get(reverse("audit:verify"))
    assert "BROKEN at #5: row content does not match its hash" in page.content.decode()


@pytest.mark.django_db
def test_verify_without_a_subcommand_explains_itself() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="verify"):
        call_command("audit")
