from __future__ import annotations

import pytest

from radflow.credentials.reference import load_credential_reference


@pytest.fixture
def credential_reference(reference: None) -> None:
    """The catalog plus the shipped credential types and which exams need them."""
    load_credential_reference()
