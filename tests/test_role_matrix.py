"""Every URL, every role: who may open what.

The expectations below are written from the users' side, independently of ``accounts/roles.py``.
A URL pattern or API operation that is not listed here fails the build, so a new page cannot ship
without someone deciding who may see it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from radflow.accounts.access import GUARD_ATTRIBUTE
from radflow.api import api
from radflow.core.roles import Role
from tests.conftest import make_user
from tests.matrix_objects import MatrixObjects, matrix_objects

PUBLIC = "public"  # anyone, even anonymous
ANY = "any"  # any logged-in user, even one with no role

ALL = frozenset(Role)
PATIENT_READERS = ALL - {Role.BIOMED}
PATIENT_WRITERS = frozenset({Role.COORDINATOR, Role.SCHEDULER, Role.ADMIN})
STAFF_READERS = frozenset(
    {Role.COORDINATOR, Role.RADIOLOGIST, Role.DIRECTOR, Role.AUDITOR, Role.ADMIN}
)
PAYER_READERS = frozenset(
    {Role.COORDINATOR, Role.SCHEDULER, Role.DIRECTOR, Role.BILLING, Role.AUDITOR, Role.ADMIN}
)
PAYER_WRITERS = frozenset({Role.BILLING, Role.ADMIN})
ROOM_EDITORS = frozenset({Role.COORDINATOR, Role.BIOMED, Role.ADMIN})
EQUIPMENT_EDITORS = frozenset({Role.BIOMED, Role.ADMIN})
AUDIT_READERS = frozenset({Role.AUDITOR, Role.ADMIN})
ADMIN_ONLY = frozenset({Role.ADMIN})
NOBODY: frozenset[Role] = frozenset()

Expectation = str | frozenset[Role]

INTAKE_STAFF = frozenset({Role.COORDINATOR, Role.SCHEDULER, Role.TECHNOLOGIST, Role.ADMIN})
AUTHORIZATION_READERS = ALL - {Role.BIOMED}
AUTHORIZATION_EDITORS = frozenset({Role.COORDINATOR, Role.SCHEDULER, Role.BILLING, Role.ADMIN})
AUTHORIZATION_RULE_EDITORS = frozenset({Role.BILLING, Role.ADMIN})
ORDER_READERS = ALL - {Role.BIOMED}
ORDER_EDITORS = frozenset({Role.COORDINATOR, Role.SCHEDULER, Role.ADMIN})
ORDER_RULE_EDITORS = frozenset({Role.COORDINATOR, Role.ADMIN})

EXAM_TRIAGERS = frozenset({Role.COORDINATOR, Role.RADIOLOGIST, Role.ADMIN})
EXAM_SCHEDULERS = frozenset({Role.COORDINATOR, Role.SCHEDULER, Role.ADMIN})
EXAM_PERFORMERS = frozenset({Role.TECHNOLOGIST, Role.ADMIN})
EXAM_REPORTERS = frozenset({Role.RADIOLOGIST, Role.ADMIN})
EXAM_BILLERS = frozenset({Role.BILLING, Role.ADMIN})
EXAM_AUDITORS = frozenset({Role.COORDINATOR, Role.DIRECTOR, Role.AUDITOR, Role.ADMIN})

WORKLIST_COORDINATORS = frozenset({Role.COORDINATOR, Role.ADMIN})
WORKLIST_FRONT_DESK = frozenset({Role.COORDINATOR, Role.SCHEDULER, Role.ADMIN})
WORKLIST_STAT_READERS = ALL - {Role.BIOMED}
WORKLIST_STAT_OWNERS = frozenset({Role.COORDINATOR, Role.SCHEDULER, Role.ADMIN})

ROSTER_READERS = frozenset(
    {Role.COORDINATOR, Role.SCHEDULER, Role.DIRECTOR, Role.AUDITOR, Role.ADMIN}
)
ROSTER_PLANNERS = frozenset({Role.COORDINATOR, Role.ADMIN})
#: People who work shifts: their own shifts, calendar link, leave, wishes and swaps.
ROSTERED_STAFF = frozenset({Role.COORDINATOR, Role.TECHNOLOGIST, Role.RADIOLOGIST, Role.ADMIN})

CREDENTIAL_READERS = frozenset({Role.COORDINATOR, Role.DIRECTOR, Role.AUDITOR, Role.ADMIN})
CREDENTIAL_EDITORS = frozenset({Role.COORDINATOR, Role.ADMIN})
ELIGIBILITY_CHECKERS = CREDENTIAL_READERS | {Role.SCHEDULER}

#: The schedule board shows the day's patients to everyone who already reads exams (as the STAT
#: board does); moving a booking is for those who schedule.
BOARD_READERS = ALL - {Role.BIOMED}
WAITLIST_READERS = frozenset(
    {Role.COORDINATOR, Role.SCHEDULER, Role.DIRECTOR, Role.AUDITOR, Role.ADMIN}
)
WAITLIST_EDITORS = frozenset({Role.COORDINATOR, Role.SCHEDULER, Role.ADMIN})

#: Day plans: the coordinator starts, applies and discards them and sets the weights; the
#: director and the front desk read them.
PLAN_READERS = frozenset({Role.COORDINATOR, Role.SCHEDULER, Role.DIRECTOR, Role.ADMIN})
PLANNERS = frozenset({Role.COORDINATOR, Role.ADMIN})

#: Calendars: the coordinator keeps them, the front desk and the director read them; device
#: downtime is biomed's to record too (and biomed reads it), not the rest of the calendars.
CALENDAR_READERS = frozenset({Role.COORDINATOR, Role.SCHEDULER, Role.DIRECTOR, Role.ADMIN})
CALENDAR_EDITORS = frozenset({Role.COORDINATOR, Role.ADMIN})
DOWNTIME_READERS = CALENDAR_READERS | {Role.BIOMED}
DOWNTIME_EDITORS = frozenset({Role.COORDINATOR, Role.BIOMED, Role.ADMIN})

#: The DICOM AE registry (issue 6): biomed keeps the modalities and the unknown-caller policy;
#: the coordinator and the director read it.
DICOM_REGISTRY_READERS = frozenset(
    {Role.COORDINATOR, Role.DIRECTOR, Role.BIOMED, Role.INTERFACE_ANALYST, Role.ADMIN}
)
DICOM_REGISTRY_EDITORS = frozenset({Role.BIOMED, Role.ADMIN})
#: MPPS reconciliation (issue 6): the coordinator links steps and clears flags; the director reads.
MPPS_READERS = frozenset({Role.COORDINATOR, Role.DIRECTOR, Role.INTERFACE_ANALYST, Role.ADMIN})
MPPS_RECONCILERS = frozenset({Role.COORDINATOR, Role.ADMIN})
#: The HL7 message console (issue 7): the coordinator and the interface analyst find, replay,
#: skip and resend messages; the analyst alone keeps interfaces, destinations and retention.
HL7_CONSOLE = frozenset({Role.COORDINATOR, Role.INTERFACE_ANALYST, Role.ADMIN})
HL7_REPLAYERS = frozenset({Role.COORDINATOR, Role.INTERFACE_ANALYST, Role.ADMIN})
HL7_SETUP = frozenset({Role.INTERFACE_ANALYST, Role.ADMIN})

#: Contrast (issue 10): clinical staff, the director and auditors read; technologists and
#: radiologists give doses and record reactions and premedication; the coordinator keeps the
#: agents and records lab eGFRs; the radiologist sets what exam types ask; reporting a reaction to
#: the safety programme is the radiologist's or the coordinator's.
CONTRAST_READERS = frozenset(
    {Role.COORDINATOR, Role.TECHNOLOGIST, Role.RADIOLOGIST, Role.DIRECTOR, Role.AUDITOR, Role.ADMIN}
)
CONTRAST_GIVERS = frozenset({Role.TECHNOLOGIST, Role.RADIOLOGIST, Role.ADMIN})
CONTRAST_AGENT_EDITORS = frozenset({Role.COORDINATOR, Role.ADMIN})
CONTRAST_SETTINGS_EDITORS = frozenset({Role.RADIOLOGIST, Role.ADMIN})
CONTRAST_REPORTERS = frozenset({Role.COORDINATOR, Role.RADIOLOGIST, Role.ADMIN})
EGFR_RECORDERS = CONTRAST_GIVERS | {Role.COORDINATOR}

#: Probe traceability (issue 10): clinical staff, the director, biomed and auditors read the
#: dashboard, cycles, disinfectants and devices (no patient on them); pages naming patients leave
#: biomed out. Sonographers attach probes and reprocess; biomed checks devices and takes probes
#: out of service; the infection preventionist also keeps disinfectants and devices, runs
#: look-backs and alone overrides the probe stop.
INFECTION_READERS = frozenset(
    {
        Role.COORDINATOR,
        Role.TECHNOLOGIST,
        Role.DIRECTOR,
        Role.BIOMED,
        Role.INFECTION_PREVENTIONIST,
        Role.AUDITOR,
        Role.ADMIN,
    }
)
PROBE_USE_READERS = INFECTION_READERS - {Role.BIOMED}
REPROCESSORS = frozenset({Role.TECHNOLOGIST, Role.INFECTION_PREVENTIONIST, Role.ADMIN})
PROBE_STATUS_EDITORS = REPROCESSORS | {Role.BIOMED}
INFECTION_MANAGERS = frozenset({Role.INFECTION_PREVENTIONIST, Role.ADMIN})

#: The quality program (issue 9): the director and the coordinator run it, auditors read it;
#: radiologists peer review; every role but the auditor reports incidents; the front desk
#: records accessibility requests. A person's own audits, reviews and actions are checked per
#: object (the cast here owns none, so those pages deny them).
QA_READERS = frozenset({Role.COORDINATOR, Role.DIRECTOR, Role.AUDITOR, Role.ADMIN})
QA_MANAGERS = frozenset({Role.COORDINATOR, Role.DIRECTOR, Role.ADMIN})
QA_ACCESS_READERS = QA_READERS | {Role.SCHEDULER}
QA_ACCESS_EDITORS = QA_MANAGERS | {Role.SCHEDULER}
PEER_REVIEWERS = frozenset({Role.RADIOLOGIST, Role.ADMIN})
INCIDENT_REPORTERS = ALL - {Role.AUDITOR}

#: KPIs (issue 9): the people who run or oversee the department read the definitions and
#: targets; the director alone sets a department's targets.
KPI_READERS = frozenset(
    {Role.COORDINATOR, Role.RADIOLOGIST, Role.DIRECTOR, Role.AUDITOR, Role.ADMIN}
)
KPI_TARGET_EDITORS = frozenset({Role.DIRECTOR, Role.ADMIN})
#: The monthly report pack (issue 9): the director and the coordinator build, comment on and
#: publish it; nobody else opens it.
REPORT_PACK_USERS = frozenset({Role.COORDINATOR, Role.DIRECTOR, Role.ADMIN})
#: The dashboards (director's, coordinator's, modality lead's), their exports and the drill-down
#: to the exams behind a number: the same readers (all of them also read patients).
KPI_DASHBOARD_READERS = KPI_READERS

#: Supplies (issue 10): everyone who works with supplies sees items, shelves and the dashboard;
#: the coordinator keeps stock, purchasing, vendors and recalls; sonographers record what an
#: exam used and issue by hand; the director, biomed, the infection preventionist and auditors
#: read the ledger and purchasing. Pages naming patients (a recall, an exam) leave biomed out.
SUPPLY_READERS = frozenset(
    {
        Role.COORDINATOR,
        Role.DIRECTOR,
        Role.BIOMED,
        Role.INFECTION_PREVENTIONIST,
        Role.AUDITOR,
        Role.ADMIN,
    }
)
SUPPLY_USERS = SUPPLY_READERS | {Role.TECHNOLOGIST}
SUPPLY_MANAGERS = frozenset({Role.COORDINATOR, Role.ADMIN})
SUPPLY_RECORDERS = frozenset({Role.COORDINATOR, Role.TECHNOLOGIST, Role.ADMIN})
RECALL_READERS = SUPPLY_READERS - {Role.BIOMED}
EXAM_SUPPLY_READERS = SUPPLY_USERS - {Role.BIOMED}

PAGES: dict[str, Expectation] = {
    "accounts:login": PUBLIC,
    "accounts:logout": PUBLIC,
    "accounts:tokens": ADMIN_ONLY,
    "accounts:token_revoke": ADMIN_ONLY,
    "web:home": ANY,
    "web:healthz": PUBLIC,
    "patients:list": PATIENT_READERS,
    "patients:detail": PATIENT_READERS,
    "patients:create": PATIENT_WRITERS,
    "patients:edit": PATIENT_WRITERS,
    "patients:allergy_add": PATIENT_WRITERS,
    "scheduling:overview": ALL,
    "scheduling:sites": ALL,
    "scheduling:site_detail": ALL,
    "scheduling:rooms": ALL,
    "scheduling:room_detail": ALL,
    "scheduling:room_status": ROOM_EDITORS,
    "scheduling:devices": ALL,
    "scheduling:device_detail": ALL,
    "scheduling:probes": ALL,
    "catalog:exam_types": ALL,
    "catalog:exam_type_detail": ALL,
    "staff:list": STAFF_READERS,
    "staff:detail": STAFF_READERS,
    "billing:payers": PAYER_READERS,
    "audit:access_log": AUDIT_READERS,
    "audit:access_log_export": AUDIT_READERS,
    "audit:verify": AUDIT_READERS,
    # --- orders: referral pages, incomplete queue, completeness rules ---
    "orders:list": ORDER_READERS,
    "orders:create": ORDER_EDITORS,
    "orders:detail": ORDER_READERS,
    "orders:edit": ORDER_EDITORS,
    "orders:attachment_add": ORDER_EDITORS,
    "orders:attachment": ORDER_READERS,
    "orders:outreach_add": ORDER_EDITORS,
    "orders:incomplete": ORDER_READERS,
    "orders:rules": ORDER_RULE_EDITORS,
    "orders:rule_edit": ORDER_RULE_EDITORS,
    "orders:rule_delete": ORDER_RULE_EDITORS,
    # --- authorizations: pre-authorization pages, payer auth rules ---
    "authorizations:queue": AUTHORIZATION_READERS,
    "authorizations:detail": AUTHORIZATION_READERS,
    "authorizations:request": AUTHORIZATION_EDITORS,
    "authorizations:contact_add": AUTHORIZATION_EDITORS,
    "authorizations:decide": AUTHORIZATION_EDITORS,
    "authorizations:rules": AUTHORIZATION_RULE_EDITORS,
    "authorizations:rule_edit": AUTHORIZATION_RULE_EDITORS,
    # --- exams: exam page, actions, override report, documentation audit ---
    "exams:detail": PATIENT_READERS,
    "exams:triage": EXAM_TRIAGERS,
    "exams:schedule": EXAM_SCHEDULERS,
    "exams:reschedule": EXAM_SCHEDULERS,
    "exams:arrive": EXAM_SCHEDULERS,
    "exams:no_show": EXAM_SCHEDULERS,
    "exams:cancel": EXAM_SCHEDULERS,
    "exams:begin": EXAM_PERFORMERS,
    "exams:complete": EXAM_PERFORMERS,
    "exams:discontinue": EXAM_PERFORMERS,
    "exams:report": EXAM_REPORTERS,
    "exams:sign": EXAM_REPORTERS,
    "exams:bill": EXAM_BILLERS,
    "exams:overrides": EXAM_AUDITORS,
    "exams:overrides_export": EXAM_AUDITORS,
    "exams:documentation_audit": EXAM_AUDITORS,
    "exams:documentation_audit_export": EXAM_AUDITORS,
    # --- intake ---
    "intake:exam": INTAKE_STAFF,
    "intake:identity": INTAKE_STAFF,
    "intake:screening": INTAKE_STAFF,
    "intake:consent": INTAKE_STAFF,
    "intake:prep": INTAKE_STAFF,
    "intake:interpreter": INTAKE_STAFF,
    # --- worklists and STAT board ---
    "worklists:coordinator": WORKLIST_COORDINATORS,
    "worklists:front_desk": WORKLIST_FRONT_DESK,
    "worklists:my_exams": frozenset({Role.TECHNOLOGIST, Role.ADMIN}),
    "worklists:radiologist": frozenset({Role.RADIOLOGIST, Role.ADMIN}),
    "worklists:billing": frozenset({Role.BILLING, Role.ADMIN}),
    "worklists:stat_board": WORKLIST_STAT_READERS,
    "worklists:stat_claim": WORKLIST_STAT_OWNERS,
    # --- notifications ---
    "notifications:list": ANY,
    "notifications:mark_read": ANY,
    "notifications:badge": ANY,
    # --- rostering ---
    "rostering:list": ROSTER_READERS,
    "rostering:create": ROSTER_PLANNERS,
    "rostering:roster_detail": ROSTER_READERS,
    "rostering:roster_generate": ROSTER_PLANNERS,
    "rostering:roster_publish": ROSTER_PLANNERS,
    "rostering:roster_grid": ROSTER_READERS,
    "rostering:roster_export": ROSTER_READERS,
    "rostering:run_detail": ROSTER_READERS,
    "rostering:run_progress": ROSTER_READERS,
    "rostering:run_cancel": ROSTER_PLANNERS,
    "rostering:person_calendar": ROSTER_READERS,
    "rostering:modality_calendar": ROSTER_READERS,
    "rostering:on_call_calendar": ROSTER_READERS,
    "rostering:my_shifts": ROSTERED_STAFF,
    "rostering:feed_rotate": ROSTERED_STAFF,
    "rostering:feed": PUBLIC,
    "rostering:leave": ROSTERED_STAFF,
    "rostering:leave_decide": ROSTER_PLANNERS,
    "rostering:preferences": ROSTERED_STAFF,
    "rostering:preference_delete": ROSTERED_STAFF,
    "rostering:swaps": ROSTERED_STAFF,
    "rostering:swap_approve": ROSTER_PLANNERS,
    "rostering:swap_decline": ROSTER_PLANNERS,
    "rostering:swap_withdraw": ROSTERED_STAFF,
    "rostering:sick_calls": ROSTER_PLANNERS,
    "rostering:sick_call_detail": ROSTER_PLANNERS,
    "rostering:sick_call_apply": ROSTER_PLANNERS,
    "rostering:shift_types": ROSTER_PLANNERS,
    "rostering:shift_type_edit": ROSTER_PLANNERS,
    "rostering:coverage": ROSTER_PLANNERS,
    "rostering:staff_rules": ROSTER_PLANNERS,
    "rostering:staff_rules_edit": ROSTER_PLANNERS,
    "rostering:settings": ROSTER_PLANNERS,
    # --- credentials, CE and competencies (a staff member reads their own on "mine") ---
    "credentials:dashboard": CREDENTIAL_READERS,
    "credentials:mine": ANY,
    "credentials:person": CREDENTIAL_READERS,
    "credentials:credential_evidence": CREDENTIAL_READERS,
    "credentials:add_credential": CREDENTIAL_EDITORS,
    "credentials:credential_verify": CREDENTIAL_EDITORS,
    "credentials:log_ce": CREDENTIAL_EDITORS,
    "credentials:sign_off": CREDENTIAL_EDITORS,
    "credentials:signoff_revalidate": CREDENTIAL_EDITORS,
    "credentials:add_plan": CREDENTIAL_EDITORS,
    "credentials:plan_edit": CREDENTIAL_EDITORS,
    "credentials:plan_case": CREDENTIAL_EDITORS,
    # --- schedule board and waitlist (issue 5) ---
    "scheduling:board": BOARD_READERS,
    "scheduling:board_body": BOARD_READERS,
    "scheduling:board_plan": BOARD_READERS,
    "scheduling:board_room_week": BOARD_READERS,
    "scheduling:board_move": EXAM_SCHEDULERS,
    "scheduling:board_room_status": frozenset({Role.COORDINATOR, Role.ADMIN}),
    "waitlist:list": WAITLIST_READERS,
    "waitlist:add": WAITLIST_EDITORS,
    "waitlist:slot": WAITLIST_READERS,
    "waitlist:remove": WAITLIST_EDITORS,
    "waitlist:book": WAITLIST_EDITORS,
    # --- day plans and re-plans (issue 5) ---
    "planning:start": PLANNERS,
    "planning:run": PLAN_READERS,
    "planning:run_progress": PLAN_READERS,
    "planning:apply": PLANNERS,
    "planning:discard": PLANNERS,
    "planning:settings": PLANNERS,
    # --- calendars, device downtime and eligibility (issue 5) ---
    "scheduling:calendars": CALENDAR_READERS,
    "scheduling:calendars_site": CALENDAR_READERS,
    "scheduling:calendars_holiday_add": CALENDAR_EDITORS,
    "scheduling:calendars_holiday_remove": CALENDAR_EDITORS,
    "scheduling:calendars_template_add": CALENDAR_EDITORS,
    "scheduling:calendars_template_remove": CALENDAR_EDITORS,
    "scheduling:calendars_closure_add": CALENDAR_EDITORS,
    "scheduling:calendars_closure": CALENDAR_READERS,
    "scheduling:calendars_closure_remove": CALENDAR_EDITORS,
    "scheduling:calendars_room_hours": CALENDAR_EDITORS,
    "scheduling:calendars_staff_hours": CALENDAR_EDITORS,
    "scheduling:calendars_hours_remove": CALENDAR_EDITORS,
    "scheduling:calendars_interpreters": CALENDAR_EDITORS,
    "scheduling:calendars_interpreter": CALENDAR_EDITORS,
    "scheduling:calendars_interpreter_hours_remove": CALENDAR_EDITORS,
    "scheduling:calendars_downtime_remove": DOWNTIME_EDITORS,
    "scheduling:device_downtime": DOWNTIME_READERS,
    "scheduling:device_downtime_add": DOWNTIME_EDITORS,
    "scheduling:eligibility": ELIGIBILITY_CHECKERS,
    # --- DICOM AE registry (issue 6) ---
    "interfaces:dicom": DICOM_REGISTRY_READERS,
    "interfaces:dicom_policy": DICOM_REGISTRY_EDITORS,
    "interfaces:ae_add": DICOM_REGISTRY_EDITORS,
    "interfaces:ae_edit": DICOM_REGISTRY_EDITORS,
    "interfaces:ae_deactivate": DICOM_REGISTRY_EDITORS,
    # --- MPPS reconciliation (issue 6) ---
    "interfaces:mpps": MPPS_READERS,
    "interfaces:mpps_step": MPPS_READERS,
    "interfaces:mpps_link": MPPS_RECONCILERS,
    "interfaces:mpps_order": MPPS_RECONCILERS,
    "interfaces:mpps_clear": MPPS_RECONCILERS,
    "interfaces:hl7": HL7_CONSOLE,
    "interfaces:hl7_dead_letters": HL7_CONSOLE,
    "interfaces:hl7_outbound": HL7_CONSOLE,
    "interfaces:hl7_message": HL7_CONSOLE,
    "interfaces:hl7_message_replay": HL7_REPLAYERS,
    "interfaces:hl7_message_skip": HL7_REPLAYERS,
    "interfaces:hl7_message_resend": HL7_REPLAYERS,
    "interfaces:hl7_destination_release": HL7_REPLAYERS,
    "interfaces:hl7_interfaces": HL7_SETUP,
    "interfaces:hl7_interface_add": HL7_SETUP,
    "interfaces:hl7_interface_edit": HL7_SETUP,
    "interfaces:hl7_destinations": HL7_SETUP,
    "interfaces:hl7_destination_add": HL7_SETUP,
    "interfaces:hl7_destination_edit": HL7_SETUP,
    "interfaces:hl7_settings": HL7_SETUP,
    # --- contrast (issue 10) ---
    "contrast:dashboard": CONTRAST_READERS,
    "contrast:agents": CONTRAST_READERS,
    "contrast:agent_add": CONTRAST_AGENT_EDITORS,
    "contrast:agent_edit": CONTRAST_AGENT_EDITORS,
    "contrast:requirements": CONTRAST_READERS,
    "contrast:requirement_edit": CONTRAST_SETTINGS_EDITORS,
    "contrast:administrations": CONTRAST_READERS,
    "contrast:reaction_add": CONTRAST_GIVERS,
    "contrast:events": CONTRAST_READERS,
    "contrast:event": CONTRAST_READERS,
    "contrast:event_report": CONTRAST_REPORTERS,
    "contrast:exam": CONTRAST_READERS,
    "contrast:exam_administer": CONTRAST_GIVERS,
    "contrast:exam_premedicate": CONTRAST_GIVERS,
    "contrast:exam_egfr": EGFR_RECORDERS,
    # --- probe traceability (issue 10) ---
    "infection:dashboard": INFECTION_READERS,
    "infection:reprocess": REPROCESSORS,
    "infection:probe": PROBE_USE_READERS,
    "infection:probe_status": PROBE_STATUS_EDITORS,
    "infection:probe_use_detach": REPROCESSORS,
    "infection:exam_probes": PROBE_USE_READERS,
    "infection:exam_probe_attach": REPROCESSORS,
    "infection:exam_probe_override": INFECTION_MANAGERS,
    "infection:cycles": INFECTION_READERS,
    "infection:cycle": INFECTION_READERS,
    "infection:lookback": INFECTION_MANAGERS,
    "infection:lookback_export": INFECTION_MANAGERS,
    "infection:agents": INFECTION_READERS,
    "infection:agent_add": INFECTION_MANAGERS,
    "infection:agent": INFECTION_READERS,
    "infection:agent_test": REPROCESSORS,
    "infection:agent_discard": INFECTION_MANAGERS,
    "infection:devices": INFECTION_READERS,
    "infection:device_add": INFECTION_MANAGERS,
    "infection:device": INFECTION_READERS,
    "infection:device_qc": PROBE_STATUS_EDITORS,
    # --- quality program (issue 9) ---
    "kpis:home": KPI_DASHBOARD_READERS,
    "kpis:director": KPI_DASHBOARD_READERS,
    "kpis:coordinator": KPI_DASHBOARD_READERS,
    "kpis:modality": KPI_DASHBOARD_READERS,
    "kpis:export": KPI_DASHBOARD_READERS,
    "kpis:drilldown": KPI_DASHBOARD_READERS,
    "kpis:drilldown_export": KPI_DASHBOARD_READERS,
    "kpis:targets": KPI_READERS,
    "kpis:target_edit": KPI_TARGET_EDITORS,
    "kpis:target_reset": KPI_TARGET_EDITORS,
    "kpis:report_packs": REPORT_PACK_USERS,
    "kpis:report_build": REPORT_PACK_USERS,  # POST only
    "kpis:report_pack_detail": REPORT_PACK_USERS,
    "kpis:report_pack_status": REPORT_PACK_USERS,
    "kpis:report_pack_commentary": REPORT_PACK_USERS,  # POST only
    "kpis:report_version_publish": REPORT_PACK_USERS,  # POST only
    "kpis:report_version_pdf": REPORT_PACK_USERS,
    "kpis:report_version_xlsx": REPORT_PACK_USERS,
    "quality:home": QA_READERS,
    "quality:settings": QA_MANAGERS,
    "quality:my_work": ANY,
    "quality:audits": QA_READERS,
    "quality:audit_draw": QA_MANAGERS,
    "quality:my_audits": ANY,
    "quality:audit_trend": QA_READERS,
    "quality:audit_detail": QA_READERS,
    "quality:audit_acknowledge": ANY,  # POST only; the service checks it is the sonographer's
    "quality:checklists": QA_READERS,
    "quality:checklist_new": QA_MANAGERS,
    "quality:checklist_detail": QA_READERS,
    "quality:checklist_edit": QA_MANAGERS,
    "quality:checklist_item_add": QA_MANAGERS,
    "quality:checklist_item_edit": QA_MANAGERS,
    "quality:peer_reviews": QA_READERS,
    "quality:peer_assign": QA_MANAGERS,
    "quality:peer_mine": PEER_REVIEWERS,
    "quality:peer_review": QA_READERS,  # and the assigned reviewer, blind to the reader
    "quality:peer_decline": PEER_REVIEWERS,  # POST only; the service checks the reviewer
    "quality:peer_reassign": QA_MANAGERS,
    "quality:follow_ups": QA_READERS | {Role.RADIOLOGIST},
    "quality:follow_up_detail": QA_READERS,  # and the follow-up's owner
    "quality:follow_up_close": ANY,  # POST only; the view checks owner or manager
    "quality:incidents": QA_READERS,
    "quality:incident_new": INCIDENT_REPORTERS,
    "quality:incident_detail": QA_READERS,
    "quality:incident_edit": QA_MANAGERS,
    "quality:action_add": QA_MANAGERS,
    "quality:action_detail": QA_READERS,  # and the action's owner
    "quality:action_close": ANY,  # POST only; the view checks owner or manager
    "quality:feedback": QA_READERS,
    "quality:feedback_new": QA_MANAGERS,
    "quality:feedback_detail": QA_READERS,
    "quality:feedback_assign": QA_MANAGERS,
    "quality:feedback_resolve": QA_MANAGERS,
    "quality:satisfaction": QA_READERS,
    "quality:satisfaction_import": QA_MANAGERS,
    "quality:satisfaction_template": QA_READERS,
    "quality:access": QA_ACCESS_READERS,
    "quality:access_new": QA_ACCESS_EDITORS,
    "quality:access_detail": QA_ACCESS_READERS,
    # --- supplies (issue 10) ---
    "supplies:dashboard": SUPPLY_USERS,
    "supplies:items": SUPPLY_USERS,
    "supplies:item_add": SUPPLY_MANAGERS,
    "supplies:item_detail": SUPPLY_USERS,
    "supplies:item_edit": SUPPLY_MANAGERS,
    "supplies:item_levels": SUPPLY_MANAGERS,
    "supplies:locations": SUPPLY_USERS,
    "supplies:location_add": SUPPLY_MANAGERS,
    "supplies:location_detail": SUPPLY_USERS,
    "supplies:location_edit": SUPPLY_MANAGERS,
    "supplies:location_count": SUPPLY_MANAGERS,
    "supplies:counts": SUPPLY_READERS,
    "supplies:count_detail": SUPPLY_READERS,
    "supplies:movements": SUPPLY_READERS,
    "supplies:receive": SUPPLY_MANAGERS,
    "supplies:issue": SUPPLY_RECORDERS,
    "supplies:transfer": SUPPLY_MANAGERS,
    "supplies:discard": SUPPLY_MANAGERS,
    "supplies:templates": SUPPLY_READERS,
    "supplies:template_edit": SUPPLY_MANAGERS,
    "supplies:lots": SUPPLY_READERS,
    "supplies:recall": RECALL_READERS,
    "supplies:recall_mark": SUPPLY_MANAGERS,
    "supplies:exam": EXAM_SUPPLY_READERS,
    "supplies:exam_adjust": SUPPLY_RECORDERS,
    "supplies:vendors": SUPPLY_READERS,
    "supplies:vendor_add": SUPPLY_MANAGERS,
    "supplies:vendor_detail": SUPPLY_READERS,
    "supplies:vendor_edit": SUPPLY_MANAGERS,
    "supplies:pos": SUPPLY_READERS,
    "supplies:po_add": SUPPLY_MANAGERS,
    "supplies:po_detail": SUPPLY_READERS,
    "supplies:po_send": SUPPLY_MANAGERS,
    "supplies:po_receive": SUPPLY_MANAGERS,
    "supplies:po_close": SUPPLY_MANAGERS,
    "supplies:po_cancel": SUPPLY_MANAGERS,
    "supplies:po_pdf": SUPPLY_READERS,
    "supplies:po_csv": SUPPLY_READERS,
    "supplies:reorder": SUPPLY_READERS,
    "supplies:reorder_order": SUPPLY_MANAGERS,
    "supplies:reorder_pdf": SUPPLY_READERS,
    "supplies:reorder_csv": SUPPLY_READERS,
    "api:openapi-json": ANY,
    "api:openapi-view": ANY,
    # The FHIR facade's OpenAPI description and docs (issue 7); its operations are in FHIR below.
    "fhir:openapi-json": ANY,
    "fhir:openapi-view": ANY,
    # Django admin is the admin role's (every other admin URL defaults to ADMIN_ONLY), except:
    "admin:login": PUBLIC,
    "admin:logout": PUBLIC,
    # ... and what no one may do, by design: the access log is append-only, tokens are issued
    # on their own page (the secret is shown once), axes' records are written by axes alone.
    "admin:autocomplete": NOBODY,
    "admin:audit_accesslog_add": NOBODY,
    "admin:audit_accesslog_delete": NOBODY,
    "admin:accounts_apitoken_add": NOBODY,
    # Holds and reservations are written by the booking service only (issue 5).
    "admin:scheduling_hold_add": NOBODY,
    "admin:scheduling_hold_delete": NOBODY,
    "admin:scheduling_reservation_add": NOBODY,
    "admin:scheduling_reservation_delete": NOBODY,
    "admin:axes_accessattempt_add": NOBODY,
    "admin:axes_accesslog_add": NOBODY,
    "admin:axes_accessfailurelog_add": NOBODY,
    # Probe uses, cycles, solution tests and device checks are evidence, written by the
    # infection services only (issue 10).
    **{
        f"admin:infection_{model}_{action}": NOBODY
        for model in ("probeuse", "reprocessing", "solutiontest", "deviceqclog")
        for action in ("add", "delete")
    },
}

API: dict[str, Expectation] = {
    "GET /api/department/sites": ALL,
    "GET /api/department/sites/{site_id}": ALL,
    "GET /api/department/rooms": ALL,
    "GET /api/department/rooms/{room_id}": ALL,
    "PATCH /api/department/rooms/{room_id}/status": ROOM_EDITORS,
    "GET /api/department/devices": ALL,
    "POST /api/department/devices": EQUIPMENT_EDITORS,
    "GET /api/department/devices/{device_id}": ALL,
    "GET /api/department/probes": ALL,
    "POST /api/department/probes": EQUIPMENT_EDITORS,
    "GET /api/department/modalities": ALL,
    "GET /api/catalog/exam-types": ALL,
    "GET /api/catalog/exam-types/{exam_type_id}": ALL,
    "GET /api/staff/": STAFF_READERS,
    "GET /api/staff/{staff_id}": STAFF_READERS,
    "GET /api/billing/payers": PAYER_READERS,
    "POST /api/billing/payers": PAYER_WRITERS,
    "GET /api/patients/": PATIENT_READERS,
    "POST /api/patients/": PATIENT_WRITERS,
    "GET /api/patients/{patient_id}": PATIENT_READERS,
    "PATCH /api/patients/{patient_id}": PATIENT_WRITERS,
    "GET /api/audit/access": AUDIT_READERS,
    # --- orders API ---
    "GET /api/orders/": ORDER_READERS,
    "POST /api/orders/": ORDER_EDITORS,
    "GET /api/orders/{order_id}": ORDER_READERS,
    "POST /api/orders/{order_id}/outreach": ORDER_EDITORS,
    # --- exams API ---
    "GET /api/exams/": PATIENT_READERS,
    "GET /api/exams/{exam_id}": PATIENT_READERS,
    "POST /api/exams/{exam_id}/actions/triage": EXAM_TRIAGERS,
    "POST /api/exams/{exam_id}/actions/schedule": EXAM_SCHEDULERS,
    "POST /api/exams/{exam_id}/actions/reschedule": EXAM_SCHEDULERS,
    "POST /api/exams/{exam_id}/actions/arrive": EXAM_SCHEDULERS,
    "POST /api/exams/{exam_id}/actions/no_show": EXAM_SCHEDULERS,
    "POST /api/exams/{exam_id}/actions/cancel": EXAM_SCHEDULERS,
    "POST /api/exams/{exam_id}/actions/begin": EXAM_PERFORMERS,
    "POST /api/exams/{exam_id}/actions/complete": EXAM_PERFORMERS,
    "POST /api/exams/{exam_id}/actions/discontinue": EXAM_PERFORMERS,
    "POST /api/exams/{exam_id}/actions/report": EXAM_REPORTERS,
    "POST /api/exams/{exam_id}/actions/sign": EXAM_REPORTERS,
    "POST /api/exams/{exam_id}/actions/bill": EXAM_BILLERS,
    # --- rosters API ---
    "GET /api/rosters/": ROSTER_READERS,
    "POST /api/rosters/": ROSTER_PLANNERS,
    "GET /api/rosters/{roster_id}": ROSTER_READERS,
    "GET /api/rosters/{roster_id}/assignments": ROSTER_READERS,
    "POST /api/rosters/{roster_id}/runs": ROSTER_PLANNERS,
    "GET /api/rosters/runs/{run_id}": ROSTER_READERS,
    "POST /api/rosters/{roster_id}/publish": ROSTER_PLANNERS,
    "GET /api/rosters/mine/shifts": ROSTERED_STAFF,
    "POST /api/rosters/swaps": ROSTERED_STAFF,
    "POST /api/rosters/swaps/{swap_id}/approve": ROSTER_PLANNERS,
    # --- scheduling API (issue 5: slot search, holds, booking) ---
    "GET /api/scheduling/slots": EXAM_SCHEDULERS,
    "POST /api/scheduling/holds": EXAM_SCHEDULERS,
    "POST /api/scheduling/appointments": EXAM_SCHEDULERS,
    "POST /api/scheduling/appointments/{exam_id}/move": EXAM_SCHEDULERS,
    "POST /api/scheduling/appointments/{exam_id}/cancel": EXAM_SCHEDULERS,
    "GET /api/scheduling/eligibility": ELIGIBILITY_CHECKERS,
    # --- credentials API ---
    "GET /api/credentials/": CREDENTIAL_READERS,
    "GET /api/credentials/eligibility": ELIGIBILITY_CHECKERS,
    "GET /api/credentials/{credential_id}": CREDENTIAL_READERS,
    # --- probe traceability API (issue 10) ---
    "GET /api/infection/probes": INFECTION_READERS,
    "GET /api/infection/probe-uses": PROBE_USE_READERS,
    "POST /api/infection/probe-uses": REPROCESSORS,
    "GET /api/infection/cycles": INFECTION_READERS,
    "POST /api/infection/cycles": REPROCESSORS,
    "GET /api/infection/cycles/{cycle_id}": INFECTION_READERS,
    # --- contrast API (issue 10) ---
    "GET /api/contrast/agents": CONTRAST_READERS,
    "GET /api/contrast/requirements": CONTRAST_READERS,
    "GET /api/contrast/stats": CONTRAST_READERS,
    "GET /api/contrast/exams/{exam_id}/screening": CONTRAST_READERS,
    "POST /api/contrast/exams/{exam_id}/administrations": CONTRAST_GIVERS,
    "POST /api/contrast/exams/{exam_id}/premedications": CONTRAST_GIVERS,
    "GET /api/contrast/administrations": CONTRAST_READERS,
    "POST /api/contrast/administrations/{administration_id}/adverse-events": CONTRAST_GIVERS,
    "GET /api/contrast/patients/{patient_id}/egfr": CONTRAST_READERS,
    "POST /api/contrast/patients/{patient_id}/egfr": EGFR_RECORDERS,
    # --- supplies API (issue 10) ---
    "GET /api/supplies/items": SUPPLY_USERS,
    "GET /api/supplies/items/{item_id}": SUPPLY_USERS,
    "GET /api/supplies/on-hand": SUPPLY_USERS,
    "GET /api/supplies/movements": SUPPLY_READERS,
    "POST /api/supplies/issues": SUPPLY_RECORDERS,
}

#: The FHIR R4 facade (issue 7): the same rights as the pages and the JSON API.
FHIR: dict[str, Expectation] = {
    "GET /fhir/R4/metadata": PUBLIC,
    "GET /fhir/R4/Patient": PATIENT_READERS,
    "GET /fhir/R4/Patient/{patient_id}": PATIENT_READERS,
    "GET /fhir/R4/Practitioner": STAFF_READERS,
    "GET /fhir/R4/Practitioner/{staff_id}": STAFF_READERS,
    "GET /fhir/R4/PractitionerRole": STAFF_READERS,
    "GET /fhir/R4/PractitionerRole/{staff_id}": STAFF_READERS,
    "GET /fhir/R4/Location": ALL,
    "GET /fhir/R4/Location/{location_id}": ALL,
    "GET /fhir/R4/HealthcareService": ALL,
    "GET /fhir/R4/HealthcareService/{modality_code}": ALL,
    "GET /fhir/R4/Device": ALL,
    "GET /fhir/R4/Device/{device_id}": ALL,
    "GET /fhir/R4/Schedule": ALL,
    "GET /fhir/R4/Schedule/{room_id}": ALL,
    "GET /fhir/R4/Slot": ALL,
    "GET /fhir/R4/Slot/{slot_id}": ALL,
    "GET /fhir/R4/ServiceRequest": ORDER_READERS,
    "POST /fhir/R4/ServiceRequest": ORDER_EDITORS,
    "GET /fhir/R4/ServiceRequest/{order_id}": ORDER_READERS,
    "PUT /fhir/R4/ServiceRequest/{order_id}": ORDER_EDITORS,
    "GET /fhir/R4/Appointment": PATIENT_READERS,
    "GET /fhir/R4/Appointment/{exam_id}": PATIENT_READERS,
    "GET /fhir/R4/Appointment/$find": EXAM_SCHEDULERS,
    "POST /fhir/R4/Appointment/$find": EXAM_SCHEDULERS,
    "POST /fhir/R4/Appointment/$hold": EXAM_SCHEDULERS,
    "POST /fhir/R4/Appointment/$book": EXAM_SCHEDULERS,
    "GET /fhir/R4/ImagingStudy": PATIENT_READERS,
    "GET /fhir/R4/ImagingStudy/{exam_id}": PATIENT_READERS,
}


@dataclass(frozen=True)
class Route:
    name: str
    pattern: URLPattern
    is_admin: bool
    prefix: str  # the routes of the resolvers above, for patterns without a name

    @property
    def unnamed(self) -> bool:
        return self.pattern.name is None


def walk(
    resolver: URLResolver, namespace: str = "", admin: bool = False, prefix: str = ""
) -> Iterator[Route]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from walk(
                entry, ns, admin or entry.namespace == "admin", prefix + str(entry.pattern)
            )
        else:
            label = entry.name if entry.name is not None else f"<unnamed {entry.pattern}>"
            name = f"{namespace}:{label}" if namespace else label
            yield Route(name, entry, admin, prefix)


def all_routes() -> list[Route]:
    return [route for route in walk(get_resolver()) if not _is_api_operation(route)]


def _is_api_operation(route: Route) -> bool:
    return route.name.startswith(("api:", "fhir:")) and route.name not in PAGES


def role_cast() -> dict[str, User | None]:
    cast: dict[str, User | None] = {"anonymous": None, "stranger": make_user(None)}
    for role in Role:
        cast[role.value] = make_user(role, f"matrix_{role.value}")
    return cast


def expected_allowed(expectation: Expectation, who: str) -> bool:
    if expectation == PUBLIC:
        return True
    if who == "anonymous":
        return False
    if expectation == ANY:
        return True
    assert isinstance(expectation, frozenset)
    return who in {role.value for role in expectation}


def page_url(route: Route, objects: MatrixObjects) -> str:
    pattern = route.pattern.pattern
    converters = getattr(pattern, "converters", {})
    names = list(converters) or list(pattern.regex.groupindex)
    kwargs = {kwarg: objects.value_for(route.name, kwarg) for kwarg in names}
    if route.unnamed:
        # Only Django admin has unnamed patterns here; they are plain routes like
        # "<path:object_id>/", so the URL is the routes above with the values filled in.
        route_text = route.prefix + str(pattern)
        return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(kwargs[m.group(1)]), route_text)
    regex = getattr(pattern, "regex", None)
    if regex is not None and not names and regex.groups:
        # simple_history's admin history view takes positional (object id, history id).
        args = [objects.value_for(route.name, "object_id"), "1"][: regex.groups]
        return reverse(route.name, args=args)
    return reverse(route.name, kwargs=kwargs)


def is_denied(response: Any) -> bool:
    if response.status_code in (401, 403):
        return True
    if response.status_code == 302:
        location = response["Location"]
        return "/login" in location
    return False


@pytest.mark.django_db
def test_every_page_is_listed_in_the_matrix() -> None:
    unlisted = sorted(
        route.name for route in all_routes() if not route.is_admin and route.name not in PAGES
    )
    assert unlisted == [], f"Decide who may open these pages and list them in PAGES: {unlisted}"


def test_every_page_declares_its_access_check() -> None:
    unguarded = sorted(
        route.name
        for route in all_routes()
        if not route.is_admin and not hasattr(route.pattern.callback, GUARD_ATTRIBUTE)
    )
    assert unguarded == [], f"wrap these views in page_requires or public_page: {unguarded}"


@pytest.mark.django_db
def test_every_api_operation_is_listed_in_the_matrix() -> None:
    schema = api.get_openapi_schema()
    operations = {
        f"{method.upper()} {path}"
        for path, methods in schema["paths"].items()
        for method in methods
    }
    assert sorted(operations - set(API)) == [], "list new API operations in API"
    assert sorted(set(API) - operations) == [], "API lists operations that no longer exist"


@pytest.mark.django_db
def test_every_fhir_operation_is_listed_in_the_matrix() -> None:
    from radflow.interfaces.fhir.api import fhir_api

    schema = fhir_api.get_openapi_schema()
    operations = {
        f"{method.upper()} {path}"
        for path, methods in schema["paths"].items()
        for method in methods
    }
    assert sorted(operations - set(FHIR)) == [], "list new FHIR operations in FHIR"
    assert sorted(set(FHIR) - operations) == [], "FHIR lists operations that no longer exist"


@pytest.mark.django_db
def test_every_page_allows_and_denies_exactly_the_expected_roles() -> None:
    objects = matrix_objects()
    clients: dict[str, Client] = {}
    for who, user in role_cast().items():
        clients[who] = Client()
        if user is not None:
            clients[who].force_login(user)
    failures: list[str] = []
    for route in all_routes():
        expectation = PAGES.get(route.name, ADMIN_ONLY) if route.is_admin else PAGES[route.name]
        url = page_url(route, objects)
        for who, client in clients.items():
            response = client.get(url)
            allowed = expected_allowed(expectation, who)
            if response.status_code >= 500:
                failures.append(f"{who} GET {url}: {response.status_code}")
            elif expectation == PUBLIC:
                continue
            elif allowed and is_denied(response):
                failures.append(
                    f"{who} GET {url}: denied ({response.status_code}), expected allowed"
                )
            elif allowed and not route.is_admin and response.status_code not in (200, 302, 405):
                failures.append(f"{who} GET {url}: {response.status_code}, expected 200")
            elif not allowed and not is_denied(response):
                failures.append(f"{who} GET {url}: {response.status_code}, expected denied")
    assert failures == [], "\n".join(failures)


@pytest.mark.django_db
def test_every_api_operation_allows_and_denies_exactly_the_expected_roles() -> None:
    from radflow.accounts.services import api_token_create

    objects = matrix_objects()
    cast = role_cast()
    tokens = {
        who: api_token_create(user=user, name="matrix")[1]
        for who, user in cast.items()
        if user is not None
    }
    failures: list[str] = []
    for operation, expectation in {**API, **FHIR}.items():
        method, path = operation.split(" ", 1)
        url = objects.fill_api_path(path)
        # FHIR denials are OperationOutcomes; the JSON API's are RFC 9457 problems.
        denial = (
            "application/fhir+json" if path.startswith("/fhir/") else "application/problem+json"
        )
        for who in cast:
            headers = {"Authorization": f"Bearer {tokens[who]}"} if who in tokens else {}
            # An empty body: a caller without the right must be refused before it is validated.
            response = Client().generic(
                method,
                url,
                data=b"{}" if method in ("POST", "PATCH", "PUT") else b"",
                content_type="application/json",
                headers=headers,
            )
            allowed = expected_allowed(expectation, who)
            if response.status_code >= 500:
                failures.append(f"{who} {method} {url}: {response.status_code}")
            elif allowed and response.status_code in (401, 403):
                failures.append(f"{who} {method} {url}: {response.status_code}, expected allowed")
            elif not allowed:
                want = 401 if who == "anonymous" else 403
                if response.status_code != want:
                    failures.append(
                        f"{who} {method} {url}: {response.status_code}, expected {want}"
                    )
                elif response["Content-Type"] != denial:
                    failures.append(f"{who} {method} {url}: denial is not {denial}")
    assert failures == [], "\n".join(failures)
