"""Worklist answers on the wire without pynetdicom's per-message pydicom work.

pynetdicom builds every C-FIND-RSP as a pydicom command-set ``Dataset`` (a dozen validated
``setattr``), encodes it twice (once to measure the group length) and encodes the answer's
Identifier through pydicom's generic writer: about half a millisecond per pending answer, more
than the database read of a whole query. Two narrow hooks cut that, leaving pynetdicom's C-FIND
logic (statuses, cancel, failures, the final success) untouched:

- ``EncodedAnswer``: the handler yields answers already encoded by
  ``matching.encode_answer`` for the context's transfer syntax; the wrapped
  ``pynetdicom.service_class.encode`` returns those bytes as they are (any other dataset, or an
  ``EncodedAnswer`` asked for another encoding, is encoded as before).
- ``WorklistFindService``: pynetdicom's Basic Worklist Management service class, registered
  for the Modality Worklist SOP Class, whose DIMSE provider writes the C-FIND-RSP command set
  (PS3.7 9.3.2.2, implicit VR little endian) directly: byte for byte what pynetdicom writes
  (tested), fragmented into P-DATA exactly as ``DIMSEMessage.encode_msg`` does. Responses that
  carry anything else (an Offending Element, an Error Comment) go through pynetdicom.

``install()`` is idempotent and is called when the server starts.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from io import BytesIO
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom import sop_class
from pynetdicom.dimse_primitives import C_FIND
from pynetdicom.pdu_primitives import P_DATA
from pynetdicom.service_class import BasicWorklistManagementServiceClass

MODALITY_WORKLIST_FIND = "1.2.840.10008.5.1.4.31"
C_FIND_RSP = 0x8020
DATASET_PRESENT, NO_DATASET = 0x0001, 0x0101


class EncodedAnswer(Dataset):
    """A pending answer already encoded (``encoded``, little endian, ``implicit_vr``).

    Anything but the installed encoder that looks inside gets the full dataset from
    ``dataset()`` (``respond``'s, built on demand).
    """

    def __init__(self, encoded: bytes, implicit_vr: bool, full: Callable[[], Dataset]) -> None:
        super().__init__()
        object.__setattr__(self, "encoded", encoded)
        object.__setattr__(self, "implicit_vr", implicit_vr)
        object.__setattr__(self, "_full", full)

    def dataset(self) -> Dataset:
        full: Callable[[], Dataset] = object.__getattribute__(self, "_full")
        return full()


def _install_encoder() -> None:
    from pynetdicom import service_class

    original: Callable[..., bytes | None] = getattr(service_class, "encode")  # noqa: B009
    if getattr(original, "radflow_wrapper", False):
        return

    def encode(
        ds: Dataset, is_implicit_vr: bool, is_little_endian: bool, deflated: bool = False
    ) -> bytes | None:
        if isinstance(ds, EncodedAnswer):
            implicit: bool = object.__getattribute__(ds, "implicit_vr")
            if is_little_endian and not deflated and implicit == is_implicit_vr:
                encoded: bytes = object.__getattribute__(ds, "encoded")
                return encoded
            ds = ds.dataset()
        return original(ds, is_implicit_vr, is_little_endian, deflated)

    encode.radflow_wrapper = True  # type: ignore[attr-defined]
    setattr(service_class, "encode", encode)  # noqa: B010


def _element(tag: int, vr_format: str, value: str | int) -> bytes:
    data: bytes
    if isinstance(value, str):
        data = value.encode("ascii")
        if len(data) % 2:
            data += b"\x00"
    else:
        data = struct.pack(vr_format, value)
    return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, len(data)) + data


def find_response_command(
    *, sop_class_uid: str | None, message_id: int, status: int, has_dataset: bool
) -> bytes:
    """The C-FIND-RSP command set (PS3.7 Table 9.3-4), implicit VR little endian."""
    body = b"".join(
        (
            _element(0x00000002, "UI", sop_class_uid) if sop_class_uid else b"",
            _element(0x00000100, "<H", C_FIND_RSP),
            _element(0x00000120, "<H", message_id),
            _element(0x00000800, "<H", DATASET_PRESENT if has_dataset else NO_DATASET),
            _element(0x00000900, "<H", status),
        )
    )
    return _element(0x00000000, "<I", len(body)) + body


def _fragments(data: bytes, max_pdu_length: int) -> list[bytes]:
    if max_pdu_length == 0:
        return [data]
    size = max_pdu_length - 6  # a PDV item: 4-byte length, context ID, message header
    return [data[offset : offset + size] for offset in range(0, len(data), size)] or [b""]


def p_data(
    context_id: int, command: bytes, dataset: bytes, max_pdu_length: int
) -> Iterator[P_DATA]:
    """The message as P-DATA primitives, split as ``DIMSEMessage.encode_msg`` splits it: one
    PDV per P-DATA, message control header 01/03 for command fragments (last one 03), 00/02
    for data set fragments (PS3.8 E.2)."""
    parts = [(command, b"\x01", b"\x03")]
    if dataset:
        parts.append((dataset, b"\x00", b"\x02"))
    for data, more, last in parts:
        pieces = _fragments(data, max_pdu_length)
        for index, piece in enumerate(pieces):
            pdata = P_DATA()
            header = last if index == len(pieces) - 1 else more
            pdata.presentation_data_value_list.append((context_id, header + piece))
            yield pdata


def _plain(primitive: Any) -> bool:
    """A C-FIND response with nothing but a status (and maybe an Identifier)."""
    return (
        isinstance(primitive, C_FIND)
        and primitive.MessageIDBeingRespondedTo is not None
        and primitive.Status is not None
        and getattr(primitive, "OffendingElement", None) is None
        and getattr(primitive, "ErrorComment", None) is None
    )


class _Responses:
    """The association's DIMSE provider, but C-FIND responses are written here."""

    def __init__(self, dimse: Any) -> None:
        self._dimse = dimse

    def __getattr__(self, name: str) -> Any:
        return getattr(self._dimse, name)

    def send_msg(self, primitive: Any, context_id: int) -> None:
        if not _plain(primitive):
            self._dimse.send_msg(primitive, context_id)
            return
        identifier = primitive.Identifier
        dataset = identifier.getvalue() if isinstance(identifier, BytesIO) else b""
        command = find_response_command(
            sop_class_uid=primitive.AffectedSOPClassUID,
            message_id=primitive.MessageIDBeingRespondedTo,
            status=primitive.Status,
            has_dataset=bool(dataset),
        )
        for pdata in p_data(context_id, command, dataset, self._dimse.maximum_pdu_size):
            self._dimse.dul.send_pdu(pdata)


class WorklistFindService(BasicWorklistManagementServiceClass):
    """pynetdicom's Modality Worklist SCP with C-FIND responses written by ``_Responses``."""

    @property
    def dimse(self) -> Any:
        return _Responses(self.assoc.dimse)


def installed() -> bool:
    """Whether ``install()`` has run (the handler only yields ``EncodedAnswer`` then)."""
    from pynetdicom import service_class

    return bool(getattr(getattr(service_class, "encode", None), "radflow_wrapper", False))


def install() -> None:
    """Answer the Modality Worklist SOP Class with ``WorklistFindService`` and let pynetdicom
    send ``EncodedAnswer`` bytes as they are (idempotent)."""
    _install_encoder()
    services: dict[str, Any] = getattr(sop_class, "_SERVICE_CLASSES")  # noqa: B009
    services[MODALITY_WORKLIST_FIND] = WorklistFindService
