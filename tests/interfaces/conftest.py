"""Fixtures for the DICOM tests (a live RadFlow DICOM server on a free port) and the HL7 tests
(what the golden messages name).

The server answers from its own threads with their own database connections, so tests that
use it need committed data: ``transactional_db`` (``django_db(transaction=True)``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User

from radflow.interfaces.dicom_server import DicomServer, start_server
from tests.interfaces.hl7_world import Hl7World, build_hl7_world


@pytest.fixture
def dicom_server(transactional_db: None) -> Iterator[DicomServer]:
    """``radflow dicom`` as the tests' modalities see it: AE ``RADFLOW`` on 127.0.0.1 at
    ``dicom_server.server_address[1]``; stopped (and its port freed) after the test."""
    server = start_server(host="127.0.0.1", port=0, ae_title="RADFLOW")
    try:
        yield server
    finally:
        server.shutdown()


@pytest.fixture
def dicom_port(dicom_server: DicomServer) -> int:
    return int(dicom_server.server_address[1])


@pytest.fixture
def hl7_world(reference: None, admin_user: User) -> Hl7World:
    """The interfaces, patients and radiologist the golden HL7 messages name."""
    return build_hl7_world(admin_user)
