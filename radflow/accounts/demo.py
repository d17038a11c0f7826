"""Demo step: one login per role (username = the role's value), linked to a staff member.

The password is ``radflow.demo.DEMO_PASSWORD`` for every demo user; README says so. Users are made
through ``user_create`` so they hold exactly their role's group.
"""

from __future__ import annotations

from radflow.accounts.services import roles_sync, user_create
from radflow.core.roles import Role
from radflow.demo import DEMO_PASSWORD
from radflow.demo.context import DemoContext
from radflow.staff.models import JobRole, StaffMember

#: Which staff member each demo login belongs to (the first of that job role); None = no one.
ROLE_STAFF: dict[Role, JobRole | None] = {
    Role.COORDINATOR: JobRole.COORDINATOR,
    Role.SCHEDULER: JobRole.SCHEDULER,
    Role.TECHNOLOGIST: JobRole.SONOGRAPHER,
    Role.RADIOLOGIST: JobRole.RADIOLOGIST,
    Role.DIRECTOR: JobRole.DIRECTOR,
    Role.BILLING: JobRole.BILLING,
    Role.BIOMED: JobRole.BIOMED,
    Role.INFECTION_PREVENTIONIST: JobRole.INFECTION_PREVENTIONIST,
    Role.INTERFACE_ANALYST: JobRole.IT,
    Role.AUDITOR: None,  # compliance sits outside the department
    Role.ADMIN: JobRole.IT,
}


def generate(ctx: DemoContext) -> None:
    # Groups normally exist after migrate; syncing here keeps the demo right after a flush too.
    roles_sync()
    by_role: dict[str, list[StaffMember]] = ctx.objects.get("staff_by_role", {})
    users = {}
    for role in Role:
        job_role = ROLE_STAFF[role]
        member = by_role.get(job_role.value, [None])[0] if job_role is not None else None
        user = user_create(
            username=role.value,
            password=DEMO_PASSWORD,
            roles=[role],
            first_name=member.given_name if member else "",
            last_name=member.family_name if member else "",
            email=member.email if member else "",
        )
        if member is not None:
            member.user = user
            member.save(update_fields=["user", "updated_at"])
        users[role.value] = user
    ctx.objects["users"] = users
    ctx.log(f"{len(users)} demo logins (password {DEMO_PASSWORD!r})")
