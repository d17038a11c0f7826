"""The MLLP client against real sockets on localhost: a reply in pieces, a peer that closes,
one that never answers, and nobody listening."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from radflow.core.hl7.mllp_client import MllpError, frame, send_message, unframe


def test_frames_wrap_a_message_in_vt_and_fs_cr() -> None:
    assert frame(b"MSH|x\r") == b"\x0bMSH|x\r\x1c\r"
    assert unframe(b"junk\x0bMSH|x\r\x1c\r") == b"MSH|x\r"
    assert unframe(b"\x0bMSH|x\r") is None


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.create_server(("127.0.0.1", 0))
    try:
        yield server
    finally:
        server.close()


def serve_once(server: socket.socket, reply: bytes | None, *, chunks: int = 1) -> threading.Thread:
    """Accept one connection, read one frame, answer ``reply`` in ``chunks`` pieces (or close)."""

    def run() -> None:
        conn, _ = server.accept()
        with conn:
            data = b""
            while unframe(data) is None:
                data += conn.recv(4096)
            if reply is None:
                return
            framed = frame(reply)
            size = -(-len(framed) // chunks)
            for start in range(0, len(framed), size):
                conn.sendall(framed[start : start + size])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_send_message_returns_the_reply_even_when_it_arrives_in_pieces(
    listener: socket.socket,
) -> None:
    ack = b"MSH|^~\\&|EPIC||||20260302||ACK|A1|P|2.5.1\rMSA|AA|RF1\r"
    thread = serve_once(listener, ack, chunks=5)
    port = listener.getsockname()[1]
    assert send_message(host="127.0.0.1", port=port, message=b"MSH|x\r", timeout=5) == ack
    thread.join(5)


def test_a_peer_that_closes_without_answering_is_an_mllp_error(listener: socket.socket) -> None:
    thread = serve_once(listener, None)
    port = listener.getsockname()[1]
    with pytest.raises(MllpError, match="closed"):
        send_message(host="127.0.0.1", port=port, message=b"MSH|x\r", timeout=5)
    thread.join(5)


def test_a_peer_that_never_answers_times_out(listener: socket.socket) -> None:
    port = listener.getsockname()[1]  # listening, accepting into the backlog, never reading
    with pytest.raises(TimeoutError):
        send_message(host="127.0.0.1", port=port, message=b"MSH|x\r", timeout=0.3)


def test_nobody_listening_is_a_connection_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
    with pytest.raises(ConnectionRefusedError):
        send_message(host="127.0.0.1", port=port, message=b"MSH|x\r", timeout=2)
