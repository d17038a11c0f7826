"""Schemathesis over both OpenAPI descriptions, the FHIR facade's and the JSON API's: valid and
invalid requests generated for every operation, sent through the WSGI application with an
administrator's token, must never get a server error (5xx)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from radflow.accounts.services import api_token_create
from tests.interfaces.fhir.conftest import Department

pytestmark = pytest.mark.django_db

#: Examples per operation and generation mode: enough to reach every parameter's odd values,
#: few enough that both descriptions are fuzzed in about a minute.
EXAMPLES = 12

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def application() -> Iterator[Callable[..., Any]]:
    """The WSGI app inside the test's transaction: like Django's test client, keep the request
    signals from closing the test's database connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def fuzz(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> list[str]:
    """The server errors generated requests of ``mode`` got from ``operation``."""
    failures: list[str] = []

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode))
    def send(case: Any) -> None:
        response = case.call(headers=headers)
        if response.status_code >= 500:
            failures.append(
                f"{operation.label} ({mode.value}) -> {response.status_code}: "
                f"{case.as_curl_command()}"
            )

    try:
        send()
    except Unsatisfiable:
        # No invalid request can be made of an operation without inputs (metadata).
        assert mode is GenerationMode.NEGATIVE, operation.label
    return failures


def server_errors(schema: Any, headers: dict[str, str]) -> list[str]:
    return [
        failure
        for result in schema.get_all_operations()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        for failure in fuzz(result.ok(), mode, headers)
    ]


@pytest.mark.parametrize("openapi", ["/fhir/R4/openapi.json", "/api/openapi.json"])
def test_no_generated_request_gets_a_server_error(
    openapi: str, department: Department, admin_user: User, application: Callable[..., Any]
) -> None:
    browser = Client()
    browser.force_login(admin_user)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        # The description is a page (log-in required); the test client keeps cookies of its own,
        # so the session is handed to that one request here.
        if environ.get("PATH_INFO") == openapi:
            environ["HTTP_COOKIE"] = cookie
        return application(environ, start_response)

    schema = schemathesis.openapi.from_wsgi(openapi, app)
    _, token = api_token_create(user=admin_user, name="schemathesis")
    failures = server_errors(schema, {"Authorization": f"Bearer {token}"})
    assert failures == [], "\n".join(failures)
