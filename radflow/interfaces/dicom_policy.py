"""Who may talk to the DICOM server, decided from the AE registry and the department's policy.

Owned by the registry part of issue 6; the server calls ``caller_decision`` once per association
(from a pynetdicom thread), so it costs one indexed query for a registered AE (the unique
``ae_title`` index) and one more, on the one-row policy table, for a caller it does not know.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from radflow.core.dicom.worklist import Restriction
from radflow.interfaces.models import ApplicationEntity, DicomPolicy, UnknownCallerPolicy

#: The one policy row's primary key (the table holds the department's single policy).
POLICY_PK = 1


@dataclass(frozen=True)
class CallerDecision:
    accept: bool
    may_send_mpps: bool
    restriction: Restriction | None
    #: Why (for the association log and the rejection): "registered", "unknown AE, read-only", ...
    reason: str


def policy_get() -> DicomPolicy:
    """The department's DICOM policy row, made with the defaults (reject unknown) on first use."""
    policy = DicomPolicy.objects.filter(pk=POLICY_PK).first()
    if policy is not None:
        return policy
    try:
        with transaction.atomic():
            policy, _ = DicomPolicy.objects.get_or_create(pk=POLICY_PK)
    except IntegrityError:  # another thread made it between our read and our insert
        policy = DicomPolicy.objects.get(pk=POLICY_PK)
    return policy


def same_address(registered: str, address: str) -> bool:
    """Whether a caller's socket address is the registered one.

    Both are compared as IP addresses, so ``::ffff:10.0.0.5`` (an IPv4 peer on a dual-stack
    socket) and ``10.0.0.5`` are the same machine; anything unparsable compares as text.
    """
    try:
        left = ipaddress.ip_address(registered.strip())
        right = ipaddress.ip_address(address.strip())
    except ValueError:
        return registered.strip().lower() == address.strip().lower()
    if isinstance(left, ipaddress.IPv6Address) and left.ipv4_mapped is not None:
        left = left.ipv4_mapped
    if isinstance(right, ipaddress.IPv6Address) and right.ipv4_mapped is not None:
        right = right.ipv4_mapped
    return left == right


def _restriction(ae: ApplicationEntity) -> Restriction | None:
    if not (ae.restrict_to_room or ae.restrict_to_modality):
        return None
    return Restriction(
        room_id=str(ae.room_id) if ae.restrict_to_room and ae.room_id is not None else None,
        modality=ae.modality_id if ae.restrict_to_modality else None,
    )


def caller_decision(*, calling_ae: str, address: str) -> CallerDecision:
    """Accept or reject one association request, and what the caller may do once in.

    - a registered, active AE calling from its address (or from anywhere when none is set) is
      accepted; MPPS as its row says; its worklist narrowed to its room/modality when asked;
    - a registered AE from another address, or an inactive one, is rejected: a title is easy
      to copy, the address is what the department set up;
    - an AE that is not registered follows the policy: rejected, or accepted read-only
      (echo and worklist queries, never MPPS, no restriction).
    """
    title = calling_ae.strip()
    ae = (
        ApplicationEntity.objects.filter(ae_title=title)
        .only(
            "ae_title",
            "host",
            "active",
            "may_send_mpps",
            "restrict_to_room",
            "restrict_to_modality",
            "room_id",
            "modality_id",
        )
        .first()
    )
    if ae is not None:
        if not ae.active:
            return CallerDecision(False, False, None, "registered AE is inactive")
        if ae.host and not same_address(ae.host, address):
            return CallerDecision(False, False, None, "address mismatch")
        if ae.restrict_to_room and ae.room_id is None:
            # Restricted to a room it no longer has (the room was removed): refusing is safer
            # than showing the station every room's patients.
            return CallerDecision(False, False, None, "restricted to its room, but has none")
        if ae.restrict_to_modality and ae.modality_id is None:
            return CallerDecision(False, False, None, "restricted to its modality, but has none")
        return CallerDecision(True, ae.may_send_mpps, _restriction(ae), "registered")
    if policy_get().unknown_caller == UnknownCallerPolicy.READ_ONLY:
        return CallerDecision(True, False, None, "unknown AE, read-only")
    return CallerDecision(False, False, None, "unknown AE, rejected by policy")


def association_seen(calling_ae: str, address: str, result: CallerDecision | bool) -> int:
    """Stamp ``last_seen_at`` of the registered AE that was let in (one UPDATE, no PHI).

    Only an accepted association counts as the modality being seen: a rejected one may be
    someone else borrowing its title. ``address`` is accepted for the caller's convenience (the
    server logs it); nothing about the caller beyond the time is stored. Returns rows updated.
    """
    accepted = result.accept if isinstance(result, CallerDecision) else bool(result)
    if not accepted:
        return 0
    return ApplicationEntity.objects.filter(ae_title=calling_ae.strip(), active=True).update(
        last_seen_at=timezone.now()
    )


def registry_rows() -> list[ApplicationEntity]:
    """Every registered AE for the registry page, active first, with what the table shows."""
    return list(
        ApplicationEntity.objects.select_related(
            "room", "room__site", "device", "modality"
        ).order_by("-active", "ae_title")
    )
