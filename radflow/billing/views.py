"""Billing pages: the payer list."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from radflow.accounts.access import page_requires
from radflow.billing import selectors
from radflow.billing.forms import PayerFilterForm
from radflow.web.pages import paginate


@page_requires("billing.view_payer")
@require_GET
def payers(request: HttpRequest) -> HttpResponse:
    form = PayerFilterForm(request.GET)
    chosen = form.filters()
    rows = selectors.payer_list(payer_type=chosen.get("payer_type"), q=chosen.get("q"))
    page = paginate(request, rows)
    return render(request, "billing/payers.html", {"form": form, "page": page})
