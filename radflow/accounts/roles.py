"""What each role may do, as Django permissions granted to the role's group.

This table is the single source of role rights; ``roles_sync`` writes it to the database after
every migrate so a new permission reaches the groups without a hand step.
"""

from __future__ import annotations

from radflow.core.roles import Role

_DEPARTMENT_VIEW = [
    "scheduling.view_site",
    "scheduling.view_department",
    "scheduling.view_modality",
    "scheduling.view_room",
    "scheduling.view_roomcapability",
    "scheduling.view_device",
    "scheduling.view_probe",
    "catalog.view_examtype",
    "catalog.view_procedurecode",
    "catalog.view_competency",
    "catalog.view_screeningitem",
]
_PATIENT_VIEW = ["patients.view_patient"]
_PATIENT_EDIT = ["patients.add_patient", "patients.change_patient"]
_STAFF_VIEW = ["staff.view_staffmember"]
_PAYER_VIEW = ["billing.view_payer"]
_EQUIPMENT_EDIT = [
    "scheduling.add_device",
    "scheduling.change_device",
    "scheduling.add_probe",
    "scheduling.change_probe",
    "scheduling.change_room",
]

_ORDER_VIEW = ["orders.view_order", "exams.view_exam", "orders.view_authorization"]
_ORDER_EDIT = ["orders.add_order", "orders.change_order"]
_AUTH_EDIT = ["orders.add_authorization", "orders.change_authorization"]
_COMPLETENESS_EDIT = [
    "orders.view_completenessrule",
    "orders.add_completenessrule",
    "orders.change_completenessrule",
    "orders.delete_completenessrule",
]
_INTAKE = ["intake.add_identitycheck"]
_QUALITY_VIEW = ["exams.audit_documentation"]
_CREDENTIALS_VIEW = [
    "credentials.view_credential",
    "credentials.view_cecredit",
    "credentials.view_competencysignoff",
    "credentials.view_crosstrainingplan",
    "credentials.check_eligibility",
]
_CREDENTIALS_EDIT = [
    "credentials.add_credential",
    "credentials.change_credential",
    "credentials.add_cecredit",
    "credentials.add_competencysignoff",
    "credentials.change_competencysignoff",
    "credentials.add_crosstrainingplan",
    "credentials.change_crosstrainingplan",
    "credentials.add_supervisedcase",
]

#: Rostering: who reads the roster, who plans it, and what rostered staff do for themselves.
_ROSTER_VIEW = ["rostering.view_roster"]
_ROSTER_SELF = [
    "rostering.view_rosterassignment",
    "rostering.add_leaverequest",
    "rostering.add_shiftpreference",
    "rostering.add_swaprequest",
]
_ROSTER_PLAN = [
    "rostering.publish_roster",
    "rostering.add_roster",
    "rostering.change_leaverequest",
    "rostering.change_swaprequest",
    "rostering.add_sickcall",
    "rostering.change_shifttype",
    "rostering.change_coveragerequirement",
    "rostering.change_staffrosterrules",
    "rostering.change_rostersettings",
]

#: Day plans and re-plans: the coordinator runs and applies them and sets the weights.
_PLAN_VIEW = ["planning.view_dayplanrun"]
_PLAN_RUN = [
    "planning.plan_day",
    "planning.view_departmentschedulingsettings",
    "planning.change_departmentschedulingsettings",
]

#: The waitlist: schedulers keep it and book from it; the director and auditors read it.
_WAITLIST_VIEW = ["waitlist.view_waitlistentry"]
_WAITLIST_EDIT = ["waitlist.add_waitlistentry", "waitlist.change_waitlistentry"]

#: Calendars (issue 5): holidays, opening hours, booking templates, room closures, staff
#: standard hours, interpreters. The coordinator keeps them; the front desk and director read.
_CALENDAR_VIEW = [
    "scheduling.view_siteclosure",
    "scheduling.view_roomclosure",
    "scheduling.view_roomopeninghours",
    "scheduling.view_bookingtemplate",
    "scheduling.view_staffworkinghours",
    "scheduling.view_interpreter",
    "scheduling.view_interpreterhours",
    "scheduling.view_devicedowntime",
]
_CALENDAR_EDIT = [
    f"scheduling.{action}_{model}"
    for model in (
        "siteclosure",
        "roomclosure",
        "roomopeninghours",
        "bookingtemplate",
        "staffworkinghours",
        "interpreter",
        "interpreterhours",
    )
    for action in ("add", "change", "delete")
]
#: Device downtime: biomed records it (and the coordinator, who hears of it first).
_DOWNTIME_EDIT = [
    "scheduling.view_devicedowntime",
    "scheduling.add_devicedowntime",
    "scheduling.change_devicedowntime",
    "scheduling.delete_devicedowntime",
]

#: The DICOM AE registry (issue 6): biomed keeps the modalities and the unknown-caller policy;
#: the coordinator and the director read them.
_DICOM_REGISTRY_VIEW = ["interfaces.view_applicationentity", "interfaces.view_dicompolicy"]
_DICOM_REGISTRY_EDIT = [
    *_DICOM_REGISTRY_VIEW,
    "interfaces.add_applicationentity",
    "interfaces.change_applicationentity",
    "interfaces.change_dicompolicy",
]

#: MPPS reconciliation (issue 6): the coordinator links what the modalities reported and clears
#: the flags; the director reads the page.
_MPPS_VIEW = ["interfaces.view_performedprocedurestep"]
_MPPS_RECONCILE = [*_MPPS_VIEW, "interfaces.change_performedprocedurestep"]

#: The HL7 message console (issue 7): the coordinator finds and replays messages; the interface
#: analyst also keeps the interfaces, the destinations and the retention setting.
_HL7_CONSOLE = ["interfaces.view_hl7message", "interfaces.replay_hl7message"]
_HL7_SETUP = [
    *_HL7_CONSOLE,
    *(
        f"interfaces.{action}_{model}"
        for model in ("hl7interface", "hl7destination")
        for action in ("view", "add", "change", "delete")
    ),
    "interfaces.view_interfacesettings",
    "interfaces.change_interfacesettings",
]

ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.COORDINATOR: [
        *_DEPARTMENT_VIEW,
        *_PATIENT_VIEW,
        *_PATIENT_EDIT,
        *_STAFF_VIEW,
        *_PAYER_VIEW,
        "scheduling.change_room",
        "catalog.change_examtype",
        *_ORDER_VIEW,
        *_ORDER_EDIT,
        *_AUTH_EDIT,
        *_COMPLETENESS_EDIT,
        *_INTAKE,
        *_QUALITY_VIEW,
        "exams.triage_exam",
        "exams.schedule_exam",
        "exams.arrive_exam",
        "exams.cancel_exam",
        "exams.override_hard_stop",
        "orders.override_authorization",
        *_ROSTER_VIEW,
        *_ROSTER_SELF,
        *_ROSTER_PLAN,
        *_CREDENTIALS_VIEW,
        *_CREDENTIALS_EDIT,
        *_PLAN_VIEW,
        *_PLAN_RUN,
        *_WAITLIST_VIEW,
        *_WAITLIST_EDIT,
        *_CALENDAR_VIEW,
        *_CALENDAR_EDIT,
        *_DOWNTIME_EDIT,
        *_DICOM_REGISTRY_VIEW,
        *_MPPS_RECONCILE,
        *_HL7_CONSOLE,
    ],
    Role.SCHEDULER: [
        *_DEPARTMENT_VIEW,
        *_PATIENT_VIEW,
        *_PATIENT_EDIT,
        *_PAYER_VIEW,
        *_ORDER_VIEW,
        *_ORDER_EDIT,
        *_AUTH_EDIT,
        *_INTAKE,
        "exams.schedule_exam",
        "exams.arrive_exam",
        "exams.cancel_exam",
        *_ROSTER_VIEW,
        "credentials.check_eligibility",
        *_PLAN_VIEW,
        *_WAITLIST_VIEW,
        *_WAITLIST_EDIT,
        *_CALENDAR_VIEW,
    ],
    Role.TECHNOLOGIST: [
        *_DEPARTMENT_VIEW,
        *_PATIENT_VIEW,
        *_ORDER_VIEW,
        *_INTAKE,
        "exams.perform_exam",
        *_ROSTER_SELF,
    ],
    Role.RADIOLOGIST: [
        *_DEPARTMENT_VIEW,
        *_PATIENT_VIEW,
        *_STAFF_VIEW,
        *_ORDER_VIEW,
        "exams.triage_exam",
        "exams.report_exam",
        "exams.sign_exam",
        "exams.override_hard_stop",
        *_ROSTER_SELF,
    ],
    Role.DIRECTOR: [
        *_DEPARTMENT_VIEW,
        *_PATIENT_VIEW,
        *_STAFF_VIEW,
        *_PAYER_VIEW,
        *_ORDER_VIEW,
        *_QUALITY_VIEW,
        *_ROSTER_VIEW,
        *_CREDENTIALS_VIEW,
        *_PLAN_VIEW,
        *_WAITLIST_VIEW,
        *_CALENDAR_VIEW,
        *_DICOM_REGISTRY_VIEW,
        *_MPPS_VIEW,
    ],
    Role.BILLING: [
        *_DEPARTMENT_VIEW,
        *_PATIENT_VIEW,
        *_PAYER_VIEW,
        "billing.add_payer",
        "billing.change_payer",
        *_ORDER_VIEW,
        *_AUTH_EDIT,
        "orders.view_payerauthrule",
        "orders.add_payerauthrule",
        "orders.change_payerauthrule",
        "billing.view_charge",
        "exams.bill_exam",
    ],
    Role.BIOMED: [*_DEPARTMENT_VIEW, *_EQUIPMENT_EDIT, *_DOWNTIME_EDIT, *_DICOM_REGISTRY_EDIT],
    Role.INFECTION_PREVENTIONIST: [*_DEPARTMENT_VIEW, *_PATIENT_VIEW, *_ORDER_VIEW],
    Role.INTERFACE_ANALYST: [
        *_DEPARTMENT_VIEW,
        *_PATIENT_VIEW,
        *_ORDER_VIEW,
        *_HL7_SETUP,
        *_DICOM_REGISTRY_VIEW,
        *_MPPS_VIEW,
    ],
    Role.AUDITOR: [
        *_DEPARTMENT_VIEW,
        *_PATIENT_VIEW,
        *_STAFF_VIEW,
        *_PAYER_VIEW,
        "audit.view_accesslog",
        *_ORDER_VIEW,
        *_QUALITY_VIEW,
        *_CREDENTIALS_VIEW,
        *_ROSTER_VIEW,
        *_WAITLIST_VIEW,
    ],
    # The admin role is a superuser; listing rights here would only repeat "everything".
    Role.ADMIN: [],
}
