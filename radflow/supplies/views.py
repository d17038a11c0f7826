"""Supplies pages: the dashboard, items, locations, the ledger, stock moves, counts, templates,
lots and recalls, and the supplies of one exam. Purchasing pages are in ``views_purchasing``.

Views parse, check the role and call one service. Pages that show patients (an exam's
supplies, a recall's exposed exams) record the read in the access log.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from radflow.accounts.access import page_requires
from radflow.audit.models import AccessChannel
from radflow.audit.services import AccessSource, access_record
from radflow.catalog.models import ExamType
from radflow.core.errors import ValidationFailed
from radflow.exams.selectors import exam_get_audited
from radflow.supplies import selectors, services, setup
from radflow.supplies.forms import (
    CountForm,
    DiscardForm,
    ExamAddForm,
    IssueForm,
    ItemForm,
    LevelsForm,
    LocationForm,
    ReasonForm,
    ReceiveForm,
    TemplateForm,
    TransferForm,
)
from radflow.supplies.models import (
    ConsumptionTemplate,
    CycleCount,
    Item,
    ItemCategory,
    ItemStockLevel,
    Lot,
    MovementKind,
    StockLocation,
    StockMovement,
)
from radflow.web.forms import service_errors_to_form, status_of, submit
from radflow.web.pages import paginate

USE = "supplies.view_item"  # everyone who works with supplies, sonographers included
READ = "supplies.view_stockmovement"  # the ledger, purchasing, counts: coordinator and readers
RECORD = "supplies.record_consumption"
MANAGE = "supplies.manage_stock"
PATIENTS = "patients.view_patient"


def _web(request: HttpRequest) -> AccessSource:
    return AccessSource.from_request(request, AccessChannel.WEB)


def _days(request: HttpRequest, default: int = 60) -> int:
    try:
        return max(1, min(int(request.GET.get("days", default)), 730))
    except ValueError:
        return default


# --- dashboard ---------------------------------------------------------------------------------


@page_requires(USE)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    days = _days(request)
    since = today - timedelta(days=_days_param(request, "window", 90))
    below = selectors.below_par(today)
    return render(
        request,
        "supplies/dashboard.html",
        {
            "today": today,
            "days": days,
            "since": since,
            "below_par": below,
            "at_reorder": sum(1 for row in below if row.at_or_below_reorder),
            "expiring": selectors.expiring_lots(within_days=days, on=today),
            "variance": selectors.consumption_vs_template(since=since, until=today),
            "recalled": Lot.objects.filter(recalled_at__isnull=False)
            .select_related("item")
            .order_by("-recalled_at")[:10],
            "can_read": request.user.has_perm(READ),
        },
    )


def _days_param(request: HttpRequest, name: str, default: int) -> int:
    try:
        return max(1, min(int(request.GET.get(name, default)), 730))
    except ValueError:
        return default


# --- items -------------------------------------------------------------------------------------


@page_requires(USE)
@require_GET
def items(request: HttpRequest) -> HttpResponse:
    rows = Item.objects.select_related("vendor").annotate(on_hand=Sum("movements__quantity"))
    query = request.GET.get("q", "").strip()
    category = request.GET.get("category", "")
    if query:
        rows = rows.filter(Q(name__icontains=query) | Q(catalogue_number__icontains=query))
    if category in ItemCategory.values:
        rows = rows.filter(category=category)
    if request.GET.get("inactive") != "1":
        rows = rows.filter(active=True)
    return render(
        request,
        "supplies/items.html",
        {
            "page": paginate(request, rows.order_by("name")),
            "query": query,
            "category": category,
            "categories": ItemCategory.choices,
            "can_edit": request.user.has_perm("supplies.change_item"),
        },
    )


@page_requires(USE)
@require_GET
def item_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    item = get_object_or_404(Item.objects.select_related("vendor"), pk=pk)
    by_location = (
        StockMovement.objects.filter(item=item)
        .values("location", "location__name", "lot", "lot__lot_number", "lot__expiry_date")
        .annotate(total=Sum("quantity"))
        .filter(total__gt=0)
        .order_by("location__name", "lot__expiry_date")
    )
    levels = {level.location_id: level for level in ItemStockLevel.objects.filter(item=item)}
    return render(
        request,
        "supplies/item_detail.html",
        {
            "item": item,
            "stock": list(by_location),
            "levels": ItemStockLevel.objects.filter(item=item).select_related("location"),
            "level_by_location": levels,
            "lots": item.lots.order_by("-expiry_date")[:50],
            "movements": StockMovement.objects.filter(item=item)
            .select_related("location", "lot", "exam", "by")
            .order_by("-at")[:30],
            "can_edit": request.user.has_perm("supplies.change_item"),
            "can_read": request.user.has_perm(READ),
            "today": timezone.localdate(),
        },
    )


@page_requires("supplies.add_item")
@require_http_methods(["GET", "POST"])
def item_add(request: HttpRequest) -> HttpResponse:
    return _item_form(request, None)


@page_requires("supplies.change_item")
@require_http_methods(["GET", "POST"])
def item_edit(request: HttpRequest, pk: UUID) -> HttpResponse:
    return _item_form(request, get_object_or_404(Item, pk=pk))


def _item_form(request: HttpRequest, item: Item | None) -> HttpResponse:
    form = ItemForm(request.POST or None, instance=item)
    if request.method == "POST":
        done = submit(form, lambda data: setup.item_save(item=item, **data))
        if done:
            messages.success(request, f"{done.value.name} saved.")
            return redirect("supplies:item_detail", pk=done.value.pk)
    return render(
        request,
        "supplies/form.html",
        {"form": form, "title": f"Edit {item.name}" if item else "New item", "submit": "Save"},
        status=status_of(form),
    )


@page_requires("supplies.change_itemstocklevel")
@require_http_methods(["GET", "POST"])
def item_levels(request: HttpRequest, pk: UUID) -> HttpResponse:
    item = get_object_or_404(Item, pk=pk)
    locations = list(StockLocation.objects.filter(active=True).order_by("name"))
    current = {level.location_id: level for level in ItemStockLevel.objects.filter(item=item)}
    form = LevelsForm(request.POST or None, locations=locations, current=current)
    if request.method == "POST" and form.is_valid():
        try:
            for location in locations:
                par = form.cleaned_data.get(f"par-{location.pk}")
                point = form.cleaned_data.get(f"reorder-{location.pk}")
                if par is None and point is None and location.pk not in current:
                    continue
                try:
                    setup.stock_level_set(
                        item=item,
                        location=location,
                        par_level=par if par is not None else 0,
                        reorder_point=point if point is not None else 0,
                    )
                except ValidationFailed as exc:
                    raise ValidationFailed(
                        {
                            f"{'par' if key == 'par_level' else 'reorder'}-{location.pk}": value
                            for key, value in exc.errors.items()
                        }
                    ) from exc
        except ValidationFailed as exc:
            service_errors_to_form(form, exc)
        else:
            messages.success(request, f"Par levels of {item.name} saved.")
            return redirect("supplies:item_detail", pk=item.pk)
    return render(
        request,
        "supplies/form.html",
        {"form": form, "title": f"Par levels: {item.name}", "submit": "Save levels"},
        status=status_of(form),
    )


# --- locations ---------------------------------------------------------------------------------


@page_requires(USE)
@require_GET
def locations(request: HttpRequest) -> HttpResponse:
    rows = StockLocation.objects.select_related("site", "room").order_by(
        "site__name", "kind", "name"
    )
    return render(
        request,
        "supplies/locations.html",
        {"locations": rows, "can_edit": request.user.has_perm("supplies.change_stocklocation")},
    )


@page_requires(USE)
@require_GET
def location_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    location = get_object_or_404(StockLocation.objects.select_related("site", "room"), pk=pk)
    today = timezone.localdate()
    totals = {
        row["item"]: Decimal(row["total"])
        for row in StockMovement.objects.filter(location=location)
        .values("item")
        .annotate(total=Sum("quantity"))
        .order_by()
    }
    levels = {
        level.item_id: level
        for level in ItemStockLevel.objects.filter(location=location).select_related("item")
    }
    item_ids = {k for k, v in totals.items() if v} | set(levels)
    rows = []
    for item in Item.objects.filter(pk__in=item_ids).order_by("name"):
        level = levels.get(item.pk)
        have = totals.get(item.pk, Decimal(0))
        rows.append(
            {
                "item": item,
                "on_hand": have,
                "level": level,
                "low": level is not None and have <= level.reorder_point,
                "lots": selectors.lots_on_hand(item, location) if item.lot_tracked else [],
            }
        )
    return render(
        request,
        "supplies/location_detail.html",
        {
            "location": location,
            "rows": rows,
            "today": today,
            "can_manage": request.user.has_perm(MANAGE),
            "can_edit": request.user.has_perm("supplies.change_stocklocation"),
            "counts": CycleCount.objects.filter(location=location)[:5]
            if request.user.has_perm(READ)
            else [],
        },
    )


@page_requires("supplies.add_stocklocation")
@require_http_methods(["GET", "POST"])
def location_add(request: HttpRequest) -> HttpResponse:
    return _location_form(request, None)


@page_requires("supplies.change_stocklocation")
@require_http_methods(["GET", "POST"])
def location_edit(request: HttpRequest, pk: UUID) -> HttpResponse:
    return _location_form(request, get_object_or_404(StockLocation, pk=pk))


def _location_form(request: HttpRequest, location: StockLocation | None) -> HttpResponse:
    form = LocationForm(request.POST or None, instance=location)
    if request.method == "POST":
        done = submit(form, lambda data: setup.location_save(location=location, **data))
        if done:
            messages.success(request, f"{done.value.name} saved.")
            return redirect("supplies:location_detail", pk=done.value.pk)
    return render(
        request,
        "supplies/form.html",
        {
            "form": form,
            "title": f"Edit {location.name}" if location else "New stock location",
            "submit": "Save",
        },
        status=status_of(form),
    )


@page_requires(MANAGE)
@require_http_methods(["GET", "POST"])
def location_count(request: HttpRequest, pk: UUID) -> HttpResponse:
    """A blind count sheet: what the ledger expects is not shown until the count is saved."""
    location = get_object_or_404(StockLocation, pk=pk)
    positions = _count_positions(location)
    form = CountForm(request.POST or None, positions=positions)
    if request.method == "POST":

        def record(data: dict[str, Any]) -> CycleCount:
            lines = [
                services.CountInput(item=item, lot=lot, counted=counted)
                for item, lot, counted in form.counted()
            ]
            return services.cycle_count_record(
                location=location, by=request.user, lines=lines, note=data.get("note", "")
            )

        done = submit(form, record)
        if done:
            messages.success(request, "Count saved; variances were posted to the ledger.")
            return redirect("supplies:count_detail", pk=done.value.pk)
    return render(
        request,
        "supplies/form.html",
        {
            "form": form,
            "title": f"Count {location.name}",
            "submit": "Save count",
            "intro": "Count what is on the shelf; leave a line blank if you did not count it.",
        },
        status=status_of(form),
    )


def _count_positions(location: StockLocation) -> list[tuple[Item, Lot | None]]:
    stocked = set(
        ItemStockLevel.objects.filter(location=location).values_list("item", flat=True)
    ) | set(
        StockMovement.objects.filter(location=location)
        .values("item")
        .annotate(total=Sum("quantity"))
        .filter(total__gt=0)
        .values_list("item", flat=True)
    )
    positions: list[tuple[Item, Lot | None]] = []
    for item in Item.objects.filter(pk__in=stocked).order_by("name"):
        if item.lot_tracked:
            positions.extend((item, lot) for lot, _ in selectors.lots_on_hand(item, location))
        else:
            positions.append((item, None))
    return positions


# --- counts and the ledger ------------------------------------------------------------------------


@page_requires("supplies.view_cyclecount")
@require_GET
def counts(request: HttpRequest) -> HttpResponse:
    rows = CycleCount.objects.select_related("location", "counted_by").order_by("-counted_at")
    return render(request, "supplies/counts.html", {"page": paginate(request, rows)})


@page_requires("supplies.view_cyclecount")
@require_GET
def count_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    count = get_object_or_404(CycleCount.objects.select_related("location", "counted_by"), pk=pk)
    lines = [
        (line, (line.variance * line.item.unit_price).quantize(Decimal("0.01")))
        for line in count.lines.select_related("item", "lot")
    ]
    value = sum((amount for _, amount in lines), Decimal(0))
    return render(
        request,
        "supplies/count_detail.html",
        {"count": count, "lines": lines, "variance_value": value},
    )


@page_requires(READ)
@require_GET
def movements(request: HttpRequest) -> HttpResponse:
    rows = StockMovement.objects.select_related("item", "location", "lot", "exam", "by").order_by(
        "-at"
    )
    kind = request.GET.get("kind", "")
    if kind in MovementKind.values:
        rows = rows.filter(kind=kind)
    query = request.GET.get("q", "").strip()
    if query:
        rows = rows.filter(
            Q(item__name__icontains=query)
            | Q(lot__lot_number__iexact=query)
            | Q(exam__accession_number=query)
        )
    return render(
        request,
        "supplies/movements.html",
        {
            "page": paginate(request, rows),
            "kinds": MovementKind.choices,
            "kind": kind,
            "query": query,
        },
    )


# --- stock moves -------------------------------------------------------------------------------


@page_requires(MANAGE)
@require_http_methods(["GET", "POST"])
def receive(request: HttpRequest) -> HttpResponse:
    form = ReceiveForm(request.POST or None, initial=request.GET.dict() or None)
    if request.method == "POST":
        done = submit(form, lambda data: services.stock_receive(by=request.user, **data))
        if done:
            got = done.value
            messages.success(
                request,
                f"Received {got.quantity.normalize():f} {got.item.unit} of {got.item.name}.",
            )
            return redirect("supplies:location_detail", pk=done.value.location_id)
    return render(
        request,
        "supplies/form.html",
        {
            "form": form,
            "title": "Receive stock (no purchase order)",
            "submit": "Receive",
            "intro": "To receive a delivery against a purchase order, open the order instead.",
        },
        status=status_of(form),
    )


@page_requires(RECORD)
@require_http_methods(["GET", "POST"])
def issue(request: HttpRequest) -> HttpResponse:
    form = IssueForm(request.POST or None, initial=request.GET.dict() or None)
    if request.method == "POST":

        def act(data: dict[str, Any]) -> StockMovement:
            return services.stock_issue(
                item=data["item"],
                location=data["location"],
                quantity=data["quantity"],
                by=request.user,
                exam=data["exam"],
                lot=data["lot"],
                reason=data["reason"],
            )

        done = submit(form, act)
        if done:
            moved = done.value
            messages.success(
                request, f"Issued {-moved.quantity:f} {moved.item.unit} of {moved.item.name}."
            )
            if moved.exam_id:
                return redirect("supplies:exam", pk=moved.exam_id)
            return redirect("supplies:location_detail", pk=moved.location_id)
    return render(
        request,
        "supplies/form.html",
        {"form": form, "title": "Issue by hand", "submit": "Issue"},
        status=status_of(form),
    )


@page_requires(MANAGE)
@require_http_methods(["GET", "POST"])
def transfer(request: HttpRequest) -> HttpResponse:
    form = TransferForm(request.POST or None, initial=request.GET.dict() or None)
    if request.method == "POST":

        def act(data: dict[str, Any]) -> Any:
            return services.stock_transfer(
                item=data["item"],
                from_location=data["from_location"],
                to_location=data["to_location"],
                quantity=data["quantity"],
                lot=data["lot"],
                by=request.user,
                reason=data["reason"],
            )

        done = submit(form, act)
        if done:
            messages.success(request, "Stock moved.")
            return redirect("supplies:location_detail", pk=done.value[1].location_id)
    return render(
        request,
        "supplies/form.html",
        {"form": form, "title": "Move stock between locations", "submit": "Move"},
        status=status_of(form),
    )


@page_requires(MANAGE)
@require_http_methods(["GET", "POST"])
def discard(request: HttpRequest) -> HttpResponse:
    form = DiscardForm(request.POST or None, initial=request.GET.dict() or None)
    if request.method == "POST":

        def act(data: dict[str, Any]) -> StockMovement:
            return services.stock_discard(
                item=data["item"],
                location=data["from_location"],
                quantity=data["quantity"],
                lot=data["lot"],
                by=request.user,
                reason=data["reason"],
            )

        done = submit(form, act)
        if done:
            messages.success(request, "Stock discarded.")
            return redirect("supplies:location_detail", pk=done.value.location_id)
    return render(
        request,
        "supplies/form.html",
        {"form": form, "title": "Discard stock", "submit": "Discard"},
        status=status_of(form),
    )


# --- consumption templates -----------------------------------------------------------------------


@page_requires("supplies.view_consumptiontemplate")
@require_GET
def templates(request: HttpRequest) -> HttpResponse:
    exam_types = ExamType.objects.select_related("modality").order_by("modality", "name")
    by_type = {
        template.exam_type_id: template
        for template in ConsumptionTemplate.objects.prefetch_related("lines__item")
    }
    return render(
        request,
        "supplies/templates.html",
        {
            "rows": [(exam_type, by_type.get(exam_type.pk)) for exam_type in exam_types],
            "can_edit": request.user.has_perm("supplies.change_consumptiontemplate"),
        },
    )


@page_requires("supplies.change_consumptiontemplate")
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, pk: UUID) -> HttpResponse:
    exam_type = get_object_or_404(ExamType, pk=pk)
    template = ConsumptionTemplate.objects.filter(exam_type=exam_type).first()
    current = {line.item_id: line.quantity for line in template.lines.all()} if template else {}
    form = TemplateForm(
        request.POST or None,
        current=current,
        initial={"active": template.active if template else True},
    )
    if request.method == "POST":
        done = submit(
            form,
            lambda data: setup.template_set(
                exam_type=exam_type, lines=form.lines(), active=data["active"]
            ),
        )
        if done:
            messages.success(request, f"Supplies template of {exam_type.name} saved.")
            return redirect("supplies:templates")
    return render(
        request,
        "supplies/form.html",
        {
            "form": form,
            "title": f"Supplies used by {exam_type.name}",
            "submit": "Save template",
            "intro": "Posted when an exam of this type completes; "
            "the sonographer adjusts it on the exam.",
        },
        status=status_of(form),
    )


# --- lots and recalls ----------------------------------------------------------------------------


@page_requires("supplies.view_lot", READ)
@require_GET
def lots(request: HttpRequest) -> HttpResponse:
    rows = Lot.objects.select_related("item").order_by("expiry_date", "lot_number")
    query = request.GET.get("q", "").strip()
    show = request.GET.get("show", "")
    if query:
        rows = rows.filter(Q(lot_number__icontains=query) | Q(item__name__icontains=query))
    if show == "recalled":
        rows = rows.filter(recalled_at__isnull=False)
    elif show == "expired":
        rows = rows.filter(expiry_date__lt=timezone.localdate())
    return render(
        request,
        "supplies/lots.html",
        {
            "page": paginate(request, rows),
            "query": query,
            "show": show,
            "today": timezone.localdate(),
        },
    )


@page_requires("supplies.view_lot", READ, PATIENTS)
@require_GET
def recall(request: HttpRequest, pk: UUID) -> HttpResponse:
    """A lot, where it still is, and every exam that used it, with the patient to contact."""
    lot = get_object_or_404(
        Lot.objects.select_related("item", "item__vendor", "recalled_by"), pk=pk
    )
    exams = list(selectors.exams_using_lot(lot))
    access_record(
        user=request.user,
        patients=[exam.order.patient for exam in exams],
        action="supplies.recall_exposure",
        source=_web(request),
    )
    still_on_shelves = (
        StockMovement.objects.filter(lot=lot)
        .values("location", "location__name")
        .annotate(total=Sum("quantity"))
        .filter(total__gt=0)
        .order_by("location__name")
    )
    return render(
        request,
        "supplies/recall.html",
        {
            "lot": lot,
            "exams": exams,
            "shelves": list(still_on_shelves),
            "form": ReasonForm() if request.user.has_perm("supplies.recall_lot") else None,
            "can_discard": request.user.has_perm(MANAGE),
            "today": timezone.localdate(),
        },
    )


@page_requires("supplies.recall_lot")
@require_POST
def recall_mark(request: HttpRequest, pk: UUID) -> HttpResponse:
    lot = get_object_or_404(Lot.objects.select_related("item"), pk=pk)
    form = ReasonForm(request.POST)
    done = submit(
        form, lambda data: services.lot_recall(lot=lot, by=request.user, reason=data["reason"])
    )
    if done:
        messages.success(request, f"Lot {lot.lot_number} is recalled; it can no longer be issued.")
        return redirect("supplies:recall", pk=lot.pk)
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, str(error))
    return redirect("supplies:recall", pk=lot.pk)


# --- one exam's supplies -------------------------------------------------------------------------


def _may_read_exam_supplies(request: HttpRequest) -> None:
    if not (request.user.has_perm(RECORD) or request.user.has_perm(READ)):
        raise DjangoPermissionDenied("Your role does not allow this page.")


@page_requires(USE, PATIENTS)
@require_GET
def exam(request: HttpRequest, pk: UUID) -> HttpResponse:
    """What an exam used: the template, the net of every movement, one-click ± per item."""
    _may_read_exam_supplies(request)
    found = exam_get_audited(
        user=request.user, exam_id=pk, action="supplies.exam", source=_web(request)
    )
    return _exam_page(request, found, ExamAddForm())


def _exam_page(
    request: HttpRequest, found: Any, add_form: ExamAddForm, status: int = 200
) -> HttpResponse:
    used = selectors.exam_consumption(found)
    template = (
        ConsumptionTemplate.objects.filter(exam_type_id=found.order.exam_type_id, active=True)
        .prefetch_related("lines__item")
        .first()
    )
    planned = {line.item_id: line.quantity for line in template.lines.all()} if template else {}
    items = Item.objects.in_bulk(set(used) | set(planned))
    rows = [
        {
            "item": items[item_id],
            "template": planned.get(item_id),
            "used": used.get(item_id, Decimal(0)),
            "minus": max(used.get(item_id, Decimal(0)) - 1, Decimal(0)),
            "plus": used.get(item_id, Decimal(0)) + 1,
        }
        for item_id in sorted(items, key=lambda key: items[key].name)
    ]
    record = getattr(found, "supply_record", None)
    return render(
        request,
        "supplies/exam.html",
        {
            "exam": found,
            "patient": found.order.patient,
            "rows": rows,
            "record": record,
            "template": template,
            "movements": found.supply_movements.select_related(
                "item", "location", "lot", "by"
            ).order_by("-at"),
            "add_form": add_form,
            "can_record": request.user.has_perm(RECORD)
            and found.state in services.ADJUSTABLE_STATES,
            "locations": selectors.exam_stock_locations(found),
        },
        status=status,
    )


@page_requires(RECORD, PATIENTS)
@require_POST
def exam_adjust(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Set what an exam used of one item: the ± buttons post the new quantity in one click."""
    found = exam_get_audited(
        user=request.user, exam_id=pk, action="supplies.exam", source=_web(request)
    )
    if "add" in request.POST:
        form = ExamAddForm(request.POST)
        if form.is_valid():
            item = form.cleaned_data["item"]
            current = selectors.exam_consumption(found).get(item.pk, Decimal(0))
            target = current + form.cleaned_data["quantity"]
            try:
                services.exam_supplies_set(exam=found, by=request.user, quantities={item: target})
            except ValidationFailed as exc:
                for messages_ in exc.errors.values():
                    for message in messages_:
                        form.add_error("quantity", message)
            else:
                messages.success(request, f"{item.name} added.")
                return redirect("supplies:exam", pk=found.pk)
        return _exam_page(request, found, form, status=422)
    item_id = _uuid(request.POST.get("item"))
    item = Item.objects.filter(pk=item_id).first() if item_id else None
    if item is None:
        messages.error(request, "Choose an item.")
        return redirect("supplies:exam", pk=found.pk)
    try:
        services.exam_supplies_set(
            exam=found, by=request.user, quantities={item: request.POST.get("quantity", "")}
        )
    except ValidationFailed as exc:
        for messages_ in exc.errors.values():
            for message in messages_:
                messages.error(request, message)
        return _exam_page(request, found, ExamAddForm(), status=422)
    messages.success(request, f"{item.name} updated.")
    return redirect(reverse("supplies:exam", kwargs={"pk": found.pk}))


def _uuid(value: str | None) -> UUID | None:
    try:
        return UUID(value or "")
    except ValueError:
        return None
