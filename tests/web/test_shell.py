from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from radflow.core.roles import Role
from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db


def test_every_page_asset_is_served_from_our_own_origin() -> None:
    page = client_for(make_user(Role.COORDINATOR)).get(reverse("web:home")).content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+\.(?:js|css|svg))"', page)
    assert sources, "the shell loads no assets"
    for source in sources:
        assert source.startswith("/static/"), f"{source} is not vendored"
        assert finders.find(source.removeprefix("/static/")) is not None, f"{source} is missing"


def test_shell_has_no_inline_script_or_style_so_the_csp_can_stay_strict() -> None:
    response = client_for(make_user(Role.COORDINATOR)).get(reverse("web:home"))
    page = response.content.decode()
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None
    assert "<style" not in page
    assert " style=" not in page
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_htmx_requests_carry_the_csrf_token() -> None:
    client = client_for(make_user(Role.COORDINATOR))
    page = client.get(reverse("web:home")).content.decode()
    header = re.search(r"hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'", page)
    assert header is not None
    assert len(header.group(1)) == 64


def test_shell_has_a_skip_link_to_the_main_landmark_and_a_status_region() -> None:
    page = client_for(make_user(Role.SCHEDULER)).get(reverse("web:home")).content.decode()
    assert '<a class="skip-link" href="#main">' in page
    assert '<main id="main"' in page
    assert 'role="status"' in page
