"""The HL7 message console and the HL7 settings pages.

The interface analyst and the coordinator find any message in or out, read it parsed by segment
and field, see what it changed, fix and replay what was refused (the dead letters), and skip,
edit or resend what a destination refused; the analyst also keeps the interfaces, destinations
and retention. Views parse, authorise, call one service and render. Every page that shows a
message names its patient, so it records an access-log row per RadFlow patient shown.

The replay, skip, resend and release services belong to the inbound and outbound parts
(``hl7_inbound``, ``hl7_outbound``); they are imported where used.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from radflow.accounts.access import page_requires
from radflow.audit.models import AccessChannel
from radflow.audit.services import AccessSource
from radflow.core.errors import NotFound, RadflowError, ValidationFailed
from radflow.core.hl7.fields import decode, split_message, text_for_editing
from radflow.interfaces import selectors_hl7 as selectors
from radflow.interfaces import services_hl7_setup as setup
from radflow.interfaces.forms_hl7 import (
    EditedMessageForm,
    Hl7DestinationForm,
    Hl7InterfaceForm,
    MessageSearchForm,
    RetentionForm,
)
from radflow.interfaces.models import (
    DEAD_LETTER,
    Hl7Destination,
    Hl7Direction,
    Hl7Interface,
    Hl7Message,
    Hl7Status,
)
from radflow.web.pages import paginate

VIEW = "interfaces.view_hl7message"
REPLAY = "interfaces.replay_hl7message"
VIEW_INTERFACE = "interfaces.view_hl7interface"
ADD_INTERFACE = "interfaces.add_hl7interface"
CHANGE_INTERFACE = "interfaces.change_hl7interface"
VIEW_DESTINATION = "interfaces.view_hl7destination"
ADD_DESTINATION = "interfaces.add_hl7destination"
CHANGE_DESTINATION = "interfaces.change_hl7destination"
VIEW_SETTINGS = "interfaces.view_interfacesettings"
CHANGE_SETTINGS = "interfaces.change_interfacesettings"

#: Where "what it changed" links to, by the entry's ``what``.
CHANGE_LINKS = {
    "patient": "patients:detail",
    "order": "orders:detail",
    "exam": "exams:detail",
    "message": "interfaces:hl7_message",
}
#: Outbound statuses a person may skip, and resend as they are.
SKIPPABLE = (Hl7Status.PENDING, Hl7Status.HELD)
RESENDABLE = (Hl7Status.PENDING, Hl7Status.HELD, Hl7Status.SKIPPED, Hl7Status.SENT)


def _web(request: HttpRequest) -> AccessSource:
    return AccessSource.from_request(request, AccessChannel.WEB)


def _message(pk: UUID) -> Hl7Message:
    try:
        return selectors.message_get(message_id=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _audited(request: HttpRequest, shown: list[Hl7Message], action: str) -> None:
    selectors.messages_shown_audited(
        user=request.user, messages=shown, action=action, source=_web(request)
    )


# --- the console ------------------------------------------------------------------------------


@page_requires(VIEW)
@require_GET
def console(request: HttpRequest) -> HttpResponse:
    form = MessageSearchForm(request.GET)
    with transaction.atomic():
        page = paginate(request, selectors.message_search(form.filters()))
        rows = list(page.object_list)
        _audited(request, rows, "interfaces.hl7_search")
    context = {"form": form, "page": page, "rows": rows, "counts": selectors.hl7_counts()}
    return render(request, "interfaces/hl7_console.html", context)


def _change_rows(message: Hl7Message) -> list[dict[str, Any]]:
    """What applying (or a person) did, each with a link where RadFlow has the page."""
    rows: list[dict[str, Any]] = []
    for entry in message.changes or []:
        if not isinstance(entry, dict):
            continue
        url = ""
        url_name = CHANGE_LINKS.get(str(entry.get("what", "")))
        if url_name and entry.get("id"):
            try:
                url = reverse(url_name, kwargs={"pk": entry["id"]})
            except NoReverseMatch:
                url = ""
        rows.append({**entry, "url": url})
    return rows


def _actions(message: Hl7Message, replays: list[Hl7Message]) -> dict[str, bool]:
    inbound = message.direction == Hl7Direction.IN
    outbound = message.direction == Hl7Direction.OUT
    return {
        "replay": inbound and message.status in DEAD_LETTER and not replays,
        "skip": outbound and message.status in SKIPPABLE,
        "resend": outbound and message.status in RESENDABLE,
        "edit": outbound and message.status != Hl7Status.REPLAYED,
    }


@page_requires(VIEW)
@require_GET
def message_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    with transaction.atomic():
        message = _message(pk)
        replays = selectors.message_replays(message)
        _audited(request, [message], "interfaces.hl7_message")
    raw = bytes(message.raw or b"")
    ack = bytes(message.ack) if message.ack else None
    decoded = decode(raw, message.charset)
    context = {
        "message": message,
        "parsed": split_message(raw, message.charset),
        "raw_text": decoded.text.replace("\r\n", "\n").replace("\r", "\n").strip("\n"),
        "ack_parsed": split_message(ack) if ack else None,
        "ack_text": decode(ack).text.replace("\r", "\n").strip("\n") if ack else "",
        "changes": _change_rows(message),
        "replays": replays,
        "actions": _actions(message, replays),
    }
    return render(request, "interfaces/hl7_message.html", context)


@page_requires(VIEW)
@require_GET
def dead_letters(request: HttpRequest) -> HttpResponse:
    with transaction.atomic():
        rows = selectors.dead_letters()
        _audited(request, rows, "interfaces.hl7_dead_letters")
    return render(request, "interfaces/hl7_dead_letters.html", {"rows": rows})


@page_requires(VIEW)
@require_GET
def outbound(request: HttpRequest) -> HttpResponse:
    with transaction.atomic():
        queues = selectors.outbound_queue()
        _audited(request, [m for q in queues for m in q.messages], "interfaces.hl7_outbound_queue")
    return render(request, "interfaces/hl7_outbound.html", {"queues": queues})


# --- edit and replay (inbound), skip / resend / release (outbound) -----------------------------


def _edit_page(
    request: HttpRequest,
    message: Hl7Message,
    form: EditedMessageForm,
    *,
    template: str,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    _audited(request, [message], "interfaces.hl7_edit")
    raw = bytes(message.raw or b"")
    context = {
        "message": message,
        "form": form,
        "parsed": split_message(raw, message.charset),
        "error": error,
    }
    return render(request, template, context, status=422 if form.errors else status)


def _edit_form(message: Hl7Message, data: Any = None) -> EditedMessageForm:
    text, codec = text_for_editing(bytes(message.raw or b""), message.charset)
    return EditedMessageForm(data, codec=codec, initial={"raw": text})


def _result_summary(result: Hl7Message) -> str:
    ack = f", ACK {result.ack_code}" if result.ack_code else ""
    return f"{result.get_status_display()}{ack}"


@page_requires(VIEW, REPLAY)
@require_http_methods(["GET", "POST"])
def message_replay(request: HttpRequest, pk: UUID) -> HttpResponse:
    message = _message(pk)
    template = "interfaces/hl7_replay.html"
    if message.direction != Hl7Direction.IN:
        messages.error(request, "Only received messages are replayed; resend a sent one.")
        return redirect("interfaces:hl7_message", pk=message.pk)
    form = _edit_form(message, request.POST if request.method == "POST" else None)
    if request.method != "POST" or not form.is_valid():
        with transaction.atomic():
            return _edit_page(request, message, form, template=template)
    from radflow.interfaces.hl7_inbound import hl7_replay

    edited: bytes = form.cleaned_data["raw"]
    try:
        result = hl7_replay(
            message=message,
            raw=None if edited == bytes(message.raw) else edited,
            by=request.user,
        )
    except ValidationFailed as exc:
        form.add_service_errors(exc)
        with transaction.atomic():
            return _edit_page(request, message, form, template=template)
    except RadflowError as exc:
        with transaction.atomic():
            return _edit_page(
                request, message, form, template=template, error=exc.message, status=409
            )
    if result.status in DEAD_LETTER:
        messages.error(
            request,
            f"The replayed message was not applied ({_result_summary(result)}): "
            f"{result.error or 'see its ACK'}. Fix it below and replay it again.",
        )
        return redirect("interfaces:hl7_message_replay", pk=result.pk)
    messages.success(request, f"Replayed: {_result_summary(result)}.")
    return redirect("interfaces:hl7_message", pk=result.pk)


def _back(request: HttpRequest, message: Hl7Message) -> HttpResponse:
    if request.POST.get("next") == "message":
        return redirect("interfaces:hl7_message", pk=message.pk)
    return redirect("interfaces:hl7_outbound")


@page_requires(VIEW, REPLAY)
@require_POST
def message_skip(request: HttpRequest, pk: UUID) -> HttpResponse:
    message = _message(pk)
    from radflow.interfaces.hl7_outbound import hl7_skip

    try:
        hl7_skip(message=message, by=request.user)
    except RadflowError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"{message.message_type} {message.control_id} skipped: it will not be sent."
        )
    return _back(request, message)


@page_requires(VIEW, REPLAY)
@require_http_methods(["GET", "POST"])
def message_resend(request: HttpRequest, pk: UUID) -> HttpResponse:
    """POST without ``raw``: resend as it is. With ``raw`` (the edit page): an edited copy."""
    message = _message(pk)
    template = "interfaces/hl7_resend.html"
    if message.direction != Hl7Direction.OUT:
        messages.error(request, "Only sent messages are resent; replay a received one.")
        return redirect("interfaces:hl7_message", pk=message.pk)
    editing = request.method == "POST" and "raw" in request.POST
    form = _edit_form(message, request.POST if editing else None)
    if request.method != "POST" or (editing and not form.is_valid()):
        with transaction.atomic():
            return _edit_page(request, message, form, template=template)
    from radflow.interfaces.hl7_outbound import hl7_resend

    raw: bytes | None = form.cleaned_data["raw"] if editing else None
    if raw is not None and raw == bytes(message.raw):
        raw = None
    try:
        result = hl7_resend(message=message, by=request.user, raw=raw)
    except ValidationFailed as exc:
        if not editing:
            messages.error(request, "; ".join(m for ms in exc.errors.values() for m in ms))
            return _back(request, message)
        form.add_service_errors(exc)
        with transaction.atomic():
            return _edit_page(request, message, form, template=template)
    except RadflowError as exc:
        if not editing:
            messages.error(request, exc.message)
            return _back(request, message)
        with transaction.atomic():
            return _edit_page(
                request, message, form, template=template, error=exc.message, status=409
            )
    what = "An edited copy" if raw is not None else "The message"
    messages.success(
        request,
        f"{what} of {message.message_type} {message.control_id} is queued for "
        f"{message.destination or 'its destination'}.",
    )
    if editing:
        return redirect("interfaces:hl7_message", pk=result.pk)
    return _back(request, message)


@page_requires(VIEW, REPLAY)
@require_POST
def destination_release(request: HttpRequest, pk: UUID) -> HttpResponse:
    destination = get_object_or_404(Hl7Destination, pk=pk)
    from radflow.interfaces.hl7_outbound import hl7_destination_release

    try:
        hl7_destination_release(destination=destination, by=request.user)
    except RadflowError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"{destination.name} released: delivery goes on. A held message still holds its "
            "patient's later messages until it is skipped or resent.",
        )
    return redirect("interfaces:hl7_outbound")


# --- settings: interfaces, destinations, retention --------------------------------------------


def _form_page(
    request: HttpRequest, template: str, form: Any, obj: Any, **extra: Any
) -> HttpResponse:
    status = 422 if form.is_bound and form.errors else 200
    return render(request, template, {"form": form, "object": obj, **extra}, status=status)


@page_requires(VIEW_INTERFACE)
@require_GET
def interfaces_list(request: HttpRequest) -> HttpResponse:
    context = {"interfaces": selectors.interfaces_list()}
    return render(request, "interfaces/hl7_interfaces.html", context)


def _interface_form(request: HttpRequest, interface: Hl7Interface | None) -> HttpResponse:
    initial = Hl7InterfaceForm.initial_for(interface) if interface else None
    form = Hl7InterfaceForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = setup.hl7_interface_save(
                interface=interface, by=request.user, **form.service_arguments()
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Interface {saved.name} saved.")
            return redirect("interfaces:hl7_interfaces")
    return _form_page(request, "interfaces/hl7_interface_form.html", form, interface)


@page_requires(VIEW_INTERFACE, ADD_INTERFACE)
@require_http_methods(["GET", "POST"])
def interface_add(request: HttpRequest) -> HttpResponse:
    return _interface_form(request, None)


@page_requires(VIEW_INTERFACE, CHANGE_INTERFACE)
@require_http_methods(["GET", "POST"])
def interface_edit(request: HttpRequest, pk: UUID) -> HttpResponse:
    return _interface_form(request, get_object_or_404(Hl7Interface, pk=pk))


@page_requires(VIEW_DESTINATION)
@require_GET
def destinations_list(request: HttpRequest) -> HttpResponse:
    context = {"destinations": selectors.destinations_list()}
    return render(request, "interfaces/hl7_destinations.html", context)


def _destination_form(request: HttpRequest, destination: Hl7Destination | None) -> HttpResponse:
    initial = Hl7DestinationForm.initial_for(destination) if destination else None
    form = Hl7DestinationForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = setup.hl7_destination_save(
                destination=destination, by=request.user, **form.service_arguments()
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Destination {saved.name} saved.")
            return redirect("interfaces:hl7_destinations")
    return _form_page(request, "interfaces/hl7_destination_form.html", form, destination)


@page_requires(VIEW_DESTINATION, ADD_DESTINATION)
@require_http_methods(["GET", "POST"])
def destination_add(request: HttpRequest) -> HttpResponse:
    return _destination_form(request, None)


@page_requires(VIEW_DESTINATION, CHANGE_DESTINATION)
@require_http_methods(["GET", "POST"])
def destination_edit(request: HttpRequest, pk: UUID) -> HttpResponse:
    return _destination_form(request, get_object_or_404(Hl7Destination, pk=pk))


@page_requires(VIEW_SETTINGS, CHANGE_SETTINGS)
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    current = selectors.interface_settings_get()
    form = RetentionForm(
        request.POST if request.method == "POST" else None,
        initial={"retention_days": current.retention_days},
    )
    if request.method == "POST" and form.is_valid():
        try:
            setup.interface_settings_save(
                retention_days=form.cleaned_data["retention_days"], by=request.user
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(
                request, f"Messages are kept {form.cleaned_data['retention_days']} days."
            )
            return redirect("interfaces:hl7_settings")
    return _form_page(request, "interfaces/hl7_settings.html", form, current)
