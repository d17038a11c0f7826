"""Demo step: the department's patients (5,000 by default), with contacts, allergies and IDs.

The population is a Connecticut catchment: mostly English speakers, a realistic share preferring
Spanish, Vietnamese, Chinese, Portuguese, Haitian Creole, Russian, Arabic, Polish or Hindi, many
of whom need an interpreter. Rows are bulk-inserted (with their history rows) for speed.
"""

from __future__ import annotations

import random
import string
import unicodedata
from datetime import date, timedelta

from simple_history.utils import bulk_create_with_history

from radflow.billing.models import Payer
from radflow.demo.context import DemoContext
from radflow.demo.names import ORIGINS, Origin, person_name, pick_origin
from radflow.patients.models import (
    AdministrativeSex,
    Allergy,
    AllergyCategory,
    AllergySeverity,
    IdentifierType,
    Patient,
    PatientContact,
    PatientIdentifier,
)

#: The main hospital's MRN namespace (HL7 PID-3.4 / DICOM Issuer of Patient ID).
MRN_AUTHORITY = "RADFLOW"
DRIVERS_LICENCE_AUTHORITY = "US-CT"
BATCH = 1000

#: (town, ZIP code) around the three sites; street addresses are invented.
TOWNS: list[tuple[str, str]] = [
    ("Hartford", "06105"),
    ("Hartford", "06106"),
    ("Hartford", "06112"),
    ("Hartford", "06114"),
    ("West Hartford", "06107"),
    ("West Hartford", "06117"),
    ("East Hartford", "06108"),
    ("Glastonbury", "06033"),
    ("Wethersfield", "06109"),
    ("Newington", "06111"),
    ("New Britain", "06051"),
    ("New Britain", "06053"),
    ("Manchester", "06040"),
    ("Bloomfield", "06002"),
    ("Windsor", "06095"),
    ("Enfield", "06082"),
    ("Bristol", "06010"),
    ("Middletown", "06457"),
    ("Rocky Hill", "06067"),
    ("Farmington", "06032"),
]
AREA_CODES = ["860", "860", "860", "959", "203"]

#: (substance, category, reactions, probability, severe share).
ALLERGIES: list[tuple[str, AllergyCategory, tuple[str, ...], float, float]] = [
    ("Penicillin", AllergyCategory.DRUG, ("Hives", "Rash", "Anaphylaxis"), 0.08, 0.1),
    ("Sulfonamide antibiotics", AllergyCategory.DRUG, ("Rash", "Hives"), 0.03, 0.05),
    ("Codeine", AllergyCategory.DRUG, ("Nausea and vomiting", "Itching"), 0.02, 0.0),
    (
        "Iodinated contrast media",
        AllergyCategory.CONTRAST,
        ("Hives", "Flushing", "Bronchospasm"),
        0.025,
        0.2,
    ),
    ("Gadolinium-based contrast", AllergyCategory.CONTRAST, ("Hives", "Nausea"), 0.005, 0.1),
    ("Latex", AllergyCategory.LATEX, ("Contact dermatitis", "Hives", "Anaphylaxis"), 0.015, 0.2),
    ("Shellfish", AllergyCategory.FOOD, ("Hives", "Swelling of lips"), 0.015, 0.2),
    ("Peanuts", AllergyCategory.FOOD, ("Anaphylaxis", "Hives"), 0.01, 0.4),
    ("Adhesive tape", AllergyCategory.ENVIRONMENT, ("Skin irritation",), 0.01, 0.0),
]

ADULT_RELATIONSHIPS = [
    "Spouse",
    "Spouse",
    "Partner",
    "Daughter",
    "Son",
    "Sister",
    "Brother",
    "Friend",
    "Mother",
    "Father",
]
MINOR_RELATIONSHIPS = ["Mother", "Mother", "Father", "Guardian", "Grandmother"]

#: Medicare Beneficiary Identifier letters (CMS excludes S, L, O, I, B and Z).
MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"

COMMERCIAL_CODES = ["AET-POS", "ANT-PPO", "ANT-HMO", "UHC-CP", "CIG-OAP", "CCI-CHOICE"]


def _age_days(rng: random.Random, female: bool) -> int:
    """Age in days: ultrasound's population leans to women of child-bearing age and the old."""
    bands = [(0, 17, 8), (18, 44, 30 if female else 20), (45, 64, 32), (65, 98, 30)]
    low, high, _ = rng.choices(bands, weights=[weight for *_, weight in bands])[0]
    return rng.randint(low * 365, high * 365 + 364)


def _phone(rng: random.Random) -> str:
    return f"({rng.choice(AREA_CODES)}) {rng.randint(201, 989)}-{rng.randint(0, 9999):04d}"


def _email_local(*parts: str) -> str:
    folded = unicodedata.normalize("NFKD", ".".join(parts)).encode("ascii", "ignore")
    return "".join(ch for ch in folded.decode("ascii").lower() if ch.isalnum() or ch == ".")


def _mbi(rng: random.Random) -> str:
    digits, letters = string.digits, MBI_LETTERS
    both = digits + letters
    return "".join(
        [
            rng.choice("123456789"),
            rng.choice(letters),
            rng.choice(both),
            rng.choice(digits),
            rng.choice(letters),
            rng.choice(both),
            rng.choice(digits),
            rng.choice(letters),
            rng.choice(letters),
            rng.choice(digits),
            rng.choice(digits),
        ]
    )


def _coverage(rng: random.Random, age: int) -> str | None:
    """The payer code of the patient's primary coverage, or None for self-pay."""
    draw = rng.random()
    if age >= 65:
        if draw < 0.68:
            return "MCR-B"
        if draw < 0.92:
            return rng.choice(["AET-MAPPO", "UHC-MAHMO"])
        return None
    if age < 19:
        if draw < 0.45:
            return "MCD-HUSKYA"
        return rng.choice(COMMERCIAL_CODES) if draw < 0.96 else None
    if draw < 0.18:
        return rng.choice(["MCD-HUSKYA", "MCD-HUSKYD"])
    if draw < 0.88:
        return rng.choice(COMMERCIAL_CODES)
    if draw < 0.91:
        return "HIG-WC"
    return None


def _member_id(rng: random.Random, payer_code: str) -> str:
    if payer_code == "MCR-B":
        return _mbi(rng)
    if payer_code.startswith("MCD"):
        return f"{rng.randint(100000000, 999999999)}"
    if payer_code == "HIG-WC":
        return f"WC{rng.randint(2015, 2025)}-{rng.randint(100000, 999999)}"
    prefix = "".join(rng.choice(string.ascii_uppercase) for _ in range(3))
    return f"{prefix}{rng.randint(100000000, 999999999)}"


def _language(rng: random.Random, origin: Origin, age: int) -> tuple[str, bool]:
    if origin.language == "en":
        return "en", False
    share = origin.prefers_language + (0.2 if age >= 60 else -0.25 if age < 18 else 0.0)
    if rng.random() >= share:
        return "en", False
    return origin.language, rng.random() < 0.75


def generate(ctx: DemoContext) -> None:
    rng = ctx.random("patients")
    fake_us = ctx.faker("en_US", "patients-address")
    payers = {payer.payer_code: payer for payer in Payer.objects.all()}
    count = ctx.patients_count
    mrns = rng.sample(range(10_000_000, 99_999_999), count)
    taken_ids: set[tuple[str, str, str]] = set()

    patients: list[Patient] = []
    contacts: list[PatientContact] = []
    allergies: list[Allergy] = []
    identifiers: list[PatientIdentifier] = []
    for index in range(count):
        female = rng.random() < 0.57
        origin = pick_origin(rng)
        age_days = _age_days(rng, female)
        age = age_days // 365
        birth_date: date = ctx.today - timedelta(days=age_days)
        given, middle, family = person_name(ctx, "patients", rng, origin, female)
        sex = AdministrativeSex.FEMALE if female else AdministrativeSex.MALE
        if rng.random() < 0.004:
            sex = rng.choice([AdministrativeSex.OTHER, AdministrativeSex.UNKNOWN])
        language, interpreter = _language(rng, origin, age)
        town, postal_code = rng.choice(TOWNS)
        suffix = ""
        if origin.key == "us" and not female and age >= 18 and rng.random() < 0.03:
            suffix = rng.choice(["Jr.", "Sr.", "III"])
        email = ""
        if age >= 16 and rng.random() < 0.55:
            domain = rng.choice(["example.com", "example.net", "example.org"])
            email = f"{_email_local(given, family)}{rng.randint(1, 99)}@{domain}"
        patient = Patient(
            mrn=f"{mrns[index]:08d}",
            mrn_authority=MRN_AUTHORITY,
            family_name=family,
            given_name=given,
            middle_name=middle,
            suffix=suffix,
            birth_date=birth_date,
            sex=sex,
            language=language,
            interpreter_needed=interpreter,
            phone=_phone(rng),
            email=email,
            address_line=fake_us.street_address(),
            city=town,
            state="CT",
            postal_code=postal_code,
        )
        patients.append(patient)

        if age < 18 or rng.random() < 0.35:
            contact_female = rng.random() < 0.6
            contact_given, _, contact_family = person_name(
                ctx, "patients-contacts", rng, origin, contact_female
            )
            if age < 18:
                relationship = rng.choice(MINOR_RELATIONSHIPS)
                contact_family = family if rng.random() < 0.8 else contact_family
            else:
                relationship = rng.choice(ADULT_RELATIONSHIPS)
            contacts.append(
                PatientContact(
                    patient=patient,
                    name=f"{contact_given} {contact_family}",
                    relationship=relationship,
                    phone=_phone(rng),
                )
            )

        for substance, category, reactions, probability, severe_share in ALLERGIES:
            if rng.random() < probability:
                severity = (
                    AllergySeverity.SEVERE
                    if rng.random() < severe_share
                    else rng.choice([AllergySeverity.MILD, AllergySeverity.MODERATE])
                )
                allergies.append(
                    Allergy(
                        patient=patient,
                        substance=substance,
                        category=category,
                        reaction=rng.choice(reactions),
                        severity=severity,
                    )
                )

        payer_code = _coverage(rng, age)
        if payer_code is not None and payer_code in payers:
            _add_identifier(
                identifiers, taken_ids, rng, patient, payer_code, IdentifierType.INSURANCE
            )
        if age >= 16 and rng.random() < 0.3:
            _add_identifier(
                identifiers,
                taken_ids,
                rng,
                patient,
                DRIVERS_LICENCE_AUTHORITY,
                IdentifierType.DRIVERS_LICENSE,
            )

    bulk_create_with_history(patients, Patient, batch_size=BATCH)
    bulk_create_with_history(contacts, PatientContact, batch_size=BATCH)
    bulk_create_with_history(allergies, Allergy, batch_size=BATCH)
    bulk_create_with_history(identifiers, PatientIdentifier, batch_size=BATCH)
    ctx.objects["patients"] = patients
    languages = sorted({o.language for o in ORIGINS})
    ctx.log(
        f"{len(patients)} patients ({len(languages)} languages), {len(contacts)} contacts, "
        f"{len(allergies)} allergies, {len(identifiers)} identifiers"
    )


def _add_identifier(
    identifiers: list[PatientIdentifier],
    taken: set[tuple[str, str, str]],
    rng: random.Random,
    patient: Patient,
    authority: str,
    id_type: IdentifierType,
) -> None:
    while True:
        if id_type == IdentifierType.INSURANCE:
            value = _member_id(rng, authority)
        else:
            value = f"{rng.randint(100000000, 999999999)}"
        key = (authority, id_type.value, value)
        if key not in taken:
            taken.add(key)
            break
    identifiers.append(
        PatientIdentifier(patient=patient, value=value, authority=authority, type=id_type)
    )
