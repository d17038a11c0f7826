"""Log in and out, and manage the API tokens that machine clients use."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from radflow.accounts.access import page_requires, public_page
from radflow.accounts.forms import ApiTokenCreateForm, LoginForm
from radflow.accounts.models import ApiToken
from radflow.accounts.selectors import api_token_list
from radflow.accounts.services import api_token_create, api_token_revoke

login = public_page(
    auth_views.LoginView.as_view(
        template_name="registration/login.html",
        authentication_form=LoginForm,
        redirect_authenticated_user=True,
    )
)
logout = public_page(auth_views.LogoutView.as_view())


def _tokens_page(
    request: HttpRequest,
    form: ApiTokenCreateForm,
    *,
    new_token: ApiToken | None = None,
    new_secret: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "tokens": api_token_list(),
        "form": form,
        "new_token": new_token,
        "new_secret": new_secret,
        "now": timezone.now(),
    }
    return render(request, "accounts/tokens.html", context, status=status)


@page_requires("accounts.add_apitoken")
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _tokens_page(request, ApiTokenCreateForm())
    form = ApiTokenCreateForm(request.POST)
    if not form.is_valid():
        return _tokens_page(request, form, status=422)
    token, secret = api_token_create(
        user=form.cleaned_data["user"], name=form.cleaned_data["name"], expires_at=form.expires_at()
    )
    # Rendered, not redirected: the secret must never be stored, not even in the session.
    return _tokens_page(request, ApiTokenCreateForm(), new_token=token, new_secret=secret)


@page_requires("accounts.add_apitoken")
@require_POST
def token_revoke(request: HttpRequest, pk: UUID) -> HttpResponse:
    token = get_object_or_404(ApiToken.objects.select_related("user"), pk=pk)
    if token.revoked_at is not None:
        messages.info(request, f"The token {token.prefix}… was already revoked.")
    else:
        api_token_revoke(token=token)
        messages.success(request, f"The token {token.prefix}… ({token.name}) is revoked.")
    return redirect("accounts:tokens")
