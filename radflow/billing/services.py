"""Writes to payers."""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction

from radflow.billing.models import Payer
from radflow.core.errors import ValidationFailed


@transaction.atomic
def payer_create(
    *,
    name: str,
    payer_type: str,
    payer_code: str,
    plan: str = "",
    phone: str = "",
    active: bool = True,
) -> Payer:
    """Add a payer plan; the code is what HL7 IN1 segments and claims carry, so it is unique."""
    payer = Payer(
        name=name.strip(),
        plan=plan.strip(),
        payer_type=payer_type,
        payer_code=payer_code.strip().upper(),
        phone=phone.strip(),
        active=active,
    )
    errors: dict[str, list[str]] = {}
    if Payer.objects.filter(payer_code__iexact=payer.payer_code).exists():
        errors["payer_code"] = [f"The payer code {payer.payer_code} is already in use."]
    if Payer.objects.filter(name__iexact=payer.name, plan__iexact=payer.plan).exists():
        plan = f" plan {payer.plan!r}" if payer.plan else " payer without a plan name"
        errors["plan"] = [f"{payer.name} already has a{plan}."]
    if errors:
        raise ValidationFailed(errors)
    try:
        payer.full_clean()
    except ValidationError as exc:
        raise ValidationFailed(
            {
                ("non_field_errors" if key == NON_FIELD_ERRORS else key): messages
                for key, messages in exc.message_dict.items()
            }
        ) from exc
    payer.save()
    return payer
