"""Infection-control pages: the dashboard, the reprocessing room, a probe, an exam's probes (attach,
detach, the infection preventionist's override), cycles, the look-back with its CSV, disinfectants
and devices with their tests and checks.

Views parse, authorise, call one service and render; every page that names patients records one
access-log row per patient shown.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from radflow.accounts.access import page_requires
from radflow.audit.models import AccessChannel
from radflow.audit.services import AccessSource
from radflow.core.errors import Conflict, NotFound, PermissionDenied, RadflowError, ValidationFailed
from radflow.exams.selectors import exam_get_audited
from radflow.infection import selectors, services
from radflow.infection.forms import (
    AgentForm,
    AttachForm,
    CycleForm,
    DeviceForm,
    DeviceQcForm,
    DiscardForm,
    LookbackForm,
    OverrideForm,
    ProbeStatusForm,
    ScanForm,
    SolutionTestForm,
)
from radflow.infection.models import (
    DisinfectionAgent,
    ProbeUse,
    Reprocessing,
    ReprocessingDevice,
)
from radflow.patients.models import Patient
from radflow.scheduling.models import DeviceStatus, Probe
from radflow.web.forms import status_of, submit
from radflow.web.pages import paginate

VIEW = "infection.view_reprocessing"
VIEW_USES = "infection.view_probeuse"
ATTACH = "infection.add_probeuse"
DETACH = "infection.delete_probeuse"
REPROCESS = "infection.add_reprocessing"
OVERRIDE = "infection.override_probe_stop"
LOOKBACK = "infection.run_lookback"
MANAGE = "infection.manage_reprocessing"
STATUS = "infection.change_probe_status"
AGENTS = "infection.view_disinfectionagent"
DEVICES = "infection.view_reprocessingdevice"
SOLUTION_TEST = "infection.add_solutiontest"
DEVICE_QC = "infection.add_deviceqclog"

#: The dashboard's look-back window for failed cycles, overrides and turnaround.
DASHBOARD_DAYS = 30


def _web(request: HttpRequest) -> AccessSource:
    return AccessSource.from_request(request, AccessChannel.WEB)


def _error_text(exc: RadflowError) -> str:
    if isinstance(exc, ValidationFailed):
        return " ".join(m for msgs in exc.errors.values() for m in msgs) or exc.message
    return exc.message


# --- dashboard --------------------------------------------------------------------------------


def duration_text(value: timedelta | None) -> str:
    """``42 min`` or ``3 h 05 min``: how a turnaround reads on the dashboard."""
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


@page_requires(VIEW)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    today = timezone.localdate()
    since = now - timedelta(days=DASHBOARD_DAYS)
    board = selectors.probe_board()
    waiting = [row for row in board if row.readiness == selectors.Readiness.NEEDS_REPROCESSING]
    qc = [*selectors.solution_test_status(today), *selectors.device_qc_status(today)]
    turnaround = selectors.turnaround(since=since)
    context = {
        "board": board,
        "waiting": [row for row in waiting if row.guarded],
        "waiting_low": [row for row in waiting if not row.guarded],
        "down": [row for row in board if row.readiness == selectors.Readiness.OUT_OF_SERVICE],
        "ready_count": sum(row.readiness == selectors.Readiness.READY for row in board),
        "in_use": [row for row in board if row.readiness == selectors.Readiness.IN_USE],
        "qc_due": [row for row in qc if row.status.state != "ok"],
        "qc_ok": [row for row in qc if row.status.state == "ok"],
        "failed": list(selectors.cycles(failed_only=True, since=since)[:20]),
        "turnaround": turnaround,
        "turnaround_median": duration_text(turnaround.summary.median),
        "turnaround_p90": duration_text(turnaround.summary.p90),
        "overrides": list(selectors.probe_overrides(since=since)[:20]),
        "expiring": list(selectors.expiring_agents(today=today)),
        "days": DASHBOARD_DAYS,
    }
    return render(request, "infection/dashboard.html", context)


# --- the reprocessing room --------------------------------------------------------------------


def _reprocess_page(
    request: HttpRequest,
    *,
    scan: ScanForm,
    probe: Probe | None,
    cycle_form: CycleForm | None,
    status: int = 200,
    error: str = "",
) -> HttpResponse:
    state = selectors.probe_state(probe) if probe is not None else None
    recent = list(selectors.cycles(probe_id=probe.pk)[:5]) if probe is not None else []
    context = {
        "scan": scan,
        "probe": probe,
        "state": state,
        "recent": recent,
        "form": cycle_form,
        "error": error,
    }
    return render(request, "infection/reprocess.html", context, status=status)


@page_requires(VIEW, REPROCESS)
def reprocess(request: HttpRequest) -> HttpResponse:
    """GET ``?serial=``: the probe and a cycle form; POST: record the cycle, back to the scan."""
    data = request.POST if request.method == "POST" else request.GET
    scan = ScanForm(data if data.get("serial") else None)
    if not scan.is_bound:
        return _reprocess_page(request, scan=ScanForm(), probe=None, cycle_form=None)
    if not scan.is_valid():
        return _reprocess_page(request, scan=scan, probe=None, cycle_form=None, status=422)
    try:
        probe = selectors.probe_by_serial(scan.cleaned_data["serial"])
    except NotFound as exc:
        return _reprocess_page(
            request, scan=ScanForm(), probe=None, cycle_form=None, status=404, error=exc.message
        )
    last = selectors.last_choices(request.user)
    if request.method != "POST":
        form = CycleForm(probe=probe, last=last)
        return _reprocess_page(request, scan=ScanForm(), probe=probe, cycle_form=form)
    form = CycleForm(request.POST, probe=probe, last=last)

    def record(data_in: dict[str, Any]) -> Reprocessing:
        return services.reprocessing_record(
            probe=probe,
            by=request.user,
            method=data_in["method"],
            agent=data_in.get("agent"),
            device=data_in.get("device"),
            cycle_id=data_in.get("cycle_id", ""),
            result=data_in["result"],
            indicator=data_in["indicator"],
            exposure_met=bool(data_in.get("exposure_met")),
            started_at=data_in.get("started_at"),
            ended_at=data_in.get("ended_at"),
            note=data_in.get("note", ""),
        )

    done = submit(form, record)
    if done is None:
        return _reprocess_page(
            request, scan=ScanForm(), probe=probe, cycle_form=form, status=status_of(form)
        )
    cycle = done.value
    if cycle.passed:
        messages.success(
            request,
            f"{probe.serial_number}: {cycle.get_level_display().lower()} recorded"
            f"{' — ready for the next patient' if selectors.probe_state(probe).ready else ''}.",
        )
    else:
        messages.error(
            request,
            f"{probe.serial_number}: the cycle does not count ({'; '.join(cycle.problem_list)}). "
            "Repeat it before the probe is used.",
        )
    return redirect(
        f"{reverse('infection:reprocess')}?{urlencode({'serial': probe.serial_number})}"
    )


# --- a probe ----------------------------------------------------------------------------------


def _probe(pk: UUID) -> Probe:
    probe = (
        Probe.objects.select_related("device", "device__room", "device__room__site")
        .filter(pk=pk)
        .first()
    )
    if probe is None:
        raise Http404("No such probe.")
    return probe


@page_requires(VIEW, VIEW_USES)
@require_GET
def probe_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    probe = _probe(pk)
    uses = selectors.uses_audited(
        user=request.user,
        uses=selectors.begun_uses()
        .filter(probe=probe)
        .select_related("exam", "exam__order__patient", "exam__order__exam_type", "operator")
        .order_by("-used_at")[:50],
        action="infection.probe",
        source=_web(request),
    )
    waiting_attached = list(
        ProbeUse.objects.filter(probe=probe, exam__in_progress_at__isnull=True)
        .exclude(exam__state__in=["cancelled", "no_show"])
        .select_related("exam")
        .order_by("at")
    )
    context = {
        "probe": probe,
        "state": selectors.probe_state(probe),
        "uses": uses,
        "attached": waiting_attached,
        "cycles": list(selectors.cycles(probe_id=probe.pk)[:50]),
        "history": list(
            probe.history.select_related("history_user").order_by("-history_date")[:10]
        ),
        "status_form": ProbeStatusForm(initial={"status": probe.status})
        if request.user.has_perm(STATUS)
        else None,
    }
    return render(request, "infection/probe.html", context)


@page_requires(VIEW, STATUS)
@require_POST
def probe_status(request: HttpRequest, pk: UUID) -> HttpResponse:
    probe = _probe(pk)
    form = ProbeStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a status and give the reason.")
        return redirect("infection:probe", pk=probe.pk)
    try:
        services.probe_status_set(
            probe=probe,
            by=request.user,
            status=form.cleaned_data["status"],
            reason=form.cleaned_data["reason"],
        )
    except RadflowError as exc:
        messages.error(request, _error_text(exc))
    else:
        label = DeviceStatus(form.cleaned_data["status"]).label.lower()
        messages.success(request, f"{probe.serial_number} is now {label}.")
    return redirect("infection:probe", pk=probe.pk)


# --- an exam's probes -------------------------------------------------------------------------


def _exam_probes_page(
    request: HttpRequest,
    pk: UUID,
    *,
    attach: AttachForm | None = None,
    override: OverrideForm | None = None,
    status: int = 200,
) -> HttpResponse:
    exam = exam_get_audited(
        user=request.user, exam_id=pk, action="infection.exam_probes", source=_web(request)
    )
    uses = selectors.exam_probe_uses(exam)
    since = selectors.probe_override_at(exam)
    rows = [
        {"use": use, "state": selectors.probe_state(use.probe, exclude_exam=exam.pk, since=since)}
        for use in uses
    ]
    problems = selectors.probe_problems(exam) if exam.state in ("scheduled", "arrived") else ()
    site = exam.room.site if exam.room else None
    candidates = selectors.probe_board()
    if site is not None:
        candidates = [
            row
            for row in candidates
            if row.probe.device is None
            or row.probe.device.room is None
            or row.probe.device.room.site_id == site.pk
        ]
    context = {
        "exam": exam,
        "order": exam.order,
        "patient": exam.order.patient,
        "rows": rows,
        "problems": problems,
        "candidates": [row for row in candidates if row.readiness != "out_of_service"],
        "attach_form": attach or (AttachForm() if request.user.has_perm(ATTACH) else None),
        "override_form": override
        or (OverrideForm() if problems and request.user.has_perm(OVERRIDE) else None),
        "can_detach": request.user.has_perm(DETACH) and exam.state in ("scheduled", "arrived"),
        "overrides": list(exam.overrides.filter(stop="probe").select_related("by")),
    }
    return render(request, "infection/exam_probes.html", context, status=status)


@page_requires(VIEW_USES)
@require_GET
def exam_probes(request: HttpRequest, pk: UUID) -> HttpResponse:
    return _exam_probes_page(request, pk)


@page_requires(VIEW_USES, ATTACH)
@require_POST
def exam_probe_attach(request: HttpRequest, pk: UUID) -> HttpResponse:
    from radflow.exams.models import Exam

    form = AttachForm(request.POST)
    exam = Exam.objects.filter(pk=pk).first()
    if exam is None:
        raise Http404("No such exam.")
    if not form.is_valid():
        return _exam_probes_page(request, pk, attach=form, status=422)
    data = form.cleaned_data
    try:
        probe = selectors.probe_by_serial(data["serial"])
        use = services.probe_attach(
            exam=exam,
            probe=probe,
            by=request.user,
            cover_used=data.get("cover_used", False),
            cover_lot=data.get("cover_lot", ""),
            gel=data["gel"],
        )
    except NotFound as exc:
        form.add_error("serial", exc.message)
        return _exam_probes_page(request, pk, attach=form, status=404)
    except ValidationFailed as exc:
        form.add_service_errors(exc)
        return _exam_probes_page(request, pk, attach=form, status=422)
    except Conflict as exc:
        form.add_error("serial", exc.message)
        return _exam_probes_page(request, pk, attach=form, status=409)
    messages.success(request, f"{use.probe} attached to exam {exam.accession_number}.")
    return redirect("infection:exam_probes", pk=exam.pk)


@page_requires(VIEW_USES, DETACH)
@require_POST
def probe_use_detach(request: HttpRequest, pk: UUID) -> HttpResponse:
    use = ProbeUse.objects.select_related("exam", "probe").filter(pk=pk).first()
    if use is None:
        raise Http404("No such probe use.")
    try:
        services.probe_detach(use=use, by=request.user)
    except RadflowError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{use.probe} taken off exam {use.exam.accession_number}.")
    return redirect("infection:exam_probes", pk=use.exam_id)


@page_requires(VIEW_USES, OVERRIDE)
@require_POST
def exam_probe_override(request: HttpRequest, pk: UUID) -> HttpResponse:
    from radflow.exams.models import Exam

    exam = Exam.objects.filter(pk=pk).first()
    if exam is None:
        raise Http404("No such exam.")
    form = OverrideForm(request.POST)
    if not form.is_valid():
        return _exam_probes_page(request, pk, override=form, status=422)
    try:
        services.probe_stop_override(exam=exam, by=request.user, reason=form.cleaned_data["reason"])
    except ValidationFailed as exc:
        form.add_service_errors(exc)
        return _exam_probes_page(request, pk, override=form, status=422)
    except (Conflict, PermissionDenied) as exc:
        form.add_error(None, exc.message)
        return _exam_probes_page(request, pk, override=form, status=exc.http_status)
    messages.success(
        request,
        f"Probe stop overridden for exam {exam.accession_number}: it may begin with this probe.",
    )
    return redirect("infection:exam_probes", pk=exam.pk)


# --- cycles -----------------------------------------------------------------------------------


@page_requires(VIEW)
@require_GET
def cycle_list(request: HttpRequest) -> HttpResponse:
    failed_only = request.GET.get("failed") == "1"
    page = paginate(request, selectors.cycles(failed_only=failed_only))
    return render(request, "infection/cycles.html", {"page": page, "failed_only": failed_only})


@page_requires(VIEW)
@require_GET
def cycle_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    try:
        cycle = selectors.cycle_get(pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return render(request, "infection/cycle.html", {"cycle": cycle})


# --- look-back --------------------------------------------------------------------------------


def _lookback_for(form: LookbackForm) -> tuple[selectors.Lookback | None, list[Patient]]:
    """The look-back the form asks for, or the patients an ambiguous MRN names."""
    data = form.cleaned_data
    if data.get("cycle"):
        cycle = Reprocessing.objects.select_related("probe").filter(pk=data["cycle"]).first()
        if cycle is None:
            form.add_error(None, "No reprocessing cycle has this id.")
            return None, []
        return selectors.lookback_from_cycle(cycle), []
    mrn = data["mrn"].strip()
    patients = list(Patient.objects.filter(mrn__iexact=mrn).order_by("mrn_authority")[:10])
    chosen = patients
    wanted = form.data.get("patient")
    if wanted:
        chosen = [p for p in patients if str(p.pk) == wanted]
    if not chosen:
        form.add_error("mrn", f"No patient has MRN {mrn}.")
        return None, []
    if len(chosen) > 1:
        return None, chosen
    return selectors.lookback_from_patient(chosen[0]), []


@page_requires(VIEW, VIEW_USES, LOOKBACK)
@require_GET
def lookback(request: HttpRequest) -> HttpResponse:
    form = LookbackForm(request.GET if request.GET else None)
    result: selectors.Lookback | None = None
    ambiguous: list[Patient] = []
    status = 200
    if form.is_bound:
        if form.is_valid():
            result, ambiguous = _lookback_for(form)
        if result is None and not ambiguous:
            status = 422 if form.errors else 200
    if result is not None:
        result = selectors.lookback_audited(
            user=request.user, lookback=result, action="infection.lookback", source=_web(request)
        )
    if ambiguous:
        from radflow.audit.services import access_record

        access_record(
            user=request.user, patients=ambiguous, action="infection.lookback", source=_web(request)
        )
    context = {
        "form": form,
        "result": result,
        "ambiguous": ambiguous,
        "query": request.GET.urlencode(),
    }
    return render(request, "infection/lookback.html", context, status=status)


EXPORT_HEADERS = (
    "Probe serial",
    "Probe",
    "Window opened (passing cycle)",
    "Window closed (passing cycle)",
    "Accession",
    "Exam began",
    "Exam type",
    "MRN",
    "Patient",
    "Birth date",
    "Phone",
    "Look-back started here",
    "Notify",
)


def _cell(value: Any) -> str:
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    # Patient-entered text: keep spreadsheets from running it as a formula.
    return "'" + text if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


@page_requires(VIEW, VIEW_USES, LOOKBACK)
@require_GET
def lookback_export(request: HttpRequest) -> HttpResponse:
    if not request.GET:
        return redirect("infection:lookback")
    form = LookbackForm(request.GET)
    if not form.is_valid():
        return HttpResponse(
            "Give a patient's MRN or a cycle.", status=422, content_type="text/plain"
        )
    result, ambiguous = _lookback_for(form)
    if result is None:
        text = "Several patients have this MRN: choose one." if ambiguous else "Nothing found."
        return HttpResponse(text, status=422 if ambiguous else 404, content_type="text/plain")
    result = selectors.lookback_audited(
        user=request.user,
        lookback=result,
        action="infection.lookback_export",
        source=_web(request),
    )
    notify = {p.pk for p in result.patients_to_notify}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_HEADERS)
    for window in result.windows:
        for exposed in window.exams:
            patient = exposed.patient
            writer.writerow(
                [
                    _cell(window.probe.serial_number),
                    _cell(str(window.probe)),
                    _cell(timezone.localtime(window.opened_by.started_at))
                    if window.opened_by
                    else "",
                    _cell(timezone.localtime(window.closed_by.started_at))
                    if window.closed_by
                    else "",
                    _cell(exposed.exam.accession_number),
                    _cell(timezone.localtime(exposed.used_at)),
                    _cell(exposed.exam.order.exam_type.name),
                    _cell(patient.mrn),
                    _cell(patient.display_name),
                    _cell(patient.birth_date),
                    _cell(patient.phone),
                    "yes" if exposed.index else "",
                    "yes" if patient.pk in notify else "",
                ]
            )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="probe-lookback-{stamp}.csv"'
    return response


# --- disinfectants and devices ----------------------------------------------------------------


def _agents_page(
    request: HttpRequest, form: AgentForm | None = None, status: int = 200
) -> HttpResponse:
    today = timezone.localdate()
    qc = {row.subject.pk: row for row in selectors.solution_test_status(today)}
    agents = list(DisinfectionAgent.objects.select_related("room").order_by("-expires_on", "name"))
    context = {
        "agents": [{"agent": a, "qc": qc.get(a.pk)} for a in agents],
        "form": form or (AgentForm() if request.user.has_perm(MANAGE) else None),
        "today": today,
    }
    return render(request, "infection/agents.html", context, status=status)


@page_requires(AGENTS)
@require_GET
def agent_list(request: HttpRequest) -> HttpResponse:
    return _agents_page(request)


@page_requires(AGENTS, MANAGE)
@require_POST
def agent_add(request: HttpRequest) -> HttpResponse:
    form = AgentForm(request.POST)
    done = submit(form, lambda data: services.agent_create(by=request.user, **data))
    if done is None:
        return _agents_page(request, form, status_of(form))
    agent = done.value
    messages.success(request, f"{agent} added.")
    return redirect("infection:agent", pk=agent.pk)


def _agent(pk: UUID) -> DisinfectionAgent:
    agent = DisinfectionAgent.objects.select_related("room").filter(pk=pk).first()
    if agent is None:
        raise Http404("No such disinfectant.")
    return agent


@page_requires(AGENTS)
@require_GET
def agent_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    agent = _agent(pk)
    context = {
        "agent": agent,
        "tests": list(agent.solution_tests.select_related("by")[:50]),
        "cycles": list(
            agent.cycles.select_related("probe", "operator").order_by("-started_at")[:20]
        ),
        "test_form": SolutionTestForm() if request.user.has_perm(SOLUTION_TEST) else None,
        "discard_form": DiscardForm() if request.user.has_perm(MANAGE) else None,
    }
    return render(request, "infection/agent.html", context)


@page_requires(AGENTS, SOLUTION_TEST)
@require_POST
def agent_test(request: HttpRequest, pk: UUID) -> HttpResponse:
    agent = _agent(pk)
    form = SolutionTestForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say whether the strip passed or failed.")
        return redirect("infection:agent", pk=agent.pk)
    try:
        test = services.solution_test_record(agent=agent, by=request.user, **form.cleaned_data)
    except RadflowError as exc:
        messages.error(request, _error_text(exc))
    else:
        if test.result == "fail":
            messages.error(request, f"{agent} failed its test and is discarded: replace it.")
        else:
            messages.success(request, f"{agent} passed its concentration test.")
    return redirect("infection:agent", pk=agent.pk)


@page_requires(AGENTS, MANAGE)
@require_POST
def agent_discard(request: HttpRequest, pk: UUID) -> HttpResponse:
    agent = _agent(pk)
    form = DiscardForm(request.POST)
    reason = form.cleaned_data.get("reason", "") if form.is_valid() else ""
    try:
        services.agent_discard(agent=agent, by=request.user, reason=reason)
    except RadflowError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{agent} discarded.")
    return redirect("infection:agent", pk=agent.pk)


def _devices_page(
    request: HttpRequest, form: DeviceForm | None = None, status: int = 200
) -> HttpResponse:
    today = timezone.localdate()
    qc = {row.subject.pk: row for row in selectors.device_qc_status(today)}
    devices = list(ReprocessingDevice.objects.select_related("room", "room__site"))
    context = {
        "devices": [{"device": d, "qc": qc.get(d.pk)} for d in devices],
        "form": form or (DeviceForm() if request.user.has_perm(MANAGE) else None),
    }
    return render(request, "infection/devices.html", context, status=status)


@page_requires(DEVICES)
@require_GET
def device_list(request: HttpRequest) -> HttpResponse:
    return _devices_page(request)


@page_requires(DEVICES, MANAGE)
@require_POST
def device_add(request: HttpRequest) -> HttpResponse:
    form = DeviceForm(request.POST)
    done = submit(form, lambda data: services.device_create(by=request.user, **data))
    if done is None:
        return _devices_page(request, form, status_of(form))
    device = done.value
    messages.success(request, f"{device} added.")
    return redirect("infection:device", pk=device.pk)


def _device(pk: UUID) -> ReprocessingDevice:
    device = ReprocessingDevice.objects.select_related("room", "room__site").filter(pk=pk).first()
    if device is None:
        raise Http404("No such device.")
    return device


@page_requires(DEVICES)
@require_GET
def device_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    device = _device(pk)
    context = {
        "device": device,
        "logs": list(device.qc_logs.select_related("by")[:50]),
        "cycles": list(
            device.cycles.select_related("probe", "operator").order_by("-started_at")[:20]
        ),
        "qc_form": DeviceQcForm(initial={"check_name": device.qc_check})
        if request.user.has_perm(DEVICE_QC)
        else None,
    }
    return render(request, "infection/device.html", context)


@page_requires(DEVICES, DEVICE_QC)
@require_POST
def device_qc(request: HttpRequest, pk: UUID) -> HttpResponse:
    device = _device(pk)
    form = DeviceQcForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Name the check and say whether it passed.")
        return redirect("infection:device", pk=device.pk)
    try:
        log = services.device_qc_record(device=device, by=request.user, **form.cleaned_data)
    except RadflowError as exc:
        messages.error(request, _error_text(exc))
    else:
        if log.result == "fail":
            messages.error(request, f"{device.name} failed {log.check_name}: it is out of service.")
        else:
            messages.success(request, f"{device.name}: {log.check_name} passed.")
    return redirect("infection:device", pk=device.pk)
