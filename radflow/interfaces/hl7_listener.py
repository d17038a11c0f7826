"""The MLLP listener that ``radflow hl7`` runs (HL7 v2.5.1 Appendix C, MLLP release 2).

One asyncio server accepts any number of connections; each message travels as ``<VT> message
<FS><CR>``. The socket work stays on the event loop; the database work of each connection runs
in that connection's own worker thread (``hl7_inbound.hl7_receive``: store, apply, ACK), so one
sender's messages are handled in the order sent, a slow database stalls no other connection,
and the thread's database connection is closed when the sender hangs up. The ACK is written
only after ``hl7_receive`` returns, that is after the commit.

Framing is read here rather than with python-hl7's ``hl7.mllp`` stream reader, which on an
over-long block clears its buffer and loses the frame boundary, and gives no way to keep the
start of a refused message. What cannot be taken whole is answered AR and kept on the dead-letter
list (``hl7_refuse``), and the listener carries on:

- a frame larger than ``HL7_MAX_MESSAGE_BYTES``: read to its end (only the first 64 KiB kept),
  AR, next frame;
- a frame cut short by a new start block: AR for the cut one, then the new one is read;
- a connection closed, or silent for ``frame_timeout`` seconds, in the middle of a frame: AR
  (if the peer still reads), then the connection is closed;
- bytes outside a frame (a sender not speaking MLLP): AR, then the connection is closed.

Log lines name the peer, sizes and counts, never message content.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from functools import partial

from django.conf import settings
from django.db import connections

from radflow.core.hl7.ack import build_ack
from radflow.core.hl7.parse import AckCode, ErrorCode, peek, refused

logger = logging.getLogger("radflow.interfaces.hl7_listener")

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c"
CARRIAGE_RETURN = b"\r"
#: Between frames: line ends, blanks and NULs some senders pad with.
_BETWEEN_FRAMES = b" \t\r\n\x00"
#: How much of a refused frame is kept (matches ``hl7_inbound.REFUSED_KEEP_BYTES``).
KEEP_BYTES = 64 * 1024
#: A peer that starts a frame and then says nothing for this long has broken it.
FRAME_TIMEOUT = 60.0

Receive = Callable[..., bytes]


class FrameKind(Enum):
    MESSAGE = "message"
    TOO_LARGE = "too large"
    TRUNCATED = "truncated"
    OUTSIDE = "outside a frame"


@dataclass(frozen=True)
class Frame:
    kind: FrameKind
    #: The message (``MESSAGE``) or the first ``KEEP_BYTES`` of what was refused.
    data: bytes
    size: int
    #: The peer closed the connection or stalled: answer if possible, then hang up.
    ended: bool = False


class FrameReader:
    """Reads MLLP frames from a stream, with a size limit and a timeout inside a frame."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        *,
        max_bytes: int,
        frame_timeout: float = FRAME_TIMEOUT,
        chunk: int = 65536,
    ) -> None:
        self._reader = reader
        self._max = max_bytes
        self._timeout = frame_timeout
        self._chunk = chunk
        self._buffer = bytearray()

    async def _fill(self, timeout: float | None) -> bool:
        if timeout is None:
            data = await self._reader.read(self._chunk)
        else:
            data = await asyncio.wait_for(self._reader.read(self._chunk), timeout)
        self._buffer += data
        return bool(data)

    async def next(self) -> Frame | None:
        """The next frame, or None when the peer closed the connection between frames."""
        junk = bytearray()
        while True:
            start = self._buffer.find(START_BLOCK)
            before = self._buffer if start < 0 else self._buffer[:start]
            junk += before
            if junk.strip(_BETWEEN_FRAMES):
                del self._buffer[: len(before)]
                return Frame(FrameKind.OUTSIDE, bytes(junk[:KEEP_BYTES]), len(junk))
            if start >= 0:
                del self._buffer[: start + 1]
                break
            self._buffer.clear()
            junk.clear()
            if not await self._fill(None):
                return None
        return await self._frame()

    async def _frame(self) -> Frame:
        data = bytearray()
        size = 0
        too_large = False

        def take(part: bytes | bytearray) -> None:
            nonlocal size, too_large
            size += len(part)
            if not too_large and size > self._max:
                too_large = True
            room = (KEEP_BYTES if too_large else self._max) - len(data)
            if room > 0:
                data.extend(part[:room])
            if too_large and len(data) > KEEP_BYTES:
                del data[KEEP_BYTES:]

        while True:
            end = self._buffer.find(END_BLOCK)
            restart = self._buffer.find(START_BLOCK)
            if restart >= 0 and (end < 0 or restart < end):
                take(self._buffer[:restart])
                del self._buffer[:restart]
                return Frame(FrameKind.TRUNCATED, bytes(data), size)
            if end >= 0:
                take(self._buffer[:end])
                del self._buffer[: end + 1]
                if self._buffer[:1] == CARRIAGE_RETURN:
                    del self._buffer[:1]
                kind = FrameKind.TOO_LARGE if too_large else FrameKind.MESSAGE
                return Frame(kind, bytes(data), size)
            take(self._buffer)
            self._buffer.clear()
            try:
                more = await self._fill(self._timeout)
            except TimeoutError:
                more = False
            if not more:
                return Frame(FrameKind.TRUNCATED, bytes(data), size, ended=True)


def frame(message: bytes) -> bytes:
    return START_BLOCK + message + END_BLOCK + CARRIAGE_RETURN


def _reason(frame: Frame, max_bytes: int) -> str:
    if frame.kind is FrameKind.TOO_LARGE:
        return (
            f"The message is {frame.size:,} bytes, more than RadFlow takes "
            f"({max_bytes:,}); the first {len(frame.data):,} bytes are kept."
        )
    if frame.kind is FrameKind.TRUNCATED:
        how = (
            "the connection ended or went silent" if frame.ended else "a new start block (VT) came"
        )
        size = f"{frame.size:,} bytes"
        return f"Truncated MLLP frame: {how} before the end block (FS CR), after {size}."
    return (
        f"{frame.size:,} bytes outside an MLLP frame (VT message FS CR); the connection is closed."
    )


def _safe(call: Callable[[], bytes], raw: bytes) -> bytes:
    """The worker's last line of defence: whatever fails, the sender gets an AR."""
    try:
        return call()
    except Exception as exc:  # a bug must cost one ACK, never the listener
        logger.error("HL7 message not handled: unexpected %s", type(exc).__name__)
        connections.close_all()
        error = refused(
            "RadFlow could not process this message (internal error); send it again.",
            ErrorCode.INTERNAL_ERROR,
        )
        from django.utils import timezone

        return build_ack(
            to=peek(raw), code=AckCode.REJECT, control_id="ERROR", at=timezone.now(), error=error
        )


class Hl7Listener:
    """The asyncio MLLP server. ``receive`` and ``refuse`` are ``hl7_inbound``'s by default."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        max_bytes: int | None = None,
        frame_timeout: float = FRAME_TIMEOUT,
        receive: Receive | None = None,
        refuse: Receive | None = None,
    ) -> None:
        from radflow.interfaces.hl7_inbound import hl7_receive, hl7_refuse

        self.host = host
        self.port = port
        self.max_bytes = max_bytes or settings.HL7_MAX_MESSAGE_BYTES
        self.frame_timeout = frame_timeout
        self._receive = receive or hl7_receive
        self._refuse = refuse or hl7_refuse
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> tuple[str, int]:
        if self._server is None or not self._server.sockets:
            return self.host, self.port
        host, port = self._server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._connected, self.host, self.port, reuse_address=True
        )

    async def stop(self) -> None:
        """No new connections; open ones are closed once their current message is answered."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peername = writer.get_extra_info("peername") or ("?", 0)
        peer = f"{peername[0]}:{peername[1]}"
        loop = asyncio.get_running_loop()
        worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hl7-conn")
        frames = FrameReader(reader, max_bytes=self.max_bytes, frame_timeout=self.frame_timeout)
        handled = 0
        logger.info("HL7 connection from %s", peer)
        try:
            while True:
                current = await frames.next()
                if current is None:
                    break
                if current.kind is FrameKind.MESSAGE:
                    work = partial(_safe, partial(self._receive, raw=current.data, peer=peer))
                else:
                    logger.warning(
                        "HL7 frame from %s refused: %s, %d bytes",
                        peer,
                        current.kind.value,
                        current.size,
                    )
                    reason = _reason(current, self.max_bytes)
                    refuse = partial(self._refuse, raw=current.data, peer=peer, reason=reason)
                    work = partial(_safe, refuse)
                ack = await loop.run_in_executor(worker, work, current.data)
                handled += 1
                writer.write(frame(ack))
                with contextlib.suppress(ConnectionError):
                    await writer.drain()
                if current.kind is FrameKind.OUTSIDE or current.ended:
                    break
        except (ConnectionError, OSError) as exc:
            logger.info("HL7 connection from %s lost: %s", peer, type(exc).__name__)
        finally:
            closing = loop.run_in_executor(worker, connections.close_all)
            with contextlib.suppress(Exception):
                await asyncio.shield(closing)
            worker.shutdown(wait=False)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            logger.info("HL7 connection from %s closed after %d message(s)", peer, handled)


# --- running it ---------------------------------------------------------------------------------


class RunningListener:
    """A listener on its own event-loop thread (tests, benchmarks); ``stop()`` ends it."""

    def __init__(self, listener: Hl7Listener) -> None:
        self.listener = listener
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="hl7-listener", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self.listener.start())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self.listener.stop())
        self._loop.close()

    def start(self) -> RunningListener:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        return self

    @property
    def port(self) -> int:
        return self.listener.address[1]

    def stop(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)


def start_listener(*, host: str = "127.0.0.1", port: int = 0, **options: object) -> RunningListener:
    return RunningListener(Hl7Listener(host=host, port=port, **options)).start()  # type: ignore[arg-type]


def serve_until_signalled(listener: Hl7Listener, ready: Callable[[str, int], None]) -> None:
    """Run in the calling thread until SIGTERM or SIGINT (``radflow hl7``)."""

    async def main() -> None:
        await listener.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        ready(*listener.address)
        try:
            await stop.wait()
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
            await listener.stop()

    asyncio.run(main())
