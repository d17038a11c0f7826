"""Auditor pages: the access log (search, CSV export) and the chain's status."""

from __future__ import annotations

import csv
import logging
from typing import Any, cast

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from radflow.accounts.access import page_requires
from radflow.audit.forms import AccessLogFilterForm
from radflow.audit.models import AccessLog
from radflow.audit.selectors import access_chain_verify, access_log_search
from radflow.patients.selectors import patient_ids_matching
from radflow.web.pages import paginate

logger = logging.getLogger("radflow.audit")

EXPORT_COLUMNS = (
    "seq",
    "at",
    "username",
    "user_id",
    "patient_id",
    "patient_mrn",
    "action",
    "channel",
    "ip_address",
    "user_agent",
    "row_hash",
)


def _filtered(form: AccessLogFilterForm) -> QuerySet[AccessLog]:
    if not form.is_valid():
        return AccessLog.objects.none()
    data = form.cleaned_data
    patient = data["patient"].strip()
    # A name is resolved to ids without showing any demographics, so it is not a patient read.
    ids = patient_ids_matching(q=patient) if patient else None
    return access_log_search(
        patient=patient,
        patient_ids=ids,
        user=data["user"],
        since=data["since"],
        until=data["until"],
        channel=data["channel"],
    )


@page_requires("audit.view_accesslog")
def access_log(request: HttpRequest) -> HttpResponse:
    form = AccessLogFilterForm(request.GET or None)
    rows = _filtered(form) if form.is_bound else access_log_search()
    page = paginate(request, rows)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form if form.is_bound else AccessLogFilterForm(),
        "page": page,
        "query": query.urlencode(),
    }
    return render(request, "audit/access_log.html", context)


def _cell(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    # A user agent is attacker-chosen text: keep spreadsheets from running it as a formula.
    if isinstance(value, str) and value[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


@page_requires("audit.view_accesslog")
def access_log_export(request: HttpRequest) -> HttpResponse:
    """CSV of the filtered rows. Not a patient read (no demographics), so it writes no access
    row; the export itself is logged with the user's id and the filter's field names only."""
    form = AccessLogFilterForm(request.GET or None)
    rows = _filtered(form) if form.is_bound else access_log_search()
    logger.info(
        "access log exported by user_id=%s filters=%s",
        request.user.pk,
        sorted(k for k, v in request.GET.items() if v),
    )
    writer = csv.writer(_Echo())

    def lines() -> Any:
        yield writer.writerow(EXPORT_COLUMNS)
        for row in rows.values_list(*EXPORT_COLUMNS).iterator(chunk_size=2000):
            yield writer.writerow([_cell(value) for value in row])

    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="access-log-{stamp}.csv"'
    # Streamed so a long log never sits in memory; page_requires is typed for plain responses.
    return cast(HttpResponse, response)


@page_requires("audit.view_accesslog")
def chain_verify(request: HttpRequest) -> HttpResponse:
    status = access_chain_verify()
    return render(
        request,
        "audit/verify.html",
        {"status": status, "checked_at": timezone.now()},
        status=200,
    )
