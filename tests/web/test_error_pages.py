from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from radflow.core.roles import Role
from radflow.web import views
from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db


def test_unknown_page_shows_our_404_with_a_link_home() -> None:
    response = client_for(make_user(Role.SCHEDULER)).get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page
    assert "/no-such-page/" in page
    assert f'href="{reverse("web:home")}"' in page
    assert "RadFlow" in page


def test_page_the_role_may_not_open_shows_our_403() -> None:
    response = client_for(make_user(Role.SCHEDULER)).get(reverse("accounts:tokens"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "You cannot open this page" in page
    assert "ask an administrator" in page


def test_unknown_api_path_answers_problem_json(client: Client) -> None:
    response = client.get("/api/no-such-endpoint")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404
    assert body["code"] == "not_found"


def test_server_error_page_renders_without_a_request_context() -> None:
    request = RequestFactory().get("/patients/")
    response = views.server_error(request)
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page
    assert 'href="/"' in page


def test_server_error_on_an_api_path_is_problem_json() -> None:
    response = views.server_error(RequestFactory().get("/api/patients/"))
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
