"""The monthly report pack: one pack per month and scope (a department, or every site), its
versions and their files.

A pack holds the commentary being written. Each build is a new version that freezes the numbers
it computed (``data``) and its files; publishing a version freezes its commentary too and makes
its files final. Files live in the database, not on a local disk, so every web process of a
scaled-out install serves the same bytes (a pack is a few hundred kilobytes).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from radflow.db import UUIDModel
from radflow.scheduling.models import Department


class PackStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    BUILDING = "building", "Building"
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    FAILED = "failed", "Failed"


#: Statuses of a build still under way.
BUILDING_STATUSES = (PackStatus.QUEUED, PackStatus.BUILDING)


class PackTrigger(models.TextChoices):
    PAGE = "page", "Page"
    COMMAND = "command", "Command"
    SCHEDULE = "schedule", "Schedule"


class FileKind(models.TextChoices):
    PDF = "pdf", "PDF"
    XLSX = "xlsx", "Excel workbook"


#: The commentary's sections, in the order the pack prints them.
COMMENTARY_FIELDS = ("summary", "highlights", "concerns", "actions")


class ReportPack(UUIDModel):
    """One month of one scope (``department`` None: every site) and the commentary in progress."""

    month = models.DateField(help_text="The first day of the month reported.")
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    summary = models.TextField("summary", blank=True)
    highlights = models.TextField("highlights", blank=True)
    concerns = models.TextField("concerns and risks", blank=True)
    actions = models.TextField("actions for next month", blank=True)
    commentary_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    commentary_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-month", "department__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["month", "department"],
                condition=Q(department__isnull=False),
                name="report_pack_once_per_department_month",
            ),
            models.UniqueConstraint(
                fields=["month"],
                condition=Q(department__isnull=True),
                name="report_pack_once_per_month_all_sites",
            ),
        ]
        permissions = [
            ("build_report_pack", "Build monthly report packs"),
            ("publish_report_pack", "Write the commentary of and publish monthly report packs"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.scope_label}"

    @property
    def scope_label(self) -> str:
        return str(self.department) if self.department_id else "All sites"

    def commentary(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in COMMENTARY_FIELDS}


class ReportPackVersion(UUIDModel):
    """One build of a pack: the numbers it froze, its progress while building, who and when."""

    pack = models.ForeignKey(ReportPack, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=PackStatus.choices, default=PackStatus.QUEUED)
    trigger = models.CharField(max_length=10, choices=PackTrigger.choices, default=PackTrigger.PAGE)
    #: Percent done and the step under way, for the page that polls it.
    progress = models.PositiveSmallIntegerField(default=0)
    step = models.CharField(max_length=80, blank=True)
    error = models.TextField(blank=True)
    #: Every number the pack shows, as computed when it was built (``report_data.pack_data``).
    data = models.JSONField(default=dict, blank=True)
    #: The commentary printed in its files: the draft's when built, the final one when published.
    commentary = models.JSONField(default=dict, blank=True)
    built_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    build_seconds = models.FloatField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pack", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["pack", "number"], name="report_pack_version_once")
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="report_version_status_idx")]

    def __str__(self) -> str:
        return f"{self.pack} v{self.number} ({self.status})"

    @property
    def is_building(self) -> bool:
        return self.status in BUILDING_STATUSES

    @property
    def has_files(self) -> bool:
        return self.status in (PackStatus.DRAFT, PackStatus.PUBLISHED)


class ReportPackFile(models.Model):
    """A version's PDF or workbook (the PDF is printed again, once, when it is published)."""

    version = models.ForeignKey(ReportPackVersion, on_delete=models.CASCADE, related_name="files")
    kind = models.CharField(max_length=4, choices=FileKind.choices)
    content = models.BinaryField()
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "kind"], name="report_pack_file_once")
        ]

    def __str__(self) -> str:
        return f"{self.version} {self.kind} ({self.size} bytes)"
