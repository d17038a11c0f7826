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

#: Supplies (issue 10): the coordinator keeps stock, purchasing, vendors and recalls;
#: sonographers record and adjust what an exam used and issue by hand; the director, biomed,
#: the infection preventionist and auditors read.
_SUPPLIES_USE = [
    "supplies.view_item",
    "supplies.view_stocklocation",
    "supplies.view_lot",
    "supplies.record_consumption",
]
_SUPPLIES_VIEW = [
    "supplies.view_item",
    "supplies.view_stocklocation",
    "supplies.view_lot",
    "supplies.view_stockmovement",
    "supplies.view_vendor",
    "supplies.view_purchaseorder",
    "supplies.view_cyclecount",
    "supplies.view_consumptiontemplate",
]
_SUPPLIES_MANAGE = [
    *_SUPPLIES_VIEW,
    "supplies.record_consumption",
    "supplies.manage_stock",
    "supplies.recall_lot",
    *(
        f"supplies.{action}_{model}"
        for model in (
            "vendor",
            "item",
            "stocklocation",
            "itemstocklevel",
            "purchaseorder",
            "consumptiontemplate",
        )
        for action in ("add", "change")
    ),
]

#: Contrast (issue 10): clinical staff and the director read the agents, settings, doses and
#: reactions; technologists and radiologists record doses, reactions and premedication; the
#: coordinator keeps the agents; the radiologist sets what each exam type asks and alone
#: overrides the contrast hard stop.
_CONTRAST_VIEW = [
    "contrast.view_contrastagent",
    "contrast.view_contrastrequirement",
    "contrast.view_contrastadministration",
    "contrast.view_adverseevent",
]
_CONTRAST_GIVE = [
    "contrast.add_contrastadministration",
    "contrast.add_adverseevent",
    "contrast.add_premedication",
    "contrast.add_egfrresult",
]

#: Probe traceability (issue 10): clinical staff, the director and auditors read the dashboard
#: and the probe pages; sonographers attach probes, reprocess them, test solutions and check
#: devices; biomed checks devices and takes probes out of service; the infection preventionist
#: also keeps disinfectants and devices, runs look-backs and alone overrides the probe stop.
_INFECTION_VIEW = [
    "infection.view_reprocessing",
    "infection.view_disinfectionagent",
    "infection.view_reprocessingdevice",
]
_PROBE_USE_VIEW = ["infection.view_probeuse"]
_PROBE_USE = [*_PROBE_USE_VIEW, "infection.add_probeuse", "infection.delete_probeuse"]
_REPROCESS = [
    "infection.add_reprocessing",
    "infection.add_solutiontest",
    "infection.add_deviceqclog",
    "infection.change_probe_status",
]
_INFECTION_MANAGE = ["infection.manage_reprocessing", "infection.run_lookback"]

#: The quality program (issue 9): the director and the coordinator run it (audit samples and
#: scoring, checklists, peer review assignment and follow-up, incidents and CAPA, complaints,
#: survey imports, settings); auditors read it; radiologists peer review; everyone on staff
#: reports incidents; the front desk records accessibility requests.
_QA_READ = [
    "quality.view_qualitysettings",
    "quality.view_imageaudit",
    "quality.view_auditchecklist",
    "quality.view_peerreview",
    "quality.view_incident",
    "quality.view_feedback",
    "quality.view_satisfactionresponse",
    "quality.view_accessibilityrequest",
]
_QA_INCIDENT_REPORT = ["quality.add_incident"]
_QA_ACCESS_REQUESTS = [
    "quality.view_accessibilityrequest",
    "quality.add_accessibilityrequest",
    "quality.change_accessibilityrequest",
]
_QA_MANAGE = [
    *_QA_READ,
    *_QA_INCIDENT_REPORT,
    *_QA_ACCESS_REQUESTS,
    "quality.manage_quality",
    "quality.change_qualitysettings",
    "quality.score_imageaudit",
    "quality.add_auditchecklist",
    "quality.change_auditchecklist",
    "quality.manage_peerreview",
    "quality.change_incident",
    "quality.add_feedback",
    "quality.change_feedback",
    "quality.import_satisfaction",
]

#: The monthly report pack (issue 9): the director and the coordinator build, comment on and
#: publish it.
_REPORT_PACK = [
    "kpis.view_reportpack",
    "kpis.build_report_pack",
    "kpis.publish_report_pack",
]

ROLE_PERMISSIONS: dict[Role, list[str]] = {
    Role.COORDINATOR: [
        *_REPORT_PACK,
        *_QA_MANAGE,
        "kpis.view_kpis",
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
        *_SUPPLIES_MANAGE,
        *_CONTRAST_VIEW,
        "contrast.add_contrastagent",
        "contrast.change_contrastagent",
        "contrast.add_egfrresult",
        "contrast.change_adverseevent",
        *_INFECTION_VIEW,
        *_PROBE_USE_VIEW,
    ],
    Role.SCHEDULER: [
        *_QA_INCIDENT_REPORT,
        *_QA_ACCESS_REQUESTS,
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
        *_QA_INCIDENT_REPORT,
        *_DEPARTMENT_VIEW,
        *_PATIENT_VIEW,
        *_ORDER_VIEW,
        *_INTAKE,
        "exams.perform_exam",
        *_SUPPLIES_USE,
        *_CONTRAST_VIEW,
        *_CONTRAST_GIVE,
        *_INFECTION_VIEW,
        *_PROBE_USE,
        *_REPROCESS,
        *_ROSTER_SELF,
    ],
    Role.RADIOLOGIST: [
        "quality.perform_peerreview",
        "kpis.view_kpis",
        *_QA_INCIDENT_REPORT,
        *_DEPARTMENT_VIEW,
        *_PATIENT_VIEW,
        *_STAFF_VIEW,
        *_ORDER_VIEW,
        "exams.triage_exam",
        "exams.report_exam",
        "exams.sign_exam",
        "exams.override_hard_stop",
        *_CONTRAST_VIEW,
        *_CONTRAST_GIVE,
        "contrast.change_contrastrequirement",
        "contrast.change_adverseevent",
        "contrast.override_contrast_stop",
        *_ROSTER_SELF,
    ],
    Role.DIRECTOR: [
        *_REPORT_PACK,
        *_QA_MANAGE,
        "kpis.view_kpis",
        "kpis.edit_kpi_targets",
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
        *_SUPPLIES_VIEW,
        *_CONTRAST_VIEW,
        *_INFECTION_VIEW,
        *_PROBE_USE_VIEW,
    ],
    Role.BILLING: [
        *_QA_INCIDENT_REPORT,
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
    Role.BIOMED: [
        *_QA_INCIDENT_REPORT,
        *_DEPARTMENT_VIEW,
        *_EQUIPMENT_EDIT,
        *_DOWNTIME_EDIT,
        *_DICOM_REGISTRY_EDIT,
        *_SUPPLIES_VIEW,
        *_INFECTION_VIEW,
        "infection.add_deviceqclog",
        "infection.change_probe_status",
    ],
    Role.INFECTION_PREVENTIONIST: [
        *_QA_INCIDENT_REPORT,
        *_DEPARTMENT_VIEW,
        *_PATIENT_VIEW,
        *_ORDER_VIEW,
        *_SUPPLIES_VIEW,
        *_INFECTION_VIEW,
        *_PROBE_USE,
        *_REPROCESS,
        *_INFECTION_MANAGE,
        "infection.override_probe_stop",
    ],
    Role.INTERFACE_ANALYST: [
        *_QA_INCIDENT_REPORT,
        *_DEPARTMENT_VIEW,
        *_PATIENT_VIEW,
        *_ORDER_VIEW,
        *_HL7_SETUP,
        *_DICOM_REGISTRY_VIEW,
        *_MPPS_VIEW,
    ],
    Role.AUDITOR: [
        *_QA_READ,
        "kpis.view_kpis",
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
        *_SUPPLIES_VIEW,
        *_CONTRAST_VIEW,
        *_INFECTION_VIEW,
        *_PROBE_USE_VIEW,
    ],
    # The admin role is a superuser; listing rights here would only repeat "everything".
    Role.ADMIN: [],
}
