"""Properties of worklist matching and answers, over generated steps and identifiers."""

from __future__ import annotations

import datetime as dt
import struct
from io import BytesIO
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset
from pynetdicom.dsutils import decode, encode

from radflow.core.dicom.matching import (
    IDENTIFIER_DOES_NOT_MATCH,
    SPS_ITEM,
    TOP_LEVEL,
    TYPE1_PLACEHOLDERS,
    UNABLE_TO_PROCESS,
    QueryError,
    encode_answer,
    matches,
    parse_query,
    respond,
)
from radflow.core.dicom.worklist import name_key
from tests.core.dicom.worklist_entries import NEW_YORK, entry, identifier, put, step

# Letters of every script (no PN delimiters, wild cards or spaces): the names modalities send.
letters = st.characters(categories=("Lu", "Ll", "Lo"), max_codepoint=0x2FFFF)
name_part = st.text(letters, min_size=1, max_size=10)
person_names = st.builds(lambda f, g: f"{f}^{g}", name_part, name_part)
ids = st.text(st.sampled_from("ABCXYZ0123456789-"), min_size=1, max_size=12)
starts = st.datetimes(
    min_value=dt.datetime(2020, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
    max_value=dt.datetime(2030, 12, 31),  # noqa: DTZ001
    timezones=st.just(NEW_YORK),
    allow_imaginary=False,
)
entries = st.builds(
    entry,
    patient_name=person_names,
    patient_id=ids,
    accession_number=ids,
    sps_start=starts,
    modality=st.sampled_from(["US", "CT", "MR"]),
    station_ae=st.sampled_from(["US_ROOM_A", "US_ROOM_B", "CT_1", ""]),
    allergies=st.text(max_size=80),
    pregnancy_status=st.sampled_from([None, 1, 2, 3, 4]),
)
cases = st.sampled_from([str.upper, str.lower, str.title, lambda s: s])


def _date(value: dt.datetime) -> str:
    return value.strftime("%Y%m%d")


@given(entries, cases)
def test_a_step_matches_a_query_made_of_its_own_values(candidate: Any, case: Any) -> None:
    ds = identifier(
        step(
            Modality=candidate.modality,
            ScheduledProcedureStepStartDate=_date(candidate.sps_start),
            ScheduledProcedureStepStartTime=candidate.sps_start.strftime("%H%M%S"),
            ScheduledStationAETitle=candidate.station_ae,
        ),
        PatientName=case(candidate.patient_name),
        PatientID=candidate.patient_id,
        AccessionNumber=candidate.accession_number,
        StudyInstanceUID=candidate.study_instance_uid,
    )
    assert matches(parse_query(ds), candidate)


@given(entries, st.integers(min_value=0, max_value=20), cases)
def test_a_name_prefix_with_an_asterisk_matches_whatever_the_case(
    candidate: Any, length: int, case: Any
) -> None:
    ds = identifier(PatientName=case(candidate.patient_name[:length]) + "*")
    assert matches(parse_query(ds), candidate)


pattern_chars = st.sampled_from("abcABC\u03b1\u03b2\u0391\u0392\u5c71^*?=")


@given(
    st.text(pattern_chars, max_size=8),
    st.builds(
        entry,
        patient_name=st.text(
            pattern_chars.filter(lambda c: c not in "*?="), min_size=1, max_size=8
        ),
    ),
)
def test_what_the_database_narrows_on_never_drops_a_match(pattern: str, candidate: Any) -> None:
    """The patients' indexed name key must hold every name ``matches`` would accept."""
    assume(pattern.strip("*") != "")
    query = parse_query(identifier(PatientName=pattern))
    if not matches(query, candidate):
        return
    key = query.keys.get("patient_name")
    if key is None:  # universal after all (e.g. "=": empty component groups)
        return
    folded = name_key(candidate.patient_name)
    if key.exact is not None:
        assert folded == key.exact
    if key.prefix is not None:
        assert folded.startswith(key.prefix)


@given(entries, st.integers(0, 40), st.integers(0, 40))
def test_a_date_range_around_the_start_matches_and_one_beside_it_does_not(
    candidate: Any, before: int, after: int
) -> None:
    day = candidate.sps_start.date()
    around = f"{_date(day - dt.timedelta(days=before))}-{_date(day + dt.timedelta(days=after))}"
    later = f"{_date(day + dt.timedelta(days=1))}-"
    earlier = f"-{_date(day - dt.timedelta(days=1))}"
    for value, expected in ((around, True), (later, False), (earlier, False)):
        ds = identifier(step(ScheduledProcedureStepStartDate=value))
        assert matches(parse_query(ds), candidate) is expected


def _empty_value(keyword: str) -> Any:
    attr = next(a for a in (*TOP_LEVEL.values(), *SPS_ITEM.values()) if a.keyword == keyword)
    return [] if attr.vr == "SQ" else (None if attr.vr == "US" else "")


top_keys = st.lists(
    st.sampled_from(sorted(a.keyword for a in TOP_LEVEL.values())), unique=True, max_size=17
)
sps_keys = st.lists(
    st.sampled_from(sorted(a.keyword for a in SPS_ITEM.values())), unique=True, max_size=12
)
unknown_keys = st.lists(
    st.sampled_from(["AdmissionID", "PatientWeight", "CurrentPatientLocation", "PatientComments"]),
    unique=True,
    max_size=2,
)


def _requested(top: list[str], sps: list[str] | None, unknown: list[str]) -> Dataset:
    ds = Dataset()
    for keyword in top + unknown:
        put(ds, keyword, _empty_value(keyword) if keyword not in unknown else "")
    if sps is not None:
        put(ds, "ScheduledProcedureStepSequence", [step(**{k: _empty_value(k) for k in sps})])
    if not len(ds):
        put(ds, "PatientID", "")
    return ds


@given(entries, top_keys, st.none() | sps_keys, unknown_keys)
def test_every_requested_key_comes_back_filled_if_type_1_and_nothing_else(
    candidate: Any, top: list[str], sps: list[str] | None, unknown: list[str]
) -> None:
    ds = _requested(top, sps, unknown)
    answer = respond(ds, candidate)
    asked = [e.keyword for e in ds]
    answered = [e.keyword for e in answer if e.keyword != "SpecificCharacterSet"]
    assert answered == asked
    type1 = {"PatientName", "PatientID", "StudyInstanceUID", "RequestedProcedureID"}
    for keyword in type1 & set(asked):
        assert str(answer[keyword].value)
    if sps is not None:
        item = answer.ScheduledProcedureStepSequence[0]
        # An empty item asks for the whole step (PS3.4 C.2.2.2.6).
        requested_item = [e.keyword for e in ds.ScheduledProcedureStepSequence[0]]
        whole_step = [a.keyword for a in sorted(SPS_ITEM.values(), key=lambda a: a.tag)]
        assert [e.keyword for e in item] == (requested_item or whole_step)
        for keyword in set(TYPE1_PLACEHOLDERS) | {
            "ScheduledProcedureStepStartDate",
            "ScheduledProcedureStepStartTime",
            "ScheduledProcedureStepID",
        }:
            if keyword in item:
                assert str(item[keyword].value), keyword


charsets = st.sampled_from([None, "ISO_IR 100", "ISO_IR 192", "ISO_IR 144", "ISO_IR 126"])


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(entries, top_keys, st.none() | sps_keys, charsets, st.booleans())
def test_encoded_answers_are_byte_for_byte_what_pydicom_writes(
    candidate: Any, top: list[str], sps: list[str] | None, charset: str | None, implicit: bool
) -> None:
    ds = _requested(top, sps, [])
    if charset:
        put(ds, "SpecificCharacterSet", charset)
    query = parse_query(ds)
    expected = respond(ds, candidate, query=query)
    data = encode_answer(query, candidate, implicit_vr=implicit)
    assert data == encode(expected, implicit, True)
    assert decode(BytesIO(data), implicit, True, False) == expected


# --- whatever arrives -----------------------------------------------------------------------

MWL_TAGS = sorted({a.tag for a in (*TOP_LEVEL.values(), *SPS_ITEM.values())} | {0x00400100})
values = st.one_of(
    st.text(st.sampled_from("0123456789-*?\\^=.:+ AZaz\u00e9\u5c71"), max_size=24),
    st.binary(max_size=12),
)
VRS = ["AE", "CS", "DA", "DT", "LO", "PN", "SH", "SQ", "TM", "UI", "US", "UN", "OB", "LT"]


def _raw_element(tag: int, vr: str, value: bytes, implicit: bool) -> bytes:
    if len(value) % 2:
        value += b" "
    if implicit:
        return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, len(value)) + value
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr.encode(), len(value)) + value


raw_elements = st.lists(
    st.tuples(
        st.sampled_from(MWL_TAGS) | st.integers(0x00080000, 0x7FFFFFFF),
        st.sampled_from(VRS),
        values,
    ),
    max_size=8,
)


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom on garbage, as the server is
@settings(max_examples=300)
@given(raw_elements, st.booleans(), entries)
def test_any_identifier_is_answered_or_refused_with_a_status(
    elements: list[tuple[int, str, Any]], implicit: bool, candidate: Any
) -> None:
    body = b"".join(
        _raw_element(
            tag, vr, value if isinstance(value, bytes) else value.encode("utf-8"), implicit
        )
        for tag, vr, value in sorted(elements, key=lambda e: e[0])
        if not (implicit is False and vr in ("SQ", "UN", "OB"))
    )
    try:
        ds = decode(BytesIO(body), implicit, True, False)
    except Exception:  # pynetdicom could not even split it: the handler answers 0xC000
        return
    try:
        query = parse_query(ds)
    except QueryError as error:
        assert error.status in (IDENTIFIER_DOES_NOT_MATCH, UNABLE_TO_PROCESS)
        return
    matches(query, candidate)
    answer = respond(ds, candidate, query=query)
    for flavour in (True, False):
        assert encode_answer(query, candidate, implicit_vr=flavour) == encode(answer, flavour, True)
