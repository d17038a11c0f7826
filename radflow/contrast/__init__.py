"""Contrast media: agents, administrations, renal and reaction screening, adverse events."""
