"""``radflow hl7``: the HL7 v2 MLLP listener until SIGTERM.

Listens on ``HL7_HOST``:``HL7_PORT`` (``--host``, ``--port`` override them). Messages are stored,
applied and acknowledged by ``radflow.interfaces.hl7_inbound``; several instances may listen
behind a load balancer (the database keeps each message once). SIGTERM (honcho, systemd) or
Ctrl-C stops it: no new connections, the messages in hand are finished, then exit.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from radflow.interfaces.hl7_listener import Hl7Listener, serve_until_signalled


class Command(BaseCommand):
    help = "Run the HL7 v2 MLLP listener (ADT, ORM/OMG/OMI orders, ORU results)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default=None, help="address to listen on (HL7_HOST)")
        parser.add_argument("--port", type=int, default=None, help="TCP port (HL7_PORT)")

    def handle(self, *args: Any, **options: Any) -> None:
        host = options["host"] or settings.HL7_HOST
        port = settings.HL7_PORT if options["port"] is None else options["port"]
        listener = Hl7Listener(host=host, port=port)

        def ready(bound_host: str, bound_port: int) -> None:
            self.stdout.write(f"hl7: MLLP listener on {bound_host}:{bound_port}")
            self.stdout.flush()

        try:
            serve_until_signalled(listener, ready)
        except OSError as exc:
            raise CommandError(f"cannot listen on port {port}: {exc.strerror or exc}") from None
        self.stdout.write("hl7: stopped")
