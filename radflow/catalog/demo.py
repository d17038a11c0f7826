"""Demo step: the shipped reference data (the same files ``radflow load_reference`` loads)."""

from __future__ import annotations

from radflow.catalog.reference import load_reference
from radflow.demo.context import DemoContext
from radflow.orders.reference import load_workflow_reference


def generate(ctx: DemoContext) -> None:
    result = load_reference()
    load_workflow_reference(result=result)
