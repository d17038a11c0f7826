"""The department's physical resources: sites, rooms, scanners and probes.

Scheduling books these; equipment, infection control and the worklist server refer to them.
"""

from __future__ import annotations

import zoneinfo

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
