"""Demo step: three sites, their imaging departments, rooms with opening hours, scanners and probes.

Names and models are real-sounding (the vendors' own product names); serial numbers are invented.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from radflow.demo.context import DemoContext
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

TIME_ZONE = "America/New_York"

SITES: list[dict[str, str]] = [
    {
        "code": "MAIN",
        "name": "Riverbend General Hospital",
        "address": "1200 Riverbend Avenue\nHartford, CT 06106",
        "phone": "(860) 555-0100",
        "department": "Radiology and Imaging",
        "cost_centre": "7100-RAD-MAIN",
    },
    {
        "code": "OIC",
        "name": "Riverbend Outpatient Imaging Center",
        "address": "45 Farmington Avenue, Suite 200\nWest Hartford, CT 06107",
        "phone": "(860) 555-0140",
        "department": "Outpatient Imaging",
        "cost_centre": "7200-RAD-OIC",
    },
    {
        "code": "WHC",
        "name": "Riverbend Women's Health Clinic",
        "address": "310 Main Street\nGlastonbury, CT 06033",
        "phone": "(860) 555-0170",
        "department": "Women's Imaging",
        "cost_centre": "7300-RAD-WHC",
    },
]

WEEKDAYS = range(5)
WEEKEND = (5, 6)

#: Weekly opening intervals (weekday, opens, closes) by profile.
HOURS: dict[str, list[tuple[int, time, time]]] = {
    # Main hospital rooms that cover the weekend as well.
    "hospital_7d": [(d, time(7), time(21)) for d in WEEKDAYS]
    + [(d, time(8), time(16)) for d in WEEKEND],
    "hospital_weekdays": [(d, time(7), time(21)) for d in WEEKDAYS],
    # Procedure suites, nuclear medicine and PET keep day hours.
    "hospital_day": [(d, time(7, 30), time(17)) for d in WEEKDAYS],
    "outpatient": [(d, time(7), time(19)) for d in WEEKDAYS] + [(5, time(8), time(14))],
    "clinic": [(d, time(8), time(17)) for d in WEEKDAYS],
}


@dataclass(frozen=True)
class ProbeModel:
    model: str
    probe_type: ProbeType


@dataclass(frozen=True)
class DeviceModel:
    manufacturer: str
    model: str
    serial_prefix: str
    probes: tuple[ProbeModel, ...] = ()


L, C, P, E, T = (
    ProbeType.LINEAR,
    ProbeType.CURVED,
    ProbeType.PHASED,
    ProbeType.ENDOCAVITARY,
    ProbeType.TEE,
)

LOGIQ_E10 = DeviceModel(
    "GE HealthCare",
    "LOGIQ E10",
    "LE10",
    (
        ProbeModel("ML6-15-D", L),
        ProbeModel("C1-6-D", C),
        ProbeModel("M5Sc-D", P),
        ProbeModel("IC5-9-D", E),
    ),
)
EPIQ_ELITE = DeviceModel(
    "Philips",
    "EPIQ Elite",
    "US9",
    (
        ProbeModel("eL18-4", L),
        ProbeModel("C5-1", C),
        ProbeModel("X5-1", P),
        ProbeModel("C10-3v", E),
    ),
)
EPIQ_CVX = DeviceModel(
    "Philips",
    "EPIQ CVx",
    "US8",
    (ProbeModel("X5-1", P), ProbeModel("S5-1", P), ProbeModel("X8-2t", T), ProbeModel("L12-3", L)),
)
SEQUOIA = DeviceModel(
    "Siemens Healthineers",
    "ACUSON Sequoia",
    "SQ",
    (ProbeModel("18L6", L), ProbeModel("5C1", C), ProbeModel("10L4", L), ProbeModel("EV9C4", E)),
)
APLIO_I800 = DeviceModel(
    "Canon Medical Systems",
    "Aplio i800",
    "AI8",
    (
        ProbeModel("i18LX5", L),
        ProbeModel("i8CX1", C),
        ProbeModel("PST-25BT", P),
        ProbeModel("PVT-781VT", E),
    ),
)
VOLUSON_EXPERT_22 = DeviceModel(
    "GE HealthCare",
    "Voluson Expert 22",
    "VE22",
    (
        ProbeModel("eM6C", C),
        ProbeModel("RM7C", C),
        ProbeModel("RIC10-5-D", E),
        ProbeModel("ML6-15-D", L),
    ),
)
VOLUSON_E10 = DeviceModel(
    "GE HealthCare",
    "Voluson E10",
    "VE10",
    (ProbeModel("RAB6-D", C), ProbeModel("RIC5-9-D", E), ProbeModel("C2-9-D", C)),
)
HERA_W10 = DeviceModel(
    "Samsung Medison",
    "HERA W10",
    "HW10",
    (ProbeModel("CV1-8A", C), ProbeModel("EV2-10A", E), ProbeModel("LA2-14A", L)),
)
SONOSITE_PX = DeviceModel(
    "Fujifilm Sonosite",
    "Sonosite PX",
    "SPX",
    (ProbeModel("L15-4", L), ProbeModel("C5-1", C), ProbeModel("P5-1", P)),
)
SCANNERS: dict[str, DeviceModel] = {
    "revolution": DeviceModel("GE HealthCare", "Revolution Apex CT", "RVX"),
    "force": DeviceModel("Siemens Healthineers", "SOMATOM Force", "SF"),
    "aquilion": DeviceModel("Canon Medical Systems", "Aquilion ONE PRISM", "AQP"),
    "vida": DeviceModel("Siemens Healthineers", "MAGNETOM Vida", "MV3T"),
    "artist": DeviceModel("GE HealthCare", "SIGNA Artist", "SA15"),
    "ysio": DeviceModel("Siemens Healthineers", "YSIO X.pree", "YX"),
    "definium": DeviceModel("GE HealthCare", "Definium 656 HD", "D656"),
    "amx": DeviceModel("GE HealthCare", "AMX Navigate", "AMXN"),
    "drx": DeviceModel("Carestream", "DRX-Evolution Plus", "DRXE"),
    "dimensions3d": DeviceModel("Hologic", "3Dimensions", "3DM"),
    "selenia": DeviceModel("Hologic", "Selenia Dimensions", "SDM"),
    "intevo": DeviceModel("Siemens Healthineers", "Symbia Intevo Bold", "SIB"),
    "discovery_mi": DeviceModel("GE HealthCare", "Discovery MI", "DMI"),
    "azurion": DeviceModel("Philips", "Azurion 7 M20", "AZ7"),
    "luminos": DeviceModel("Siemens Healthineers", "Luminos dRF Max", "LDM"),
}


@dataclass(frozen=True)
class RoomPlan:
    site: str
    code: str
    name: str
    modality: str
    capabilities: tuple[str, ...]
    hours: str
    device: DeviceModel


ROOMS: list[RoomPlan] = [
    # Main hospital: inpatients, the emergency department and procedures.
    RoomPlan(
        "MAIN",
        "MAIN-US01",
        "Ultrasound 1",
        "US",
        ("vascular", "private-changing"),
        "hospital_7d",
        LOGIQ_E10,
    ),
    RoomPlan(
        "MAIN",
        "MAIN-US02",
        "Ultrasound 2",
        "US",
        ("vascular", "elastography"),
        "hospital_7d",
        EPIQ_ELITE,
    ),
    RoomPlan(
        "MAIN",
        "MAIN-US03",
        "Ultrasound 3 (bariatric)",
        "US",
        ("vascular", "bariatric", "private-changing"),
        "hospital_weekdays",
        SEQUOIA,
    ),
    RoomPlan(
        "MAIN",
        "MAIN-US04",
        "Ultrasound 4 (procedures)",
        "US",
        ("procedure", "vascular", "ceus"),
        "hospital_day",
        APLIO_I800,
    ),
    RoomPlan(
        "MAIN",
        "MAIN-US05",
        "Ultrasound 5 (pediatric)",
        "US",
        ("pediatric", "private-changing"),
        "hospital_weekdays",
        LOGIQ_E10,
    ),
    RoomPlan(
        "MAIN",
        "MAIN-US06",
        "Ultrasound 6 (cardiac)",
        "US",
        ("cardiac", "vascular"),
        "hospital_weekdays",
        EPIQ_CVX,
    ),
    RoomPlan(
        "MAIN",
        "MAIN-USP1",
        "Portable ultrasound",
        "US",
        ("portable", "vascular"),
        "hospital_7d",
        SONOSITE_PX,
    ),
    RoomPlan(
        "MAIN",
        "MAIN-CT01",
        "CT 1 (emergency)",
        "CT",
        ("contrast-injector", "cardiac", "dual-energy", "bariatric"),
        "hospital_7d",
        SCANNERS["revolution"],
    ),
    RoomPlan(
        "MAIN", "MAIN-CT02", "CT 2", "CT", ("contrast-injector",), "hospital_7d", SCANNERS["force"]
    ),
    RoomPlan(
        "MAIN",
        "MAIN-MR01",
        "MRI 1 (3T)",
        "MR",
        ("mr-3t", "contrast-injector", "cardiac"),
        "hospital_7d",
        SCANNERS["vida"],
    ),
    RoomPlan("MAIN", "MAIN-XR01", "X-ray 1", "DX", (), "hospital_7d", SCANNERS["ysio"]),
    RoomPlan(
        "MAIN",
        "MAIN-XR02",
        "X-ray 2",
        "DX",
        ("bariatric",),
        "hospital_weekdays",
        SCANNERS["definium"],
    ),
    RoomPlan(
        "MAIN", "MAIN-XRP1", "Portable X-ray", "DX", ("portable",), "hospital_7d", SCANNERS["amx"]
    ),
    RoomPlan(
        "MAIN",
        "MAIN-NM01",
        "Nuclear medicine 1",
        "NM",
        ("spect-ct", "cardiac"),
        "hospital_day",
        SCANNERS["intevo"],
    ),
    RoomPlan("MAIN", "MAIN-PT01", "PET/CT", "PT", (), "hospital_day", SCANNERS["discovery_mi"]),
    RoomPlan(
        "MAIN",
        "MAIN-IR01",
        "Interventional suite",
        "XA",
        ("procedure", "contrast-injector"),
        "hospital_day",
        SCANNERS["azurion"],
    ),
    RoomPlan("MAIN", "MAIN-RF01", "Fluoroscopy", "RF", (), "hospital_day", SCANNERS["luminos"]),
    # Outpatient imaging centre: scheduled outpatients, longer weekday hours and Saturday.
    RoomPlan("OIC", "OIC-US01", "Ultrasound 1", "US", ("vascular",), "outpatient", EPIQ_ELITE),
    RoomPlan(
        "OIC", "OIC-US02", "Ultrasound 2", "US", ("vascular", "elastography"), "outpatient", SEQUOIA
    ),
    RoomPlan(
        "OIC",
        "OIC-US03",
        "Ultrasound 3",
        "US",
        ("elastography", "private-changing"),
        "outpatient",
        APLIO_I800,
    ),
    RoomPlan(
        "OIC",
        "OIC-US04",
        "Ultrasound 4 (bariatric)",
        "US",
        ("bariatric", "private-changing"),
        "clinic",
        LOGIQ_E10,
    ),
    RoomPlan(
        "OIC", "OIC-CT01", "CT 1", "CT", ("contrast-injector",), "outpatient", SCANNERS["aquilion"]
    ),
    RoomPlan(
        "OIC",
        "OIC-MR01",
        "MRI 1 (wide bore)",
        "MR",
        ("mr-wide-bore", "contrast-injector"),
        "outpatient",
        SCANNERS["artist"],
    ),
    RoomPlan("OIC", "OIC-XR01", "X-ray 1", "DX", (), "outpatient", SCANNERS["drx"]),
    RoomPlan(
        "OIC",
        "OIC-MG01",
        "Mammography 1",
        "MG",
        ("tomosynthesis",),
        "outpatient",
        SCANNERS["dimensions3d"],
    ),
    # Women's health clinic: obstetric, gynecologic and breast imaging.
    RoomPlan(
        "WHC",
        "WHC-US01",
        "Ultrasound 1 (OB 3D/4D)",
        "US",
        ("3d-4d", "private-changing"),
        "clinic",
        VOLUSON_EXPERT_22,
    ),
    RoomPlan(
        "WHC",
        "WHC-US02",
        "Ultrasound 2 (OB 3D/4D)",
        "US",
        ("3d-4d", "private-changing"),
        "clinic",
        VOLUSON_E10,
    ),
    RoomPlan(
        "WHC",
        "WHC-US03",
        "Ultrasound 3 (gynecology)",
        "US",
        ("private-changing",),
        "clinic",
        HERA_W10,
    ),
    RoomPlan(
        "WHC", "WHC-US04", "Ultrasound 4 (breast)", "US", ("procedure",), "clinic", APLIO_I800
    ),
    RoomPlan(
        "WHC",
        "WHC-MG01",
        "Mammography 1",
        "MG",
        ("tomosynthesis", "stereotactic"),
        "clinic",
        SCANNERS["selenia"],
    ),
]


def _serial(rng: random.Random, prefix: str, taken: set[str]) -> str:
    while True:
        serial = f"{prefix}{rng.randint(100000, 999999)}"
        if serial not in taken:
            taken.add(serial)
            return serial


def _ae_title(plan: RoomPlan) -> str:
    """``US_MAIN_01`` style: modality, site, room number; at most 16 characters (PS3.5 AE VR)."""
    return f"{plan.modality}_{plan.site}_{plan.code.rsplit('-', 1)[1][2:]}"


def generate(ctx: DemoContext) -> None:
    rng = ctx.random("scheduling")
    modalities = {m.code: m for m in Modality.objects.all()}
    capabilities = {c.code: c for c in RoomCapability.objects.all()}

    sites: dict[str, Site] = {}
    departments: dict[str, Department] = {}
    for spec in SITES:
        site = Site(
            code=spec["code"],
            name=spec["name"],
            address=spec["address"],
            phone=spec["phone"],
            time_zone=TIME_ZONE,
        )
        site.full_clean()
        site.save()
        department = Department(site=site, name=spec["department"], cost_centre=spec["cost_centre"])
        department.full_clean()
        department.save()
        sites[site.code] = site
        departments[site.code] = department

    rooms: list[Room] = []
    devices: list[Device] = []
    probes: list[Probe] = []
    hours: list[RoomOpeningHours] = []
    serials: set[str] = set()
    for plan in ROOMS:
        room = Room(
            site=sites[plan.site],
            department=departments[plan.site],
            code=plan.code,
            name=plan.name,
            modality=modalities[plan.modality],
        )
        room.full_clean()
        room.save()
        room.capabilities.set([capabilities[code] for code in plan.capabilities])
        hours.extend(
            RoomOpeningHours(room=room, weekday=weekday, opens=opens, closes=closes)
            for weekday, opens, closes in HOURS[plan.hours]
        )
        rooms.append(room)

        model = plan.device
        device = Device(
            kind=DeviceKind.ULTRASOUND if plan.modality == "US" else DeviceKind.SCANNER,
            modality=modalities[plan.modality],
            manufacturer=model.manufacturer,
            model_name=model.model,
            serial_number=_serial(rng, model.serial_prefix, serials),
            ae_title=_ae_title(plan),
            station_name=plan.code.replace("-", "")[:16],
            room=room,
            install_date=ctx.today - timedelta(days=rng.randint(120, 9 * 365)),
        )
        device.full_clean()
        device.save()
        devices.append(device)
        for probe_model in model.probes:
            probe = Probe(
                serial_number=_serial(rng, f"{model.serial_prefix}-P", serials),
                manufacturer=model.manufacturer,
                model_name=probe_model.model,
                probe_type=probe_model.probe_type,
                spaulding_class=DEFAULT_SPAULDING[probe_model.probe_type],
                device=device,
            )
            probe.full_clean()
            probe.save()
            probes.append(probe)

    RoomOpeningHours.objects.bulk_create(hours)
    ctx.objects.update(
        sites=sites, departments=departments, rooms=rooms, devices=devices, probes=probes
    )
    ctx.log(f"{len(sites)} sites, {len(rooms)} rooms, {len(devices)} devices, {len(probes)} probes")


# --- calendars (issue 5): a separate step, after staff and rosters ------------------------------

#: Weekly blocks kept for some exam types: (room, weekdays, starts, ends, label, code prefixes).
TEMPLATES: list[tuple[str, tuple[int, ...], time, time, str, tuple[str, ...]]] = [
    ("WHC-US01", tuple(WEEKDAYS), time(8), time(12), "OB mornings", ("us-ob", "us-fetal")),
    ("WHC-US02", tuple(WEEKDAYS), time(8), time(12), "OB mornings", ("us-ob", "us-fetal")),
    (
        "MAIN-US06",
        tuple(WEEKDAYS),
        time(13),
        time(17),
        "Vascular afternoons",
        ("us-carotid", "us-le-", "us-venous", "us-dialysis", "us-abdominal-duplex"),
    ),
    (
        "MAIN-US04",
        (1, 3),
        time(8),
        time(12),
        "Procedure mornings",
        ("-biopsy", "-fna", "paracentesis", "thoracentesis"),
    ),
]

#: Interpreters: name, languages (ISO 639-1), phone, weekdays, hours.
INTERPRETERS: list[tuple[str, str, str, tuple[int, ...], time, time]] = [
    ("Lucía Fernández", "es", "(860) 555-0311", tuple(WEEKDAYS), time(8), time(16)),
    ("Carlos Medina", "es,pt", "(860) 555-0312", (0, 1, 2, 3, 4, 5), time(11), time(19)),
    ("Paulo Costa", "pt", "(860) 555-0313", tuple(WEEKDAYS), time(8), time(14)),
    ("Marie-Claire Joseph", "ht,fr", "(860) 555-0314", tuple(WEEKDAYS), time(9), time(17)),
    ("Lan Nguyen", "vi", "(860) 555-0315", (1, 3), time(8), time(16)),
    ("Wei Zhang", "zh", "(860) 555-0316", (0, 2, 4), time(9), time(17)),
    ("Olga Petrova", "ru,pl", "(860) 555-0317", tuple(WEEKDAYS), time(10), time(18)),
    ("Layla Haddad", "ar", "(860) 555-0318", tuple(WEEKDAYS), time(8), time(12)),
    ("Priya Sharma", "hi", "(860) 555-0319", (2,), time(9), time(15)),
]

#: Standard hours by site: the patterns people rotate through (weekday hours; MAIN covers the
#: weekend with every fourth person).
STANDARD_HOURS: dict[str, list[tuple[time, time]]] = {
    "MAIN": [(time(7), time(15, 30)), (time(12, 30), time(21))],
    "OIC": [(time(7), time(15, 30)), (time(10, 30), time(19))],
    "WHC": [(time(8), time(16, 30))],
}


def _first_weekday(after: date, weekday: int) -> date:
    return after + timedelta(days=(weekday - after.weekday()) % 7)


def generate_calendars(ctx: DemoContext) -> None:
    """Booking templates, standard working hours, interpreters, closures and a downtime.

    Runs after staff and rosters (its own demo step) and before the bookings, which keep out of
    the closures and the downtime made here.
    """
    from radflow.catalog.models import ExamType
    from radflow.rostering.models import PublicHoliday
    from radflow.scheduling.availability import local_at
    from radflow.scheduling.models import (
        BookingTemplate,
        DeviceDowntime,
        Interpreter,
        InterpreterHours,
        RoomClosure,
        SiteClosure,
        StaffWorkingHours,
    )
    from radflow.staff.models import JobRole, StaffMember

    rooms = {room.code: room for room in Room.objects.select_related("site")}
    types = list(ExamType.objects.filter(active=True).order_by("code"))
    blocks = 0
    for code, weekdays, starts, ends, label, prefixes in TEMPLATES:
        room = rooms.get(code)
        if room is None:
            continue
        chosen = [
            t for t in types if t.modality_id == room.modality_id and t.code.startswith(prefixes)
        ]
        for weekday in weekdays:
            block = BookingTemplate.objects.create(
                room=room, weekday=weekday, starts=starts, ends=ends, label=label
            )
            block.exam_types.set(chosen)
            blocks += 1

    hours: list[StaffWorkingHours] = []
    performers = (
        StaffMember.objects.filter(
            active=True, job_role__in=[JobRole.SONOGRAPHER, JobRole.TECHNOLOGIST]
        )
        .select_related("home_site")
        .order_by("employee_number")
    )
    for index, member in enumerate(performers):
        patterns = STANDARD_HOURS.get(member.home_site.code, STANDARD_HOURS["MAIN"])
        starts, ends = patterns[index % len(patterns)]
        hours.extend(
            StaffWorkingHours(staff=member, weekday=day, starts=starts, ends=ends)
            for day in WEEKDAYS
        )
        if member.home_site.code == "MAIN" and index % 4 == 0:
            hours.extend(
                StaffWorkingHours(staff=member, weekday=day, starts=time(8), ends=time(16))
                for day in WEEKEND
            )
    StaffWorkingHours.objects.bulk_create(hours)

    interpreter_hours: list[InterpreterHours] = []
    for name, languages, phone, weekdays, starts, ends in INTERPRETERS:
        person = Interpreter.objects.create(name=name, languages=languages, phone=phone)
        interpreter_hours.extend(
            InterpreterHours(interpreter=person, weekday=day, starts=starts, ends=ends)
            for day in weekdays
        )
    InterpreterHours.objects.bulk_create(interpreter_hours)

    # The outpatient sites close on public holidays; the clinic has a training day.
    sites = {site.code: site for site in Site.objects.all()}
    horizon = ctx.today + timedelta(days=35)
    closures = [
        SiteClosure(site=sites[code], date=day.on_date, reason=day.name)
        for day in PublicHoliday.objects.filter(on_date__gte=ctx.today, on_date__lte=horizon)
        for code in ("OIC", "WHC")
        if code in sites
    ]
    training = _first_weekday(ctx.today + timedelta(days=10), 4)
    if "WHC" in sites and not any(c.date == training for c in closures):
        closures.append(SiteClosure(site=sites["WHC"], date=training, reason="Staff training day"))
    SiteClosure.objects.bulk_create(closures)

    zone = ZoneInfo(TIME_ZONE)
    repair_day = _first_weekday(ctx.today + timedelta(days=7), 0)
    if "OIC-US03" in rooms:
        RoomClosure.objects.create(
            room=rooms["OIC-US03"],
            start=local_at(repair_day, time(7), zone),
            end=local_at(repair_day, time(12), zone),
            reason="Flooring repair",
        )
    service_day = _first_weekday(ctx.today + timedelta(days=3), 2)
    downtime = 0
    for code, starts, ends, reason in (
        ("MAIN-CT02", time(13), time(17), "Planned maintenance: X-ray tube replacement"),
        ("MAIN-US02", time(7), time(9), "Software update"),
    ):
        device = Device.objects.filter(room__code=code).order_by("serial_number").first()
        if device is not None:
            DeviceDowntime.objects.create(
                device=device,
                start=local_at(service_day, starts, zone),
                end=local_at(service_day, ends, zone),
                reason=reason,
            )
            downtime += 1
    ctx.log(
        f"{blocks} template blocks, {len(hours)} standard-hours rows, {len(INTERPRETERS)} "
        f"interpreters, {len(closures)} site closures, 1 room closure, {downtime} downtimes"
    )
