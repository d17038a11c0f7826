"""Forms of the supplies pages: they parse input; the services decide."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet

from radflow.exams.models import Exam
from radflow.supplies.models import (
    Item,
    ItemCategory,
    Lot,
    PurchaseOrderLine,
    StockLocation,
    Vendor,
)
from radflow.supplies.setup import VENDOR_FIELDS
from radflow.web.forms import ServiceErrorsMixin

DATE = forms.DateInput(attrs={"type": "date"})


def quantity_field(**kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"), **kwargs)


def active_items() -> QuerySet[Item]:
    return Item.objects.filter(active=True).select_related("vendor").order_by("name")


def active_locations() -> QuerySet[StockLocation]:
    return StockLocation.objects.filter(active=True).select_related("site").order_by("name")


class VendorForm(ServiceErrorsMixin, forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Vendor
        fields = sorted(VENDOR_FIELDS)
        widgets = {"contract_start": DATE, "contract_end": DATE}


class ItemForm(ServiceErrorsMixin, forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Item
        fields = [
            "name",
            "category",
            "unit",
            "vendor",
            "catalogue_number",
            "unit_price",
            "lot_tracked",
            "active",
            "notes",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["vendor"].queryset = Vendor.objects.filter(active=True)  # type: ignore[attr-defined]


class LocationForm(ServiceErrorsMixin, forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = StockLocation
        fields = ["name", "code", "kind", "site", "room", "active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)


class ReceiveForm(ServiceErrorsMixin, forms.Form):
    """A receipt outside a purchase order (a sample, a transfer from another hospital)."""

    item = forms.ModelChoiceField(queryset=Item.objects.none())
    location = forms.ModelChoiceField(queryset=StockLocation.objects.none())
    quantity = quantity_field()
    lot_number = forms.CharField(max_length=60, required=False)
    expiry_date = forms.DateField(required=False, widget=DATE)
    reason = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item"].queryset = active_items()  # type: ignore[attr-defined]
        self.fields["location"].queryset = active_locations()  # type: ignore[attr-defined]


class IssueForm(ServiceErrorsMixin, forms.Form):
    """Taking something off a shelf by hand, for an exam (by accession) or not."""

    item = forms.ModelChoiceField(queryset=Item.objects.none())
    location = forms.ModelChoiceField(queryset=StockLocation.objects.none())
    quantity = quantity_field()
    lot_number = forms.CharField(
        max_length=60, required=False, help_text="Blank: the first lot to expire."
    )
    accession_number = forms.CharField(
        max_length=16, required=False, help_text="For an exam: its accession number."
    )
    reason = forms.CharField(max_length=200, required=False)
    field_aliases = {"lot": "lot_number", "exam": "accession_number"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item"].queryset = active_items()  # type: ignore[attr-defined]
        self.fields["location"].queryset = active_locations()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        item = data.get("item")
        number = (data.get("lot_number") or "").strip()
        data["lot"] = None
        if item is not None and number:
            data["lot"] = Lot.objects.filter(item=item, lot_number=number).first()
            if data["lot"] is None:
                self.add_error("lot_number", f"No lot {number} of {item.name} is on file.")
        accession = (data.get("accession_number") or "").strip()
        data["exam"] = None
        if accession:
            data["exam"] = Exam.objects.filter(accession_number=accession).first()
            if data["exam"] is None:
                self.add_error("accession_number", f"No exam has accession number {accession}.")
        return data


class TransferForm(ServiceErrorsMixin, forms.Form):
    item = forms.ModelChoiceField(queryset=Item.objects.none())
    from_location = forms.ModelChoiceField(queryset=StockLocation.objects.none())
    to_location = forms.ModelChoiceField(queryset=StockLocation.objects.none())
    quantity = quantity_field()
    lot_number = forms.CharField(max_length=60, required=False)
    reason = forms.CharField(max_length=200, required=False)
    field_aliases = {"lot": "lot_number"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item"].queryset = active_items()  # type: ignore[attr-defined]
        for name in ("from_location", "to_location"):
            self.fields[name].queryset = active_locations()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        item = data.get("item")
        number = (data.get("lot_number") or "").strip()
        data["lot"] = None
        if item is not None and number:
            data["lot"] = Lot.objects.filter(item=item, lot_number=number).first()
            if data["lot"] is None:
                self.add_error("lot_number", f"No lot {number} of {item.name} is on file.")
        return data


class DiscardForm(TransferForm):
    """Expired, damaged or recalled stock leaving the shelf."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["to_location"]
        self.fields["from_location"].label = "Location"
        self.fields["reason"].required = True
        self.fields["reason"].help_text = "Expired, damaged, recalled …"

    field_aliases = {"lot": "lot_number", "location": "from_location"}


class ReasonForm(ServiceErrorsMixin, forms.Form):
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class CountForm(ServiceErrorsMixin, forms.Form):
    """One field per shelf position (item, or item and lot); blank means "not counted"."""

    note = forms.CharField(max_length=500, required=False)

    def __init__(self, *args: Any, positions: list[tuple[Item, Lot | None]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.positions = positions
        for item, lot in positions:
            label = f"{item.name} ({item.unit})" + (f" — lot {lot.lot_number}" if lot else "")
            self.fields[self.key(item, lot)] = forms.DecimalField(
                label=label, required=False, min_value=Decimal(0), max_digits=12, decimal_places=2
            )

    @staticmethod
    def key(item: Item, lot: Lot | None) -> str:
        return f"count-{item.pk}-{lot.pk if lot else 'all'}"

    def counted(self) -> list[tuple[Item, Lot | None, Decimal]]:
        return [
            (item, lot, self.cleaned_data[self.key(item, lot)])
            for item, lot in self.positions
            if self.cleaned_data.get(self.key(item, lot)) is not None
        ]


class POCreateForm(ServiceErrorsMixin, forms.Form):
    """A draft order: where it goes, when it is due, and a quantity per item of the vendor."""

    deliver_to = forms.ModelChoiceField(queryset=StockLocation.objects.none())
    expected_on = forms.DateField(required=False, widget=DATE)
    notes = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, vendor: Vendor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.vendor = vendor
        self.fields["deliver_to"].queryset = active_locations()  # type: ignore[attr-defined]
        self.items = list(vendor.items.filter(active=True).order_by("name"))
        for item in self.items:
            self.fields[f"item-{item.pk}"] = forms.DecimalField(
                label=f"{item.name} ({item.unit}, {item.catalogue_number or 'no cat. no.'})",
                required=False,
                min_value=Decimal(0),
                max_digits=12,
                decimal_places=2,
            )

    def quantities(self) -> list[tuple[Item, Decimal]]:
        return [
            (item, self.cleaned_data[f"item-{item.pk}"])
            for item in self.items
            if self.cleaned_data.get(f"item-{item.pk}")
        ]


class POReceiveForm(ServiceErrorsMixin, forms.Form):
    """Per outstanding line: quantity received now, and its lot and expiry when lot-tracked."""

    def __init__(
        self, *args: Any, lines: list[tuple[PurchaseOrderLine, Decimal]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line, outstanding in lines:
            prefix = f"line-{line.pk}"
            self.fields[f"{prefix}-quantity"] = forms.DecimalField(
                label=f"{line.item.name}: received now "
                f"(of {outstanding.normalize():f} outstanding)",
                required=False,
                min_value=Decimal(0),
                max_digits=12,
                decimal_places=2,
            )
            if line.item.lot_tracked:
                self.fields[f"{prefix}-lot_number"] = forms.CharField(
                    label=f"{line.item.name}: lot number", max_length=60, required=False
                )
                self.fields[f"{prefix}-expiry_date"] = forms.DateField(
                    label=f"{line.item.name}: expiry date", required=False, widget=DATE
                )


class TemplateForm(ServiceErrorsMixin, forms.Form):
    """The quantity of each item an exam of the type uses (blank: none)."""

    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args: Any, current: dict[Any, Decimal], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items = list(
            Item.objects.filter(active=True)
            .exclude(category=ItemCategory.CONTRAST)
            .order_by("category", "name")
        )
        for item in self.items:
            self.fields[f"item-{item.pk}"] = forms.DecimalField(
                label=f"{item.name} ({item.unit})",
                required=False,
                min_value=Decimal(0),
                max_digits=12,
                decimal_places=2,
                initial=current.get(item.pk),
            )

    def lines(self) -> dict[Item, Any]:
        return {item: self.cleaned_data.get(f"item-{item.pk}") or "" for item in self.items}


class LevelsForm(ServiceErrorsMixin, forms.Form):
    """Par and reorder point of one item at each location (both blank or 0: not stocked)."""

    def __init__(
        self, *args: Any, locations: list[StockLocation], current: dict[Any, Any], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.locations = locations
        for location in locations:
            level = current.get(location.pk)
            for name, label in (("par", "par"), ("reorder", "reorder point")):
                self.fields[f"{name}-{location.pk}"] = forms.DecimalField(
                    label=f"{location.name}: {label}",
                    required=False,
                    min_value=Decimal(0),
                    max_digits=12,
                    decimal_places=2,
                    initial=(
                        (level.par_level if name == "par" else level.reorder_point)
                        if level
                        else None
                    ),
                )


class ExamAddForm(ServiceErrorsMixin, forms.Form):
    """Add an item the template did not list to an exam."""

    item = forms.ModelChoiceField(queryset=Item.objects.none())
    quantity = quantity_field(initial=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item"].queryset = active_items().exclude(category=ItemCategory.CONTRAST)  # type: ignore[attr-defined]
