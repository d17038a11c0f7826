"""The demo department's supplies catalogue: vendors and their contracts, the ultrasound items
with catalogue numbers and prices, and what each exam type uses (the consumption templates)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from radflow.supplies.models import ItemCategory

D = Decimal

#: name, account, contact, phone, email, contract no., terms, payment, quoted lead time (days)
VENDORS: list[tuple[str, str, str, str, str, str, str, str, int]] = [
    (
        "Parker Laboratories",
        "PKR-118204",
        "Dana Whitfield",
        "(973) 276-9500",
        "orders@parkerlabs.example",
        "GPO-PL-2025-07",
        "GPO tier 2 pricing; free freight over $250; returns within 30 days unopened.",
        "Net 30",
        4,
    ),
    (
        "CIVCO Medical Solutions",
        "CIV-55310",
        "Marcus Oyelaran",
        "(800) 445-6741",
        "customerservice@civco.example",
        "CIV-2024-112",
        "Contract pricing on covers and guides; back-orders shipped when available.",
        "Net 45",
        6,
    ),
    (
        "Medline Industries",
        "MED-7734019",
        "Priya Raman",
        "(800) 633-5463",
        "orders@medline.example",
        "MDL-GPO-3391",
        "Prime vendor agreement; next-day delivery on stocked items; minimum order $100.",
        "Net 30",
        2,
    ),
    (
        "PDI Healthcare",
        "PDI-220871",
        "Tom Greaves",
        "(800) 999-6423",
        "orders@pdihc.example",
        "PDI-2025-04",
        "Case pricing; freight prepaid.",
        "Net 30",
        5,
    ),
    (
        "Sony Medical",
        "SNY-009812",
        "Keiko Abe",
        "(877) 635-7669",
        "medical.orders@sony.example",
        "",
        "List price less 12 %; ships in cases of 10 rolls.",
        "Net 30",
        7,
    ),
    # Contrast vendors: the contrast demo step adds their agents as items.
    (
        "Bracco Diagnostics",
        "BRC-440127",
        "Elena Marchetti",
        "(800) 257-5181",
        "orders@bracco.example",
        "BRC-2025-01",
        "Contrast agreement; lot and expiry on every packing slip.",
        "Net 45",
        3,
    ),
    (
        "GE HealthCare",
        "GEH-871150",
        "Robert Kim",
        "(800) 643-6439",
        "pharma.orders@gehealthcare.example",
        "GEH-RX-8812",
        "Contrast agreement; cold-chain not required.",
        "Net 45",
        3,
    ),
    (
        "Bayer",
        "BAY-300982",
        "Sabine Kruger",
        "(877) 229-3767",
        "radiology.orders@bayer.example",
        "BAY-2025-19",
        "Contrast agreement.",
        "Net 45",
        4,
    ),
]


@dataclass(frozen=True)
class ItemSpec:
    key: str
    name: str
    category: str
    unit: str
    vendor: str
    catalogue: str
    price: str
    lot_tracked: bool = False
    shelf_life_days: int = 0  # lot-tracked: a lot received today expires this many days later
    pack: int = 1  # orders are in whole packs of this many units


ITEMS: list[ItemSpec] = [
    ItemSpec(
        "gel",
        "Aquasonic 100 gel, 250 mL bottle",
        ItemCategory.GEL_NON_STERILE,
        "bottle",
        "Parker Laboratories",
        "01-08",
        "2.10",
        pack=12,
    ),
    ItemSpec(
        "gel5l",
        "Aquasonic 100 gel, 5 L refill",
        ItemCategory.GEL_NON_STERILE,
        "jug",
        "Parker Laboratories",
        "01-50",
        "18.50",
        pack=4,
    ),
    ItemSpec(
        "sgel",
        "Aquasonic 100 sterile gel, 20 g packet",
        ItemCategory.GEL_STERILE,
        "packet",
        "Parker Laboratories",
        "01-01",
        "0.85",
        True,
        720,
        48,
    ),
    ItemSpec(
        "ecover",
        "Endocavity probe cover, latex-free",
        ItemCategory.PROBE_COVER,
        "each",
        "CIVCO Medical Solutions",
        "610-844",
        "0.95",
        True,
        1095,
        144,
    ),
    ItemSpec(
        "skit",
        "Sterile general-purpose probe cover kit",
        ItemCategory.PROBE_COVER,
        "kit",
        "CIVCO Medical Solutions",
        "610-1212",
        "6.40",
        True,
        1095,
        24,
    ),
    ItemSpec(
        "guide",
        "Verza needle guidance kit",
        ItemCategory.NEEDLE_GUIDE,
        "kit",
        "CIVCO Medical Solutions",
        "610-1462",
        "28.00",
        True,
        1095,
        12,
    ),
    ItemSpec(
        "needle",
        "Spinal needle 22 G x 3.5 in",
        ItemCategory.NEEDLE_GUIDE,
        "each",
        "Medline Industries",
        "DYND70537",
        "3.20",
        True,
        1460,
        25,
    ),
    ItemSpec(
        "paper",
        "Exam table paper, 21 in x 225 ft roll",
        ItemCategory.LINEN,
        "roll",
        "Medline Industries",
        "NON24325",
        "7.90",
        pack=12,
    ),
    ItemSpec(
        "gown",
        "Patient gown, disposable",
        ItemCategory.LINEN,
        "each",
        "Medline Industries",
        "NON27213",
        "0.65",
        pack=50,
    ),
    ItemSpec(
        "pillow",
        "Pillowcase, disposable",
        ItemCategory.LINEN,
        "each",
        "Medline Industries",
        "NON24346",
        "0.30",
        pack=100,
    ),
    ItemSpec(
        "chux",
        "Underpad 23 x 36 in",
        ItemCategory.LINEN,
        "each",
        "Medline Industries",
        "MSC282050",
        "0.40",
        pack=150,
    ),
    ItemSpec(
        "wipes",
        "Sani-Cloth Plus germicidal wipes, 160 ct canister",
        ItemCategory.WIPES,
        "canister",
        "PDI Healthcare",
        "Q89072",
        "8.75",
        pack=12,
    ),
    ItemSpec(
        "superwipes",
        "Super Sani-Cloth wipes, 160 ct canister",
        ItemCategory.WIPES,
        "canister",
        "PDI Healthcare",
        "Q55172",
        "11.20",
        pack=12,
    ),
    ItemSpec(
        "printer",
        "UPP-110HG high-glossy thermal paper roll",
        ItemCategory.PRINTER_MEDIA,
        "roll",
        "Sony Medical",
        "UPP-110HG",
        "9.80",
        pack=10,
    ),
]

#: Every ultrasound exam: gel, table paper, a pillowcase and wipes for the probe.
BASE = {"gel": "0.20", "paper": "0.02", "pillow": "1", "wipes": "0.02"}
ENDOCAVITY = {"ecover": "1"}
GOWN = {"gown": "1"}
PROCEDURE = {
    "sgel": "2",
    "skit": "1",
    "guide": "1",
    "needle": "1",
    "chux": "1",
    "superwipes": "0.02",
}

#: Exam-type code patterns and the lines they add to BASE (every matching pattern applies).
TEMPLATES: list[tuple[tuple[str, ...], dict[str, str]]] = [
    (("us-ob", "us-fetal"), {"printer": "0.02"}),  # prints for the parents
    (("us-transvaginal", "us-pelvis-ta-tv", "us-ob-transvaginal"), {**ENDOCAVITY, **GOWN}),
    (
        ("us-liver-biopsy", "us-renal-biopsy", "us-thyroid-fna", "us-breast-biopsy"),
        {**PROCEDURE, **GOWN},
    ),
    (("us-paracentesis", "us-thoracentesis"), {**PROCEDURE, "gown": "1", "chux": "2"}),
    (("us-vascular-access",), {"sgel": "1", "skit": "1"}),
    (
        ("us-abdomen", "us-renal", "us-aorta", "us-pelvis", "us-scrotum", "us-breast", "us-chest"),
        GOWN,
    ),
]

#: Adjustments a sonographer makes on the exam: (item key, change, probability).
ADJUSTMENTS = [("gel", D("0.20"), 0.07), ("ecover", D("1"), 0.05), ("gown", D("-1"), 0.04)]

#: Ordering is paused for these (item key) in the last weeks (a budget hold), so the reorder
#: list has something to show.
PAUSED = {"printer", "superwipes"}
PAUSE_DAYS = 28
