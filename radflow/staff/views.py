"""Staff directory pages."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from radflow.accounts.access import page_requires
from radflow.staff import selectors
from radflow.staff.forms import StaffFilterForm
from radflow.web.pages import paginate


@page_requires("staff.view_staffmember")
@require_GET
def staff_list(request: HttpRequest) -> HttpResponse:
    form = StaffFilterForm(request.GET)
    chosen = form.filters()
    site, modality = chosen.get("site"), chosen.get("modality")
    rows = selectors.staff_list(
        site_id=site.pk if site is not None else None,
        job_role=chosen.get("job_role"),
        modality=modality.pk if modality is not None else None,
        q=chosen.get("q"),
    )
    return render(request, "staff/list.html", {"form": form, "page": paginate(request, rows)})


@page_requires("staff.view_staffmember")
@require_GET
def staff_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    member = selectors.staff_get(staff_id=pk)
    return render(request, "staff/detail.html", {"member": member})
