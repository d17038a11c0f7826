"""Assertion and client helpers shared by the department, catalog, staff and billing tests."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import User
from django.http import HttpResponse
from django.test import Client

from radflow.accounts.services import api_token_create


class ApiClient:
    """A machine client: every request carries the user's bearer token (or none)."""

    def __init__(self, user: User | None) -> None:
        self.client = Client()
        self.headers: dict[str, Any] = {}
        if user is not None:
            _, key = api_token_create(user=user, name="pytest")
            self.headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}

    def get(self, path: str, params: dict[str, Any] | None = None) -> HttpResponse:
        return self.client.get(path, params or {}, **self.headers)  # type: ignore[return-value]

    def send(self, method: str, path: str, body: dict[str, Any]) -> HttpResponse:
        return self.client.generic(  # type: ignore[return-value]
            method, path, json.dumps(body), content_type="application/json", **self.headers
        )

    def post(self, path: str, body: dict[str, Any]) -> HttpResponse:
        return self.send("POST", path, body)

    def patch(self, path: str, body: dict[str, Any]) -> HttpResponse:
        return self.send("PATCH", path, body)


def assert_problem(response: HttpResponse, status: int, field: str | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem with ``status``, naming ``field`` when given."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = json.loads(response.content)
    assert body["status"] == status
    if field is not None:
        fields = [error["field"] for error in body.get("errors", [])]
        assert any(name == field or name.endswith(f".{field}") for name in fields), body
    return body
