"""API shapes for the department model (ids are UUIDs; modality and capability keys are codes)."""

from __future__ import annotations

from datetime import date, datetime, time
from datetime import date as date_type
from uuid import UUID

from ninja import Field, Schema

from radflow.scheduling.models import (
    Device,
    DeviceKind,
    DeviceStatus,
    ProbeType,
    Room,
    RoomStatus,
    Site,
    SpauldingClass,
)


class ModalityOut(Schema):
    code: str
    name: str
    ionizing: bool


class SiteRef(Schema):
    id: UUID
    code: str
    name: str


class DepartmentOut(Schema):
    id: UUID
    name: str
    cost_centre: str


class SiteOut(Schema):
    id: UUID
    code: str
    name: str
    address: str
    time_zone: str
    phone: str


class RoomRef(Schema):
    id: UUID
    code: str
    name: str
    modality: str = Field(..., alias="modality_id")
    status: RoomStatus


class SiteDetailOut(SiteOut):
    departments: list[DepartmentOut]
    rooms: list[RoomRef]

    @staticmethod
    def resolve_departments(obj: Site) -> list[object]:
        return list(obj.departments.all())

    @staticmethod
    def resolve_rooms(obj: Site) -> list[object]:
        return list(obj.rooms.all())


class OpeningHoursOut(Schema):
    weekday: int = Field(..., description="0 = Monday … 6 = Sunday")
    opens: time
    closes: time


class RoomOut(Schema):
    id: UUID
    code: str
    name: str
    site: SiteRef
    department: str | None
    modality: str = Field(..., alias="modality_id")
    status: RoomStatus
    status_note: str
    capabilities: list[str]

    @staticmethod
    def resolve_department(obj: Room) -> str | None:
        return obj.department.name if obj.department is not None else None

    @staticmethod
    def resolve_capabilities(obj: Room) -> list[str]:
        return [capability.code for capability in obj.capabilities.all()]


class DeviceRef(Schema):
    id: UUID
    manufacturer: str
    model_name: str
    serial_number: str
    ae_title: str


class RoomDetailOut(RoomOut):
    opening_hours: list[OpeningHoursOut]
    devices: list[DeviceRef]

    @staticmethod
    def resolve_opening_hours(obj: Room) -> list[object]:
        return list(obj.opening_hours.all())

    @staticmethod
    def resolve_devices(obj: Room) -> list[object]:
        return list(obj.devices.all())


class RoomStatusIn(Schema):
    status: RoomStatus
    note: str = Field("", max_length=200)


class ProbeOut(Schema):
    id: UUID
    serial_number: str
    manufacturer: str
    model_name: str
    probe_type: ProbeType
    spaulding_class: SpauldingClass
    device: UUID | None = Field(None, alias="device_id")
    status: DeviceStatus


class DeviceOut(Schema):
    id: UUID
    kind: DeviceKind
    modality: str = Field(..., alias="modality_id")
    manufacturer: str
    model_name: str
    serial_number: str
    ae_title: str
    station_name: str
    room: UUID | None = Field(None, alias="room_id")
    install_date: date | None
    status: DeviceStatus


class DeviceDetailOut(DeviceOut):
    probes: list[ProbeOut]

    @staticmethod
    def resolve_probes(obj: Device) -> list[object]:
        return list(obj.probes.all())


class DeviceIn(Schema):
    kind: DeviceKind
    modality: str = Field(..., min_length=1, max_length=8, description="DICOM modality code")
    manufacturer: str = Field(..., min_length=1, max_length=80)
    model_name: str = Field(..., min_length=1, max_length=80)
    serial_number: str = Field(..., min_length=1, max_length=64)
    ae_title: str = Field("", max_length=16)
    station_name: str = Field("", max_length=16)
    room: UUID | None = None
    install_date: date | None = None
    status: DeviceStatus = DeviceStatus.IN_SERVICE


class ProbeIn(Schema):
    serial_number: str = Field(..., min_length=1, max_length=64)
    manufacturer: str = Field(..., min_length=1, max_length=80)
    model_name: str = Field(..., min_length=1, max_length=80)
    probe_type: ProbeType
    spaulding_class: SpauldingClass | None = Field(
        None, description="Defaults from the probe type (endocavitary/TEE: semi-critical)."
    )
    device: UUID | None = None
    status: DeviceStatus = DeviceStatus.IN_SERVICE


# --- booking (issue 5): /api/scheduling ---------------------------------------------------------


class NamedRef(Schema):
    id: UUID
    name: str


class SlotRoomOut(Schema):
    id: UUID
    code: str
    name: str


class SlotOptionOut(Schema):
    start: datetime
    end: datetime
    room: SlotRoomOut
    device: NamedRef | None
    staff: NamedRef | None
    interpreter: NamedRef | None
    score: float = Field(
        ..., description="Higher is better: 100 less penalties (wait, site, time, gaps)."
    )
    why: str


class SlotsOut(Schema):
    order: UUID
    options: list[SlotOptionOut]


class SlotQuery(Schema):
    order: UUID
    earliest: datetime | None = None
    latest: datetime | None = None
    site: UUID | None = None
    preferred_time: str | None = Field(None, pattern="^(morning|afternoon|evening)$")
    limit: int = Field(10, ge=1, le=50)


class ResourcesIn(Schema):
    room: UUID
    start: datetime
    staff: UUID | None = None
    device: UUID | None = None
    interpreter: UUID | None = None


class HoldIn(ResourcesIn):
    order: UUID
    minutes: int = Field(10, ge=1, le=60)


class HoldOut(Schema):
    id: UUID
    order: UUID
    expires_at: datetime
    option: SlotOptionOut


class BookIn(ResourcesIn):
    exam: UUID
    hold: UUID | None = None
    override_reason: str = Field("", max_length=500)


class MoveIn(Schema):
    room: UUID
    start: datetime
    staff: UUID | None = None
    device: UUID | None = None
    reason_code: str = Field("", max_length=32)
    reason: str = Field("", max_length=500)
    notify: bool = True


class CancelIn(Schema):
    reason_code: str = Field(..., min_length=1, max_length=32)
    reason: str = Field("", max_length=500)


class AppointmentOut(Schema):
    exam: UUID
    accession_number: str
    state: str
    room: SlotRoomOut | None
    start: datetime | None
    end: datetime | None
    device: NamedRef | None
    staff: NamedRef | None
    interpreter: NamedRef | None
    transport_pickup_at: datetime | None


class EligibilityQuery(Schema):
    exam_type: str = Field(..., description="Exam type code (or id)")
    date: date_type
    patient_class: str = "outpatient"
    site: UUID | None = None


class EligibilityOut(Schema):
    exam_type: str
    date: date_type
    needs: list[str]
    rooms: list[SlotRoomOut]
    devices: list[NamedRef]
    staff: list[NamedRef]
    excluded: dict[str, list[str]] = Field(
        ..., description="Why each room, device or person is excluded, keyed kind:code."
    )
