"""Exam catalog pages: the searchable list and one exam type's requirements."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from radflow.accounts.access import page_requires
from radflow.catalog import selectors
from radflow.catalog.forms import ExamTypeFilterForm
from radflow.web.pages import paginate


@page_requires("catalog.view_examtype")
@require_GET
def exam_types(request: HttpRequest) -> HttpResponse:
    form = ExamTypeFilterForm(request.GET)
    chosen = form.filters()
    modality = chosen.get("modality")
    rows = selectors.exam_type_list(
        modality=modality.pk if modality is not None else None, q=chosen.get("q")
    )
    return render(
        request, "catalog/exam_types.html", {"form": form, "page": paginate(request, rows)}
    )


@page_requires("catalog.view_examtype")
@require_GET
def exam_type_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    exam_type = selectors.exam_type_get(exam_type_id=pk)
    context = {"exam_type": exam_type, "durations": selectors.exam_type_durations(exam_type)}
    return render(request, "catalog/exam_type_detail.html", context)
