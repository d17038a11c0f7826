"""Writes for users, roles and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.contrib.auth.models import Group, Permission, User
from django.db import transaction
from django.utils import timezone

from radflow.accounts.models import ApiToken
from radflow.accounts.roles import ROLE_PERMISSIONS
from radflow.core.errors import ValidationFailed
from radflow.core.roles import Role

TOKEN_PREFIX_LENGTH = 8


@transaction.atomic
def roles_sync() -> None:
    """Make each role's group hold exactly the permissions of ``ROLE_PERMISSIONS``."""
    for role, perm_names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        perms: list[Permission] = []
        for name in perm_names:
            app_label, codename = name.split(".", 1)
            perms.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(perms)


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    roles: list[Role],
    first_name: str = "",
    last_name: str = "",
    email: str = "",
) -> User:
    if User.objects.filter(username=username).exists():
        raise ValidationFailed({"username": [f"The username {username!r} is taken."]})
    is_admin = Role.ADMIN in roles
    user = User(
        username=username,
        first_name=first_name,
        last_name=last_name,
        email=email,
        is_staff=is_admin,
        is_superuser=is_admin,
    )
    user.set_password(password)
    user.full_clean()
    user.save()
    user.groups.set(Group.objects.filter(name__in=[role.value for role in roles]))
    return user


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@transaction.atomic
def api_token_create(
    *, user: User, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is shown once and never stored."""
    key = f"rf_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        user=user,
        name=name,
        prefix=key[:TOKEN_PREFIX_LENGTH],
        key_hash=_hash_key(key),
        expires_at=expires_at,
    )
    token.full_clean()
    token.save()
    return token, key


def api_token_authenticate(key: str) -> User | None:
    """The active user behind a bearer key, or None; stamps the token's last use."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash_key(key), revoked_at__isnull=True)
        .first()
    )
    now = timezone.now()
    if token is None or not token.user.is_active:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


@transaction.atomic
def api_token_revoke(*, token: ApiToken) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
