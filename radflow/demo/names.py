"""Realistic names for a US hospital's mixed population, in the Latin script registration uses.

Faker supplies most names; Russian names are transliterated (BGN/PCGN-like, simplified), Chinese
names use Faker's pinyin, and Arabic names come from a short romanized list because Faker's
Arabic locales only write Arabic script.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from faker import Faker

from radflow.demo.context import DemoContext


@dataclass(frozen=True)
class Origin:
    """A naming tradition: where names come from and how often the person prefers its language."""

    key: str
    locale: str
    weight: float
    language: str  # ISO 639-1 code when the person prefers this language over English
    prefers_language: float  # share of people of this origin who prefer ``language``


ORIGINS: list[Origin] = [
    Origin("us", "en_US", 66.0, "en", 1.0),
    Origin("mx", "es_MX", 15.0, "es", 0.55),
    Origin("pr", "es_ES", 3.0, "es", 0.35),
    Origin("vn", "vi_VN", 2.5, "vi", 0.6),
    Origin("cn", "zh_CN", 2.5, "zh", 0.6),
    Origin("br", "pt_BR", 2.5, "pt", 0.55),
    Origin("ht", "fr_FR", 2.0, "ht", 0.6),
    Origin("ru", "ru_RU", 2.0, "ru", 0.5),
    Origin("ar", "ar_AA", 1.5, "ar", 0.5),
    Origin("pl", "pl_PL", 1.5, "pl", 0.45),
    Origin("in", "en_IN", 1.5, "hi", 0.15),
]

_RU = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        [
            "a",
            "b",
            "v",
            "g",
            "d",
            "e",
            "e",
            "zh",
            "z",
            "i",
            "y",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "kh",
            "ts",
            "ch",
            "sh",
            "shch",
            "",
            "y",
            "",
            "e",
            "yu",
            "ya",
        ],
        strict=True,
    )
)

ARABIC_GIVEN_MALE = [
    "Ahmed",
    "Mohammed",
    "Omar",
    "Youssef",
    "Khaled",
    "Hassan",
    "Ali",
    "Ibrahim",
    "Tariq",
    "Samir",
    "Karim",
    "Mahmoud",
    "Nabil",
    "Rami",
    "Walid",
    "Faisal",
    "Hamza",
    "Bilal",
]
ARABIC_GIVEN_FEMALE = [
    "Fatima",
    "Aisha",
    "Mariam",
    "Layla",
    "Nour",
    "Huda",
    "Rania",
    "Salma",
    "Yasmin",
    "Amira",
    "Dalia",
    "Hana",
    "Lina",
    "Reem",
    "Samira",
    "Zeinab",
    "Farah",
    "Noor",
]
ARABIC_FAMILY = [
    "Haddad",
    "Khalil",
    "Mansour",
    "Nasser",
    "Saleh",
    "Hamdan",
    "Aziz",
    "Farouk",
    "Said",
    "Abboud",
    "Karam",
    "Qasim",
    "Darwish",
    "Habib",
    "Jaber",
    "Othman",
    "Shalabi",
    "Zaki",
    "Al-Masri",
    "El-Sayed",
    "Hussein",
    "Rahman",
    "Bakr",
    "Suleiman",
]


def transliterate_ru(text: str) -> str:
    out = []
    for char in text:
        latin = _RU.get(char.lower())
        if latin is None:
            out.append(char)
        else:
            out.append(latin.capitalize() if char.isupper() else latin)
    return "".join(out)


def pick_origin(rng: random.Random) -> Origin:
    return rng.choices(ORIGINS, weights=[o.weight for o in ORIGINS])[0]


def person_name(
    ctx: DemoContext, stream: str, rng: random.Random, origin: Origin, female: bool
) -> tuple[str, str, str]:
    """(given, middle, family) in Latin script; middle is often empty."""
    fake = ctx.faker(origin.locale, stream)
    if origin.key == "ar":
        given = rng.choice(ARABIC_GIVEN_FEMALE if female else ARABIC_GIVEN_MALE)
        return given, "", rng.choice(ARABIC_FAMILY)
    if origin.key == "cn":
        return fake.first_romanized_name(), "", fake.last_romanized_name()
    given = _given(fake, female)
    family = fake.last_name_female() if female else fake.last_name_male()
    middle = ""
    if origin.key == "ru":
        # A patronymic, as Russian registration forms carry it, from a male given name.
        father = fake.first_name_male()
        stem, soft = (father[:-1], True) if father.endswith("й") else (father, False)
        suffix = ("евна" if soft else "овна") if female else ("евич" if soft else "ович")
        middle = transliterate_ru(stem + suffix)
        return transliterate_ru(given), middle, transliterate_ru(family)
    if origin.key in ("mx", "pr") and rng.random() < 0.35:
        family = f"{family} {fake.last_name()}"
    if origin.key in ("us", "pl", "br") and rng.random() < 0.35:
        middle = _given(fake, female)
    if middle == given:
        middle = ""
    return given, middle, family


def _given(fake: Faker, female: bool) -> str:
    name: str = fake.first_name_female() if female else fake.first_name_male()
    return name
