"""Names for the ids and codes a breakdown groups by (one query per dimension)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from radflow.core.kpis.types import Dimension


def labels_for(by: Dimension, keys: Iterable[Any]) -> dict[Any, str]:
    from radflow.billing.models import Payer
    from radflow.catalog.models import ExamType
    from radflow.orders.models import Order, OrderPatientClass, Priority
    from radflow.scheduling.models import Modality, Room, Site
    from radflow.staff.models import StaffMember

    wanted = [key for key in keys if key not in (None, "")]
    if not wanted:
        return {}
    if by is Dimension.SITE:
        return {s.pk: s.name for s in Site.objects.filter(pk__in=wanted)}
    if by is Dimension.ROOM:
        return {r.pk: f"{r.code} {r.name}" for r in Room.objects.filter(pk__in=wanted)}
    if by is Dimension.MODALITY:
        return {m.code: f"{m.code} {m.name}" for m in Modality.objects.filter(code__in=wanted)}
    if by is Dimension.EXAM_TYPE:
        return {t.pk: t.name for t in ExamType.objects.filter(pk__in=wanted)}
    if by is Dimension.STAFF:
        return {m.pk: str(m) for m in StaffMember.objects.filter(pk__in=wanted)}
    if by is Dimension.PAYER:
        return {p.pk: str(p) for p in Payer.objects.filter(pk__in=wanted)}
    if by is Dimension.PATIENT_CLASS:
        return {
            key: str(OrderPatientClass(key).label)
            for key in wanted
            if key in OrderPatientClass.values
        }
    if by is Dimension.PRIORITY:
        return {key: str(Priority(key).label) for key in wanted if key in Priority.values}
    if by is Dimension.REFERRER:
        names = dict(
            Order.objects.filter(ordering_provider_npi__in=wanted)
            .order_by()
            .values_list("ordering_provider_npi", "ordering_provider")
            .distinct()
        )
        return {key: f"{names[key]} (NPI {key})" if key in names else str(key) for key in wanted}
    return {key: str(key) for key in wanted}
