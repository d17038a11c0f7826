from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from radflow.core.roles import Role
from tests.conftest import make_user


@pytest.fixture
def preventionist(db: None) -> User:
    return make_user(Role.INFECTION_PREVENTIONIST)
