"""The bell: my notifications, unread first; the header count; marking them read."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from radflow.notifications.models import Notification
from radflow.notifications.services import notify
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _note(user: User, title: str, *, minutes_ago: int = 0, read: bool = False) -> Notification:
    at = timezone.now() - dt.timedelta(minutes=minutes_ago)
    [note] = notify(recipients=[user], kind="sla_warning", title=title, url="/orders/x/", at=at)
    if read:
        note.read_at = at
        note.save(update_fields=["read_at"])
    return note


def test_i_see_my_notifications_unread_first(coordinator: User, scheduler: User) -> None:
    _note(coordinator, "Old and read", minutes_ago=1, read=True)
    _note(coordinator, "Older unread", minutes_ago=30)
    _note(scheduler, "Someone else's")
    html = client_for(coordinator).get(reverse("notifications:list")).content.decode()
    assert html.index("Older unread") < html.index("Old and read")
    assert "Someone else&#x27;s" not in html and "Someone else's" not in html
    assert "Mark all read (1)" in html


def test_mark_all_read_clears_only_mine(coordinator: User, scheduler: User) -> None:
    _note(coordinator, "One")
    _note(coordinator, "Two")
    theirs = _note(scheduler, "Theirs")
    response = client_for(coordinator).post(reverse("notifications:mark_read"))
    assert response.status_code == 302
    assert not Notification.objects.filter(recipient=coordinator, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_one_notification_can_be_marked_read(coordinator: User, scheduler: User) -> None:
    one, two = _note(coordinator, "One"), _note(coordinator, "Two")
    theirs = _note(scheduler, "Theirs")
    client_for(coordinator).post(
        reverse("notifications:mark_read"), {"id": [str(one.pk), str(theirs.pk)]}
    )
    one.refresh_from_db()
    two.refresh_from_db()
    theirs.refresh_from_db()
    assert one.read_at is not None
    assert two.read_at is None
    assert theirs.read_at is None


def test_the_badge_shows_my_unread_count_and_polls(coordinator: User) -> None:
    client = client_for(coordinator)
    assert 'class="badge' not in client.get(reverse("notifications:badge")).content.decode()
    _note(coordinator, "One")
    _note(coordinator, "Two")
    _note(coordinator, "Seen", read=True)
    html = client.get(reverse("notifications:badge")).content.decode()
    assert '<span class="badge badge-bad">2</span>' in html
    assert 'hx-trigger="every 30s"' in html
    assert "<html" not in html


def test_a_user_without_a_role_has_a_bell_too(stranger: User) -> None:
    assert client_for(stranger).get(reverse("notifications:list")).status_code == 200


def test_anonymous_visitors_are_sent_to_log_in() -> None:
    response = Client().get(reverse("notifications:badge"))
    assert response.status_code == 302
    assert "/login" in response["Location"]
