"""The per-process caches of reference data: whatever writes a watched table, by whatever path,
the next read sees it; nothing else empties them; a rolled-back change is never served."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection, transaction

from radflow.catalog import refdata
from radflow.catalog.models import ExamType, ProcedureCode, ReferenceGeneration
from radflow.interfaces.services_hl7_setup import hl7_interface_save
from radflow.orders.models import Requirement, SlaPolicy
from radflow.orders.services import completeness_rule_save
from radflow.scheduling.models import Site
from tests.patients.factories import PatientFactory
from tests.scheduling.factories import SiteFactory

pytestmark = pytest.mark.django_db


def _offered() -> list[str]:
    return sorted(ExamType.objects.filter(active=True).values_list("code", flat=True))


class Counting:
    """A cache of the offered exam codes that counts its loads."""

    def __init__(self) -> None:
        self.loads = 0
        self.cache = refdata.Cached(self._load)

    def _load(self) -> list[str]:
        self.loads += 1
        return _offered()


def _raw_update() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE catalog_examtype SET name = name || ' (raw)' WHERE code = %s", ["us-thyroid"]
        )


WRITES: dict[str, Callable[[], object]] = {
    "a bulk update of exam types": lambda: ExamType.objects.filter(code="us-thyroid").update(
        active=False
    ),
    "raw SQL on exam types": _raw_update,
    "a procedure code added to an exam type": lambda: ExamType.objects.get(
        code="us-thyroid"
    ).procedure_codes.add(ProcedureCode.objects.get(code="76700")),
    "a new site": lambda: SiteFactory.create(code="NORTH"),
    "a site renamed": lambda: Site.objects.filter(code="MAIN").update(name="Renamed"),
    "an HL7 interface added": lambda: hl7_interface_save(
        name="Lab",
        sending_application="LAB",
        sending_facility="",
        mrn_authority="RGH",
        procedure_code_system="CPT",
        site=None,
    ),
    "SLA policies removed": lambda: SlaPolicy.objects.filter(priority="urgent").delete(),
    "a completeness rule saved": lambda: completeness_rule_save(
        by=None, requirement=Requirement.PAYER.value
    ),
}


@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_every_write_to_watched_reference_data_moves_the_generation(
    reference: None, write: Callable[[], object]
) -> None:
    SiteFactory.create(code="MAIN")
    before = refdata.generation()
    assert before is not None

    write()

    assert refdata.generation() not in (None, before)


def test_the_cache_loads_once_until_its_data_changes(reference: None) -> None:
    offered = Counting()
    assert offered.cache.get() == offered.cache.get() == _offered()
    PatientFactory.create()  # not reference data: the cache stays
    assert (offered.cache.get(), offered.loads) == (_offered(), 1)

    ExamType.objects.filter(code="us-thyroid").update(active=False)

    assert "us-thyroid" not in offered.cache.get()
    assert offered.loads == 2


def test_a_change_rolled_back_is_never_served(reference: None) -> None:
    offered = Counting()
    assert "us-thyroid" in offered.cache.get()
    with pytest.raises(RuntimeError), transaction.atomic():
        ExamType.objects.filter(code="us-thyroid").update(active=False)
        assert "us-thyroid" not in offered.cache.get()  # its own change, seen at once
        raise RuntimeError("undo")

    assert "us-thyroid" in offered.cache.get()


def test_without_the_generation_row_nothing_is_cached(reference: None) -> None:
    ReferenceGeneration.objects.all().delete()
    offered = Counting()

    offered.cache.get()
    offered.cache.get()

    assert (refdata.generation(), offered.loads) == (None, 2)


def test_installing_again_keeps_one_row_and_the_triggers(reference: None) -> None:
    refdata.install(connection)
    refdata.install(connection)
    before = refdata.generation()

    ExamType.objects.filter(code="us-thyroid").update(active=False)

    assert ReferenceGeneration.objects.count() == 1
    assert refdata.generation() != before
