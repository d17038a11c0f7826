"""KPI definitions (documented data with editable targets) and the daily rollup tables.

Rollup grain (docs/kpis.md explains the choice):

- ``KpiDaily``: day x site x room x modality x exam type x patient class x priority x payer x
  performer x referrer. Every filter the dashboards offer is a column, so any combination of
  filters reads this one table. It is close to one row per exam and event day (those dimensions
  are nearly unique per exam), but narrow, join-free and already split into days, minutes and
  histogram buckets; filtered reads are selective and use the (dimension, day) indexes.
- ``KpiDailySite``: day x site x modality, the same measures. The director's dashboard (no filter,
  or site/modality) reads a few thousand rows a year here instead of the fine table.
- ``KpiHistMonth``: the coarse table's histograms added up by month (medians over a year).
- ``KpiReasonDaily``: no-shows and same-day cancellations by reason code (fine key; rare events).
- ``KpiRoomDay`` (open minutes) and ``KpiStaffDay`` (worked minutes): the denominators of
  utilization and productivity, from the calendars and the roster.
- ``KpiBacklogSnapshot``: third-next-available per site and exam type, one snapshot a day.

Counts and sums (whole seconds) add across rows; each row keeps a histogram per turnaround
measure (``hist``: ``{"access": {"bucket": n}}``) so medians and p90s add too. The dimension
columns are plain ids, not foreign keys: the rollups are derived data, rebuilt from the exams,
and must not hold up a delete or pay for six foreign-key indexes on every rebuild.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from radflow.core.kpis.types import Dimension, Direction
from radflow.scheduling.models import Department


class Headline(models.TextChoices):
    VALUE = "value", "Value"
    MEDIAN = "median", "Median"


class KpiDefinition(models.Model):
    """One KPI as the department reads it: what it counts, which way is better, its target."""

    code = models.SlugField(max_length=40, primary_key=True)
    name = models.CharField(max_length=120)
    category = models.CharField(max_length=40)
    formula = models.TextField(help_text="How it is computed, in words.")
    unit = models.CharField(max_length=24)
    direction = models.CharField(
        max_length=8, choices=[(d.value, d.value.capitalize()) for d in Direction]
    )
    headline = models.CharField(max_length=8, choices=Headline.choices, default=Headline.VALUE)
    target = models.FloatField(null=True, blank=True)
    amber = models.FloatField(
        "amber threshold",
        null=True,
        blank=True,
        help_text="Green while at least this good (defaults to the target).",
    )
    red = models.FloatField(
        "red threshold", null=True, blank=True, help_text="Red once worse than this."
    )
    reference_value = models.FloatField(null=True, blank=True)
    reference_label = models.CharField(max_length=160, blank=True)
    source = models.CharField(max_length=200, help_text="Where the data comes from.")
    #: The filter dimensions the KPI honours (``radflow.core.kpis.Dimension`` values).
    filters = models.JSONField(default=list, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "code"]
        permissions = [
            ("view_kpis", "See KPIs and dashboards"),
            ("edit_kpi_targets", "Edit KPI targets and thresholds per department"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def direction_enum(self) -> Direction:
        return Direction(self.direction)

    def honours(self, dimension: Dimension) -> bool:
        return dimension.value in self.filters


class KpiTarget(models.Model):
    """A department's own target and thresholds for a KPI (else the definition's apply)."""

    definition = models.ForeignKey(KpiDefinition, on_delete=models.CASCADE, related_name="targets")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    target = models.FloatField(null=True, blank=True)
    amber = models.FloatField("amber threshold", null=True, blank=True)
    red = models.FloatField("red threshold", null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["definition", "department"]
        constraints = [
            models.UniqueConstraint(
                fields=["definition", "department"], name="kpi_target_once_per_department"
            )
        ]

    def __str__(self) -> str:
        return f"{self.definition_id} for {self.department_id}: {self.target}"


class ProcedureRvu(models.Model):
    """Relative value units per procedure code (data: the department's own fee schedule)."""

    code = models.CharField(max_length=10, primary_key=True)
    rvu = models.DecimalField(max_digits=6, decimal_places=2)
    source = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "procedure RVU"

    def __str__(self) -> str:
        return f"{self.code}: {self.rvu}"


class RollupMeasures(models.Model):
    """The measures every rollup row carries (``radflow.core.kpis.rollup.COUNT_FIELDS``)."""

    orders = models.IntegerField(default=0)
    scheduled = models.IntegerField(default=0)
    begun = models.IntegerField(default=0)
    completed = models.IntegerField(default=0)
    discontinued = models.IntegerField(default=0)
    reported = models.IntegerField(default=0)
    signed = models.IntegerField(default=0)
    wait_n = models.IntegerField(default=0)
    sched_s = models.BigIntegerField(default=0)
    access_s = models.BigIntegerField(default=0)
    wait_s = models.BigIntegerField(default=0)
    duration_s = models.BigIntegerField(default=0)
    report_s = models.BigIntegerField(default=0)
    sign_s = models.BigIntegerField(default=0)
    scanned_s = models.BigIntegerField(default=0)
    rvu_milli = models.BigIntegerField(default=0)
    stat_n = models.IntegerField(default=0)
    stat_met = models.IntegerField(default=0)
    urgent_n = models.IntegerField(default=0)
    urgent_met = models.IntegerField(default=0)
    appt_due = models.IntegerField(default=0)
    no_show = models.IntegerField(default=0)
    same_day_cancel = models.IntegerField(default=0)
    cancel_after_arrival = models.IntegerField(default=0)
    appt_completed = models.IntegerField(default=0)
    overrides = models.IntegerField(default=0)
    performed = models.IntegerField(default=0)
    doc_gap = models.IntegerField(default=0)
    #: {"access": {"<bucket>": n, ...}, ...}: see ``radflow.core.kpis.stats``.
    hist = models.JSONField(default=dict)

    class Meta:
        abstract = True


class KpiDaily(RollupMeasures):
    day = models.DateField()
    site = models.UUIDField(null=True)
    room = models.UUIDField(null=True)
    modality = models.CharField(max_length=8, blank=True)
    exam_type = models.UUIDField(null=True)
    patient_class = models.CharField(max_length=12, blank=True)
    priority = models.CharField(max_length=8, blank=True)
    payer = models.UUIDField(null=True)
    performer = models.UUIDField(null=True)
    referrer = models.CharField(max_length=120, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["day"], name="kpidaily_day_idx"),
            models.Index(fields=["room", "day"], name="kpidaily_room_idx"),
            models.Index(fields=["performer", "day"], name="kpidaily_performer_idx"),
            models.Index(fields=["exam_type", "day"], name="kpidaily_exam_type_idx"),
            models.Index(fields=["referrer", "day"], name="kpidaily_referrer_idx"),
            # A modality lead's breakdowns (by room, performer, exam type) filter on the
            # modality: without it they read every modality's rows of the period.
            models.Index(fields=["modality", "day"], name="kpidaily_modality_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.modality} {self.room}"


class KpiDailySite(RollupMeasures):
    day = models.DateField()
    site = models.UUIDField(null=True)
    modality = models.CharField(max_length=8, blank=True)

    class Meta:
        indexes = [models.Index(fields=["day", "site"], name="kpidailysite_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.site} {self.modality}"


class KpiHistMonth(models.Model):
    """A month of ``KpiDailySite`` histograms added up, one row per bucket: a year's medians
    read 12 months of buckets instead of 365 days of JSON."""

    month = models.DateField(help_text="The first day of the month.")
    site = models.UUIDField(null=True)
    modality = models.CharField(max_length=8, blank=True)
    measure = models.CharField(max_length=8)
    bucket = models.SmallIntegerField()
    n = models.IntegerField()

    class Meta:
        # Rows are read a period of months at a time and added up by (month, measure, bucket):
        # in this order, with the filter columns and ``n`` in the index, that read is an index
        # range in grouping order, never the table.
        indexes = [
            models.Index(
                fields=["month", "measure", "bucket", "site", "modality", "n"],
                name="kpihistmonth_fold_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.measure} {self.bucket}: {self.n}"


class ReasonKind(models.TextChoices):
    NO_SHOW = "no_show", "No-show"
    CANCEL = "cancel", "Same-day cancellation"


class KpiReasonDaily(models.Model):
    day = models.DateField()
    site = models.UUIDField(null=True)
    room = models.UUIDField(null=True)
    modality = models.CharField(max_length=8, blank=True)
    exam_type = models.UUIDField(null=True)
    patient_class = models.CharField(max_length=12, blank=True)
    priority = models.CharField(max_length=8, blank=True)
    payer = models.UUIDField(null=True)
    performer = models.UUIDField(null=True)
    referrer = models.CharField(max_length=120, blank=True)
    kind = models.CharField(max_length=8, choices=ReasonKind.choices)
    reason_code = models.CharField(max_length=32, blank=True)
    n = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["kind", "day"], name="kpireason_kind_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} {self.reason_code}: {self.n}"


class KpiRoomDay(models.Model):
    """Minutes a room was open on a day (opening hours less closures): utilization's denominator."""

    day = models.DateField()
    room = models.UUIDField()
    site = models.UUIDField()
    modality = models.CharField(max_length=8)
    open_s = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["room", "day"], name="kpi_room_day_once")]
        indexes = [models.Index(fields=["day"], name="kpiroomday_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.room}: {self.open_s // 60} min"


class KpiStaffDay(models.Model):
    """Seconds a performer worked on a day (published roster, else standard hours)."""

    day = models.DateField()
    staff = models.UUIDField()
    site = models.UUIDField(null=True)
    modality = models.CharField(max_length=8, blank=True)
    worked_s = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["staff", "day"], name="kpi_staff_day_once")]
        indexes = [models.Index(fields=["day"], name="kpistaffday_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.staff}: {self.worked_s // 60} min"


class KpiBacklogSnapshot(models.Model):
    """Days to the third next available slot for an exam type at a site, as measured one day."""

    day = models.DateField()
    site = models.UUIDField()
    exam_type = models.UUIDField()
    modality = models.CharField(max_length=8)
    #: None: fewer than three free slots within the horizon searched.
    days = models.FloatField(null=True)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "site", "exam_type"], name="kpi_backlog_once_per_day"
            )
        ]
        #: The unfiltered average per day reads this index alone: a year of snapshots of every
        #: site and exam type is about a hundred thousand rows.
        indexes = [models.Index(fields=["day", "days"], name="kpi_backlog_day_days_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.exam_type}: {self.days}"


class KpiDirtyDay(models.Model):
    """A day whose rollups an exam change made stale; the worker rebuilds it.

    ``token`` changes with every mark, so a rebuild that read the day before a later mark only
    clears the row if no new mark came in meanwhile.
    """

    day = models.DateField(primary_key=True)
    token = models.UUIDField(default=uuid.uuid4)

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return str(self.day)


class KpiJobState(models.Model):
    """When a periodic KPI job last ran (the nightly catch-up runs once a local day)."""

    name = models.CharField(max_length=40, primary_key=True)
    last_day = models.DateField(null=True)
    last_run_at = models.DateTimeField(null=True)
    detail = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"{self.name}: {self.last_day}"


# The monthly report pack's models live in their own module; imported so Django finds them.
from radflow.kpis.report_models import ReportPack as ReportPack  # noqa: E402
from radflow.kpis.report_models import ReportPackFile as ReportPackFile  # noqa: E402
from radflow.kpis.report_models import ReportPackVersion as ReportPackVersion  # noqa: E402
