"""Reads of the monthly report pack's pages (the pack's numbers are ``report_data``'s)."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.text import slugify

from radflow.db import get_or_not_found
from radflow.kpis.report_models import (
    FileKind,
    PackStatus,
    ReportPack,
    ReportPackFile,
    ReportPackVersion,
)

#: The version columns a list needs (never the frozen data or the files).
_VERSION_FIELDS = (
    "id",
    "pack_id",
    "number",
    "status",
    "trigger",
    "progress",
    "step",
    "error",
    "built_by",
    "started_at",
    "finished_at",
    "build_seconds",
    "published_by",
    "published_at",
    "created_at",
)


def _versions() -> QuerySet[ReportPackVersion]:
    return (
        ReportPackVersion.objects.only(*_VERSION_FIELDS)
        .select_related("built_by", "published_by")
        .order_by("-number")
    )


def report_packs() -> QuerySet[ReportPack]:
    """Every pack, newest month first, with its versions (newest first)."""
    return ReportPack.objects.select_related("department__site").prefetch_related(
        Prefetch("versions", queryset=_versions())
    )


def report_pack_get(pk: Any) -> ReportPack:
    return get_or_not_found(report_packs(), pk=pk, label="report pack")


def report_version_get(pk: Any) -> ReportPackVersion:
    return get_or_not_found(
        _versions().select_related("pack__department__site"), pk=pk, label="report pack version"
    )


def report_file(version: ReportPackVersion, kind: FileKind) -> ReportPackFile | None:
    """A version's file, once it is built (None while it builds or if it failed)."""
    if version.status not in (PackStatus.DRAFT, PackStatus.PUBLISHED):
        return None
    return ReportPackFile.objects.filter(version=version, kind=kind).first()


def file_stem(version: ReportPackVersion) -> str:
    """``radflow-report-2026-02-whc-v3``: the month, the scope and the version."""
    pack = version.pack
    scope = pack.department.site.code if pack.department is not None else "all-sites"
    return f"radflow-report-{pack.month:%Y-%m}-{slugify(scope)}-v{version.number}"
