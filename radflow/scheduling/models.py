"""The department's physical resources: sites, rooms, scanners and probes.

Scheduling books these; equipment, infection control and the worklist server refer to them.
"""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from simple_history.models import HistoricalRecords

from radflow.db import UUIDModel

ae_title_validator = RegexValidator(
    r"^[\x21-\x5b\x5d-\x7e](?:[\x20-\x5b\x5d-\x7e]{0,14}[\x21-\x5b\x5d-\x7e])?$",
    "An AE title is 1 to 16 printable ASCII characters, no backslash, no leading/trailing space.",
)


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (e.g. America/New_York).")


class Site(UUIDModel):
    name = models.CharField(max_length=120, unique=True)
    code = models.CharField(max_length=16, unique=True)
    address = models.TextField(blank=True)
    time_zone = models.CharField(
        max_length=64, default="America/New_York", validators=[validate_time_zone]
    )
    phone = models.CharField(max_length=40, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Department(UUIDModel):
    name = models.CharField(max_length=120)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="departments")
    cost_centre = models.CharField(max_length=32, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["site__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["site", "name"], name="department_unique_per_site")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.site.code})"


class Modality(models.Model):
    """An imaging modality, keyed by its DICOM code (PS3.3 C.7.3.1.1.1)."""

    code = models.CharField(max_length=8, primary_key=True)
    name = models.CharField(max_length=60)
    ionizing = models.BooleanField(default=False)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "modalities"

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class RoomCapability(models.Model):
    code = models.SlugField(max_length=40, primary_key=True)
    name = models.CharField(max_length=80)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "room capabilities"

    def __str__(self) -> str:
        return self.name


class RoomStatus(models.TextChoices):
    IN_SERVICE = "in_service", "In service"
    DOWN = "down", "Down"
    MAINTENANCE = "maintenance", "Maintenance"


class Room(UUIDModel):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="rooms")
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="rooms", null=True, blank=True
    )
    name = models.CharField(max_length=80)
    code = models.CharField(max_length=24, unique=True)
    modality = models.ForeignKey(Modality, on_delete=models.PROTECT, related_name="rooms")
    capabilities = models.ManyToManyField(RoomCapability, blank=True, related_name="rooms")
    status = models.CharField(
        max_length=16, choices=RoomStatus.choices, default=RoomStatus.IN_SERVICE
    )
    status_note = models.CharField(max_length=200, blank=True)
    history = HistoricalRecords(m2m_fields=[capabilities])

    class Meta:
        ordering = ["site__name", "code"]
        constraints = [
            models.UniqueConstraint(fields=["site", "name"], name="room_name_unique_per_site")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class RoomOpeningHours(models.Model):
    """A weekly opening interval in the site's local time (several per day allowed)."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["room", "weekday", "opens"]
        verbose_name_plural = "room opening hours"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes__gt=models.F("opens")), name="opening_closes_after_opens"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class DeviceKind(models.TextChoices):
    SCANNER = "scanner", "Scanner"
    ULTRASOUND = "ultrasound", "Ultrasound system"
    WORKSTATION = "workstation", "Workstation"


class DeviceStatus(models.TextChoices):
    IN_SERVICE = "in_service", "In service"
    DOWN = "down", "Down"
    MAINTENANCE = "maintenance", "Maintenance"
    RETIRED = "retired", "Retired"


class Device(UUIDModel):
    kind = models.CharField(max_length=16, choices=DeviceKind.choices)
    modality = models.ForeignKey(Modality, on_delete=models.PROTECT, related_name="devices")
    manufacturer = models.CharField(max_length=80)
    model_name = models.CharField("model", max_length=80)
    serial_number = models.CharField(max_length=64)
    ae_title = models.CharField(
        "DICOM AE title", max_length=16, blank=True, validators=[ae_title_validator]
    )
    station_name = models.CharField(max_length=16, blank=True)
    room = models.ForeignKey(
        Room, on_delete=models.SET_NULL, null=True, blank=True, related_name="devices"
    )
    install_date = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=DeviceStatus.choices, default=DeviceStatus.IN_SERVICE
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["modality", "manufacturer", "model_name", "serial_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["manufacturer", "serial_number"], name="device_serial_unique"
            ),
            models.UniqueConstraint(
                fields=["ae_title"],
                condition=~models.Q(ae_title=""),
                name="device_ae_title_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.manufacturer} {self.model_name} ({self.serial_number})"


class ProbeType(models.TextChoices):
    LINEAR = "linear", "Linear"
    CURVED = "curved", "Curved"
    PHASED = "phased", "Phased array"
    ENDOCAVITARY = "endocavitary", "Endocavitary"
    TEE = "tee", "Transesophageal (TEE)"


class SpauldingClass(models.TextChoices):
    """Spaulding classification: what reprocessing a probe needs between patients."""

    NON_CRITICAL = "non_critical", "Non-critical"
    SEMI_CRITICAL = "semi_critical", "Semi-critical"
    CRITICAL = "critical", "Critical"


#: The class a probe type falls in unless its use says otherwise (AIUM guidance).
DEFAULT_SPAULDING: dict[str, str] = {
    ProbeType.LINEAR: SpauldingClass.NON_CRITICAL,
    ProbeType.CURVED: SpauldingClass.NON_CRITICAL,
    ProbeType.PHASED: SpauldingClass.NON_CRITICAL,
    ProbeType.ENDOCAVITARY: SpauldingClass.SEMI_CRITICAL,
    ProbeType.TEE: SpauldingClass.SEMI_CRITICAL,
}


class Probe(UUIDModel):
    """An ultrasound transducer, tracked on its own because it moves between systems."""

    serial_number = models.CharField(max_length=64, unique=True)
    manufacturer = models.CharField(max_length=80)
    model_name = models.CharField("model", max_length=80)
    probe_type = models.CharField(max_length=16, choices=ProbeType.choices)
    spaulding_class = models.CharField(max_length=16, choices=SpauldingClass.choices)
    device = models.ForeignKey(
        Device, on_delete=models.SET_NULL, null=True, blank=True, related_name="probes"
    )
    status = models.CharField(
        max_length=16, choices=DeviceStatus.choices, default=DeviceStatus.IN_SERVICE
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["serial_number"]

    def __str__(self) -> str:
        return f"{self.model_name} {self.get_probe_type_display()} ({self.serial_number})"

    def clean(self) -> None:
        if (
            self.probe_type in (ProbeType.ENDOCAVITARY, ProbeType.TEE)
            and self.spaulding_class == SpauldingClass.NON_CRITICAL
        ):
            raise ValidationError(
                {"spaulding_class": "Endocavitary and TEE probes are at least semi-critical."}
            )


# --- calendars: what is open, down or reserved when (issue 5) ----------------------------------


class SiteClosure(models.Model):
    """A whole site closed for a day (public holiday, snow day): nothing there is bookable."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="closures")
    date = models.DateField()
    reason = models.CharField(max_length=120)

    class Meta:
        ordering = ["date", "site"]
        constraints = [
            models.UniqueConstraint(fields=["site", "date"], name="site_closure_once_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.site} closed {self.date}: {self.reason}"


class RoomClosure(models.Model):
    """A room out of use for a stretch of time (works, deep clean, a blocked session)."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="closures")
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["start", "room"]
        indexes = [models.Index(fields=["room", "start"], name="room_closure_room_start_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="room_closure_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.room.code} closed {self.start:%Y-%m-%d %H:%M}: {self.reason}"


class DeviceDowntime(models.Model):
    """A scanner out of service for a known time (planned maintenance, a repair)."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="downtimes")
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["start", "device"]
        indexes = [models.Index(fields=["device", "start"], name="downtime_device_start_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="downtime_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.device} down {self.start:%Y-%m-%d %H:%M}: {self.reason}"


class BookingTemplate(models.Model):
    """A weekly block of a room kept for some exam types ("OB mornings", "vascular afternoons").

    With no exam types chosen the block is kept for any exam of the room's modality (a label
    only). Slot search offers other exam types inside a block only on a day when the room has
    no block-free time left that fits them (see ``radflow.scheduling.booking``).
    """

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="templates")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    starts = models.TimeField()
    ends = models.TimeField()
    label = models.CharField(max_length=80)
    exam_types = models.ManyToManyField("catalog.ExamType", blank=True, related_name="+")

    class Meta:
        ordering = ["room", "weekday", "starts"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends__gt=models.F("starts")), name="template_ends_after_starts"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.get_weekday_display()} {self.starts:%H:%M}-{self.ends:%H:%M})"


class StaffWorkingHours(models.Model):
    """A person's standard weekly hours, used on days no published roster covers."""

    staff = models.ForeignKey(
        "staff.StaffMember", on_delete=models.CASCADE, related_name="working_hours"
    )
    site = models.ForeignKey(
        Site,
        on_delete=models.CASCADE,
        related_name="+",
        null=True,
        blank=True,
        help_text="Where these hours are worked; blank = the person's home site.",
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    starts = models.TimeField()
    ends = models.TimeField()

    class Meta:
        ordering = ["staff", "weekday", "starts"]
        verbose_name_plural = "staff working hours"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends__gt=models.F("starts")), name="working_ends_after_starts"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts:%H:%M}-{self.ends:%H:%M}"


class Interpreter(UUIDModel):
    """A medical interpreter the department books for patients who need one."""

    name = models.CharField(max_length=120)
    #: ISO 639-1 codes, comma separated ("es,pt"), as ``Patient.language`` holds them.
    languages = models.CharField(max_length=120)
    phone = models.CharField(max_length=40, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.languages})"

    @property
    def language_codes(self) -> list[str]:
        return [code.strip().lower() for code in self.languages.split(",") if code.strip()]

    def speaks(self, language: str) -> bool:
        return language.strip().lower() in self.language_codes


class InterpreterHours(models.Model):
    """An interpreter's weekly availability, in the department's time zone."""

    interpreter = models.ForeignKey(Interpreter, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    starts = models.TimeField()
    ends = models.TimeField()

    class Meta:
        ordering = ["interpreter", "weekday", "starts"]
        verbose_name_plural = "interpreter hours"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends__gt=models.F("starts")),
                name="interpreter_ends_after_starts",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts:%H:%M}-{self.ends:%H:%M}"


class Hold(UUIDModel):
    """A slot kept for one order for a few minutes while the patient is on the phone.

    Its reservations block the slot until ``expires_at``; expired holds are released inside
    every booking transaction that touches the same resources, and by the worker.
    """

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="holds")
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["released_at", "expires_at"], name="hold_open_idx")]

    def __str__(self) -> str:
        return f"Hold until {self.expires_at:%Y-%m-%d %H:%M}"


class Reservation(models.Model):
    """One resource's time, kept for an exam or a hold: the table double booking is checked on.

    Exactly one of room, device, staff or interpreter is set. A room's reservation runs to the
    exam's end plus the exam type's turnover (cleaning). Only active rows count; on PostgreSQL
    an exclusion constraint per resource (migration 0003) refuses overlapping active rows, so
    no two writers can double-book even without the application's own check.
    """

    room = models.ForeignKey(
        Room, on_delete=models.CASCADE, null=True, blank=True, related_name="reservations"
    )
    device = models.ForeignKey(
        Device, on_delete=models.CASCADE, null=True, blank=True, related_name="reservations"
    )
    staff = models.ForeignKey(
        "staff.StaffMember",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reservations",
    )
    interpreter = models.ForeignKey(
        Interpreter, on_delete=models.CASCADE, null=True, blank=True, related_name="reservations"
    )
    start = models.DateTimeField()
    end = models.DateTimeField()
    exam = models.ForeignKey(
        "exams.Exam", on_delete=models.CASCADE, null=True, blank=True, related_name="reservations"
    )
    hold = models.ForeignKey(
        Hold, on_delete=models.CASCADE, null=True, blank=True, related_name="reservations"
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["start"]
        indexes = [
            models.Index(fields=["room", "start"], name="reservation_room_idx"),
            models.Index(fields=["device", "start"], name="reservation_device_idx"),
            models.Index(fields=["staff", "start"], name="reservation_staff_idx"),
            models.Index(fields=["interpreter", "start"], name="reservation_interp_idx"),
            models.Index(fields=["exam"], name="reservation_exam_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(
                        room__isnull=False,
                        device__isnull=True,
                        staff__isnull=True,
                        interpreter__isnull=True,
                    )
                    | models.Q(
                        room__isnull=True,
                        device__isnull=False,
                        staff__isnull=True,
                        interpreter__isnull=True,
                    )
                    | models.Q(
                        room__isnull=True,
                        device__isnull=True,
                        staff__isnull=False,
                        interpreter__isnull=True,
                    )
                    | models.Q(
                        room__isnull=True,
                        device__isnull=True,
                        staff__isnull=True,
                        interpreter__isnull=False,
                    )
                ),
                name="reservation_exactly_one_resource",
            ),
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="reservation_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resource_label} {self.start:%Y-%m-%d %H:%M}-{self.end:%H:%M}"

    @property
    def resource_label(self) -> str:
        for name in ("room", "device", "staff", "interpreter"):
            value = getattr(self, name)
            if value is not None:
                return str(value)
        return "?"
