"""Reservations for bookings made before issue 5, then PostgreSQL's guarantee against overlap.

The backfill gives every exam that holds its room (scheduled, arrived, in progress) a room
reservation, and its technologist one where that does not overlap another of theirs (older data
was never checked for staff). Then, on PostgreSQL only, one exclusion constraint per resource
refuses two active reservations of the same room, device, person or interpreter whose
``[start, end)`` ranges overlap, whatever process writes them. SQLite skips this step: its
IMMEDIATE transactions serialise writers and the booking service checks inside them.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

HOLDS_ROOM = ("scheduled", "arrived", "in_progress")
RESOURCES = ("room", "device", "staff", "interpreter")
TABLE = "scheduling_reservation"


def backfill(apps: Any, schema_editor: Any) -> None:
    Exam = apps.get_model("exams", "Exam")
    Reservation = apps.get_model("scheduling", "Reservation")
    rows = []
    staff_busy: dict[Any, list[tuple[Any, Any]]] = {}
    exams = (
        Exam.objects.filter(
            state__in=HOLDS_ROOM,
            room__isnull=False,
            scheduled_start__isnull=False,
            scheduled_end__isnull=False,
        )
        .order_by("scheduled_start")
        .values_list("pk", "room_id", "technologist_id", "scheduled_start", "scheduled_end")
    )
    for exam_id, room_id, staff_id, start, end in exams.iterator():
        if end <= start:
            continue
        rows.append(Reservation(exam_id=exam_id, room_id=room_id, start=start, end=end))
        if staff_id is not None:
            busy = staff_busy.setdefault(staff_id, [])
            if all(end <= s or start >= e for s, e in busy):
                busy.append((start, end))
                rows.append(Reservation(exam_id=exam_id, staff_id=staff_id, start=start, end=end))
    Reservation.objects.bulk_create(rows, batch_size=2000)


def _constraint(resource: str) -> str:
    return f"reservation_no_overlap_{resource}"


def add_exclusion(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    for resource in RESOURCES:
        schema_editor.execute(
            f"ALTER TABLE {TABLE} ADD CONSTRAINT {_constraint(resource)} "
            f"EXCLUDE USING gist ({resource}_id WITH =, "
            'tstzrange("start", "end", \'[)\') WITH &&) '
            f"WHERE (active AND {resource}_id IS NOT NULL)"
        )


def drop_exclusion(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for resource in RESOURCES:
        name = _constraint(resource)
        schema_editor.execute(f"ALTER TABLE {TABLE} DROP CONSTRAINT IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0002_calendars_holds_and_reservations"),
        ("exams", "0004_exam_device_interpreter_transport"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunPython(add_exclusion, drop_exclusion),
    ]
