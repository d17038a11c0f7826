"""/api/billing: payers."""

# No ``from __future__ import annotations``: ninja reads these signatures at run time, and
# ``@paginate`` wraps them in its own module, where string annotations would not resolve.

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import paginate

from radflow.accounts.api_auth import requires
from radflow.api_pagination import LimitOffsetPagination
from radflow.billing import selectors, services
from radflow.billing.models import PayerType
from radflow.billing.schemas import PayerIn, PayerOut

router = Router(tags=["billing"])


@router.get("/payers", response=list[PayerOut], auth=requires("billing.view_payer"))
@paginate(LimitOffsetPagination)
def list_payers(
    request: HttpRequest,
    payer_type: PayerType | None = None,
    active: bool | None = None,
    q: str | None = None,
) -> Any:
    return selectors.payer_list(payer_type=payer_type, active=active, q=q)


@router.post("/payers", response={201: PayerOut}, auth=requires("billing.add_payer"))
def create_payer(request: HttpRequest, payload: PayerIn) -> Any:
    payer = services.payer_create(
        name=payload.name,
        plan=payload.plan,
        payer_type=payload.payer_type,
        payer_code=payload.payer_code,
        phone=payload.phone,
        active=payload.active,
    )
    return Status(201, payer)
