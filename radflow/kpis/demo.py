"""Demo data for the kpis app (filled in by the issue's work)."""

from __future__ import annotations

from radflow.demo.context import DemoContext


def generate(ctx: DemoContext) -> None:
    """Nothing yet."""
