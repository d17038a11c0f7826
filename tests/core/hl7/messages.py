"""The golden inbound messages in ``tests/fixtures/hl7``, named by type, event, sender, version.

The files keep one segment per line so they read and diff well; ``load`` gives them as a sender
puts them on the wire (segments ended by CR, in the file's own character set).
"""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "hl7"


def load(name: str) -> bytes:
    raw = (FIXTURES / name).read_bytes()
    return raw.replace(b"\r\n", b"\n").rstrip(b"\n").replace(b"\n", b"\r")


def names() -> list[str]:
    return sorted(p.name for p in FIXTURES.glob("*.hl7"))


def replace_segment(raw: bytes, segment: str, new: str, encoding: str = "ascii") -> bytes:
    """``raw`` with its first ``segment`` line replaced by ``new``."""
    lines = raw.split(b"\r")
    for i, line in enumerate(lines):
        if line[:3] == segment.encode():
            lines[i] = new.encode(encoding)
            return b"\r".join(lines)
    raise AssertionError(f"{segment} not in the message")


def with_control_id(raw: bytes, control_id: str) -> bytes:
    header, rest = raw.split(b"\r", 1)
    fields = header.split(b"|")
    fields[9] = control_id.encode()
    return b"|".join(fields) + b"\r" + rest
