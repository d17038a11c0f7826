"""Access checks for pages and API operations, kept apart from the writes they guard.

Every page is wrapped by ``page_requires`` (API operations use ``api_auth.requires``);
the role-matrix test walks all URLs to prove none was forgotten.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse

P = ParamSpec("P")
R = TypeVar("R")

#: Marker attribute set on every guarded view so the URL walker can tell guarded from unguarded.
GUARD_ATTRIBUTE = "radflow_required_perms"


def page_requires(
    *perms: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Log-in required; then every permission in ``perms`` (none = any logged-in user)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if perms and not request.user.has_perms(perms):
                raise DjangoPermissionDenied("Your role does not allow this page.")
            return view(request, *args, **kwargs)

        setattr(wrapper, GUARD_ATTRIBUTE, perms)
        return wrapper

    return decorator


def public_page(view: Callable[P, R]) -> Callable[P, R]:
    """Mark a page anyone may see (login, health check), so the walker knows it is deliberate."""
    setattr(view, GUARD_ATTRIBUTE, ())
    view.radflow_public = True  # type: ignore[attr-defined]
    return view
