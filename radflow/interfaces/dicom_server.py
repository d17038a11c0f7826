"""RadFlow's DICOM Application Entity: Verification, Modality Worklist FIND and MPPS (issue 6).

One AE (``DICOM_AE_TITLE`` on ``DICOM_PORT``), pynetdicom underneath. Every association is
decided by the AE registry (``dicom_policy.caller_decision``) when its request arrives: a caller
the policy refuses gets A-ASSOCIATE-RJ (permanent, calling AE title not recognised). Each
association is logged with the calling AE, its address and the result, never patient data.

Each association runs in its own pynetdicom thread, and Django's database connections are per
thread: whatever the association opened is closed when its thread ends (released, aborted,
timed out or rejected alike), so a busy server leaks no connections.

What costs time per association, and what this module changes (measured with dcmtk ``findscu``
against an empty worklist on loopback, median of runs, process start included):

- Nagle + delayed ACK, about 40 ms per query: ``findscu`` writes a PDU's header and body
  separately and never sets ``TCP_NODELAY``, so the Identifier's PDU waits until the server
  ACKs the previous segment, which Linux delays by 40 ms on a connection that looks
  interactive. The server re-arms ``TCP_QUICKACK`` after every read (``_QuickAckSocket``) so
  the ACK goes at once, and sets ``TCP_NODELAY`` so its own multi-PDU answers do not wait on the
  modality's delayed ACKs either. This is most of the difference (~95 ms → ~45 ms).
- pynetdicom's "standard" event handlers and Identifier logging decode and pretty-print every
  request and answer (PHI into the log, too): off (``_quiet_pynetdicom``).
- ``AssociationServer.service_actions`` runs ``gc.collect()`` on every 60th accepted connection
  or idle poll, a full collection of a Django process's heap (tens of ms, holding the GIL for
  every association): off; Python's own generational collector runs as usual.
- Left as pynetdicom has them: the 1 ms polling sleeps of the DUL reactor and the association
  reactor (``dul._run_loop_delay``, ``Association._run_reactor``). They bound the latency of
  each PDU to about a millisecond; shorter sleeps only burn CPU that 20 concurrent modalities
  need, and they are not configurable without patching pynetdicom.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import socket
import threading
import warnings
from typing import Any, cast

from django.conf import settings
from django.db import connections
from pydicom import config as pydicom_config
from pynetdicom import AE, _config, evt
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    ModalityPerformedProcedureStep,
    ModalityWorklistInformationFind,
    Verification,
)
from pynetdicom.transport import RequestHandler, ThreadedAssociationServer

from radflow.interfaces import dicom_wire
from radflow.interfaces.dicom_caller import decision_for, peer
from radflow.interfaces.dicom_mwl import handle_find

logger = logging.getLogger("radflow.interfaces.dicom")

#: Concurrent associations before new ones are refused (A-ASSOCIATE-RJ, local limit exceeded).
MAX_ASSOCIATIONS = 64
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)


class _QuickAckSocket(socket.socket):
    """A TCP socket that asks the kernel to ACK at once after each read (Linux)."""

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        data = super().recv(bufsize, flags)
        if _QUICKACK is not None:
            with contextlib.suppress(OSError):
                self.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
        return data


class _AssociationHandler(RequestHandler):
    """pynetdicom's handler, plus: the association's thread closes its DB connections."""

    def handle(self) -> None:
        assoc = self._create_association()
        run = assoc.run

        def run_then_close() -> None:
            try:
                run()
            finally:
                connections.close_all()

        assoc.run = run_then_close  # type: ignore[method-assign]
        evt.trigger(assoc, evt.EVT_CONN_OPEN, {"address": self.client_address})
        assoc.start()


class DicomServer(ThreadedAssociationServer):
    """The association server with the socket options and housekeeping described above."""

    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("request_handler", _AssociationHandler)
        super().__init__(*args, **kwargs)

    def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
        client, address = super().get_request()
        if isinstance(client, socket.socket) and client.family in (
            socket.AF_INET,
            socket.AF_INET6,
        ):
            timeout = client.gettimeout()
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if _QUICKACK is not None and type(client) is socket.socket:
                client = _QuickAckSocket(
                    client.family, client.type, client.proto, fileno=client.detach()
                )
                client.settimeout(timeout)
        return client, address

    def service_actions(self) -> None:
        """No forced ``gc.collect()`` (see the module docstring)."""


def _quiet_pynetdicom() -> None:
    """No per-message logging by pynetdicom (cost, and request identifiers hold PHI); pydicom
    neither validates nor warns about odd values it reads (its warnings quote the value, which
    may be a patient's name): the handlers check what they use and answer with a status."""
    _config.LOG_HANDLER_LEVEL = "none"
    _config.LOG_REQUEST_IDENTIFIERS = False
    _config.LOG_RESPONSE_IDENTIFIERS = False
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    logging.getLogger("pydicom").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"pydicom(\.|$)")
    pydicom_config.settings.reading_validation_mode = pydicom_config.IGNORE


def _on_requested(event: Any) -> None:
    """``EVT_REQUESTED``: the registry decides; a refused caller gets A-ASSOCIATE-RJ."""
    assoc = event.assoc
    calling_ae, address = peer(assoc)
    try:
        decision = decision_for(assoc)
    except Exception as error:  # no registry (database down): refuse, transiently
        logger.error(
            "DICOM association from %s at %s: policy failed (%s), rejected",
            calling_ae,
            address,
            type(error).__name__,
        )
        _reject(assoc, result=0x02, source=0x03, diagnostic=0x01)
        return
    if not decision.accept:
        logger.warning(
            "DICOM association from %s at %s rejected: %s", calling_ae, address, decision.reason
        )
        # Rejected-permanent, service-user, calling AE title not recognised (PS3.8 9.3.4).
        _reject(assoc, result=0x01, source=0x01, diagnostic=0x03)


def _reject(assoc: Any, *, result: int, source: int, diagnostic: int) -> None:
    assoc.acse.send_reject(result, source, diagnostic)
    assoc.is_rejected = True
    assoc.kill()


def _on_accepted(event: Any) -> None:
    calling_ae, address = peer(event.assoc)
    decision = decision_for(event.assoc)
    logger.info(
        "DICOM association from %s at %s accepted: %s", calling_ae, address, decision.reason
    )
    try:
        from radflow.interfaces.dicom_policy import association_seen

        association_seen(calling_ae, address, decision)
    except Exception as error:  # last-seen is a convenience: never fail the association on it
        logger.warning("DICOM: could not stamp %s as seen (%s)", calling_ae, type(error).__name__)


def _on_rejected(event: Any) -> None:
    calling_ae, address = peer(event.assoc)
    logger.warning("DICOM association from %s at %s rejected by the server", calling_ae, address)


def _on_aborted(event: Any) -> None:
    calling_ae, address = peer(event.assoc)
    logger.info("DICOM association from %s at %s aborted", calling_ae, address)


def _on_echo(event: Any) -> int:
    """``EVT_C_ECHO``: Verification (PS3.4 A.4) is always answered with success."""
    return 0x0000


def _mpps_handlers() -> list[evt.EventHandlerType]:
    """The MPPS handlers when ``radflow.interfaces.dicom_mpps`` is installed (imported lazily:
    the worklist works without it)."""
    try:
        module = importlib.import_module("radflow.interfaces.dicom_mpps")
    except ModuleNotFoundError as error:
        if error.name != "radflow.interfaces.dicom_mpps":
            raise
        return []
    return [(evt.EVT_N_CREATE, module.handle_n_create), (evt.EVT_N_SET, module.handle_n_set)]


def build_ae(ae_title: str) -> tuple[AE, list[evt.EventHandlerType]]:
    """The Application Entity with its presentation contexts, and the handlers to bind."""
    _quiet_pynetdicom()
    dicom_wire.install()
    ae = AE(ae_title=ae_title)
    ae.maximum_associations = MAX_ASSOCIATIONS
    ae.add_supported_context(Verification)
    ae.add_supported_context(ModalityWorklistInformationFind)
    handlers: list[evt.EventHandlerType] = [
        (evt.EVT_REQUESTED, _on_requested),
        (evt.EVT_ACCEPTED, _on_accepted),
        (evt.EVT_REJECTED, _on_rejected),
        (evt.EVT_ABORTED, _on_aborted),
        (evt.EVT_C_ECHO, _on_echo),
        (evt.EVT_C_FIND, handle_find),
    ]
    mpps = _mpps_handlers()
    if mpps:
        ae.add_supported_context(ModalityPerformedProcedureStep)
        handlers.extend(mpps)
    return ae, handlers


def start_server(
    *, host: str | None = None, port: int | None = None, ae_title: str | None = None
) -> DicomServer:
    """Start listening in a background thread and return the server (``shutdown()`` stops
    it). Port 0 picks a free port: read it from ``server.server_address``."""
    ae, handlers = build_ae(ae_title or settings.DICOM_AE_TITLE)
    bind_host = host if host is not None else settings.DICOM_HOST
    bind_port = port if port is not None else settings.DICOM_PORT
    server = cast(
        DicomServer,
        ae.make_server((bind_host, bind_port), evt_handlers=handlers, server_class=DicomServer),
    )
    thread = threading.Thread(
        target=server.serve_forever, name="radflow-dicom-acceptor", daemon=True
    )
    thread.start()
    ae._servers.append(server)
    logger.info(
        "DICOM server %s listening on %s:%d (MPPS %s)",
        ae.ae_title,
        server.server_address[0],
        server.server_address[1],
        "on" if any(h[0] is evt.EVT_N_CREATE for h in handlers) else "off",
    )
    return server
