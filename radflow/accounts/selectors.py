"""Who is this user, in RadFlow's terms."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from radflow.accounts.models import ApiToken
from radflow.core.roles import Role


def user_roles(user: AbstractBaseUser | AnonymousUser) -> list[Role]:
    """The user's roles in the order of ``Role``; a superuser is the admin role."""
    if not user.is_authenticated:
        return []
    names = set(user.groups.values_list("name", flat=True))  # type: ignore[attr-defined]
    if getattr(user, "is_superuser", False):
        names.add(Role.ADMIN.value)
    return [role for role in Role if role.value in names]


def user_primary_role(user: AbstractBaseUser | AnonymousUser) -> Role | None:
    roles = user_roles(user)
    return roles[0] if roles else None


def api_token_list() -> QuerySet[ApiToken]:
    """Every token, newest first, with its user for the management page."""
    return ApiToken.objects.select_related("user").order_by("-created_at")
