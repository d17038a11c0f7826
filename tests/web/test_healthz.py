from __future__ import annotations

import pytest
from django.db import DatabaseError, connection
from django.test import Client
from django.urls import reverse

import radflow
from radflow.web import views

pytestmark = pytest.mark.django_db


def test_health_check_is_public_and_reports_ok(client: Client) -> None:
    response = client.get(reverse("web:healthz"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["database"]["vendor"] in {"sqlite", "postgresql"}
    assert body["migrations"] == {"ok": True, "unapplied": 0}
    assert body["version"] == radflow.__version__


def test_health_check_answers_503_when_migrations_are_missing(
    client: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(views, "_migration_status", lambda: {"ok": False, "unapplied": 3})
    response = client.get(reverse("web:healthz"))
    assert response.status_code == 503
    assert response.json()["status"] == "error"
    assert response.json()["migrations"]["unapplied"] == 3


def test_health_check_answers_503_when_the_database_is_down(
    client: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class BrokenCursor:
        def __enter__(self) -> BrokenCursor:
            raise DatabaseError("connection refused")

        def __exit__(self, *args: object) -> None:
            return None

    monkeypatch.setattr(connection, "cursor", lambda: BrokenCursor())
    response = client.get(reverse("web:healthz"))
    assert response.status_code == 503
    assert response.json()["database"]["ok"] is False
    assert response.json()["status"] == "error"


def test_health_check_is_never_cached(client: Client) -> None:
    response = client.get(reverse("web:healthz"))
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
