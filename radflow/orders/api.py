"""``/api/orders``: list, read and enter referrals, and log outreach on them.

Every response that names a patient is audited on the ``api`` channel, like the pages; errors from
the services become problem+json through the API's handler.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from radflow.accounts.api_auth import requires
from radflow.api_pagination import MAX_OFFSET
from radflow.audit.models import AccessChannel
from radflow.audit.services import AccessSource, access_record
from radflow.billing.models import Payer
from radflow.core.errors import NotFound, ValidationFailed
from radflow.core.exam_states import ExamState
from radflow.orders.models import Order, OutreachEntry, Priority
from radflow.orders.schemas import OrderIn, OrderListOut, OrderOut, OutreachIn, OutreachOut
from radflow.orders.services import order_create, outreach_log
from radflow.patients.models import Patient

router = Router(tags=["orders"])


def _api(request: HttpRequest) -> AccessSource:
    return AccessSource.from_request(request, AccessChannel.API)


def _orders() -> QuerySet[Order]:
    return Order.objects.select_related(
        "patient", "exam", "exam_type", "exam_type__modality"
    ).prefetch_related("diagnoses")


def _audit(request: HttpRequest, orders: list[Order], action: str) -> None:
    access_record(
        user=request.user, patients=[o.patient for o in orders], action=action, source=_api(request)
    )


def _get(request: HttpRequest, order_id: UUID, action: str) -> Order:
    order = _orders().filter(pk=order_id).first()
    if order is None:
        raise NotFound("No order has this id.", field="order_id")
    _audit(request, [order], action)
    return order


class OrderFilters(Schema):
    priority: Priority | None = None
    state: ExamState | None = None
    complete: bool | None = None
    limit: int = Field(25, ge=1, le=100)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


@router.get("/", response=OrderListOut, summary="List orders", auth=requires("orders.view_order"))
def list_orders(request: HttpRequest, filters: Query[OrderFilters]) -> dict[str, Any]:
    """Newest first; each patient in the page returned is logged."""
    rows = _orders().order_by("-received_at")
    if filters.priority is not None:
        rows = rows.filter(priority=filters.priority)
    if filters.state is not None:
        rows = rows.filter(exam__state=filters.state)
    if filters.complete is not None:
        rows = rows.filter(is_complete=filters.complete)
    with transaction.atomic():
        total = rows.count()
        shown = list(rows[filters.offset : filters.offset + filters.limit])
        _audit(request, shown, "order.list")
    return {"count": total, "items": shown}


@router.post(
    "/",
    response={201: OrderOut},
    summary="Enter a referral",
    auth=requires("orders.add_order"),
)
def create_order(request: HttpRequest, payload: OrderIn) -> Status[Order]:
    """The patient by id and the exam type by code; a bad code or ICD-10 code changes nothing."""
    values = payload.dict()
    patient = Patient.objects.filter(pk=values.pop("patient_id")).first()
    if patient is None:
        raise ValidationFailed({"patient_id": ["No patient has this id."]})
    payer_id = values.pop("payer_id")
    payer = None
    if payer_id is not None:
        payer = Payer.objects.filter(pk=payer_id).first()
        if payer is None:
            raise ValidationFailed({"payer_id": ["No payer has this id."]})
    with transaction.atomic():
        order = order_create(by=request.user, patient=patient, payer=payer, **values)
        return Status(201, _get(request, order.pk, "order.create"))


@router.get(
    "/{order_id}", response=OrderOut, summary="Read one order", auth=requires("orders.view_order")
)
def get_order(request: HttpRequest, order_id: UUID) -> Order:
    return _get(request, order_id, "order.detail")


@router.post(
    "/{order_id}/outreach",
    response={201: OutreachOut},
    summary="Log an outreach attempt",
    auth=requires("orders.change_order"),
)
def add_outreach(
    request: HttpRequest, order_id: UUID, payload: OutreachIn
) -> Status[OutreachEntry]:
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise NotFound("No order has this id.", field="order_id")
    entry = outreach_log(
        order=order, by=request.user, action=payload.action.value, note=payload.note
    )
    return Status(201, entry)
