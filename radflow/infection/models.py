"""Probe traceability: each use of a probe on an exam, each reprocessing cycle, the disinfectants
and devices the cycles rely on, and their solution tests and QC checks.

The rules (what a cycle counts for, when a probe may touch the next patient, the look-back) live in
``radflow.core.reprocessing``; ``Reprocessing.level`` stores what the service computed when the
cycle was recorded, so "last passing high-level disinfection" is one indexed query.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from radflow.core.reprocessing import Frequency, Level, Method
from radflow.db import UUIDModel
from radflow.exams.models import Exam
from radflow.scheduling.models import DeviceStatus, Probe, Room
from radflow.staff.models import StaffMember


class PassFail(models.TextChoices):
    PASS = "pass", "Pass"
    FAIL = "fail", "Fail"


class IndicatorResult(models.TextChoices):
    PASS = "pass", "Pass"
    FAIL = "fail", "Fail"
    NOT_READ = "not_read", "Not read"


class ReprocessingMethod(models.TextChoices):
    LLD_WIPE = Method.LLD_WIPE.value, "Low-level disinfection (wipe)"
    HLD_SOAK = Method.HLD_SOAK.value, "High-level disinfection (manual soak)"
    HLD_AUTOMATED = Method.HLD_AUTOMATED.value, "High-level disinfection (automated device)"
    STERILIZATION = Method.STERILIZATION.value, "Sterilization"


class ReprocessingLevel(models.TextChoices):
    NONE = Level.NONE.value, "Did not count"
    LOW = Level.LOW.value, "Low-level disinfection"
    HIGH = Level.HIGH.value, "High-level disinfection"
    STERILE = Level.STERILE.value, "Sterilization"


class CheckFrequency(models.TextChoices):
    PER_CYCLE = Frequency.PER_CYCLE.value, "Before each cycle"
    DAILY = Frequency.DAILY.value, "Daily"
    WEEKLY = Frequency.WEEKLY.value, "Weekly"
    MONTHLY = Frequency.MONTHLY.value, "Monthly"
    NOT_REQUIRED = Frequency.NOT_REQUIRED.value, "Not required"


class AgentKind(models.TextChoices):
    OPA = "opa", "Ortho-phthalaldehyde (OPA) solution"
    GLUTARALDEHYDE = "glutaraldehyde", "Glutaraldehyde solution"
    HYDROGEN_PEROXIDE = "hydrogen_peroxide", "Hydrogen peroxide (device cartridge or solution)"
    PERACETIC_ACID = "peracetic_acid", "Peracetic acid"
    CHLORINE_DIOXIDE = "chlorine_dioxide", "Chlorine dioxide wipe system"
    QUATERNARY_AMMONIUM = "quaternary_ammonium", "Quaternary ammonium wipe (low level)"


#: Agents that reach high-level disinfection; the rest are low-level wipes.
HIGH_LEVEL_AGENTS = frozenset(
    {
        AgentKind.OPA,
        AgentKind.GLUTARALDEHYDE,
        AgentKind.HYDROGEN_PEROXIDE,
        AgentKind.PERACETIC_ACID,
        AgentKind.CHLORINE_DIOXIDE,
    }
)


class DisinfectionAgent(UUIDModel):
    """One lot of a disinfectant (a soak solution, a device's cartridge, a box of wipes)."""

    name = models.CharField(max_length=80, help_text="The product, e.g. Cidex OPA.")
    kind = models.CharField(max_length=24, choices=AgentKind.choices)
    manufacturer = models.CharField(max_length=80, blank=True)
    lot_number = models.CharField(max_length=40)
    expires_on = models.DateField()
    opened_on = models.DateField(null=True, blank=True, help_text="Opened or activated on.")
    use_life_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Days an opened or activated solution may be used."
    )
    min_exposure_minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The manufacturer's contact time."
    )
    test_frequency = models.CharField(
        max_length=16,
        choices=CheckFrequency.choices,
        default=CheckFrequency.NOT_REQUIRED,
        help_text="How often the solution's minimum effective concentration is tested.",
    )
    room = models.ForeignKey(
        Room, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    discarded_at = models.DateTimeField(null=True, blank=True)
    discard_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name", "lot_number"]
        constraints = [
            models.UniqueConstraint(fields=["name", "lot_number"], name="agent_lot_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} lot {self.lot_number}"

    @property
    def high_level(self) -> bool:
        return self.kind in HIGH_LEVEL_AGENTS


class ReprocessorKind(models.TextChoices):
    HYDROGEN_PEROXIDE_MIST = "hp_mist", "Hydrogen peroxide mist (automated HLD)"
    UV_C = "uv_c", "UV-C (automated HLD)"
    AUTOMATED_REPROCESSOR = "aer", "Automated soak reprocessor (HLD)"
    STERILIZER = "sterilizer", "Low-temperature sterilizer"


class ReprocessingDevice(UUIDModel):
    """An automated disinfector or sterilizer in a reprocessing room."""

    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=16, choices=ReprocessorKind.choices)
    manufacturer = models.CharField(max_length=80)
    model_name = models.CharField("model", max_length=80)
    serial_number = models.CharField(max_length=64, unique=True)
    room = models.ForeignKey(
        Room, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=DeviceStatus.choices, default=DeviceStatus.IN_SERVICE
    )
    cycle_minutes = models.PositiveSmallIntegerField(default=7)
    qc_frequency = models.CharField(
        max_length=16, choices=CheckFrequency.choices, default=CheckFrequency.DAILY
    )
    qc_check = models.CharField(
        max_length=120, blank=True, help_text="What the scheduled check is, e.g. self-test."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.serial_number})"


class SolutionTest(models.Model):
    """A minimum effective concentration test of a soak solution (OPA/glutaraldehyde strips)."""

    agent = models.ForeignKey(
        DisinfectionAgent, on_delete=models.CASCADE, related_name="solution_tests"
    )
    at = models.DateTimeField()
    result = models.CharField(max_length=8, choices=PassFail.choices)
    strip_lot = models.CharField(max_length=40, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["agent", "at"], name="solution_test_agent_at_idx")]

    def __str__(self) -> str:
        return f"{self.agent} tested {self.result} at {self.at:%Y-%m-%d %H:%M}"


class DeviceQcLog(models.Model):
    """A scheduled check of a reprocessing device (self-test, indicator challenge, lamp)."""

    device = models.ForeignKey(ReprocessingDevice, on_delete=models.CASCADE, related_name="qc_logs")
    at = models.DateTimeField()
    check_name = models.CharField("check", max_length=120)
    result = models.CharField(max_length=8, choices=PassFail.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["device", "at"], name="device_qc_device_at_idx")]

    def __str__(self) -> str:
        return f"{self.device} {self.check_name}: {self.result}"


class Reprocessing(UUIDModel):
    """One reprocessing cycle of one probe, as the operator recorded it."""

    probe = models.ForeignKey(Probe, on_delete=models.PROTECT, related_name="reprocessings")
    method = models.CharField(max_length=16, choices=ReprocessingMethod.choices)
    agent = models.ForeignKey(
        DisinfectionAgent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cycles",
    )
    device = models.ForeignKey(
        ReprocessingDevice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cycles",
    )
    cycle_id = models.CharField("cycle ID", max_length=40, blank=True)
    result = models.CharField(max_length=8, choices=PassFail.choices)
    indicator = models.CharField(
        "chemical indicator / test strip", max_length=8, choices=IndicatorResult.choices
    )
    exposure_met = models.BooleanField("minimum exposure time met")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    #: What the cycle achieved (``none`` unless everything passed): computed when recorded.
    level = models.CharField(max_length=8, choices=ReprocessingLevel.choices)
    #: Why it did not count, one reason per line (empty when it did).
    problems = models.TextField(blank=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["probe", "ended_at"], name="reproc_probe_ended_idx"),
            models.Index(fields=["level", "ended_at"], name="reproc_level_ended_idx"),
        ]
        permissions = [
            ("run_lookback", "Run a probe look-back and export the patients to notify"),
            ("manage_reprocessing", "Keep disinfectants, devices, solution tests and QC"),
            ("change_probe_status", "Take a probe out of service or return it"),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} of {self.probe.serial_number} ({self.level})"

    @property
    def passed(self) -> bool:
        return self.level != ReprocessingLevel.NONE

    @property
    def problem_list(self) -> list[str]:
        return [line for line in self.problems.splitlines() if line]


class UseSource(models.TextChoices):
    PAGE = "page", "Exam page"
    API = "api", "API"
    MPPS = "mpps", "Modality (MPPS)"
    DEMO = "demo", "Demo history"


class GelType(models.TextChoices):
    STERILE = "sterile", "Sterile gel"
    NON_STERILE = "non_sterile", "Non-sterile gel"
    NONE = "none", "No gel"


class ProbeUse(UUIDModel):
    """A probe attached to an exam: the patient is the exam's; the probe touched them when the
    exam began (or when the probe was attached, if that was later)."""

    probe = models.ForeignKey(Probe, on_delete=models.PROTECT, related_name="uses")
    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="probe_uses")
    at = models.DateTimeField(help_text="When the probe was attached to the exam.")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    operator = models.ForeignKey(
        StaffMember,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="probe_uses",
        help_text="The sonographer who used the probe.",
    )
    cover_used = models.BooleanField(default=False)
    cover_lot = models.CharField(max_length=40, blank=True)
    gel = models.CharField(max_length=16, choices=GelType.choices, default=GelType.NON_STERILE)
    source = models.CharField(max_length=8, choices=UseSource.choices, default=UseSource.PAGE)

    class Meta:
        ordering = ["-at"]
        constraints = [
            models.UniqueConstraint(fields=["probe", "exam"], name="probe_use_once_per_exam")
        ]
        indexes = [models.Index(fields=["probe", "at"], name="probe_use_probe_at_idx")]
        permissions = [
            (
                "override_probe_stop",
                "Override the probe hard stop with a reason (infection preventionist)",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.probe.serial_number} on {self.exam.accession_number}"
