"""The log refuses changes: in the model, in bulk ORM calls and at the database."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError, connection, transaction

from radflow.audit.models import AccessChannel, AccessLog, AppendOnlyError
from radflow.audit.services import AccessSource, access_record
from tests.patients.factories import PatientFactory


@pytest.fixture
def logged_row(coordinator: User) -> AccessLog:
    (seq,) = access_record(
        user=coordinator,
        patients=[PatientFactory.create()],
        action="patient.detail",
        source=AccessSource(AccessChannel.WEB, "127.0.0.1", "pytest"),
    )
    return AccessLog.objects.get(seq=seq)


@pytest.mark.django_db
def test_the_model_refuses_to_save_a_changed_row(logged_row: AccessLog) -> None:
    row = AccessLog.objects.get(seq=logged_row.seq)
    row.username = "someone_else"
    with pytest.raises(AppendOnlyError):
        row.save()


@pytest.mark.django_db
def test_the_model_refuses_to_delete_a_row(logged_row: AccessLog) -> None:
    with pytest.raises(AppendOnlyError):
        AccessLog.objects.get(seq=logged_row.seq).delete()


@pytest.mark.django_db
def test_a_bulk_update_is_refused_by_the_database(logged_row: AccessLog) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AccessLog.objects.filter(seq=logged_row.seq).update(username="someone_else")
    assert AccessLog.objects.get(seq=logged_row.seq).username == "coordinator"


@pytest.mark.django_db
def test_a_bulk_delete_is_refused_by_the_database(logged_row: AccessLog) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AccessLog.objects.all().delete()
    assert AccessLog.objects.count() == 1


@pytest.mark.django_db
def test_a_raw_update_is_refused_by_the_trigger(logged_row: AccessLog) -> None:
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE audit_accesslog SET username = 'x' WHERE seq = %s", [1])
    assert AccessLog.objects.get(seq=1).username == "coordinator"


@pytest.mark.django_db
def test_a_raw_delete_is_refused_by_the_trigger(logged_row: AccessLog) -> None:
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_accesslog")
    assert AccessLog.objects.count() == 1


@pytest.mark.django_db
def test_deleting_a_user_who_read_records_leaves_their_rows_as_they_were(
    logged_row: AccessLog, coordinator: User
) -> None:
    user_id = coordinator.pk
    coordinator.delete()
    row = AccessLog.objects.get(seq=logged_row.seq)
    assert (row.user_id, row.username) == (user_id, "coordinator")


@pytest.mark.django_db(transaction=True)
def test_flush_can_still_empty_the_log(coordinator: User) -> None:
    from django.core.management import call_command

    access_record(
        user=coordinator,
        patients=[PatientFactory.create()],
        action="patient.detail",
        source=AccessSource(AccessChannel.WEB),
    )
    call_command("flush", interactive=False, verbosity=0)
    assert AccessLog.objects.count() == 0
    with connection.cursor() as cursor:
        # The guard is back after the flush.
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
                ["audit_accesslog_%"],
            )
            assert cursor.fetchone()[0] == 2
        else:
            cursor.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgname LIKE %s", ["audit_accesslog_%"]
            )
            assert cursor.fetchone()[0] == 2
