"""Probe traceability: each use on an exam, each reprocessing, the hard stop, the look-back."""
