"""``radflow audit verify``: check the access log's hash chain end to end.

Prints ``OK: N rows, chain intact`` and exits 0, or ``BROKEN at #seq: reason`` and exits 1, so
a cron job or monitoring probe can alert on the exit status alone.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from radflow.audit.selectors import access_chain_verify


class Command(BaseCommand):
    help = "Access-log tools. `audit verify` checks the tamper-evident hash chain."

    def add_arguments(self, parser: ArgumentParser) -> None:
        subcommands = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND")
        subcommands.add_parser("verify", help="walk the chain in seq order and report the result")

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("subcommand") != "verify":
            raise CommandError("choose a subcommand: verify")
        status = access_chain_verify()
        if status.intact:
            self.stdout.write(status.summary)
            return
        self.stderr.write(status.summary)
        raise SystemExit(1)
