"""Demo step: the payers a Connecticut hospital bills, with their common plans."""

from __future__ import annotations

from radflow.billing.models import Payer, PayerType
from radflow.demo.context import DemoContext

#: (name, plan, type, payer code, phone). Phone numbers are in the fictional 555-01xx range.
PAYERS: list[tuple[str, str, PayerType, str, str]] = [
    ("Medicare", "Part B", PayerType.MEDICARE, "MCR-B", "(800) 555-0101"),
    ("Connecticut Medicaid", "HUSKY A", PayerType.MEDICAID, "MCD-HUSKYA", "(800) 555-0102"),
    ("Connecticut Medicaid", "HUSKY D", PayerType.MEDICAID, "MCD-HUSKYD", "(800) 555-0102"),
    ("Aetna", "Choice POS II", PayerType.COMMERCIAL, "AET-POS", "(800) 555-0103"),
    ("Aetna", "Medicare Advantage PPO", PayerType.MANAGED_CARE, "AET-MAPPO", "(800) 555-0104"),
    ("Anthem Blue Cross Blue Shield", "PPO", PayerType.COMMERCIAL, "ANT-PPO", "(800) 555-0105"),
    ("Anthem Blue Cross Blue Shield", "HMO", PayerType.MANAGED_CARE, "ANT-HMO", "(800) 555-0106"),
    ("UnitedHealthcare", "Choice Plus", PayerType.COMMERCIAL, "UHC-CP", "(800) 555-0107"),
    (
        "UnitedHealthcare",
        "Medicare Advantage HMO",
        PayerType.MANAGED_CARE,
        "UHC-MAHMO",
        "(800) 555-0108",
    ),
    ("Cigna", "Open Access Plus", PayerType.COMMERCIAL, "CIG-OAP", "(800) 555-0109"),
    ("ConnectiCare", "Choice", PayerType.MANAGED_CARE, "CCI-CHOICE", "(800) 555-0110"),
    ("The Hartford", "Workers' Compensation", PayerType.WORKERS_COMP, "HIG-WC", "(800) 555-0111"),
    ("Self-pay", "", PayerType.SELF_PAY, "SELF", ""),
]


def generate(ctx: DemoContext) -> None:
    payers: list[Payer] = []
    for name, plan, payer_type, code, phone in PAYERS:
        payer = Payer(name=name, plan=plan, payer_type=payer_type, payer_code=code, phone=phone)
        payer.full_clean()
        payer.save()
        payers.append(payer)
    ctx.objects["payers"] = payers
    ctx.log(f"{len(payers)} payer plans")
