"""Who is on the other end of an association, decided once per association.

The server's association policy (``dicom_server``) asks ``caller_decision`` when the request
arrives and keeps the answer on the pynetdicom ``Association``; the handlers read it back from
there instead of asking the registry again for every message.
"""

from __future__ import annotations

from typing import Any

from radflow.interfaces.dicom_policy import CallerDecision, caller_decision

_ATTRIBUTE = "_radflow_caller_decision"


def peer(assoc: Any) -> tuple[str, str]:
    """(calling AE title, IP address) of the association's requestor.

    The title is read from the A-ASSOCIATE-RQ itself: pynetdicom copies it to
    ``requestor.ae_title`` only while negotiating, after ``EVT_REQUESTED`` has run.
    """
    requestor = assoc.requestor
    request = getattr(requestor, "primitive", None)
    title = getattr(request, "calling_ae_title", None) or requestor.ae_title
    if isinstance(title, bytes):
        title = title.decode("ascii", "replace")
    return str(title or "").strip(), str(requestor.address or "")


def decision_for(assoc: Any) -> CallerDecision:
    """The registry's decision about this association's caller (asked once, then kept)."""
    decision = getattr(assoc, _ATTRIBUTE, None)
    if isinstance(decision, CallerDecision):
        return decision
    calling_ae, address = peer(assoc)
    decision = caller_decision(calling_ae=calling_ae, address=address)
    setattr(assoc, _ATTRIBUTE, decision)
    return decision
