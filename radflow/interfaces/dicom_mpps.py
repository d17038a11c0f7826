"""pynetdicom handlers for Modality Performed Procedure Step (PS3.4 Annex F.7): N-CREATE, N-SET.

Adapters only: check the caller may send MPPS (the AE registry), parse the attribute list with
``radflow.core.dicom.mpps``, call one service, answer ``(status, dataset)``. They never raise:
pynetdicom would answer 0x0110 anyway, but without RadFlow's log line. Refusals carry an Error
Comment (attribute keywords only) and, on N-SET, the Attribute Identifier List (PS3.7 C.4);
log lines carry the SOP Instance UID, the calling AE and the status, never patient data.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from django.db import connections
from django.utils import timezone
from pydicom.dataset import Dataset

from radflow.core.dicom.mpps import (
    MppsRefused,
    Status,
    check_uid,
    parse_create,
    parse_set,
)
from radflow.core.errors import RadflowError
from radflow.interfaces import services
from radflow.interfaces.dicom_caller import decision_for, peer

logger = logging.getLogger("radflow.interfaces.mpps")

#: Modality Performed Procedure Step SOP Class (DESIGN.md, interoperability facts).
MPPS_SOP_CLASS = "1.2.840.10008.3.1.2.3.3"
#: Statuses whose response may list the attributes at fault (PS3.7 C.4.2, C.4.3).
_LISTS_ATTRIBUTES = {Status.MISSING_ATTRIBUTE, Status.INVALID_ATTRIBUTE_VALUE}

Reply = tuple[Dataset | int, Dataset | None]


def _status(
    status: int,
    comment: str = "",
    *,
    tags: tuple[int, ...] = (),
    error_id: int | None = None,
) -> Dataset:
    """A status dataset: pynetdicom copies these elements into the N-CREATE/N-SET response."""
    ds = Dataset()
    ds.Status = int(status)
    if comment:
        ds.ErrorComment = comment[:64]  # LO
    if error_id is not None:
        ds.ErrorID = error_id
    if tags and status in _LISTS_ATTRIBUTES:
        ds.AttributeIdentifierList = list(tags)
    return ds


def _refused(error: MppsRefused, *, list_attributes: bool) -> Reply:
    """N-SET-RSP may list the attributes at fault; N-CREATE-RSP has no such field (PS3.7
    Tables 10.3-2 and 10.3-4), so there the Error Comment names them."""
    tags = error.tags if list_attributes else ()
    return _status(error.status, error.message, tags=tags, error_id=error.error_id), None


def _as_json(ds: Dataset) -> dict[str, Any]:
    """The dataset as DICOM JSON (PS3.18 F.2) for the stored step; what does not convert is
    left out (the parsed values are what RadFlow uses). NULs are dropped: PostgreSQL's jsonb
    refuses them."""
    try:
        converted = ds.to_json_dict(suppress_invalid_tags=True)
        text = json.dumps(converted).replace("\\u0000", "")
        loaded: dict[str, Any] = json.loads(text)
        return loaded
    except Exception:  # a malformed element must not stop a parsed step from being stored
        return {}


def _allowed(event: Any, calling_ae: str, operation: str, uid: str) -> Reply | None:
    """The AE registry's decision, taken once per association (``dicom_caller``)."""
    decision = decision_for(event.assoc)
    if decision.may_send_mpps:
        return None
    logger.warning("MPPS %s %s from %s refused: %s", operation, uid, calling_ae, decision.reason)
    return _status(Status.NOT_AUTHORISED, "This AE may not send MPPS to RadFlow"), None


def _wrong_class(event: Any, operation: str) -> Reply | None:
    sop_class = getattr(event.request, "AffectedSOPClassUID", None) or getattr(
        event.request, "RequestedSOPClassUID", None
    )
    if str(sop_class or "") == MPPS_SOP_CLASS:
        return None
    logger.warning("MPPS handler got %s for SOP class %s", operation, sop_class)
    return _status(Status.NO_SUCH_SOP_CLASS, "No such SOP Class"), None


def handle_n_create(event: Any) -> Reply:
    """``evt.EVT_N_CREATE``: a modality starts a performed procedure step (IN PROGRESS)."""
    calling_ae, uid = "?", "?"
    try:
        calling_ae = peer(event.assoc)[0]
        wrong = _wrong_class(event, "N-CREATE")
        if wrong is not None:
            return wrong
        requested = event.request.AffectedSOPInstanceUID
        uid = check_uid(str(requested)) if requested else f"2.25.{uuid.uuid4().int}"
        refused = _allowed(event, calling_ae, "N-CREATE", uid)
        if refused is not None:
            return refused
        ds = event.attribute_list
        create = parse_create(ds, zone=timezone.get_current_timezone())
        step = services.mpps_create(
            sop_instance_uid=uid,
            calling_ae=calling_ae,
            create=create,
            attributes=_as_json(ds),
        )
        reply = Dataset()
        if not requested:  # PS3.7 10.1.5.1.4: the SCP names the instance it created
            reply.AffectedSOPInstanceUID = step.sop_instance_uid
        return Status.SUCCESS.value, reply
    except MppsRefused as error:
        logger.info("MPPS N-CREATE %s from %s: 0x%04X", uid, calling_ae, error.status)
        return _refused(error, list_attributes=False)
    except RadflowError as error:
        logger.warning("MPPS N-CREATE %s from %s failed: %s", uid, calling_ae, error.code)
        return _status(Status.PROCESSING_FAILURE, "RadFlow could not store the step"), None
    except Exception as error:  # the boundary: a bug becomes a status, never a dead thread
        logger.error(
            "MPPS N-CREATE %s from %s failed: unexpected %s",
            uid,
            calling_ae,
            type(error).__name__,
        )
        connections.close_all()  # a lost database: the next message opens a fresh connection
        return _status(Status.PROCESSING_FAILURE, "RadFlow could not process the step"), None


def handle_n_set(event: Any) -> Reply:
    """``evt.EVT_N_SET``: a modality updates its step; COMPLETED and DISCONTINUED are final."""
    calling_ae, uid = "?", "?"
    try:
        calling_ae = peer(event.assoc)[0]
        wrong = _wrong_class(event, "N-SET")
        if wrong is not None:
            return wrong
        uid = check_uid(str(event.request.RequestedSOPInstanceUID or ""), "RequestedSOPInstanceUID")
        refused = _allowed(event, calling_ae, "N-SET", uid)
        if refused is not None:
            return refused
        ds = event.modification_list
        update = parse_set(ds, zone=timezone.get_current_timezone())
        services.mpps_set(
            sop_instance_uid=uid,
            calling_ae=calling_ae,
            update=update,
            attributes=_as_json(ds),
        )
        return Status.SUCCESS.value, Dataset()
    except MppsRefused as error:
        logger.info("MPPS N-SET %s from %s: 0x%04X", uid, calling_ae, error.status)
        return _refused(error, list_attributes=True)
    except RadflowError as error:
        logger.warning("MPPS N-SET %s from %s failed: %s", uid, calling_ae, error.code)
        return _status(Status.PROCESSING_FAILURE, "RadFlow could not store the update"), None
    except Exception as error:  # the boundary: a bug becomes a status, never a dead thread
        logger.error(
            "MPPS N-SET %s from %s failed: unexpected %s", uid, calling_ae, type(error).__name__
        )
        connections.close_all()  # a lost database: the next message opens a fresh connection
        return _status(Status.PROCESSING_FAILURE, "RadFlow could not process the update"), None
