from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client, override_settings
from django.urls import reverse

from radflow.core.roles import Role
from tests.conftest import PASSWORD, client_for, make_user

pytestmark = pytest.mark.django_db


def test_login_page_has_labelled_fields(client: Client) -> None:
    page = client.get(reverse("accounts:login")).content.decode()
    assert '<label for="id_username">Username' in page
    assert '<label for="id_password">Password' in page
    assert 'autocomplete="current-password"' in page


def test_coordinator_logs_in_and_lands_on_today(client: Client) -> None:
    user = make_user(Role.COORDINATOR)
    response = client.post(
        reverse("accounts:login"), {"username": "coordinator", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("web:home")
    assert client.session[SESSION_KEY] == str(user.pk)
    assert "Your work as Coordinator" in response.content.decode()


def test_login_returns_to_the_page_asked_for(client: Client) -> None:
    make_user(Role.ADMIN, "administrator")
    response = client.post(
        reverse("accounts:login"),
        {"username": "administrator", "password": PASSWORD, "next": reverse("accounts:tokens")},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:tokens")


def test_wrong_password_shows_a_clear_error_and_logs_nobody_in(client: Client) -> None:
    make_user(Role.SCHEDULER)
    response = client.post(
        reverse("accounts:login"), {"username": "scheduler", "password": "wrong-password"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Username or password is incorrect" in page
    assert 'role="alert"' in page
    assert SESSION_KEY not in client.session


def test_unknown_user_gets_the_same_error_as_a_wrong_password(client: Client) -> None:
    response = client.post(
        reverse("accounts:login"), {"username": "nobody", "password": "whatever-it-is"}
    )
    assert "Username or password is incorrect" in response.content.decode()


def test_logout_ends_the_session_and_returns_to_login() -> None:
    client = client_for(make_user(Role.TECHNOLOGIST))
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    assert SESSION_KEY not in client.session
    assert client.get(reverse("web:home")).status_code == 302


def test_logout_by_get_is_refused_so_a_link_cannot_log_you_out() -> None:
    client = client_for(make_user(Role.TECHNOLOGIST))
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert SESSION_KEY in client.session


@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3)
def test_too_many_failures_lock_the_account_with_an_explanation(client: Client) -> None:
    make_user(Role.SCHEDULER)
    for _ in range(3):
        client.post(reverse("accounts:login"), {"username": "scheduler", "password": "nope-nope"})
    response = client.post(
        reverse("accounts:login"), {"username": "scheduler", "password": PASSWORD}
    )
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed log-in attempts" in page
    assert "ask an administrator" in page
    assert SESSION_KEY not in client.session
