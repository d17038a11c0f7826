"""Assertions about the access log shared by the audit and patients tests."""

from __future__ import annotations

from typing import Any

from radflow.audit.models import AccessLog


def access_rows() -> list[AccessLog]:
    return list(AccessLog.objects.order_by("seq"))


def assert_one_access(**expected: Any) -> AccessLog:
    rows = access_rows()
    assert len(rows) == 1, f"expected one access row, got {[str(r) for r in rows]}"
    row = rows[0]
    for field, value in expected.items():
        assert getattr(row, field) == value, f"{field}: {getattr(row, field)!r} != {value!r}"
    return row
