"""The hash chain alone, without a database."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radflow.core.audit_chain import (
    GENESIS_HASH,
    BrokenLink,
    chained_hashes,
    row_hash,
    verify_chain,
    verify_head,
)

START = dt.datetime(2026, 3, 8, 6, 59, 59, 123456, tzinfo=dt.UTC)


def build_chain(count: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    prev = GENESIS_HASH
    for seq in range(1, count + 1):
        row: dict[str, Any] = {
            "seq": seq,
            "at": START + dt.timedelta(seconds=seq),
            "user_id": 7,
            "username": "coordinator",
            "patient_id": f"00000000-0000-0000-0000-{seq:012d}",
            "patient_mrn": f"MRN{seq}",
            "action": "patient.detail",
            "channel": "web",
            "ip_address": "10.0.0.1",
            "user_agent": "Firefox",
            "prev_hash": prev,
        }
        row["row_hash"] = row_hash(prev, row)
        prev = row["row_hash"]
        rows.append(row)
    return rows


def test_an_untouched_chain_verifies() -> None:
    assert verify_chain(build_chain(5)) == (5, None)


def test_an_empty_chain_verifies() -> None:
    assert verify_chain([]) == (0, None)


def test_an_edited_row_is_the_first_broken_link() -> None:
    rows = build_chain(5)
    rows[2]["patient_mrn"] = "SOMEONE-ELSE"
    assert verify_chain(rows) == (2, BrokenLink(3, "row content does not match its hash"))


def test_an_edited_row_with_a_recomputed_hash_breaks_the_next_link() -> None:
    rows = build_chain(5)
    rows[2]["username"] = "intruder"
    rows[2]["row_hash"] = row_hash(rows[2]["prev_hash"], rows[2])
    checked, broken = verify_chain(rows)
    assert checked == 3
    assert broken == BrokenLink(4, "previous-hash does not match the row before")


def test_a_removed_row_is_reported_as_a_gap() -> None:
    rows = build_chain(5)
    del rows[1]
    assert verify_chain(rows) == (1, BrokenLink(3, "sequence gap: expected #2"))


def test_cutting_rows_off_the_start_is_detected() -> None:
    rows = build_chain(5)[2:]
    checked, broken = verify_chain(rows)
    assert checked == 0
    assert broken is not None and broken.seq == 3


def test_the_same_instant_in_another_zone_hashes_the_same() -> None:
    rows = build_chain(3)
    eastern = dt.timezone(dt.timedelta(hours=-5))
    rows[1]["at"] = rows[1]["at"].astimezone(eastern)
    assert verify_chain(rows) == (3, None)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        row_hash(GENESIS_HASH, {"at": dt.datetime(2026, 1, 1)})  # noqa: DTZ001


def test_the_head_must_match_the_last_row() -> None:
    rows = build_chain(4)
    last = rows[-1]
    assert (
        verify_head(last_seq=4, last_hash=last["row_hash"], head_seq=4, head_hash=last["row_hash"])
        is None
    )
    cut = verify_head(last_seq=3, last_hash=rows[2]["row_hash"], head_seq=4, head_hash="x")
    assert cut is not None and cut.seq == 4
    forged = verify_head(last_seq=4, last_hash=last["row_hash"], head_seq=4, head_hash="f" * 64)
    assert forged == BrokenLink(4, "the head's hash does not match the last row")
    assert (
        verify_head(last_seq=0, last_hash=GENESIS_HASH, head_seq=0, head_hash=GENESIS_HASH) is None
    )


FIELDS = ("username", "patient_mrn", "action", "channel", "ip_address", "user_agent")


@given(
    count=st.integers(min_value=1, max_value=30),
    data=st.data(),
)
def test_any_single_edit_is_caught_at_exactly_that_row(count: int, data: st.DataObject) -> None:
    rows = build_chain(count)
    index = data.draw(st.integers(min_value=0, max_value=count - 1))
    field = data.draw(st.sampled_from(FIELDS))
    new_value = data.draw(st.text(max_size=20))
    if rows[index][field] == new_value:
        return
    rows[index][field] = new_value
    checked, broken = verify_chain(rows)
    assert checked == index
    assert broken is not None and broken.seq == index + 1


@given(st.permutations(list(range(6))))
def test_any_reordering_is_caught(order: list[int]) -> None:
    rows = build_chain(6)
    shuffled = [rows[i] for i in order]
    _, broken = verify_chain(shuffled)
    assert (broken is None) == (order == sorted(order))


_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)


@given(
    username=_TEXT,
    user_agent=_TEXT,
    user_id=st.one_of(st.none(), st.integers(0, 10**9)),
    ip=st.one_of(st.none(), st.just("10.0.0.1"), st.just("::1")),
    mrns=st.lists(_TEXT, min_size=1, max_size=6),
)
def test_a_run_of_rows_hashes_exactly_as_row_by_row(
    username: str, user_agent: str, user_id: int | None, ip: str | None, mrns: list[str]
) -> None:
    shared = {
        "at": START,
        "user_id": user_id,
        "username": username,
        "action": "worklist.read",
        "channel": "dicom",
        "ip_address": ip,
        "user_agent": user_agent,
    }
    varying = [
        {"seq": seq, "patient_id": None if seq == 2 else f"id-{seq}", "patient_mrn": mrn}
        for seq, mrn in enumerate(mrns, start=1)
    ]
    expected, prev = [], GENESIS_HASH
    for row in varying:
        prev = row_hash(prev, {**shared, **row})
        expected.append(prev)
    assert chained_hashes(GENESIS_HASH, shared, varying) == expected
