"""The monthly report pack's pages: the packs by month, one pack's versions with the progress of
a build, the commentary, publishing, and the downloads."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from radflow.accounts.access import page_requires
from radflow.core.errors import RadflowError
from radflow.kpis import report_selectors as selectors
from radflow.kpis import report_services as services
from radflow.kpis.report_data import month_start, previous_month
from radflow.kpis.report_forms import BuildForm, CommentaryForm
from radflow.kpis.report_models import FileKind, PackStatus, ReportPack
from radflow.web.forms import submit

VIEW = "kpis.view_reportpack"
BUILD = services.BUILD_PERMISSION
PUBLISH = services.PUBLISH_PERMISSION
POLL_SECONDS = 2

CONTENT_TYPES = {
    FileKind.PDF: "application/pdf",
    FileKind.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _rights(request: HttpRequest) -> dict[str, bool]:
    return {
        "can_build": request.user.has_perm(BUILD),
        "can_publish": request.user.has_perm(PUBLISH),
    }


def _list(request: HttpRequest, form: BuildForm, *, status: int = 200) -> HttpResponse:
    rows = []
    for pack in selectors.report_packs():
        versions = list(pack.versions.all())
        published = next((v for v in versions if v.status == PackStatus.PUBLISHED), None)
        rows.append({"pack": pack, "versions": versions, "published": published})
    context = {"rows": rows, "form": form, **_rights(request)}
    return render(request, "kpis/report/list.html", context, status=status)


@page_requires(VIEW)
@require_GET
def packs(request: HttpRequest) -> HttpResponse:
    last_month = previous_month(month_start(timezone.localdate()))
    return _list(request, BuildForm(initial={"month": last_month}))


@page_requires(VIEW, BUILD)
@require_POST
def build(request: HttpRequest) -> HttpResponse:
    """Queue a new version of a month's pack (a first build or a rebuild)."""
    form = BuildForm(request.POST)
    done = submit(
        form,
        lambda data: services.report_pack_build_start(
            month=data["month"], department=data["department"], by=request.user
        ),
    )
    if done is None:
        return _list(request, form, status=422)
    version = done.value
    messages.success(request, f"Building version {version.number} of {version.pack}.")
    return redirect("kpis:report_pack_detail", pack_id=version.pack_id)


def _pack_context(request: HttpRequest, pack: ReportPack) -> dict[str, Any]:
    versions = list(pack.versions.all())
    building = next((v for v in versions if v.is_building), None)
    published = next((v for v in versions if v.status == PackStatus.PUBLISHED), None)
    return {
        "pack": pack,
        "versions": versions,
        "building": building,
        "latest_published": published,
        "poll_seconds": POLL_SECONDS,
        **_rights(request),
    }


@page_requires(VIEW)
@require_GET
def pack_detail(request: HttpRequest, pack_id: UUID) -> HttpResponse:
    pack = selectors.report_pack_get(pack_id)
    context = _pack_context(request, pack)
    context["commentary_form"] = CommentaryForm(instance=pack)
    context["rebuild_form"] = BuildForm(
        initial={"month": pack.month, "department": pack.department_id}
    )
    return render(request, "kpis/report/detail.html", context)


@page_requires(VIEW)
@require_GET
def pack_status(request: HttpRequest, pack_id: UUID) -> HttpResponse:
    """The versions fragment the pack page polls while a version builds; once none is
    building it carries no trigger, so polling stops."""
    pack = selectors.report_pack_get(pack_id)
    return render(request, "kpis/report/_versions.html", _pack_context(request, pack))


@page_requires(VIEW, PUBLISH)
@require_POST
def pack_commentary(request: HttpRequest, pack_id: UUID) -> HttpResponse:
    pack = selectors.report_pack_get(pack_id)
    form = CommentaryForm(request.POST, instance=pack)
    done = submit(
        form,
        lambda data: services.report_pack_commentary_save(
            pack=pack, by=request.user, **{name: data[name] for name in form.Meta.fields}
        ),
    )
    if done is None:
        context = _pack_context(request, pack)
        context["commentary_form"] = form
        context["rebuild_form"] = BuildForm(
            initial={"month": pack.month, "department": pack.department_id}
        )
        return render(request, "kpis/report/detail.html", context, status=422)
    messages.success(request, "Commentary saved; it is printed when you publish a version.")
    return redirect("kpis:report_pack_detail", pack_id=pack.pk)


@page_requires(VIEW, PUBLISH)
@require_POST
def version_publish(request: HttpRequest, version_id: UUID) -> HttpResponse:
    version = selectors.report_version_get(version_id)
    try:
        version = services.report_pack_publish(version=version, by=request.user)
    except RadflowError as exc:
        errors = getattr(exc, "errors", None)
        text = " ".join(m for ms in errors.values() for m in ms) if errors else exc.message
        messages.error(request, text)
    else:
        messages.success(request, f"Version {version.number} published.")
    return redirect("kpis:report_pack_detail", pack_id=version.pack_id)


def _download(version_id: UUID, kind: FileKind) -> HttpResponse:
    version = selectors.report_version_get(version_id)
    stored = selectors.report_file(version, kind)
    if stored is None:
        raise Http404("This version has no file yet.")
    response = HttpResponse(bytes(stored.content), content_type=CONTENT_TYPES[kind])
    response["Content-Disposition"] = (
        f'attachment; filename="{selectors.file_stem(version)}.{kind}"'
    )
    response["Content-Length"] = str(stored.size)
    return response


@page_requires(VIEW)
@require_GET
def version_pdf(request: HttpRequest, version_id: UUID) -> HttpResponse:
    return _download(version_id, FileKind.PDF)


@page_requires(VIEW)
@require_GET
def version_xlsx(request: HttpRequest, version_id: UUID) -> HttpResponse:
    return _download(version_id, FileKind.XLSX)
