"""Purchasing pages: vendors with their performance, purchase orders (create, send, receive,
close short, cancel, PDF and CSV), and the reorder suggestions by vendor with their exports."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from radflow.accounts.access import page_requires
from radflow.supplies import documents, purchasing, selectors, setup
from radflow.supplies.forms import POCreateForm, POReceiveForm, ReasonForm, VendorForm
from radflow.supplies.models import ZERO, POStatus, PurchaseOrder, Vendor
from radflow.web.forms import status_of, submit
from radflow.web.pages import paginate

READ_PO = "supplies.view_purchaseorder"
EDIT_PO = "supplies.change_purchaseorder"
ADD_PO = "supplies.add_purchaseorder"
READ_VENDOR = "supplies.view_vendor"


# --- vendors -----------------------------------------------------------------------------------


@page_requires(READ_VENDOR)
@require_GET
def vendors(request: HttpRequest) -> HttpResponse:
    rows = Vendor.objects.order_by("-active", "name")
    return render(
        request,
        "supplies/vendors.html",
        {
            "rows": selectors.vendor_performance(rows),
            "can_edit": request.user.has_perm("supplies.change_vendor"),
            "today": timezone.localdate(),
        },
    )


@page_requires(READ_VENDOR)
@require_GET
def vendor_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    vendor = get_object_or_404(Vendor, pk=pk)
    return render(
        request,
        "supplies/vendor_detail.html",
        {
            "vendor": vendor,
            "performance": selectors.vendor_performance([vendor])[0],
            "items": vendor.items.order_by("name"),
            "orders": vendor.purchase_orders.select_related("deliver_to").order_by("-created_at")[
                :20
            ],
            "can_edit": request.user.has_perm("supplies.change_vendor"),
            "can_order": request.user.has_perm(ADD_PO),
            "today": timezone.localdate(),
        },
    )


@page_requires("supplies.add_vendor")
@require_http_methods(["GET", "POST"])
def vendor_add(request: HttpRequest) -> HttpResponse:
    return _vendor_form(request, None)


@page_requires("supplies.change_vendor")
@require_http_methods(["GET", "POST"])
def vendor_edit(request: HttpRequest, pk: UUID) -> HttpResponse:
    return _vendor_form(request, get_object_or_404(Vendor, pk=pk))


def _vendor_form(request: HttpRequest, vendor: Vendor | None) -> HttpResponse:
    form = VendorForm(request.POST or None, instance=vendor)
    if request.method == "POST":
        done = submit(form, lambda data: setup.vendor_save(vendor=vendor, **data))
        if done:
            messages.success(request, f"{done.value.name} saved.")
            return redirect("supplies:vendor_detail", pk=done.value.pk)
    return render(
        request,
        "supplies/form.html",
        {
            "form": form,
            "title": f"Edit {vendor.name}" if vendor else "New vendor",
            "submit": "Save",
        },
        status=status_of(form),
    )


# --- purchase orders ---------------------------------------------------------------------------


@page_requires(READ_PO)
@require_GET
def pos(request: HttpRequest) -> HttpResponse:
    rows = PurchaseOrder.objects.select_related("vendor", "deliver_to").order_by("-created_at")
    status = request.GET.get("status", "")
    if status in POStatus.values:
        rows = rows.filter(status=status)
    return render(
        request,
        "supplies/pos.html",
        {
            "page": paginate(request, rows),
            "statuses": POStatus.choices,
            "status": status,
            "vendors": Vendor.objects.filter(active=True).order_by("name"),
            "can_add": request.user.has_perm(ADD_PO),
        },
    )


@page_requires(ADD_PO)
@require_http_methods(["GET", "POST"])
def po_add(request: HttpRequest) -> HttpResponse:
    vendor_id = _uuid(request.GET.get("vendor"))
    vendor = Vendor.objects.filter(pk=vendor_id, active=True).first() if vendor_id else None
    if vendor is None:
        return render(
            request,
            "supplies/po_pick_vendor.html",
            {"vendors": Vendor.objects.filter(active=True).order_by("name")},
        )
    form = POCreateForm(request.POST or None, vendor=vendor)
    if request.method == "POST":

        def act(data: dict[str, Any]) -> PurchaseOrder:
            return purchasing.po_create(
                vendor=vendor,
                deliver_to=data["deliver_to"],
                lines=[purchasing.LineInput(item=i, quantity=q) for i, q in form.quantities()],
                by=request.user,
                expected_on=data["expected_on"],
                notes=data["notes"],
            )

        done = submit(form, act)
        if done:
            messages.success(request, f"Draft {done.value.number} created.")
            return redirect("supplies:po_detail", pk=done.value.pk)
    return render(
        request,
        "supplies/form.html",
        {"form": form, "title": f"New order to {vendor.name}", "submit": "Create draft"},
        status=status_of(form),
    )


def _po_lines(po: PurchaseOrder) -> list[dict[str, Any]]:
    received = purchasing.received_by_line(po)
    rows = []
    for line in po.lines.select_related("item"):
        got = received.get(line.pk, ZERO)
        rows.append(
            {
                "line": line,
                "received": got,
                "outstanding": max(line.quantity_ordered - got, ZERO),
                "amount": (line.quantity_ordered * line.unit_price).quantize(Decimal("0.01")),
            }
        )
    return rows


@page_requires(READ_PO)
@require_GET
def po_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    po = get_object_or_404(
        PurchaseOrder.objects.select_related("vendor", "deliver_to", "created_by"), pk=pk
    )
    lines = _po_lines(po)
    return render(
        request,
        "supplies/po_detail.html",
        {
            "po": po,
            "lines": lines,
            "total": sum((row["amount"] for row in lines), ZERO),
            "can_edit": request.user.has_perm(EDIT_PO),
            "reason_form": ReasonForm(),
        },
    )


@page_requires(EDIT_PO)
@require_POST
def po_send(request: HttpRequest, pk: UUID) -> HttpResponse:
    po = get_object_or_404(PurchaseOrder, pk=pk)
    return _po_action(request, po, lambda: purchasing.po_send(po=po, by=request.user), "sent")


@page_requires(EDIT_PO)
@require_POST
def po_cancel(request: HttpRequest, pk: UUID) -> HttpResponse:
    po = get_object_or_404(PurchaseOrder, pk=pk)
    reason = request.POST.get("reason", "")
    return _po_action(
        request,
        po,
        lambda: purchasing.po_cancel(po=po, by=request.user, reason=reason),
        "cancelled",
    )


@page_requires(EDIT_PO)
@require_POST
def po_close(request: HttpRequest, pk: UUID) -> HttpResponse:
    po = get_object_or_404(PurchaseOrder, pk=pk)
    reason = request.POST.get("reason", "")
    return _po_action(
        request,
        po,
        lambda: purchasing.po_close_short(po=po, by=request.user, reason=reason),
        "closed short",
    )


def _po_action(request: HttpRequest, po: PurchaseOrder, act: Any, done: str) -> HttpResponse:
    from radflow.core.errors import ValidationFailed

    try:
        act()
    except ValidationFailed as exc:
        for errors in exc.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("supplies:po_detail", pk=po.pk)
    messages.success(request, f"{po.number} {done}.")
    return redirect("supplies:po_detail", pk=po.pk)


@page_requires("supplies.manage_stock", EDIT_PO)
@require_http_methods(["GET", "POST"])
def po_receive(request: HttpRequest, pk: UUID) -> HttpResponse:
    po = get_object_or_404(PurchaseOrder.objects.select_related("vendor", "deliver_to"), pk=pk)
    outstanding = [
        (row["line"], row["outstanding"]) for row in _po_lines(po) if row["outstanding"] > 0
    ]
    form = POReceiveForm(request.POST or None, lines=outstanding)
    if request.method == "POST":

        def act(data: dict[str, Any]) -> Any:
            return purchasing.po_receive(
                po=po,
                by=request.user,
                lines=[
                    purchasing.ReceiptInput(
                        line=line,
                        quantity=data.get(f"line-{line.pk}-quantity") or 0,
                        lot_number=data.get(f"line-{line.pk}-lot_number") or "",
                        expiry_date=data.get(f"line-{line.pk}-expiry_date"),
                    )
                    for line, _ in outstanding
                ],
            )

        done = submit(form, act)
        if done:
            messages.success(request, f"Received {len(done.value)} line(s) into {po.deliver_to}.")
            return redirect("supplies:po_detail", pk=po.pk)
    return render(
        request,
        "supplies/form.html",
        {
            "form": form,
            "title": f"Receive {po.number} from {po.vendor.name} into {po.deliver_to.name}",
            "submit": "Receive",
            "intro": "Enter what arrived; the rest stays outstanding.",
        },
        status=status_of(form),
    )


@page_requires(READ_PO)
@require_GET
def po_pdf(request: HttpRequest, pk: UUID) -> HttpResponse:
    po = get_object_or_404(PurchaseOrder.objects.select_related("vendor", "deliver_to"), pk=pk)
    response = HttpResponse(documents.po_pdf(po), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{po.number}.pdf"'
    return response


@page_requires(READ_PO)
@require_GET
def po_csv(request: HttpRequest, pk: UUID) -> HttpResponse:
    po = get_object_or_404(PurchaseOrder.objects.select_related("vendor", "deliver_to"), pk=pk)
    return _csv(documents.po_rows(po), f"{po.number}.csv")


def _csv(rows: list[list[str]], filename: str) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(documents.csv_safe(row) for row in rows)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- reorder suggestions -----------------------------------------------------------------------


@page_requires(READ_PO)
@require_GET
def reorder(request: HttpRequest) -> HttpResponse:
    groups = selectors.reorder_suggestions()
    return render(
        request,
        "supplies/reorder.html",
        {"groups": groups, "can_order": request.user.has_perm(ADD_PO)},
    )


@page_requires(ADD_PO)
@require_POST
def reorder_order(request: HttpRequest, pk: UUID) -> HttpResponse:
    vendor = get_object_or_404(Vendor, pk=pk)
    from radflow.core.errors import ValidationFailed

    try:
        orders = purchasing.po_from_reorder(vendor=vendor, by=request.user)
    except ValidationFailed as exc:
        for errors in exc.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("supplies:reorder")
    numbers = ", ".join(po.number for po in orders)
    messages.success(request, f"Draft order(s) {numbers} created; check them and send.")
    if len(orders) == 1:
        return redirect("supplies:po_detail", pk=orders[0].pk)
    return redirect("supplies:pos")


@page_requires(READ_PO)
@require_GET
def reorder_pdf(request: HttpRequest, pk: UUID) -> HttpResponse:
    vendor = get_object_or_404(Vendor, pk=pk)
    response = HttpResponse(documents.reorder_pdf(vendor), content_type="application/pdf")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="reorder-{stamp}.pdf"'
    return response


@page_requires(READ_PO)
@require_GET
def reorder_csv(request: HttpRequest, pk: UUID) -> HttpResponse:
    vendor = get_object_or_404(Vendor, pk=pk)
    return _csv(documents.reorder_rows(vendor), f"reorder-{timezone.localdate().isoformat()}.csv")


def _uuid(value: str | None) -> UUID | None:
    try:
        return UUID(value or "")
    except ValueError:
        return None
