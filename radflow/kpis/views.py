"""The KPI definitions and targets page (the director sets each department's targets)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from radflow.accounts.access import page_requires
from radflow.kpis import selectors, services
from radflow.kpis.forms import DepartmentChoiceForm, KpiTargetForm
from radflow.kpis.models import KpiDefinition
from radflow.scheduling.models import Department
from radflow.web.forms import submit


@page_requires("kpis.view_kpis")
@require_GET
def targets(request: HttpRequest) -> HttpResponse:
    chooser = DepartmentChoiceForm(request.GET or None)
    department = chooser.cleaned_data.get("department") if chooser.is_valid() else None
    context = {
        "chooser": chooser,
        "department": department,
        "definitions": selectors.kpi_definitions(department=department),
        "can_edit": request.user.has_perm("kpis.edit_kpi_targets"),
    }
    return render(request, "kpis/targets.html", context)


def _back(department: Department) -> str:
    return f"{reverse('kpis:targets')}?department={department.pk}"


@page_requires("kpis.edit_kpi_targets")
@require_http_methods(["GET", "POST"])
def target_edit(request: HttpRequest, department_id: str) -> HttpResponse:
    """One KPI's target for one department (``?kpi=<code>`` chooses the KPI)."""
    department = get_object_or_404(Department.objects.select_related("site"), pk=department_id)
    current = {v.code: v for v in selectors.kpi_definitions(department=department)}
    chosen = current.get(request.GET.get("kpi", ""))
    initial = {}
    if chosen is not None:
        initial = {"kpi": chosen.code, "target": chosen.target, "amber": chosen.amber,
                   "red": chosen.red}  # fmt: skip
    form = KpiTargetForm(request.POST or None, initial=initial)
    done = submit(
        form,
        lambda data: services.kpi_target_save(
            definition=data["kpi"],
            department=department,
            target=data["target"],
            amber=data["amber"],
            red=data["red"],
            by=request.user,
        ),
    )
    if done is not None:
        messages.success(request, f"{done.value.definition.name}: {department}'s target saved.")
        return redirect(_back(department))
    context = {"form": form, "department": department, "chosen": chosen}
    return render(request, "kpis/target_edit.html", context, status=400 if form.is_bound else 200)


@page_requires("kpis.edit_kpi_targets")
@require_POST
def target_reset(request: HttpRequest, department_id: str) -> HttpResponse:
    department = get_object_or_404(Department, pk=department_id)
    definition = get_object_or_404(KpiDefinition, code=request.POST.get("kpi", ""))
    services.kpi_target_reset(definition=definition, department=department, by=request.user)
    messages.success(request, f"{definition.name}: {department} uses the default target again.")
    return redirect(_back(department))
