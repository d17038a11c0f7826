"""Factories for the department model, with values a real department would have."""

from __future__ import annotations

import datetime

from factory.declarations import Iterator, LazyAttribute, Sequence, SubFactory
from factory.django import DjangoModelFactory
from factory.faker import Faker
from factory.helpers import post_generation

from radflow.scheduling.models import (
    DEFAULT_SPAULDING,
    Department,
    Device,
    DeviceKind,
    Modality,
    Probe,
    ProbeType,
    Room,
    RoomCapability,
    RoomOpeningHours,
    Site,
)

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
