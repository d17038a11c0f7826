"""The department's roles.

Kept in the core so solvers, protocol mappers and the Django side name roles the same way.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    COORDINATOR = "coordinator"
    SCHEDULER = "scheduler"
    TECHNOLOGIST = "technologist"
    RADIOLOGIST = "radiologist"
    DIRECTOR = "director"
    BILLING = "billing"
    BIOMED = "biomed"
    INFECTION_PREVENTIONIST = "infection_preventionist"
    INTERFACE_ANALYST = "interface_analyst"
    AUDITOR = "auditor"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.COORDINATOR: "Coordinator",
    Role.SCHEDULER: "Scheduler (front desk)",
    Role.TECHNOLOGIST: "Sonographer / technologist",
    Role.RADIOLOGIST: "Radiologist",
    Role.DIRECTOR: "Director",
    Role.BILLING: "Billing",
    Role.BIOMED: "Biomedical engineer",
    Role.INFECTION_PREVENTIONIST: "Infection preventionist",
    Role.INTERFACE_ANALYST: "Interface analyst",
    Role.AUDITOR: "Auditor (read only)",
    Role.ADMIN: "Administrator",
}
