"""Factories for the department model, with values a real department would have."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone as django_timezone
from factory.declarations import Iterator, LazyAttribute, Sequence, SubFactory
from factory.django import DjangoModelFactory
from factory.faker import Faker
from factory.helpers import post_generation

from radflow.scheduling.models import (
    DEFAULT_SPAULDING,
    Department,
    Device,
    DeviceKind,
    Interpreter,
    InterpreterHours,
    Modality,
    Probe,
    ProbeType,
    Room,
    RoomCapability,
    RoomOpeningHours,
    Site,
    StaffWorkingHours,
)
from radflow.staff.models import StaffMember

MODALITY_NAMES = {
    "US": ("Ultrasound", False),
    "CT": ("Computed tomography", True),
    "MR": ("Magnetic resonance", False),
    "DX": ("Digital radiography", True),
    "MG": ("Mammography", True),
    "NM": ("Nuclear medicine", True),
}


class SiteFactory(DjangoModelFactory[Site]):
    class Meta:
        model = Site
        django_get_or_create = ("code",)

    name = Sequence(
        lambda n: f"{['Riverside', 'Northgate', 'Lakeview', 'Eastfield'][n % 4]} Imaging Center {n}"
    )
    code = Sequence(lambda n: f"S{n:03d}")
    address = Faker("address", locale="en_US")
    time_zone = "America/New_York"
    phone = Faker("numerify", text="(###) ###-####")


class DepartmentFactory(DjangoModelFactory[Department]):
    class Meta:
        model = Department

    name = Sequence(lambda n: f"Diagnostic Imaging {n}")
    site = SubFactory(SiteFactory)
    cost_centre = Sequence(lambda n: f"CC-{4100 + n}")


class ModalityFactory(DjangoModelFactory[Modality]):
    class Meta:
        model = Modality
        django_get_or_create = ("code",)

    code = "US"
    name = LazyAttribute(lambda o: MODALITY_NAMES.get(o.code, (o.code, False))[0])
    ionizing = LazyAttribute(lambda o: MODALITY_NAMES.get(o.code, (o.code, False))[1])


class RoomCapabilityFactory(DjangoModelFactory[RoomCapability]):
    class Meta:
        model = RoomCapability
        django_get_or_create = ("code",)

    code = "doppler"
    name = LazyAttribute(lambda o: o.code.replace("-", " ").capitalize())


class RoomFactory(DjangoModelFactory[Room]):
    class Meta:
        model = Room
        skip_postgeneration_save = True

    site = SubFactory(SiteFactory)
    department = None
    name = Sequence(lambda n: f"Ultrasound room {n}")
    code = Sequence(lambda n: f"US-{n:02d}")
    modality = SubFactory(ModalityFactory)

    @post_generation  # type: ignore[untyped-decorator]
    def capabilities(self, create: bool, extracted: list[RoomCapability] | None) -> None:
        if create and extracted:
            self.capabilities.set(extracted)


class RoomOpeningHoursFactory(DjangoModelFactory[RoomOpeningHours]):
    class Meta:
        model = RoomOpeningHours

    room = SubFactory(RoomFactory)
    weekday = 0
    opens = datetime.time(7, 30)
    closes = datetime.time(17, 0)


class DeviceFactory(DjangoModelFactory[Device]):
    class Meta:
        model = Device

    kind = DeviceKind.ULTRASOUND
    modality = SubFactory(ModalityFactory)
    manufacturer = Iterator(["GE HealthCare", "Philips", "Siemens Healthineers", "Canon"])
    model_name = Iterator(["LOGIQ E10", "EPIQ Elite", "ACUSON Sequoia", "Aplio i800"])
    serial_number = Sequence(lambda n: f"SN{880100 + n}")
    ae_title = Sequence(lambda n: f"US_ROOM_{n:02d}")
    station_name = Sequence(lambda n: f"USSTN{n:02d}")
    room = None
    install_date = Faker("date_between", start_date="-8y", end_date="-30d")


class ProbeFactory(DjangoModelFactory[Probe]):
    class Meta:
        model = Probe

    serial_number = Sequence(lambda n: f"PRB-{503200 + n}")
    manufacturer = "GE HealthCare"
    model_name = Iterator(["ML6-15", "C1-6", "6S", "IC5-9"])
    probe_type = ProbeType.LINEAR
    spaulding_class = LazyAttribute(lambda o: DEFAULT_SPAULDING[o.probe_type])
    device = None


# --- booking (issue 5): a bookable little department ----------------------------------------------

EVERY_DAY = range(7)


@dataclass
class BookingWorld:
    """One site in New York with one ultrasound room (and its scanner) open every day, and a
    sonographer qualified for every ultrasound exam working the same hours."""

    site: Site
    room: Room
    device: Device
    sonographer: StaffMember
    extra_rooms: list[Room] = field(default_factory=list)


def open_every_day(room: Room, opens: datetime.time, closes: datetime.time) -> None:
    RoomOpeningHours.objects.bulk_create(
        RoomOpeningHours(room=room, weekday=day, opens=opens, closes=closes) for day in EVERY_DAY
    )


def works_every_day(
    staff: StaffMember,
    starts: datetime.time,
    ends: datetime.time,
    site: Site | None = None,
) -> None:
    StaffWorkingHours.objects.bulk_create(
        StaffWorkingHours(staff=staff, site=site, weekday=day, starts=starts, ends=ends)
        for day in EVERY_DAY
    )


def qualified_performer(site: Site, *, on: datetime.date, **kwargs: Any) -> StaffMember:
    """A sonographer with the registry credentials and every ultrasound competency current on
    ``on`` (needs the catalog and credential reference data)."""
    from radflow.catalog.models import Competency
    from radflow.credentials.models import CompetencySignoff, Credential, CredentialType
    from tests.staff.factories import StaffMemberFactory

    us = ModalityFactory.create(code="US")
    member: StaffMember = StaffMemberFactory.create(home_site=site, modalities=[us], **kwargs)
    for code in ("ardms-rdms-ab", "ardms-rdms-ob", "ardms-rvt"):
        kind = CredentialType.objects.filter(pk=code).first()
        if kind is not None:
            Credential.objects.create(
                staff=member,
                credential_type=kind,
                number=f"{code}-{member.employee_number}",
                issued_on=on - datetime.timedelta(days=3000),
                expires_on=on + datetime.timedelta(days=1000),
                verified_at=django_timezone.now(),
            )
    CompetencySignoff.objects.bulk_create(
        CompetencySignoff(
            staff=member,
            competency=competency,
            signed_off_on=on - datetime.timedelta(days=200),
            observed_cases=20,
            valid_until=on + datetime.timedelta(days=300),
        )
        for competency in Competency.objects.filter(modality_id="US")
    )
    return member


def booking_world(
    *,
    on: datetime.date,
    opens: datetime.time = datetime.time(7),
    closes: datetime.time = datetime.time(19),
    capabilities: tuple[str, ...] = (),
    site: Site | None = None,
) -> BookingWorld:
    site = site or SiteFactory.create(time_zone="America/New_York")
    us = ModalityFactory.create(code="US")
    room = RoomFactory.create(
        site=site,
        modality=us,
        name="Ultrasound 1",
        code=f"{site.code}-US1",
        capabilities=[RoomCapabilityFactory.create(code=c) for c in capabilities],
    )
    open_every_day(room, opens, closes)
    device = DeviceFactory.create(modality=us, room=room)
    sonographer = qualified_performer(site, on=on, given_name="Maria", family_name="Lopez")
    works_every_day(sonographer, opens, closes)
    return BookingWorld(site=site, room=room, device=device, sonographer=sonographer)


def add_room(world: BookingWorld, name: str, *, capabilities: tuple[str, ...] = ()) -> Room:
    room = RoomFactory.create(
        site=world.site,
        modality=world.room.modality,
        name=name,
        capabilities=[RoomCapabilityFactory.create(code=c) for c in capabilities],
    )
    hours = RoomOpeningHours.objects.filter(room=world.room)
    RoomOpeningHours.objects.bulk_create(
        RoomOpeningHours(room=room, weekday=h.weekday, opens=h.opens, closes=h.closes)
        for h in hours
    )
    world.extra_rooms.append(room)
    return room


def interpreter(name: str, languages: str, starts: datetime.time, ends: datetime.time) -> Any:
    found = Interpreter.objects.create(name=name, languages=languages, phone="(860) 555-0199")
    InterpreterHours.objects.bulk_create(
        InterpreterHours(interpreter=found, weekday=day, starts=starts, ends=ends)
        for day in EVERY_DAY
    )
    return found


def at(on: datetime.date, hour: int, minute: int = 0, zone: str = "America/New_York") -> Any:
    """An aware instant from a wall-clock time in ``zone``."""
    return datetime.datetime.combine(on, datetime.time(hour, minute), tzinfo=ZoneInfo(zone))
