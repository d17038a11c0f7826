"""The worklist's fast path onto the wire sends exactly what pynetdicom would."""

from __future__ import annotations

from io import BytesIO

import pytest
from pydicom.dataset import Dataset
from pynetdicom.dimse_messages import C_FIND_RSP
from pynetdicom.dimse_primitives import C_FIND
from pynetdicom.sop_class import uid_to_service_class

from radflow.interfaces import dicom_wire
from radflow.interfaces.dicom_wire import (
    MODALITY_WORKLIST_FIND,
    EncodedAnswer,
    WorklistFindService,
    find_response_command,
    p_data,
)


def response(status: int, identifier: bytes | None = None, message_id: int = 7) -> C_FIND:
    primitive = C_FIND()
    primitive.MessageIDBeingRespondedTo = message_id
    primitive.AffectedSOPClassUID = MODALITY_WORKLIST_FIND
    primitive.Status = status
    if identifier is not None:
        primitive.Identifier = BytesIO(identifier)
    return primitive


def pynetdicom_pdvs(
    primitive: C_FIND, context_id: int, max_pdu: int
) -> list[list[tuple[int, bytes]]]:
    message = C_FIND_RSP()
    message.primitive_to_message(primitive)
    return [p.presentation_data_value_list for p in message.encode_msg(context_id, max_pdu)]


@pytest.mark.parametrize("max_pdu", [0, 16382, 40])
@pytest.mark.parametrize(
    ("status", "identifier"),
    [
        (0xFF00, b"\x10\x00\x20\x00\x06\x00\x00\x00MRN001" * 9),
        (0x0000, None),
        (0xFE00, None),
        (0xA900, None),
        (0xC000, None),
    ],
)
def test_responses_are_byte_for_byte_what_pynetdicom_sends(
    status: int, identifier: bytes | None, max_pdu: int
) -> None:
    primitive = response(status, identifier, message_id=300)
    command = find_response_command(
        sop_class_uid=MODALITY_WORKLIST_FIND,
        message_id=300,
        status=status,
        has_dataset=identifier is not None,
    )
    ours = [p.presentation_data_value_list for p in p_data(3, command, identifier or b"", max_pdu)]
    assert ours == pynetdicom_pdvs(primitive, 3, max_pdu)


def test_once_installed_the_worklist_is_answered_by_radflows_service_class() -> None:
    dicom_wire.install()
    dicom_wire.install()
    assert dicom_wire.installed()
    assert uid_to_service_class(MODALITY_WORKLIST_FIND) is WorklistFindService


def test_an_encoded_answer_goes_out_as_it_is_and_any_other_encoding_is_pydicoms() -> None:
    from pynetdicom import service_class

    dicom_wire.install()
    encode = service_class.encode  # type: ignore[attr-defined]
    full = Dataset()
    full.PatientID = "MRN001"
    answer = EncodedAnswer(b"\x10\x00\x20\x00\x06\x00\x00\x00MRN001", True, lambda: full)
    assert encode(answer, True, True) == b"\x10\x00\x20\x00\x06\x00\x00\x00MRN001"
    explicit = encode(answer, False, True)
    assert explicit == b"\x10\x00\x20\x00LO\x06\x00MRN001"
    assert encode(full, True, True) == b"\x10\x00\x20\x00\x06\x00\x00\x00MRN001"
