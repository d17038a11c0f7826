"""What every page's shell needs: the user's roles and the sections their permissions open.

The navigation is a table, not template logic, so a role test can read it and a new section is one
line. Sections whose app has not shipped its URLs yet are skipped instead of breaking every page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from radflow.accounts.selectors import user_roles


@dataclass(frozen=True)
class NavSection:
    label: str
    url_name: str
    #: The permission that opens the section; empty means any logged-in user.
    perm: str = ""
    superuser_only: bool = False
    #: URL namespaces that count as "inside" the section, to mark it current.
    namespaces: tuple[str, ...] = ()
    #: For sections that share a namespace with others, the URL names that belong to them.
    url_names: tuple[str, ...] = ()
    #: URL names of the namespaces that belong to another section (the board inside Department).
    except_url_names: tuple[str, ...] = ()


#: Roster pages other than a person's own (My shifts, leave, wishes, swaps have their section).
#: The schedule board's pages, inside the department (scheduling) namespace.
BOARD_URL_NAMES = (
    "board",
    "board_body",
    "board_plan",
    "board_room_week",
    "board_move",
    "board_room_status",
)

ROSTER_URL_NAMES = (
    "list",
    "create",
    "roster_detail",
    "roster_grid",
    "run_detail",
    "person_calendar",
    "modality_calendar",
    "on_call_calendar",
    "sick_calls",
    "sick_call_detail",
    "shift_types",
    "shift_type_edit",
    "coverage",
    "staff_rules",
    "staff_rules_edit",
    "settings",
)

#: The HL7 console and settings pages (issue 7), inside the interfaces namespace.
HL7_URL_NAMES = (
    "hl7",
    "hl7_dead_letters",
    "hl7_outbound",
    "hl7_message",
    "hl7_message_replay",
    "hl7_message_skip",
    "hl7_message_resend",
    "hl7_interfaces",
    "hl7_interface_add",
    "hl7_interface_edit",
    "hl7_destinations",
    "hl7_destination_add",
    "hl7_destination_edit",
    "hl7_destination_release",
    "hl7_settings",
)

#: Quality pages that belong to a person's own sections (My audits, Peer review, Report
#: incident) rather than to the quality program's section.
QUALITY_OWN_URL_NAMES = ("my_audits", "peer_mine", "peer_review", "incident_new")

#: The KPI dashboards and their drill-down and exports (issue 9), inside the kpis namespace.
KPI_DASHBOARD_URL_NAMES = (
    "home",
    "director",
    "coordinator",
    "modality",
    "export",
    "drilldown",
    "drilldown_export",
)

#: The monthly report pack's pages (issue 9), inside the kpis namespace.
REPORT_PACK_URL_NAMES = (
    "report_packs",
    "report_build",
    "report_pack_detail",
    "report_pack_status",
    "report_pack_commentary",
    "report_version_publish",
    "report_version_pdf",
    "report_version_xlsx",
)

NAVIGATION: tuple[NavSection, ...] = (
    NavSection("Today", "web:home", namespaces=("web",), url_names=("home",)),
    NavSection(
        "Coordinator",
        "worklists:coordinator",
        "orders.add_completenessrule",
        namespaces=("worklists",),
        url_names=("coordinator",),
    ),
    NavSection(
        "Front desk",
        "worklists:front_desk",
        "exams.arrive_exam",
        namespaces=("worklists",),
        url_names=("front_desk",),
    ),
    NavSection(
        "My exams",
        "worklists:my_exams",
        "exams.perform_exam",
        namespaces=("worklists", "intake"),
        url_names=("my_exams", "exam"),
    ),
    NavSection(
        "Reading",
        "worklists:radiologist",
        "exams.report_exam",
        namespaces=("worklists",),
        url_names=("radiologist",),
    ),
    NavSection(
        "To bill",
        "worklists:billing",
        "exams.bill_exam",
        namespaces=("worklists",),
        url_names=("billing",),
    ),
    NavSection(
        "STAT board",
        "worklists:stat_board",
        "orders.view_order",
        namespaces=("worklists",),
        url_names=("stat_board",),
    ),
    NavSection(
        "Schedule board",
        "scheduling:board",
        "exams.view_exam",
        namespaces=("scheduling",),
        url_names=BOARD_URL_NAMES,
    ),
    NavSection(
        "Waitlist", "waitlist:list", "waitlist.view_waitlistentry", namespaces=("waitlist",)
    ),
    NavSection("Orders", "orders:list", "orders.view_order", namespaces=("orders", "exams")),
    NavSection(
        "Pre-auth",
        "authorizations:queue",
        "orders.view_authorization",
        namespaces=("authorizations",),
    ),
    NavSection("Patients", "patients:list", "patients.view_patient", namespaces=("patients",)),
    NavSection(
        "Department",
        "scheduling:overview",
        "scheduling.view_room",
        namespaces=("scheduling",),
        except_url_names=BOARD_URL_NAMES,
    ),
    NavSection(
        "Exam catalog", "catalog:exam_types", "catalog.view_examtype", namespaces=("catalog",)
    ),
    NavSection("Staff", "staff:list", "staff.view_staffmember", namespaces=("staff",)),
    NavSection(
        "Roster",
        "rostering:list",
        "rostering.view_roster",
        namespaces=("rostering",),
        url_names=ROSTER_URL_NAMES,
    ),
    NavSection(
        "My shifts",
        "rostering:my_shifts",
        "rostering.view_rosterassignment",
        namespaces=("rostering",),
        url_names=("my_shifts", "leave", "preferences", "swaps"),
    ),
    NavSection(
        "Credentials",
        "credentials:dashboard",
        "credentials.view_credential",
        namespaces=("credentials",),
        url_names=(
            "dashboard",
            "person",
            "add_credential",
            "log_ce",
            "sign_off",
            "add_plan",
            "credential_verify",
            "credential_evidence",
            "signoff_revalidate",
            "plan_edit",
            "plan_case",
        ),
    ),
    NavSection(
        "My credentials",
        "credentials:mine",
        "exams.perform_exam",
        namespaces=("credentials",),
        url_names=("mine",),
    ),
    NavSection("Payers", "billing:payers", "billing.view_payer", namespaces=("billing",)),
    NavSection(
        "Infection control",
        "infection:dashboard",
        "infection.view_reprocessing",
        namespaces=("infection",),
    ),
    NavSection(
        "Contrast", "contrast:dashboard", "contrast.view_contrastagent", namespaces=("contrast",)
    ),
    NavSection("Supplies", "supplies:dashboard", "supplies.view_item", namespaces=("supplies",)),
    NavSection(
        "DICOM",
        "interfaces:dicom",
        "interfaces.view_applicationentity",
        namespaces=("interfaces",),
        url_names=("dicom", "dicom_policy", "ae_add", "ae_edit", "ae_deactivate"),
    ),
    NavSection(
        "MPPS",
        "interfaces:mpps",
        "interfaces.change_performedprocedurestep",
        namespaces=("interfaces",),
        url_names=("mpps", "mpps_step", "mpps_link", "mpps_order", "mpps_clear"),
    ),
    NavSection(
        "HL7 messages",
        "interfaces:hl7",
        "interfaces.view_hl7message",
        namespaces=("interfaces",),
        url_names=HL7_URL_NAMES,
    ),
    NavSection(
        "KPI dashboards",
        "kpis:home",
        "kpis.view_kpis",
        namespaces=("kpis",),
        url_names=KPI_DASHBOARD_URL_NAMES,
    ),
    NavSection(
        "KPI targets",
        "kpis:targets",
        "kpis.view_kpis",
        namespaces=("kpis",),
        url_names=("targets", "target_edit", "target_reset"),
    ),
    NavSection(
        "Monthly report",
        "kpis:report_packs",
        "kpis.view_reportpack",
        namespaces=("kpis",),
        url_names=REPORT_PACK_URL_NAMES,
    ),
    NavSection(
        "Quality",
        "quality:home",
        "quality.view_qualitysettings",
        namespaces=("quality",),
        except_url_names=QUALITY_OWN_URL_NAMES,
    ),
    NavSection(
        "My audits",
        "quality:my_audits",
        "exams.perform_exam",
        namespaces=("quality",),
        url_names=("my_audits",),
    ),
    NavSection(
        "Peer review",
        "quality:peer_mine",
        "quality.perform_peerreview",
        namespaces=("quality",),
        url_names=("peer_mine", "peer_review"),
    ),
    NavSection(
        "Report incident",
        "quality:incident_new",
        "quality.add_incident",
        namespaces=("quality",),
        url_names=("incident_new",),
    ),
    NavSection("Audit log", "audit:access_log", "audit.view_accesslog", namespaces=("audit",)),
    NavSection(
        "API tokens",
        "accounts:tokens",
        "accounts.add_apitoken",
        namespaces=("accounts",),
        url_names=("tokens", "token_revoke"),
    ),
    NavSection("Admin", "admin:index", superuser_only=True, namespaces=("admin",)),
)


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    current: bool


def _allowed(section: NavSection, user: User | AnonymousUser) -> bool:
    if section.superuser_only:
        return user.is_superuser
    return not section.perm or user.has_perm(section.perm)


def _is_current(section: NavSection, request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    if match is None or match.namespace not in section.namespaces:
        return False
    if match.url_name in section.except_url_names:
        return False
    return not section.url_names or match.url_name in section.url_names


def nav_links(request: HttpRequest) -> list[NavLink]:
    """The sections this request's user may open, in menu order."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    links: list[NavLink] = []
    for section in NAVIGATION:
        if not _allowed(section, user):
            continue
        try:
            url = reverse(section.url_name)
        except NoReverseMatch:
            continue
        links.append(NavLink(section.label, url, _is_current(section, request)))
    return links


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_links": [], "user_role_labels": []}
    return {
        "nav_links": nav_links(request),
        "user_role_labels": [role.label for role in user_roles(user)],
    }
