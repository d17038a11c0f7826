"""Who may talk to the DICOM server, decided from the AE registry and the department's policy.

Owned by the registry part of issue 6; the server calls ``caller_decision`` once per association.
"""

from __future__ import annotations

from dataclasses import dataclass

from radflow.core.dicom.worklist import Restriction


@dataclass(frozen=True)
class CallerDecision:
    accept: bool
    may_send_mpps: bool
    restriction: Restriction | None
    #: Why (for the association log and the rejection): "registered", "unknown AE, read-only", ...
    reason: str


def caller_decision(*, calling_ae: str, address: str) -> CallerDecision:
    """Placeholder until the registry part lands: accept everyone, MPPS allowed."""
    return CallerDecision(accept=True, may_send_mpps=True, restriction=None, reason="no policy yet")
