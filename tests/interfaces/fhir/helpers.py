"""A FHIR client as an EHR would be one (bearer token, application/fhir+json) and assertions on
what it gets back: OperationOutcomes, searchset Bundles and their links."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.contrib.auth.models import User
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.test import Client

from radflow.accounts.services import api_token_create

FHIR_JSON = "application/fhir+json"
BASE = "/fhir/R4"


class FhirClient:
    """Every request carries the user's bearer token (none for ``None``)."""

    def __init__(self, user: User | None) -> None:
        self.client = Client()
        self.headers: dict[str, str] = {"Accept": FHIR_JSON}
        if user is not None:
            _, key = api_token_create(user=user, name="fhir-test")
            self.headers["Authorization"] = f"Bearer {key}"

    def get(self, path: str, params: dict[str, Any] | None = None) -> HttpResponse:
        return self.client.get(f"{BASE}/{path}", params or {}, headers=self.headers)  # type: ignore[return-value]

    def send(self, method: str, path: str, body: dict[str, Any]) -> HttpResponse:
        return self.client.generic(  # type: ignore[return-value]
            method, f"{BASE}/{path}", json.dumps(body), content_type=FHIR_JSON, headers=self.headers
        )

    def post(self, path: str, body: dict[str, Any]) -> HttpResponse:
        return self.send("POST", path, body)

    def put(self, path: str, body: dict[str, Any]) -> HttpResponse:
        return self.send("PUT", path, body)


def resource(response: HttpResponseBase, status: int = 200) -> dict[str, Any]:
    """The body of a FHIR answer with ``status``."""
    content = getattr(response, "content", b"")
    assert response.status_code == status, content
    assert response["Content-Type"].startswith(FHIR_JSON)
    body: dict[str, Any] = json.loads(content)
    return body


def assert_outcome(response: HttpResponseBase, status: int, expression: str | None = None) -> str:
    """The answer is an OperationOutcome with ``status``, naming ``expression`` when given;
    returns the first diagnostics text."""
    body = resource(response, status)
    assert body["resourceType"] == "OperationOutcome", body
    issues = body["issue"]
    assert issues and issues[0]["severity"] == "error"
    if expression is not None:
        named = [e for issue in issues for e in issue.get("expression", [])]
        assert any(e == expression or e.endswith(expression) for e in named), issues
    return str(issues[0]["diagnostics"])


def entries(bundle: dict[str, Any], kind: str | None = None) -> list[dict[str, Any]]:
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "searchset"
    found = [e["resource"] for e in bundle.get("entry", [])]
    if kind is not None:
        assert all(r["resourceType"] == kind for r in found), found
    return found


def ids(bundle: dict[str, Any]) -> list[str]:
    return [r["id"] for r in entries(bundle)]


def link(bundle: dict[str, Any], relation: str) -> str | None:
    return next((li["url"] for li in bundle.get("link", []) if li["relation"] == relation), None)


def follow(client: FhirClient, url: str) -> HttpResponse:
    """GET a Bundle link as given (absolute URL with its query)."""
    parts = urlsplit(url)
    params = {k: v if len(v) > 1 else v[0] for k, v in parse_qs(parts.query).items()}
    return client.client.get(parts.path, params, headers=client.headers)  # type: ignore[return-value]


def identifier(found: dict[str, Any], system: str) -> str | None:
    return next(
        (i["value"] for i in found.get("identifier", []) if i.get("system") == system), None
    )
