"""Sending one HL7 v2 message over MLLP and reading the reply (HL7 v2 Appendix C, MLLP r2).

A message travels as ``<VT> message <FS><CR>``; the receiver answers on the same connection
with a framed ACK. One connection per message keeps a sender simple and a stuck receiver
harmless: the whole exchange (connect, send, wait for the ACK) is bounded by ``timeout``.
"""

from __future__ import annotations

import socket
import time

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c"
CARRIAGE_RETURN = b"\r"
#: A reply larger than this is not an ACK: stop reading rather than fill memory.
MAX_REPLY = 1 << 20


class MllpError(OSError):
    """The peer broke the protocol (closed before a complete reply, sent no frame)."""


def frame(message: bytes) -> bytes:
    return START_BLOCK + message + END_BLOCK + CARRIAGE_RETURN


def unframe(data: bytes) -> bytes | None:
    """The first complete frame's content in ``data``, or None if it is not complete yet."""
    start = data.find(START_BLOCK)
    if start == -1:
        return None
    end = data.find(END_BLOCK + CARRIAGE_RETURN, start + 1)
    if end == -1:
        return None
    return data[start + 1 : end]


def send_message(*, host: str, port: int, message: bytes, timeout: float) -> bytes:
    """Send ``message`` (CR-separated segments, unframed) and return the peer's reply, unframed.

    Raises ``TimeoutError`` when the peer does not answer within ``timeout`` seconds in all,
    ``MllpError`` when it closes the connection first, other ``OSError`` when it cannot be
    reached. Nothing is retried here: the outbox decides when to try again.
    """
    deadline = time.monotonic() + timeout
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(frame(message))
        received = b""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no reply from {host}:{port} within {timeout:g} s")
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                raise TimeoutError(f"no reply from {host}:{port} within {timeout:g} s") from None
            if not chunk:
                raise MllpError(f"{host}:{port} closed the connection without a complete reply")
            received += chunk
            reply = unframe(received)
            if reply is not None:
                return reply
            if len(received) > MAX_REPLY:
                raise MllpError(f"{host}:{port} sent more than {MAX_REPLY} bytes without a frame")


__all__ = ["MllpError", "frame", "send_message", "unframe"]
