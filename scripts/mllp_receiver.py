"""A test HL7 receiver: listens for MLLP, prints each message, answers AA.

Stands in for the EHR's inbound interface when trying RadFlow's outbound messages (SIU, order
status) by hand: add a destination for 127.0.0.1 and this port on the HL7 console, then book an
exam. ``--answer AE`` makes it refuse everything, to see a destination stop and resume.

    .venv/bin/python scripts/mllp_receiver.py --port 2576
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from datetime import datetime

from radflow.core.hl7.mllp_client import frame

START, END = b"\x0b", b"\x1c\r"


def _ack(message: bytes, code: str) -> bytes:
    msh = message.split(b"\r", 1)[0].decode("utf-8", "replace").split("|")
    control_id = msh[9] if len(msh) > 9 else ""
    version = msh[11] if len(msh) > 11 else "2.5.1"
    now = datetime.now().astimezone().strftime("%Y%m%d%H%M%S%z")
    sender = "|".join(msh[4:6]) if len(msh) > 5 else "|"
    receiver = "|".join(msh[2:4]) if len(msh) > 3 else "|"
    text = "" if code == "AA" else "|Refused by the test receiver"
    return (
        f"MSH|^~\\&|{sender}|{receiver}|{now}||ACK|ACK{control_id}|P|{version}\r"
        f"MSA|{code}|{control_id}{text}\r"
    ).encode()


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, code: str) -> None:
    buffer = b""
    while chunk := await reader.read(65536):
        buffer += chunk
        while START in buffer and END in buffer:
            start = buffer.index(START)
            end = buffer.index(END, start)
            message, buffer = buffer[start + 1 : end], buffer[end + 2 :]
            print(message.replace(b"\r", b"\n").decode("utf-8", "replace"), flush=True)
            writer.write(frame(_ack(message, code)))
            await writer.drain()
    writer.close()


async def _main(host: str, port: int, code: str) -> None:
    server = await asyncio.start_server(lambda r, w: _serve(r, w, code), host, port)
    print(f"MLLP test receiver on {host}:{port}, answering {code}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2576)
    parser.add_argument("--answer", choices=("AA", "AE", "AR"), default="AA")
    options = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(options.host, options.port, options.answer))


if __name__ == "__main__":
    main()
