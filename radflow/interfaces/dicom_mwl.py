"""The Modality Worklist C-FIND handler (pynetdicom ``evt.EVT_C_FIND``, PS3.4 K.4.1.3).

An adapter: parse the Identifier, read the matching steps (audited) for the caller's
restriction, answer one pending 0xFF00 per step, then pynetdicom sends the final success.
Failures become statuses, never exceptions: 0xA900 for an Identifier that does not fit the
model, 0xC000 for anything that cannot be processed, 0xFE00 once the SCU has cancelled.
Log lines name the calling AE, the status and counts, never a key's value (PHI).

Answers are encoded by ``matching.encode_answer`` for the context's little-endian transfer
syntax and handed to pynetdicom as ``dicom_wire.EncodedAnswer`` once ``dicom_wire.install()``
has taught pynetdicom to send them as they are. Otherwise (and for big endian or deflate) the
handler yields ``respond``'s ordinary dataset and pynetdicom encodes it itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.db import connections
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from radflow.core.dicom.matching import (
    UNABLE_TO_PROCESS,
    QueryError,
    WorklistQuery,
    encode_answer,
    parse_query,
    respond,
)
from radflow.core.dicom.worklist import WorklistEntry
from radflow.interfaces import dicom_wire
from radflow.interfaces.dicom_caller import decision_for, peer
from radflow.interfaces.dicom_wire import EncodedAnswer
from radflow.interfaces.mwl import worklist_read

logger = logging.getLogger("radflow.interfaces.mwl")

PENDING = 0xFF00
CANCEL = 0xFE00
#: Transfer syntax UID → implicit VR, for the syntaxes ``encode_answer`` writes.
_ENCODABLE = {str(ImplicitVRLittleEndian): True, str(ExplicitVRLittleEndian): False}
Reply = tuple[int, Dataset | None]


def _answerer(
    event: Any, identifier: Dataset, query: WorklistQuery
) -> Callable[[WorklistEntry], Dataset]:
    """How this C-FIND's answers are built: pre-encoded when the server can send them so."""

    def full(entry: WorklistEntry) -> Dataset:
        return respond(identifier, entry, charset=query.charset, query=query)

    syntax = str(getattr(event.context, "transfer_syntax", "") or "")
    implicit = _ENCODABLE.get(syntax)
    if implicit is None or not dicom_wire.installed():
        return full

    def encoded(entry: WorklistEntry) -> Dataset:
        data = encode_answer(query, entry, implicit_vr=implicit, charset=query.charset)
        return EncodedAnswer(data, implicit, lambda: full(entry))

    return encoded


def handle_find(event: Any) -> Iterator[Reply]:
    """``evt.EVT_C_FIND`` for the Modality Worklist Information Model - FIND."""
    started = time.perf_counter()
    calling_ae = "?"
    try:
        calling_ae, address = peer(event.assoc)
        identifier = event.identifier
        query = parse_query(identifier)
    except QueryError as error:
        logger.info("MWL C-FIND from %s: 0x%04X (%s)", calling_ae, error.status, error.message)
        yield error.status, None
        return
    except Exception as error:  # the boundary: an unreadable request is a status
        logger.warning(
            "MWL C-FIND from %s: unreadable identifier (%s)", calling_ae, type(error).__name__
        )
        yield UNABLE_TO_PROCESS, None
        return
    try:
        decision = decision_for(event.assoc)
        entries = worklist_read(
            query, restriction=decision.restriction, calling_ae=calling_ae, address=address
        )
        answer = _answerer(event, identifier, query)
    except Exception as error:  # a bug or a lost database: a status, and a fresh connection
        logger.error("MWL C-FIND from %s failed: %s", calling_ae, type(error).__name__)
        connections.close_all()
        yield UNABLE_TO_PROCESS, None
        return
    sent = 0
    for entry in entries:
        if event.is_cancelled:
            logger.info(
                "MWL C-FIND from %s cancelled after %d of %d", calling_ae, sent, len(entries)
            )
            yield CANCEL, None
            return
        try:
            reply = answer(entry)
        except Exception as error:
            logger.error(
                "MWL C-FIND from %s: answer for %s failed: %s",
                calling_ae,
                entry.accession_number,
                type(error).__name__,
            )
            yield UNABLE_TO_PROCESS, None
            return
        sent += 1
        yield PENDING, reply
    logger.info(
        "MWL C-FIND from %s: %d match(es) in %.1f ms",
        calling_ae,
        sent,
        (time.perf_counter() - started) * 1000,
    )
