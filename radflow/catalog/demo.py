"""Demo step: the shipped reference catalog (the same files ``radflow load_reference`` loads)."""

from __future__ import annotations

from radflow.catalog.reference import load_reference
from radflow.demo.context import DemoContext


def generate(ctx: DemoContext) -> None:
    load_reference()
