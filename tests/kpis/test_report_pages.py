"""The monthly report pack's pages: build, watch the progress, write the commentary, publish,
rebuild, download; and nobody but the director and the coordinator gets in."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from radflow.core.roles import Role
from radflow.kpis import report_data, report_services
from radflow.kpis.report_models import PackStatus, ReportPack, ReportPackVersion
from radflow.kpis.report_services import report_pack_build_start
from tests.conftest import client_for, make_user
from tests.kpis.report_world import MONTH, ReportWorld, poppler, world_fixture

pytestmark = pytest.mark.django_db

world = world_fixture()

Capture = Callable[..., Any]


def _build(client: Client, capture: Capture, world: ReportWorld) -> Any:
    with capture(execute=True):
        return client.post(
            reverse("kpis:report_build"),
            {"month": "2026-02", "department": str(world.department.pk)},
        )


def _pdf_text(content: bytes, tmp_path: Path) -> str:
    path = tmp_path / "pack.pdf"
    path.write_bytes(content)
    return poppler("pdftotext", path, "-")


def test_the_coordinator_builds_comments_publishes_and_rebuilds_a_pack(
    world: ReportWorld,
    django_capture_on_commit_callbacks: Capture,
    tmp_path: Path,
) -> None:
    coordinator = make_user(Role.COORDINATOR, "pack-coordinator")
    client = client_for(coordinator)
    page = client.get(reverse("kpis:report_packs"))
    assert page.status_code == 200
    assert "Build a pack" in page.content.decode()

    built = _build(client, django_capture_on_commit_callbacks, world)
    pack = ReportPack.objects.get(month=MONTH, department=world.department)
    assert built.status_code == 302
    assert built["Location"] == reverse("kpis:report_pack_detail", kwargs={"pack_id": pack.pk})
    first = pack.versions.get()
    assert (first.number, first.status, first.built_by) == (1, PackStatus.DRAFT, coordinator)

    detail = client.get(built["Location"]).content.decode()
    assert 'id="version-1" data-status="draft"' in detail
    assert "hx-get" not in detail.split('id="pack-versions"')[1].split(">")[0]  # done: no polling

    refused = client.post(reverse("kpis:report_version_publish", kwargs={"version_id": first.pk}))
    assert refused.status_code == 302
    first.refresh_from_db()
    assert first.status == PackStatus.DRAFT  # no summary written yet
    assert "Write the summary before publishing." in client.get(built["Location"]).content.decode()

    saved = client.post(
        reverse("kpis:report_pack_commentary", kwargs={"pack_id": pack.pk}),
        {
            "summary": "Volume steady; one STAT began late.",
            "highlights": "Waits under target most days.",
            "concerns": "Reports still outstanding.",
            "actions": "Review the STAT pathway with the ward.",
        },
    )
    assert saved.status_code == 302
    pack.refresh_from_db()
    assert (pack.summary, pack.commentary_by) == (
        "Volume steady; one STAT began late.",
        coordinator,
    )

    published = client.post(reverse("kpis:report_version_publish", kwargs={"version_id": first.pk}))
    assert published.status_code == 302
    first.refresh_from_db()
    assert (first.status, first.published_by) == (PackStatus.PUBLISHED, coordinator)
    assert first.commentary["actions"] == "Review the STAT pathway with the ward."
    pdf = client.get(reverse("kpis:report_version_pdf", kwargs={"version_id": first.pk}))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert "radflow-report-2026-02-rpt-v1.pdf" in pdf["Content-Disposition"]
    text = _pdf_text(pdf.content, tmp_path)
    assert "Review the STAT pathway with the ward." in text
    assert "version 1 · Published" in text and "Draft" not in text

    again = client.post(reverse("kpis:report_version_publish", kwargs={"version_id": first.pk}))
    assert again.status_code == 302  # refused with a message: published versions are frozen
    first.refresh_from_db()
    assert first.published_by == coordinator

    with pytest.MonkeyPatch.context() as patch:  # the rebuild's PDF is not what this checks
        patch.setattr(report_services, "pack_pdf", lambda *args: b"%PDF-1.4 stub")
        _build(client, django_capture_on_commit_callbacks, world)
    assert list(pack.versions.order_by("number").values_list("number", "status")) == [
        (1, PackStatus.PUBLISHED),
        (2, PackStatus.DRAFT),
    ]
    workbook = client.get(
        reverse("kpis:report_version_xlsx", kwargs={"version_id": pack.versions.get(number=2).pk})
    )
    assert workbook.status_code == 200
    assert workbook.content[:2] == b"PK"
    listing = client.get(reverse("kpis:report_packs")).content.decode()
    assert "v1 published" in listing and "v2 draft" in listing


def test_the_page_polls_a_build_under_way_and_shows_its_progress(
    world: ReportWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    director = make_user(Role.DIRECTOR, "pack-director")
    client = client_for(director)
    queued = report_pack_build_start(month=MONTH, department=None, by=director, run=False)
    status_url = reverse("kpis:report_pack_status", kwargs={"pack_id": queued.pack_id})
    waiting = client.get(status_url).content.decode()
    assert f'hx-get="{status_url}"' in waiting
    assert 'id="build-bar" max="100" value="0"' in waiting
    assert "Waiting to start" in waiting

    seen: list[tuple[int, str, str]] = []
    real = report_data.pack_data

    def watched(**kwargs: Any) -> Any:
        note = kwargs.pop("progress")

        def progress(percent: int, step: str) -> None:
            note(percent, step)  # what the build writes to its version row
            seen.append((percent, step, client.get(status_url).content.decode()))

        return real(progress=progress, **kwargs)

    monkeypatch.setattr(report_services, "pack_data", watched)
    monkeypatch.setattr(report_services, "pack_pdf", lambda *args: b"%PDF-1.4 stub")
    version = report_services.report_pack_build_execute(version_id=queued.pk)
    assert version.status == PackStatus.DRAFT
    percent, step, fragment = seen[2]
    assert f'value="{percent}"' in fragment and step in fragment and "hx-get" in fragment
    assert [p for p, _, _ in seen] == sorted(p for p, _, _ in seen)
    done = client.get(status_url).content.decode()
    assert "hx-get" not in done and 'data-status="draft"' in done


def test_a_version_without_files_has_nothing_to_download(world: ReportWorld) -> None:
    queued = report_pack_build_start(month=MONTH, department=None, by=None, run=False)
    client = client_for(make_user(Role.DIRECTOR, "pack-director-2"))
    for name in ("kpis:report_version_pdf", "kpis:report_version_xlsx"):
        assert client.get(reverse(name, kwargs={"version_id": queued.pk})).status_code == 404


def test_a_bad_month_is_refused_on_the_form(world: ReportWorld) -> None:
    client = client_for(make_user(Role.COORDINATOR, "pack-coordinator-2"))
    response = client.post(reverse("kpis:report_build"), {"month": "February"})
    assert response.status_code == 422
    assert "Enter a month as YYYY-MM." in response.content.decode()
    assert not ReportPackVersion.objects.exists()


@pytest.mark.parametrize(
    "role", [Role.TECHNOLOGIST, Role.RADIOLOGIST, Role.AUDITOR, Role.SCHEDULER, None]
)
def test_other_roles_are_refused_every_page_and_action(
    world: ReportWorld, role: Role | None
) -> None:
    pack = ReportPack.objects.create(month=MONTH)
    version = ReportPackVersion.objects.create(pack=pack, number=1, status=PackStatus.DRAFT)
    user: User = make_user(role, f"pack-outsider-{role or 'none'}")
    client = client_for(user)
    gets = [
        reverse("kpis:report_packs"),
        reverse("kpis:report_pack_detail", kwargs={"pack_id": pack.pk}),
        reverse("kpis:report_pack_status", kwargs={"pack_id": pack.pk}),
        reverse("kpis:report_version_pdf", kwargs={"version_id": version.pk}),
        reverse("kpis:report_version_xlsx", kwargs={"version_id": version.pk}),
    ]
    posts = [
        (reverse("kpis:report_build"), {"month": "2026-02"}),
        (reverse("kpis:report_pack_commentary", kwargs={"pack_id": pack.pk}), {"summary": "x"}),
        (reverse("kpis:report_version_publish", kwargs={"version_id": version.pk}), {}),
    ]
    for url in gets:
        assert client.get(url).status_code == 403, url
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert pack.versions.count() == 1
    pack.refresh_from_db()
    assert pack.summary == ""
