"""Reads of payers shared by the payer page, the API and (later) pre-authorization."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from radflow.billing.models import Payer


def payer_list(
    *, payer_type: str | None = None, active: bool | None = None, q: str | None = None
) -> QuerySet[Payer]:
    payers = Payer.objects.all()
    if payer_type:
        payers = payers.filter(payer_type=payer_type)
    if active is not None:
        payers = payers.filter(active=active)
    if q:
        q = q.strip()
        payers = payers.filter(
            Q(name__icontains=q) | Q(plan__icontains=q) | Q(payer_code__iexact=q)
        )
    return payers.order_by("name", "plan")
