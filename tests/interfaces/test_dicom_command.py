"""``radflow dicom``: the Procfile process a modality talks to, stopped by SIGTERM."""

from __future__ import annotations

import signal
import socket
import threading
import time
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from pynetdicom import AE
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from radflow.interfaces.models import ApplicationEntity
from tests.interfaces.signals import retry_until, sigterm_when_handled

pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_procfile_starts_the_dicom_server() -> None:
    procfile = Path(settings.PROJECT_DIR, "Procfile").read_text().splitlines()
    assert "dicom: radflow dicom" in procfile


def test_radflow_dicom_answers_a_modality_until_sigterm() -> None:
    ApplicationEntity.objects.create(ae_title="US_ROOM_A")
    port = free_port()
    echoes: list[int] = []

    def modality() -> None:
        ae = AE(ae_title="US_ROOM_A")
        ae.add_requested_context(Verification)
        try:
            until = retry_until()
            while time.monotonic() < until:  # until the server listens
                assoc = ae.associate("127.0.0.1", port, ae_title="RADFLOW")
                if assoc.is_established:
                    echoes.append(int(assoc.send_c_echo().Status))
                    assoc.release()
                    break
                time.sleep(0.1)
        finally:
            sigterm_when_handled(before)

    before = signal.getsignal(signal.SIGTERM)
    out = StringIO()
    caller = threading.Thread(target=modality)
    caller.start()
    call_command("dicom", "--host", "127.0.0.1", "--port", str(port), stdout=out)
    caller.join(timeout=30)
    assert echoes == [0x0000]
    lines = out.getvalue().splitlines()
    assert lines[0] == f"dicom: RADFLOW listening on 127.0.0.1:{port}"
    assert lines[-1] == "dicom: stopped"
    assert signal.getsignal(signal.SIGTERM) == before
    with socket.socket() as probe:  # nothing listens there any more
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CommandError, match=f"cannot listen on port {port}"):
            call_command("dicom", "--host", "127.0.0.1", "--port", str(port))
