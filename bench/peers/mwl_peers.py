"""The Modality Worklist peers of ``bench/mwl.py``: dcmtk ``wlmscpfs`` and Orthanc's worklists
plugin serving worklist files, set up as ``/work/shared/benchmarks/mwl/anchor.sh`` does, and the
"floor" servers (a bare pynetdicom AE and ``wlmscpfs``, both with an empty worklist).

The worklist files: anchor.sh converts each generated dump with ``dump2dcm -q -g``. One dump2dcm
process per entry costs about 20 ms here, half an hour for 100,000 entries, so ``encode_file``
writes the same bytes directly (Explicit VR Little Endian, explicit sequence and item lengths, no
group lengths, dcmtk's meta header); ``verify_against_dump2dcm`` checks a sample byte for byte
against dump2dcm's own output (only the generated SOP Instance UID differs, and is copied over).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FINDSCU = "/usr/bin/findscu"
DUMP2DCM = "/usr/bin/dump2dcm"
WLMSCPFS = "/usr/bin/wlmscpfs"
ORTHANC = "/usr/sbin/Orthanc"
ORTHANC_PLUGIN = "/usr/share/orthanc/plugins/libModalityWorklists.so"
MWL_FIND = "1.2.840.10008.5.1.4.31"

# dcmtk's meta header of a dump2dcm file (dcmtk 3.6.7 as packaged by Debian).
_DCMTK_SOP_CLASS = "1.2.276.0.7230010.3.1.0.1"
_DCMTK_IMPLEMENTATION_UID = "1.2.276.0.7230010.3.0.3.6.7"
_DCMTK_VERSION_NAME = "OFFIS_DCMTK_367"
_UID_ROOT = "1.2.276.0.7230010.3.1.4."
_EXPLICIT_LE = "1.2.840.10008.1.2.1"

_LINE = re.compile(
    r"^\((?P<g>[0-9a-fA-F]{4}),(?P<e>[0-9a-fA-F]{4})\)\s+(?P<vr>\S+)\s*(?P<rest>.*)$"
)
_VALUE = re.compile(r"^\[(?P<v>.*)\]\s*$")
#: VRs with a 4-byte length in Explicit VR (PS3.5 7.1.2).
_LONG_VRS = frozenset(
    {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
)


@dataclass
class Element:
    tag: int
    vr: str
    value: str = ""
    #: A sequence's items, each a list of elements.
    items: list[list[Element]] = field(default_factory=list)


def parse_dump(text: str) -> list[Element]:
    """The elements of a dcmtk dump (the subset gen_worklist.py and the queries use: string VRs,
    sequences with item and delimitation lines)."""
    root: list[Element] = []
    stack: list[list[Element]] = [root]
    sequences: list[Element] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise ValueError(f"not a dump line: {raw!r}")
        tag = int(match["g"] + match["e"], 16)
        vr = match["vr"]
        if tag == 0xFFFEE000:  # item
            item: list[Element] = []
            sequences[-1].items.append(item)
            stack.append(item)
        elif tag == 0xFFFEE00D:  # item delimitation
            stack.pop()
        elif tag == 0xFFFEE0DD:  # sequence delimitation
            sequences.pop()
        elif vr == "SQ":
            element = Element(tag, vr)
            stack[-1].append(element)
            sequences.append(element)
        else:
            value = _VALUE.match(match["rest"])
            stack[-1].append(Element(tag, vr, value["v"] if value else ""))
    return root


def _encode_value(element: Element) -> bytes:
    data = element.value.encode("latin-1")
    if len(data) % 2:
        data += b"\0" if element.vr == "UI" else b" "
    return data


def encode_elements(elements: list[Element]) -> bytes:
    """Explicit VR Little Endian, sequences and items with explicit lengths (dcmtk's default)."""
    out = bytearray()
    for element in sorted(elements, key=lambda e: e.tag):
        group, number = element.tag >> 16, element.tag & 0xFFFF
        if element.vr == "SQ":
            body = bytearray()
            for item in element.items:
                encoded = encode_elements(item)
                body += struct.pack("<HHI", 0xFFFE, 0xE000, len(encoded)) + encoded
            out += struct.pack("<HH2sHI", group, number, b"SQ", 0, len(body)) + body
            continue
        value = _encode_value(element)
        vr = element.vr.encode("ascii")
        if element.vr in _LONG_VRS:
            out += struct.pack("<HH2sHI", group, number, vr, 0, len(value)) + value
        else:
            out += struct.pack("<HH2sH", group, number, vr, len(value)) + value
    return bytes(out)


def new_instance_uid(serial: int) -> str:
    return f"{_UID_ROOT}{os.getpid()}.{int(time.time())}.{serial}"


def encode_file(elements: list[Element], instance_uid: str) -> bytes:
    """A DICOM file as ``dump2dcm -q -g`` writes it (128-byte preamble, DICM, meta, data set)."""
    meta_elements = [
        Element(0x00020002, "UI", _DCMTK_SOP_CLASS),
        Element(0x00020003, "UI", instance_uid),
        Element(0x00020010, "UI", _EXPLICIT_LE),
        Element(0x00020012, "UI", _DCMTK_IMPLEMENTATION_UID),
        Element(0x00020013, "SH", _DCMTK_VERSION_NAME),
    ]
    version = struct.pack("<HH2sHI", 0x0002, 0x0001, b"OB", 0, 2) + b"\0\1"
    rest = version + encode_elements(meta_elements)
    group_length = struct.pack("<HH2sHI", 0x0002, 0x0000, b"UL", 4, len(rest))
    return b"\0" * 128 + b"DICM" + group_length + rest + encode_elements(elements)


def _instance_uid_of(data: bytes) -> str:
    """The (0002,0003) value of a file written by dump2dcm."""
    at = data.index(b"\x02\x00\x03\x00UI")
    length = struct.unpack_from("<H", data, at + 6)[0]
    return data[at + 8 : at + 8 + length].rstrip(b"\0").decode("ascii")


def verify_against_dump2dcm(dumps: list[Path], scratch: Path) -> dict[str, Any]:
    """Byte-for-byte comparison of ``encode_file`` with dump2dcm on ``dumps``."""
    scratch.mkdir(parents=True, exist_ok=True)
    same = 0
    different: list[str] = []
    for dump in dumps:
        target = scratch / (dump.stem + ".wl")
        subprocess.run([DUMP2DCM, "-q", "-g", str(dump), str(target)], check=True, timeout=30)  # noqa: S603
        theirs = target.read_bytes()
        ours = encode_file(parse_dump(dump.read_text("latin-1")), _instance_uid_of(theirs))
        if ours == theirs:
            same += 1
        else:
            different.append(dump.name)
    return {"checked": len(dumps), "byte_identical": same, "different": different[:5]}


# --- processes and ports --------------------------------------------------------------------


#: Ports handed out in this run: a server still starting has not bound its port yet, and the
#: kernel would hand the same free port to the next one.
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A free TCP port on loopback, never the same twice in one run."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def echo_ready(port: int, called: str, *, calling: str, timeout: float = 60.0) -> None:
    """Wait until an association with ``called`` on ``port`` is accepted (a server still
    starting refuses the TCP connection); a rejection is an error at once."""
    from pynetdicom import AE

    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        ae = AE(ae_title=calling)
        ae.acse_timeout = 5
        ae.network_timeout = 5
        ae.add_requested_context("1.2.840.10008.1.1")
        ae.add_requested_context(MWL_FIND)
        try:
            assoc = ae.associate("127.0.0.1", port, ae_title=called)
        except Exception as exc:  # a refused TCP connection raises on some versions
            last = repr(exc)
            assoc = None
        if assoc is not None and assoc.is_established:
            assoc.release()
            return
        if assoc is not None and assoc.is_rejected:
            raise RuntimeError(f"{called} on port {port} rejects the bench's association")
        time.sleep(0.3)
    raise RuntimeError(f"{called} on port {port} did not answer within {timeout:.0f} s ({last})")


@dataclass
class Server:
    """A DICOM server the bench started: its name, called AE title, port and process."""

    name: str
    ae_title: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    #: Text its log shows once it listens on ``port`` (then nothing else answers in its name).
    ready_text: str | None = None

    def wait_ready(self, *, calling: str, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while self.ready_text is not None:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            if self.ready_text in self.log.read_text(errors="replace"):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start within {timeout:.0f} s")
            time.sleep(0.3)
        echo_ready(self.port, self.ae_title, calling=calling, timeout=timeout)
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate the process group the bench started (the server and any children), then kill."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


#: Every server process the bench started, so that ``stop_all`` ends them whatever happened.
STARTED: list[subprocess.Popen[bytes]] = []


def spawn(
    args: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a server in its own process group (``stop_process`` ends the group), output to
    ``log``, remembered in ``STARTED``."""
    handle = log.open("wb")
    try:
        process = subprocess.Popen(  # noqa: S603
            args,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    finally:
        handle.close()
    STARTED.append(process)
    return process


def stop_all() -> None:
    for process in STARTED:
        stop_process(process)


def start_wlmscpfs(database: Path, port: int, log: Path, name: str = "wlmscpfs") -> Server:
    """``wlmscpfs -dfp DB -dfr PORT`` as anchor.sh runs it; it serves the AE title directory
    ``DB/RADFLOW`` (the called AE title selects the directory)."""
    process = spawn([WLMSCPFS, "-dfp", str(database), "-dfr", str(port)], log)
    return Server(name, "RADFLOW", port, process, log)


def start_orthanc(worklists: Path, workdir: Path, port: int, http_port: int, log: Path) -> Server:
    """Orthanc with its worklists plugin over ``worklists``, configured as anchor.sh does."""
    storage = workdir / "orthanc-db"
    shutil.rmtree(storage, ignore_errors=True)
    storage.mkdir(parents=True)
    config = workdir / "orthanc.json"
    config.write_text(
        "{"
        f'"Name": "bench", "StorageDirectory": "{storage}", "IndexDirectory": "{storage}",'
        f'"DicomAet": "ORTHANC", "DicomPort": {port}, "HttpPort": {http_port},'
        '"RemoteAccessAllowed": false, "DicomCheckCalledAet": false,'
        '"DicomAlwaysAllowFindWorklist": true,'
        '"DicomModalities": {"scu": ["FINDSCU", "127.0.0.1", 11199]},'
        f'"Plugins": ["{ORTHANC_PLUGIN}"],'
        f'"Worklists": {{"Enable": true, "Database": "{worklists}"}}'
        "}\n"
    )
    process = spawn([ORTHANC, str(config)], log)
    return Server("orthanc", "ORTHANC", port, process, log)


def start_floor_pynetdicom(port: int, log: Path) -> Server:
    """A bare pynetdicom MWL SCP whose C-FIND handler yields nothing (an empty worklist), in its
    own process as a real server would be."""
    process = spawn([sys.executable, str(Path(__file__).resolve()), "floor", str(port)], log)
    return Server("floor_pynetdicom", "FLOOR", port, process, log)


def _floor_main(port: int) -> None:
    from pynetdicom import AE, evt
    from pynetdicom.sop_class import ModalityWorklistInformationFind  # type: ignore[attr-defined]

    def handle_find(event: Any) -> Iterator[tuple[int, Any]]:
        yield from ()

    ae = AE(ae_title="FLOOR")
    ae.add_supported_context(ModalityWorklistInformationFind)
    ae.add_supported_context("1.2.840.10008.1.1")
    ae.start_server(("127.0.0.1", port), evt_handlers=[(evt.EVT_C_FIND, handle_find)])


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "floor":
        _floor_main(int(sys.argv[2]))
