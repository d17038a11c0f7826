"""The contrast pages as the technologist, radiologist and coordinator use them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from radflow.audit.models import AccessLog
from radflow.catalog.models import ExamType
from radflow.contrast import services
from radflow.contrast.models import (
    AdverseEvent,
    ContrastAdministration,
    ContrastAgent,
    ContrastRequirement,
    Premedication,
)
from radflow.exams.models import Exam
from radflow.exams.services import exam_begin
from tests.conftest import client_for
from tests.contrast.factories import (
    arrived_exam,
    complete_intake,
    contrast_item,
    iohexol,
    receive,
    room_for,
    shelf,
)

pytestmark = pytest.mark.usefixtures("reference")


@pytest.fixture
def agent() -> ContrastAgent:
    return iohexol(contrast_item())


@pytest.fixture
def begun(admin_user: User, technologist: User, agent: ContrastAgent) -> Exam:
    room = room_for()
    receive(agent.supply_item, shelf(room), lot_number="OMN-25C02")  # type: ignore[arg-type]
    exam = arrived_exam(admin_user, room=room)
    complete_intake(exam, technologist)
    return exam_begin(exam=exam, by=technologist)


def dose_form(agent: ContrastAgent, **changes: str) -> dict[str, str]:
    now = timezone.localtime()
    return {
        "agent": str(agent.pk),
        "lot": "",
        "dose": "80",
        "dose_unit": "mL",
        "route": "iv",
        "injection_site": "Left antecubital, 20 G",
        "flow_rate": "4",
        "given_at": f"{now:%Y-%m-%dT%H:%M}",
        "note": "",
        **changes,
    }


def test_the_exam_page_shows_the_screen_and_is_an_audited_read(
    begun: Exam, technologist: User
) -> None:
    response = client_for(technologist).get(reverse("contrast:exam", kwargs={"pk": begun.pk}))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Cleared for contrast" in body
    assert "74.0" in body  # the eGFR from intake
    log = AccessLog.objects.get(action="contrast.exam")
    assert (log.patient_id, log.username) == (begun.order.patient_id, "technologist")


def test_a_technologist_records_a_dose_on_the_page(
    begun: Exam, technologist: User, agent: ContrastAgent
) -> None:
    client = client_for(technologist)
    url = reverse("contrast:exam_administer", kwargs={"pk": begun.pk})
    response = client.post(url, dose_form(agent))
    assert response.status_code == 302
    given = ContrastAdministration.objects.get(exam=begun)
    assert (given.dose, given.lot.lot_number if given.lot else None) == (Decimal(80), "OMN-25C02")
    page = client.get(response["Location"]).content.decode()
    assert "Recorded 80 mL Iohexol 350, lot OMN-25C02." in page


def test_a_bad_dose_comes_back_with_the_error_and_nothing_is_written(
    begun: Exam, technologist: User, agent: ContrastAgent
) -> None:
    url = reverse("contrast:exam_administer", kwargs={"pk": begun.pk})
    response = client_for(technologist).post(url, dose_form(agent, injection_site="", dose="0"))
    assert response.status_code == 422
    body = response.content.decode()
    assert "Ensure this value is greater than or equal to 0.01" in body
    assert not ContrastAdministration.objects.exists()
    response = client_for(technologist).post(url, dose_form(agent, injection_site=""))
    assert response.status_code == 422
    assert "Enter the injection site" in response.content.decode()
    assert not ContrastAdministration.objects.exists()


def test_a_dose_while_the_stop_is_unmet_is_refused_with_the_reason(
    admin_user: User, technologist: User, agent: ContrastAgent
) -> None:
    exam = arrived_exam(admin_user)
    client = client_for(technologist)
    response = client.post(
        reverse("contrast:exam_administer", kwargs={"pk": exam.pk}), dose_form(agent)
    )
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Contrast may not be given: no eGFR on file" in page
    assert not ContrastAdministration.objects.exists()


def test_egfr_and_premedication_are_recorded_from_the_exam_page(
    admin_user: User, technologist: User
) -> None:
    exam = arrived_exam(admin_user)
    client = client_for(technologist)
    today = timezone.localdate()
    response = client.post(
        reverse("contrast:exam_egfr", kwargs={"pk": exam.pk}),
        {"value": "58", "measured_on": f"{today:%Y-%m-%d}", "source": "lab", "reference": "L-1"},
    )
    assert response.status_code == 302
    at = timezone.localtime() - dt.timedelta(hours=1)
    response = client.post(
        reverse("contrast:exam_premedicate", kwargs={"pk": exam.pk}),
        {
            "protocol": "ACR accelerated IV (4-5 h)",
            "ordered_by": "Dr. Priya Raman",
            "note": "",
            "drug_1": "Methylprednisolone",
            "dose_1": "40 mg",
            "route_1": "iv",
            "given_at_1": f"{at:%Y-%m-%dT%H:%M}",
            "given_by_1": "RN Dana Brooks",
        },
    )
    assert response.status_code == 302
    premedication = Premedication.objects.get(exam=exam)
    assert [(d.drug, d.route) for d in premedication.doses.all()] == [("Methylprednisolone", "iv")]
    page = client.get(reverse("contrast:exam", kwargs={"pk": exam.pk})).content.decode()
    assert "58.0" in page
    assert "ACR accelerated IV (4-5 h)" in page


def test_a_recorded_reaction_shows_on_the_next_bookings_intake(
    begun: Exam, technologist: User, admin_user: User, agent: ContrastAgent
) -> None:
    given = services.administration_record(
        exam=begun,
        by=technologist,
        agent=agent,
        dose=Decimal(80),
        route="iv",
        injection_site="Right antecubital, 20 G",
    )
    client = client_for(technologist)
    url = reverse("contrast:reaction_add", kwargs={"pk": given.pk})
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "onset_at": f"{timezone.localtime():%Y-%m-%dT%H:%M}",
            "grade": "severe",
            "kind": "allergic_like",
            "symptoms": ["laryngeal_edema", "hypotension"],
            "description": "Stridor and BP 70/40 three minutes after injection.",
            "treatment": "Epinephrine 0.3 mg IM x2, oxygen, 2 L saline.",
            "outcome": "admitted",
        },
    )
    event = AdverseEvent.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("contrast:event", kwargs={"pk": event.pk})

    later = arrived_exam(admin_user, patient=begun.order.patient, room=begun.room, hours_ahead=6)
    intake = client.get(reverse("intake:exam", kwargs={"pk": later.pk})).content.decode()
    assert "⚠ Iohexol 350 (iodinated contrast) — Contrast agent, severe" in intake
    when = timezone.localtime(event.onset_at)
    assert f"severe reaction to Iohexol 350 on {when:%Y-%m-%d}" in intake
    assert 'data-stop="contrast"' in intake


def test_a_radiologist_reports_a_reaction_to_the_safety_programme(
    begun: Exam, technologist: User, radiologist: User, agent: ContrastAgent
) -> None:
    given = services.administration_record(
        exam=begun,
        by=technologist,
        agent=agent,
        dose=Decimal(80),
        route="iv",
        injection_site="Right antecubital, 20 G",
    )
    event = services.adverse_event_record(
        administration=given,
        by=technologist,
        grade="moderate",
        symptoms=["bronchospasm"],
        treatment="Albuterol 2 puffs.",
        outcome="observed",
    )
    client = client_for(radiologist)
    page = client.get(reverse("contrast:event", kwargs={"pk": event.pk})).content.decode()
    assert "not reported yet" in page
    response = client.post(
        reverse("contrast:event_report", kwargs={"pk": event.pk}),
        {"reported_on": f"{timezone.localdate():%Y-%m-%d}", "reference": "MW-5521"},
    )
    assert response.status_code == 302
    event.refresh_from_db()
    assert event.report_reference == "MW-5521"
    listing = client.get(reverse("contrast:events")).content.decode()
    assert begun.order.patient.mrn in listing
    assert AccessLog.objects.filter(action="contrast.events").count() == 1


def test_a_radiologist_changes_an_exam_types_settings(radiologist: User) -> None:
    exam_type = ExamType.objects.get(code="mr-brain-wo-w")
    url = reverse("contrast:requirement_edit", kwargs={"pk": exam_type.pk})
    client = client_for(radiologist)
    form = client.get(url).content.decode()
    assert 'value="gadolinium" selected' in form or 'value="gadolinium"' in form
    response = client.post(
        url,
        {
            "gives_contrast": "on",
            "agent_class": "gadolinium",
            "egfr_required": "on",
            "egfr_window_days": "90",
            "egfr_minimum": "30",
            "reaction_screening": "on",
        },
    )
    assert response.status_code == 302
    saved = ContrastRequirement.objects.get(exam_type=exam_type)
    assert (saved.egfr_window_days, saved.updated_by) == (90, radiologist)
    table = client.get(reverse("contrast:requirements")).content.decode()
    assert "within 90 days, at least 30.0" in table
    bad = client.post(
        url, {"agent_class": "gadolinium", "egfr_window_days": "0", "egfr_minimum": "30"}
    )
    assert bad.status_code == 422


def test_the_coordinator_adds_an_agent_linked_to_its_supply_item(coordinator: User) -> None:
    item = contrast_item(
        "Lumason kit (sulfur hexafluoride microspheres)", unit="kit", vendor="Bracco Diagnostics"
    )
    client = client_for(coordinator)
    response = client.post(
        reverse("contrast:agent_add"),
        {
            "name": "Sulfur hexafluoride lipid microspheres",
            "brand": "Lumason",
            "manufacturer": "Bracco Diagnostics",
            "agent_class": "ultrasound",
            "gbca_group": "",
            "routes": ["iv", "intravesical"],
            "dose_unit": "mL",
            "supply_item": str(item.pk),
            "safety_programme": "Bracco pharmacovigilance",
            "active": "on",
        },
    )
    assert response.status_code == 302
    agent = ContrastAgent.objects.get(brand="Lumason")
    assert (agent.routes, agent.supply_item) == (["iv", "intravesical"], item)
    listing = client.get(reverse("contrast:agents")).content.decode()
    assert "Sulfur hexafluoride lipid microspheres" in listing


def test_the_dashboard_counts_doses_and_reactions_per_thousand(
    begun: Exam, technologist: User, coordinator: User, agent: ContrastAgent
) -> None:
    given = services.administration_record(
        exam=begun,
        by=technologist,
        agent=agent,
        dose=Decimal(80),
        route="iv",
        injection_site="Right antecubital, 20 G",
    )
    services.adverse_event_record(
        administration=given,
        by=technologist,
        grade="mild",
        symptoms=["urticaria"],
        treatment="Observation only.",
        outcome="resolved",
    )
    page = client_for(coordinator).get(reverse("contrast:dashboard")).content.decode()
    assert "Iohexol 350" in page
    assert "1000.0" in page  # one reaction in one dose
    assert "OMN-25C02" not in page  # the lot expires in 400 days, not within 60


def test_pages_refuse_roles_without_the_right(stranger: User, scheduler: User, begun: Exam) -> None:
    assert client_for(stranger).get(reverse("contrast:dashboard")).status_code == 403
    assert (
        client_for(scheduler).get(reverse("contrast:exam", kwargs={"pk": begun.pk})).status_code
        == 403
    )
