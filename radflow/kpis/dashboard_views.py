"""The KPI dashboards, their exports and the drill-down to the exams behind a number.

Views parse the GET filters, call ``radflow.kpis.dashboards`` and render. The dashboards read
rollups only; the drill-down lists raw exams and audits every patient it shows or exports.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from radflow.accounts.access import page_requires
from radflow.accounts.selectors import user_roles
from radflow.audit.models import AccessChannel
from radflow.audit.services import AccessSource
from radflow.core.roles import Role
from radflow.kpis import dashboards, export
from radflow.kpis.dashboards import BOARDS, Board, Query
from radflow.kpis.forms import DashboardFilterForm, DrilldownForm
from radflow.scheduling.models import Modality
from radflow.web.timing import server_timing

VIEW = "kpis.view_kpis"
#: The drill-down shows patients: it also needs the right to read them.
DRILL = (VIEW, "patients.view_patient")
FORMATS = ("csv", "xlsx")


def _board(value: str | None, default: Board = Board.DIRECTOR) -> Board:
    try:
        return Board(value) if value else default
    except ValueError as exc:
        raise Http404("No such dashboard.") from exc


def _default_modality() -> str:
    codes = list(Modality.objects.order_by("code").values_list("code", flat=True))
    return dashboards.DEFAULT_MODALITY if dashboards.DEFAULT_MODALITY in codes else codes[0]


def _filter_data(request: HttpRequest, board: Board) -> QueryDict:
    """The GET filters over the board's defaults (a blank date or grain means the default)."""
    spec = BOARDS[board]
    period = dashboards.default_period(board, timezone.localdate())
    data = request.GET.copy()
    defaults = {"start": period.start.isoformat(), "end": period.end.isoformat()}
    defaults["grain"] = str(spec.grain)
    if spec.modality_required and Modality.objects.exists():
        defaults["modality"] = _default_modality()
    for name, value in defaults.items():
        if not data.get(name):
            data[name] = value
    return data


def _filter_form(request: HttpRequest, board: Board) -> DashboardFilterForm:
    return DashboardFilterForm(
        _filter_data(request, board), modality_required=BOARDS[board].modality_required
    )


def _board_nav(current: Board, query: Query | None) -> list[tuple[str, str, bool]]:
    """(title, URL, is this one) per board: the same filters over each board's own default
    period (the coordinator's weeks, the director's months)."""
    kept = {}
    if query is not None:
        kept = {k: v for k, v in query.params().items() if k not in ("start", "end")}
    suffix = f"?{_qs(kept)}" if kept else ""
    return [
        (spec.title, f"{reverse(f'kpis:{board.value}')}{suffix}", board is current)
        for board, spec in BOARDS.items()
    ]


def _qs(params: dict[str, str]) -> str:
    query = QueryDict(mutable=True)
    query.update(params)
    return query.urlencode()


@page_requires(VIEW)
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The dashboard of the user's role: the coordinator's day-to-day one, else the director's."""
    board = Board.COORDINATOR if Role.COORDINATOR in user_roles(request.user) else Board.DIRECTOR
    return redirect(f"kpis:{board.value}")


def _dashboard(request: HttpRequest, board: Board) -> HttpResponse:
    spec = BOARDS[board]
    form = _filter_form(request, board)
    context: dict[str, Any] = {"spec": spec, "form": form, "board_nav": _board_nav(board, None)}
    if not form.is_valid():
        return render(request, "kpis/dashboard.html", context, status=400)
    query = Query.from_cleaned(board, form.cleaned_data)
    dashboard = dashboards.dashboard_build(query)
    charts = dashboards.charts(dashboard)
    params = {"board": board.value, **query.params(), "grain": str(query.grain)}
    context.update(
        {
            "dashboard": dashboard,
            "query": query,
            "charts": charts,
            "trend_charts": [chart for chart in charts["charts"] if chart["kind"] == "trend"],
            "export_query": _qs(params),
            "board_nav": _board_nav(board, query),
        }
    )
    return render(request, "kpis/dashboard.html", context)


@page_requires(VIEW)
@server_timing
@require_GET
def director(request: HttpRequest) -> HttpResponse:
    return _dashboard(request, Board.DIRECTOR)


@page_requires(VIEW)
@server_timing
@require_GET
def coordinator(request: HttpRequest) -> HttpResponse:
    return _dashboard(request, Board.COORDINATOR)


@page_requires(VIEW)
@server_timing
@require_GET
def modality(request: HttpRequest) -> HttpResponse:
    return _dashboard(request, Board.MODALITY)


@page_requires(VIEW)
@server_timing
@require_GET
def table_export(request: HttpRequest) -> HttpResponse:
    """One table of a dashboard as CSV or XLSX (``?table=all&format=xlsx``: every table, one
    sheet each), with the dashboard's filters."""
    board = _board(request.GET.get("board"))
    name = request.GET.get("table") or "kpis"
    fmt = request.GET.get("format") or "csv"
    if fmt not in FORMATS or (name == "all" and fmt != "xlsx"):
        raise Http404("No such export.")
    known = {"all", "kpis", "trends", *(b.key for b in BOARDS[board].breakdowns)}
    if name not in known:
        raise Http404("No such table.")
    form = _filter_form(request, board)
    if not form.is_valid():
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain")
    query = Query.from_cleaned(board, form.cleaned_data)
    tables = dashboards.tables(dashboards.dashboard_build(query))
    stem = f"kpi-{board.value}-{name}-{query.period.start}-{query.period.end}"
    if name == "all":
        return export.xlsx_response(tables.values(), filename=stem)
    if fmt == "xlsx":
        return export.xlsx_response([tables[name]], filename=stem)
    return export.csv_response(tables[name], filename=stem)


# --- drill-down ---------------------------------------------------------------------------------


def _drill_form(request: HttpRequest) -> DrilldownForm:
    data = _filter_data(request, Board.COORDINATOR)
    if not data.get("kpi"):
        data["kpi"] = "exams_performed"
    return DrilldownForm(data)


def _drill_query(form: DrilldownForm) -> tuple[str, str | None, Query]:
    data = form.cleaned_data
    return data["kpi"], data.get("bucket") or None, Query.from_cleaned(Board.COORDINATOR, data)


def _web(request: HttpRequest) -> AccessSource:
    return AccessSource.from_request(request, AccessChannel.WEB)


@page_requires(*DRILL)
@server_timing
@require_GET
def drilldown(request: HttpRequest) -> HttpResponse:
    """The exams behind a number: a page of them, each patient's read audited."""
    form = _drill_form(request)
    context: dict[str, Any] = {"form": form}
    if not form.is_valid():
        return render(request, "kpis/drilldown.html", context, status=400)
    code, bucket, query = _drill_query(form)
    exams = dashboards.exams_behind(code, period=query.period, filters=query.filters, bucket=bucket)
    page = dashboards.exams_page_audited(
        exams,
        page=request.GET.get("page"),
        user=request.user,
        source=_web(request),
        action="kpi.drilldown",
    )
    params = {"kpi": code, **({"bucket": bucket} if bucket else {}), **query.params()}
    context.update(
        {
            "page": page,
            "code": code,
            "definition": form.definition,
            "what": dashboards.bucket_label(code, bucket),
            "query": query,
            "export_query": _qs(params),
            "scope": _scope(form),
        }
    )
    return render(request, "kpis/drilldown.html", context)


def _scope(form: DrilldownForm) -> list[tuple[str, str]]:
    """The filters in words, for the page's heading."""
    shown = []
    for name in ("site", "modality", "room", "staff", "exam_type"):
        value = form.cleaned_data.get(name)
        if value is not None and value != "":
            shown.append((str(form.fields[name].label or name), str(value)))
    return shown


@page_requires(*DRILL)
@server_timing
@require_GET
def drilldown_export(request: HttpRequest) -> HttpResponse:
    """Every exam behind a number as CSV or XLSX; each patient exported is audited."""
    fmt = request.GET.get("format") or "csv"
    if fmt not in FORMATS:
        raise Http404("No such export.")
    form = _drill_form(request)
    if not form.is_valid():
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain")
    code, bucket, query = _drill_query(form)
    exams = dashboards.exams_behind(code, period=query.period, filters=query.filters, bucket=bucket)
    table = dashboards.exams_table_audited(
        exams, name="Exams", user=request.user, source=_web(request), action="kpi.drilldown_export"
    )
    stem = f"kpi-exams-{code}-{bucket or 'all'}-{query.period.start}-{query.period.end}"
    if fmt == "xlsx":
        return export.xlsx_response([table], filename=stem)
    return export.csv_response(table, filename=stem)
