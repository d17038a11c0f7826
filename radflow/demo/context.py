"""What every demo step shares: the seed, seeded randomness, "today" and the rows made so far.

Each step draws from its own ``random.Random`` and ``Faker`` streams, seeded from the seed and the
step's name, so adding a step (orders, exams, rosters ...) never changes what earlier steps make.
Nothing here imports Django models: the context only carries them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from faker import Faker

DEFAULT_PATIENTS = 5000


def _ignore(message: str) -> None:
    return None


@dataclass
class DemoContext:
    seed: int
    today: date
    patients_count: int = DEFAULT_PATIENTS
    log: Callable[[str], None] = _ignore
    #: Rows later steps need, by step: ``sites`` (code -> Site), ``departments`` (site code ->
    #: Department), ``rooms``, ``devices``, ``probes``, ``staff``, ``payers``, ``patients``,
    #: ``users`` (username -> User). Lists keep creation order, which is deterministic.
    objects: dict[str, Any] = field(default_factory=dict)
    _fakers: dict[tuple[str, str], Faker] = field(default_factory=dict, repr=False)

    def random(self, stream: str) -> random.Random:
        """A fresh generator for one named stream; the same seed and name give the same draws."""
        return random.Random(f"radflow-demo:{self.seed}:{stream}")

    def faker(self, locale: str, stream: str) -> Faker:
        """A seeded Faker for one locale and stream, made once and reused within the run."""
        key = (locale, stream)
        fake = self._fakers.get(key)
        if fake is None:
            fake = Faker(locale)
            fake.seed_instance(f"radflow-demo:{self.seed}:{stream}:{locale}")
            self._fakers[key] = fake
        return fake
