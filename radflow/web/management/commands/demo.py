"""``radflow demo --seed 1``: fill an empty database with the deterministic demo department."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from radflow.demo import (
    DEFAULT_PATIENTS,
    DEMO_LOGINS,
    DEMO_PASSWORD,
    DemoNotEmpty,
    database_is_empty,
    demo_generate,
)


def _date(value: str) -> date:
    return date.fromisoformat(value)


class Command(BaseCommand):
    help = (
        "Create the demo department (three sites, rooms, equipment, staff, payers, patients and "
        "one login per role). Refuses to touch a database that already holds data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same data (1).")
        parser.add_argument(
            "--patients",
            type=int,
            default=DEFAULT_PATIENTS,
            help=f"How many patients to create ({DEFAULT_PATIENTS}).",
        )
        parser.add_argument(
            "--today",
            type=_date,
            default=None,
            help="The date the data is relative to (YYYY-MM-DD; default: today).",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing (and succeed) when the database already holds data.",
        )
        parser.add_argument(
            "--print-logins",
            action="store_true",
            help="Only print the demo logins and their password; create nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["print_logins"]:
            self._print_logins()
            return
        if options["patients"] < 0:
            raise CommandError("--patients must be 0 or more.")
        if options["if_empty"] and not database_is_empty()[0]:
            if options["verbosity"] > 1:
                self.stdout.write("The database already holds data; demo skipped.")
            return
        started = time.perf_counter()
        log = self.stdout.write if options["verbosity"] > 0 else None
        try:
            demo_generate(
                seed=options["seed"],
                patients=options["patients"],
                today=options["today"],
                log=log,
            )
        except DemoNotEmpty as exc:
            raise CommandError(
                f"{exc.message} Use a fresh database (or --if-empty to skip quietly).",
                returncode=1,
            ) from None
        if options["verbosity"] > 0:
            elapsed = time.perf_counter() - started
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo department created (seed {options['seed']}) in {elapsed:.1f} s."
                )
            )
            self._print_logins()

    def _print_logins(self) -> None:
        self.stdout.write(f"Demo logins (password: {DEMO_PASSWORD}):")
        for username, label in DEMO_LOGINS:
            self.stdout.write(f"  {username:<24} {label}")
        self.stdout.write(
            f"DICOM worklist: AE {settings.DICOM_AE_TITLE} at 127.0.0.1:{settings.DICOM_PORT}"
        )
        self.stdout.write(
            f"HL7 v2 (MLLP): 127.0.0.1:{settings.HL7_PORT}"
            "   FHIR R4: http://127.0.0.1:8000/fhir/R4/ (token: Accounts -> API tokens)"
        )
