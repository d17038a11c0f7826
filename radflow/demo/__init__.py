"""The deterministic demo department: ``radflow demo --seed 1``.

Each domain app contributes a ``demo.py`` with ``generate(ctx: DemoContext) -> None``; ``STEPS``
runs them in order inside one transaction. A later feature adds its data (orders, exams, rosters)
by appending one entry to ``STEPS``; every step draws from its own seeded streams, so the data of
earlier steps stays the same for a seed.

This module imports no Django model at import time, so ``DEMO_LOGINS`` can be read anywhere.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from datetime import date
from typing import NamedTuple

from radflow.core.errors import Conflict
from radflow.core.roles import Role
from radflow.demo.context import DEFAULT_PATIENTS, DemoContext

__all__ = [
    "DEFAULT_PATIENTS",
    "DEMO_LOGINS",
    "DEMO_PASSWORD",
    "STEPS",
    "DemoContext",
    "DemoNotEmpty",
    "DemoStep",
    "database_is_empty",
    "demo_generate",
]

#: Every demo user's password. Demo data only: never load the demo into a real department.
DEMO_PASSWORD = "radflow-demo"  # noqa: S105

#: (username, role label): one login per role, the username being the role's value.
DEMO_LOGINS: list[tuple[str, str]] = [(role.value, role.label) for role in Role]


class DemoStep(NamedTuple):
    name: str
    module: str  # dotted path of a module with ``generate(ctx: DemoContext) -> None``


STEPS: list[DemoStep] = [
    DemoStep("reference data", "radflow.catalog.demo"),
    DemoStep("sites, rooms and equipment", "radflow.scheduling.demo"),
    DemoStep("DICOM modalities", "radflow.interfaces.demo"),
    DemoStep("staff", "radflow.staff.demo"),
    DemoStep("credentials and competencies", "radflow.credentials.demo"),
    DemoStep("payers", "radflow.billing.demo"),
    DemoStep("patients", "radflow.patients.demo"),
    DemoStep("demo logins", "radflow.accounts.demo"),
    DemoStep("rosters", "radflow.rostering.demo"),
    DemoStep("booking calendars", "radflow.scheduling.demo_calendars"),
    DemoStep("exam history and bookings", "radflow.exams.demo"),
    DemoStep("waitlist", "radflow.waitlist.demo"),
    DemoStep("supplies and stock", "radflow.supplies.demo"),
    DemoStep("probe use and reprocessing", "radflow.infection.demo"),
    DemoStep("contrast", "radflow.contrast.demo"),
    DemoStep("quality program", "radflow.quality.demo"),
    DemoStep("KPI rollups", "radflow.kpis.demo"),
]


class DemoNotEmpty(Conflict):
    code = "demo_database_not_empty"


def database_is_empty() -> tuple[bool, str]:
    """Whether the demo may run here, and if not, what is already in the way."""
    from django.contrib.auth.models import User

    from radflow.patients.models import Patient
    from radflow.scheduling.models import Site

    found = []
    if Site.objects.exists():
        found.append(f"{Site.objects.count()} site(s)")
    if Patient.objects.exists():
        found.append(f"{Patient.objects.count()} patient(s)")
    taken = list(
        User.objects.filter(username__in=[name for name, _ in DEMO_LOGINS])
        .order_by("username")
        .values_list("username", flat=True)
    )
    if taken:
        found.append(f"user(s) named {', '.join(taken)}")
    return (not found, ", ".join(found))


def demo_generate(
    *,
    seed: int = 1,
    patients: int = DEFAULT_PATIENTS,
    today: date | None = None,
    log: Callable[[str], None] | None = None,
) -> DemoContext:
    """Fill an empty database with the demo department, all or nothing."""
    from django.db import transaction
    from django.utils import timezone

    ctx = DemoContext(
        seed=seed,
        today=today or timezone.localdate(),
        patients_count=patients,
        log=log or (lambda message: None),
    )
    with transaction.atomic():
        empty, found = database_is_empty()
        if not empty:
            raise DemoNotEmpty(
                f"The database already holds data ({found}); the demo only fills an empty one."
            )
        for step in STEPS:
            started = time.perf_counter()
            generate: Callable[[DemoContext], None] = importlib.import_module(step.module).generate
            generate(ctx)
            ctx.log(f"{step.name}: {time.perf_counter() - started:.1f} s")
    return ctx
