"""/api/billing: payers."""

# No ``from __future__ import annotations``: ninja reads these signatures at run time, and
# ``@paginate`` wraps them in its own module, where string annotations would not resolve.

from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.pagination import LimitOffsetPagination, paginate

from radflow.accounts.access import api_requires
from radflow.billing import selectors, services
from radflow.billing.models import PayerType
from radflow.billing.schemas import PayerIn, PayerOut

router = Router(tags=["billing"])


@router.get("/payers", response=list[PayerOut])
@paginate(LimitOffsetPagination)
def list_payers(
    request: HttpRequest,
    payer_type: PayerType | None = None,
    active: bool | None = None,
    q: str | None = None,
) -> Any:
    api_requires(request, "billing.view_payer")
    return selectors.payer_list(payer_type=payer_type, active=active, q=q)


@router.post("/payers", response={201: PayerOut})
def create_payer(request: HttpRequest, payload: PayerIn) -> Any:
    api_requires(request, "billing.add_payer")
    payer = services.payer_create(
        name=payload.name,
        plan=payload.plan,
        payer_type=payload.payer_type,
        payer_code=payload.payer_code,
        phone=payload.phone,
        active=payload.active,
    )
    return 201, payer
