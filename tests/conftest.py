"""Shared fixtures: a small cast of users, one per role, plus a stranger with no role."""

from __future__ import annotations

import os

os.environ.setdefault("RADFLOW_TESTING", "1")

import pytest
from django.contrib.auth.models import User
from django.test import Client

from radflow.accounts.services import user_create
from radflow.core.roles import Role

PASSWORD = "correct-horse-battery-staple"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        'database(vendor): a test of one database\'s own mechanism ("postgresql" or "sqlite"); '
        "the suite's pass on the other database leaves it out",
    )


def _vendor() -> str:
    from django.db import connection

    return connection.vendor


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect (not skip) the tests of the other database's mechanism: CI runs the suite once
    per database (scripts/pytest-all-databases), so each such test runs in exactly one pass;
    nothing is skipped for a missing tool."""
    vendor = _vendor()
    kept: list[pytest.Item] = []
    left_out: list[pytest.Item] = []
    for item in items:
        marker = item.get_closest_marker("database")
        (left_out if marker is not None and marker.args[0] != vendor else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


def make_user(role: Role | None, username: str | None = None) -> User:
    name = username or (role.value if role else "stranger")
    return user_create(username=name, password=PASSWORD, roles=[role] if role else [])


@pytest.fixture
def user_for_role(db: None):
    """Factory: ``user_for_role(Role.COORDINATOR)`` returns a user holding just that role."""
    return make_user


@pytest.fixture
def coordinator(db: None) -> User:
    return make_user(Role.COORDINATOR)


@pytest.fixture
def scheduler(db: None) -> User:
    return make_user(Role.SCHEDULER)


@pytest.fixture
def technologist(db: None) -> User:
    return make_user(Role.TECHNOLOGIST)


@pytest.fixture
def auditor(db: None) -> User:
    return make_user(Role.AUDITOR)


@pytest.fixture
def biomed(db: None) -> User:
    return make_user(Role.BIOMED)


@pytest.fixture
def admin_user(db: None) -> User:
    return make_user(Role.ADMIN, "administrator")


@pytest.fixture
def stranger(db: None) -> User:
    """Logged in, but holding no role at all."""
    return make_user(None)


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def reference(db: None) -> None:
    """The shipped reference data: catalog, reason codes, SLA policies, completeness rules."""
    from radflow.catalog.reference import load_reference
    from radflow.orders.reference import load_workflow_reference

    load_workflow_reference(result=load_reference())


@pytest.fixture
def radiologist(db: None) -> User:
    return make_user(Role.RADIOLOGIST)


@pytest.fixture
def billing_user(db: None) -> User:
    return make_user(Role.BILLING)


@pytest.fixture
def director(db: None) -> User:
    return make_user(Role.DIRECTOR)
