"""Who is calling the API and whether their role allows the operation.

Lives apart from ``radflow.api`` so each app's router can import it without importing every
other router.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer

from radflow.accounts.services import api_token_authenticate
from radflow.core.errors import PermissionDenied


def _check_perms(user: Any, perms: tuple[str, ...]) -> Any:
    if perms and not user.has_perms(perms):
        raise PermissionDenied("Your role does not allow this operation.")
    return user


class BearerToken(HttpBearer):
    def __init__(self, perms: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.perms = perms

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_authenticate(token)
        if user is None:
            return None
        request.user = user
        return _check_perms(user, self.perms)


class SessionAuth(APIKeyCookie):
    """Django's session cookie, with CSRF enforced on unsafe methods."""

    param_name = "sessionid"

    def __init__(self, perms: tuple[str, ...] = ()) -> None:
        super().__init__(csrf=True)
        self.perms = perms

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if request.user.is_authenticated:
            return _check_perms(request.user, self.perms)
        return None


def requires(*perms: str) -> list[Any]:
    """Auth for one operation: who the caller is, then whether their role holds ``perms``.

    Checked before ninja reads the body, so a caller without the right gets 403 rather than
    a validation answer that would reveal the operation's shape.
    """
    return [BearerToken(perms), SessionAuth(perms)]
