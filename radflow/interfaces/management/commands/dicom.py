"""``radflow dicom``: the DICOM server (Verification, Modality Worklist, MPPS) until SIGTERM.

Listens on ``DICOM_HOST``:``DICOM_PORT`` as ``DICOM_AE_TITLE`` (``--host``, ``--port`` and
``--ae-title`` override them). Like ``radflow worker`` it waits on an event, so SIGTERM (honcho,
systemd) or Ctrl-C stops it cleanly: no new associations, then exit.
"""

from __future__ import annotations

import signal
import threading
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from radflow.interfaces.dicom_server import start_server


class Command(BaseCommand):
    help = "Run the DICOM server (Verification, Modality Worklist FIND, MPPS)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default=None, help="address to listen on (DICOM_HOST)")
        parser.add_argument("--port", type=int, default=None, help="TCP port (DICOM_PORT)")
        parser.add_argument("--ae-title", default=None, help="AE title (DICOM_AE_TITLE)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            server = start_server(
                host=options["host"], port=options["port"], ae_title=options["ae_title"]
            )
        except OSError as exc:
            port = options["port"] or settings.DICOM_PORT
            raise CommandError(f"cannot listen on port {port}: {exc.strerror or exc}") from None
        stop = threading.Event()

        def on_term(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = signal.signal(signal.SIGTERM, on_term)
        host, port = server.server_address[:2]
        self.stdout.write(f"dicom: {server.ae_title} listening on {host}:{port}")
        try:
            while not stop.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            server.shutdown()
        self.stdout.write("dicom: stopped")
