"""/api/catalog: the exam types the department performs."""

# No ``from __future__ import annotations``: ninja reads these signatures at run time, and
# ``@paginate`` wraps them in its own module, where string annotations would not resolve.

from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate

from radflow.accounts.api_auth import requires
from radflow.api_pagination import LimitOffsetPagination
from radflow.catalog import selectors
from radflow.catalog.schemas import ExamTypeDetailOut, ExamTypeOut

router = Router(tags=["catalog"])


@router.get("/exam-types", response=list[ExamTypeOut], auth=requires("catalog.view_examtype"))
@paginate(LimitOffsetPagination)
def list_exam_types(
    request: HttpRequest,
    modality: str | None = None,
    cpt: str | None = None,
    q: str | None = None,
    active: bool | None = None,
) -> Any:
    return selectors.exam_type_list(modality=modality, cpt=cpt, q=q, active=active)


@router.get(
    "/exam-types/{exam_type_id}", response=ExamTypeDetailOut, auth=requires("catalog.view_examtype")
)
def get_exam_type(request: HttpRequest, exam_type_id: UUID) -> Any:
    return selectors.exam_type_get(exam_type_id=exam_type_id)
