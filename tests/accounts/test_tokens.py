from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from radflow.accounts.models import ApiToken
from radflow.accounts.services import api_token_authenticate, api_token_create
from radflow.core.roles import Role
from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    return client_for(make_user(Role.ADMIN, "administrator"))


def test_only_the_administrator_may_open_the_tokens_page(admin_client: Client) -> None:
    assert admin_client.get(reverse("accounts:tokens")).status_code == 200
    for role in (Role.COORDINATOR, Role.AUDITOR, Role.BIOMED):
        client = client_for(make_user(role))
        assert client.get(reverse("accounts:tokens")).status_code == 403


def test_tokens_are_listed_with_prefix_user_and_status(admin_client: Client) -> None:
    interface = make_user(Role.SCHEDULER, "ehr_interface")
    token, _ = api_token_create(user=interface, name="EHR interface engine")
    page = admin_client.get(reverse("accounts:tokens")).content.decode()
    assert token.prefix in page
    assert "ehr_interface" in page
    assert "EHR interface engine" in page
    assert "Active" in page
    assert "Never" in page


def test_creating_a_token_shows_the_secret_once_and_it_works(admin_client: Client) -> None:
    interface = make_user(Role.SCHEDULER, "ehr_interface")
    response = admin_client.post(
        reverse("accounts:tokens"),
        {"user": interface.pk, "name": "EHR interface engine", "expires_on": ""},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "It will not be shown again" in page
    secret = re.search(r'id="new-token-secret">([^<]+)<', page)
    assert secret is not None
    assert api_token_authenticate(secret.group(1)) == interface
    token = ApiToken.objects.get()
    assert token.name == "EHR interface engine"
    assert token.expires_at is None
    assert secret.group(1) not in admin_client.get(reverse("accounts:tokens")).content.decode()


def test_token_expiry_is_the_end_of_the_chosen_day(admin_client: Client) -> None:
    interface = make_user(Role.SCHEDULER, "ehr_interface")
    tomorrow = timezone.localdate() + timedelta(days=1)
    admin_client.post(
        reverse("accounts:tokens"),
        {"user": interface.pk, "name": "Script", "expires_on": tomorrow.isoformat()},
    )
    expires_at = timezone.localtime(ApiToken.objects.get().expires_at)
    assert expires_at.date() == tomorrow + timedelta(days=1)
    assert (expires_at.hour, expires_at.minute) == (0, 0)


def test_a_past_expiry_date_is_refused_with_a_message(admin_client: Client) -> None:
    interface = make_user(Role.SCHEDULER, "ehr_interface")
    response = admin_client.post(
        reverse("accounts:tokens"),
        {"user": interface.pk, "name": "Script", "expires_on": "2001-01-01"},
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "The expiry date must be today or later." in page
    assert 'class="form-errors" role="alert"' in page
    assert not ApiToken.objects.exists()


def test_a_missing_name_is_refused(admin_client: Client) -> None:
    interface = make_user(Role.SCHEDULER, "ehr_interface")
    response = admin_client.post(reverse("accounts:tokens"), {"user": interface.pk, "name": ""})
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoking_a_token_stops_it_working(admin_client: Client) -> None:
    interface = make_user(Role.SCHEDULER, "ehr_interface")
    token, secret = api_token_create(user=interface, name="EHR interface engine")
    response = admin_client.post(
        reverse("accounts:token_revoke", kwargs={"pk": token.pk}), follow=True
    )
    page = response.content.decode()
    assert f"The token {token.prefix}… (EHR interface engine) is revoked." in page
    assert "Revoked" in page
    assert api_token_authenticate(secret) is None


def test_revoking_twice_keeps_the_first_revocation_time(admin_client: Client) -> None:
    interface = make_user(Role.SCHEDULER, "ehr_interface")
    token, _ = api_token_create(user=interface, name="Script")
    url = reverse("accounts:token_revoke", kwargs={"pk": token.pk})
    admin_client.post(url)
    first = ApiToken.objects.get().revoked_at
    response = admin_client.post(url, follow=True)
    assert "already revoked" in response.content.decode()
    assert ApiToken.objects.get().revoked_at == first


def test_non_administrator_cannot_revoke_a_token() -> None:
    interface = make_user(Role.SCHEDULER, "ehr_interface")
    token, secret = api_token_create(user=interface, name="Script")
    client = client_for(make_user(Role.COORDINATOR))
    response = client.post(reverse("accounts:token_revoke", kwargs={"pk": token.pk}))
    assert response.status_code == 403
    assert api_token_authenticate(secret) == interface
