"""Forms for the calendar pages and the eligibility page. They parse and label input; the rules
(no overlap, ends after starts, inside opening hours) are ``radflow.scheduling.calendars``'s.

Dates and times are typed as the site's wall clock: a ``WallClockField`` keeps what was typed
without the server's zone, and the form puts it in the site's zone (``availability.local_at``),
so "08:00" on a Chicago site's page is 08:00 in Chicago whatever the department's zone is.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import ValidationError
from django.forms.fields import BaseTemporalField
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from radflow.catalog.models import ExamType, PatientClass
from radflow.scheduling.availability import local_at
from radflow.scheduling.calendars import opening_field
from radflow.scheduling.models import Room, Site, Weekday
from radflow.web.forms import ServiceErrorsMixin

DATE_INPUT = forms.DateInput(attrs={"type": "date"})
TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
#: Opening intervals offered per weekday on the opening-hours form (a split day: two).
INTERVALS_PER_DAY = 2


class WallClockField(forms.DateTimeField):
    """A date and time as the clocks on the wall show it: no zone is attached here."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def prepare_value(self, value: Any) -> Any:
        return value

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value
        try:
            result = parse_datetime(str(value).strip())
        except ValueError as exc:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from exc
        if result is None:
            # The other accepted input formats, parsed as Django's own fields do.
            result = BaseTemporalField.to_python(self, value)
        return result


def in_zone(value: datetime, zone: ZoneInfo) -> datetime:
    """A typed wall-clock value as an instant in ``zone`` (an explicit offset is kept)."""
    if value.tzinfo is not None:
        return value
    return local_at(value.date(), value.time(), zone)


def _weekday_field(**kwargs: Any) -> forms.TypedMultipleChoiceField:
    return forms.TypedMultipleChoiceField(
        label="Weekdays",
        choices=Weekday.choices,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        **kwargs,
    )


class _StretchForm(ServiceErrorsMixin, forms.Form):
    """A start and an end typed in ``zone``; ``cleaned_data`` holds them as instants."""

    start = WallClockField(label="From")
    end = WallClockField(label="Until")
    reason = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"size": 50}))

    def __init__(self, *args: Any, zone: ZoneInfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone
        for name in ("start", "end"):
            self.fields[name].help_text = f"Local time ({zone.key})."

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        for name in ("start", "end"):
            if data.get(name) is not None:
                data[name] = in_zone(data[name], self.zone)
        return data


class HolidayForm(ServiceErrorsMixin, forms.Form):
    date = forms.DateField(label="Date", widget=DATE_INPUT)
    reason = forms.CharField(
        max_length=120,
        help_text="E.g. Thanksgiving Day, snow closure.",
        widget=forms.TextInput(attrs={"size": 40}),
    )


class RoomClosureForm(_StretchForm):
    field_order = ["room", "start", "end", "reason"]

    room = forms.ModelChoiceField(queryset=Room.objects.none())

    def __init__(self, *args: Any, site: Site, **kwargs: Any) -> None:
        super().__init__(*args, zone=ZoneInfo(site.time_zone), **kwargs)
        self.fields["room"].queryset = Room.objects.filter(site=site).order_by("code")  # type: ignore[attr-defined]


class DowntimeForm(_StretchForm):
    pass


class TemplateForm(ServiceErrorsMixin, forms.Form):
    room = forms.ModelChoiceField(queryset=Room.objects.none())
    label = forms.CharField(max_length=80, help_text='What the block is for, e.g. "OB mornings".')
    weekdays = _weekday_field(initial=[0, 1, 2, 3, 4])
    starts = forms.TimeField(label="From", widget=TIME_INPUT)
    ends = forms.TimeField(label="Until", widget=TIME_INPUT)
    exam_types = forms.ModelMultipleChoiceField(
        queryset=ExamType.objects.none(),
        required=False,
        help_text="None chosen: any exam of the room's modality (the block is a label only).",
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )

    def __init__(self, *args: Any, site: Site, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rooms = Room.objects.filter(site=site).order_by("code")
        self.fields["room"].queryset = rooms  # type: ignore[attr-defined]
        types = ExamType.objects.filter(active=True, modality__rooms__site=site).distinct()
        self.fields["exam_types"].queryset = types.order_by(  # type: ignore[attr-defined]
            "modality_id", "name"
        )


class OpeningHoursForm(ServiceErrorsMixin, forms.Form):
    """Seven days of up to two intervals each; a day with none is closed."""

    def __init__(self, *args: Any, room: Room, **kwargs: Any) -> None:
        initial: dict[str, time] = {}
        seen: dict[int, int] = {}
        for row in room.opening_hours.order_by("weekday", "opens"):
            n = seen.get(row.weekday, 0) + 1
            seen[row.weekday] = n
            if n <= INTERVALS_PER_DAY:
                initial[opening_field(row.weekday, n, "opens")] = row.opens
                initial[opening_field(row.weekday, n, "closes")] = row.closes
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        for day in Weekday:
            for n in range(1, INTERVALS_PER_DAY + 1):
                for part, word in (("opens", "opens"), ("closes", "closes")):
                    label = f"{day.label} {word}" if n == 1 else f"{day.label} {word} (2nd)"
                    self.fields[opening_field(day.value, n, part)] = forms.TimeField(
                        label=label, required=False, widget=TIME_INPUT
                    )

    def rows(self) -> list[tuple[str, list[tuple[Any, Any]]]]:
        """Per weekday, its (opens, closes) bound fields, for the table layout."""
        return [
            (
                str(day.label),
                [
                    (
                        self[opening_field(day.value, n, "opens")],
                        self[opening_field(day.value, n, "closes")],
                    )
                    for n in range(1, INTERVALS_PER_DAY + 1)
                ],
            )
            for day in Weekday
        ]

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        for day in Weekday:
            for n in range(1, INTERVALS_PER_DAY + 1):
                opens_name = opening_field(day.value, n, "opens")
                closes_name = opening_field(day.value, n, "closes")
                opens, closes = data.get(opens_name), data.get(closes_name)
                if (opens is None) != (closes is None) and not self.has_error(opens_name):
                    missing = closes_name if closes is None else opens_name
                    self.add_error(missing, f"{day.label}: give both the opening and closing.")
        return data

    def week(self) -> dict[int, list[tuple[time, time]]]:
        data = self.cleaned_data
        week: dict[int, list[tuple[time, time]]] = {}
        for day in Weekday:
            intervals = []
            for n in range(1, INTERVALS_PER_DAY + 1):
                opens = data.get(opening_field(day.value, n, "opens"))
                closes = data.get(opening_field(day.value, n, "closes"))
                if opens is not None and closes is not None:
                    intervals.append((opens, closes))
            if intervals:
                week[day.value] = intervals
        return week


class WorkingHoursForm(ServiceErrorsMixin, forms.Form):
    weekdays = _weekday_field(initial=[0, 1, 2, 3, 4])
    starts = forms.TimeField(label="From", widget=TIME_INPUT)
    ends = forms.TimeField(label="Until", widget=TIME_INPUT)
    site = forms.ModelChoiceField(
        queryset=Site.objects.order_by("name"),
        required=False,
        empty_label="Home site",
        help_text="Where these hours are worked.",
    )


class InterpreterForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=120)
    languages = forms.CharField(
        max_length=120,
        help_text="ISO 639-1 codes, comma separated: es, pt, zh.",
    )
    phone = forms.CharField(max_length=40, required=False)
    active = forms.BooleanField(required=False, initial=True)


class InterpreterHoursForm(ServiceErrorsMixin, forms.Form):
    weekdays = _weekday_field(initial=[0, 1, 2, 3, 4])
    starts = forms.TimeField(label="From", widget=TIME_INPUT)
    ends = forms.TimeField(label="Until", widget=TIME_INPUT)


class EligibilityForm(forms.Form):
    """The question: who and what may take this exam type on this day (GET)."""

    exam_type = forms.ModelChoiceField(
        queryset=ExamType.objects.filter(active=True).order_by("modality_id", "name"),
        to_field_name="code",
        empty_label="Choose an exam type",
    )
    date = forms.DateField(widget=DATE_INPUT)
    site = forms.ModelChoiceField(
        queryset=Site.objects.order_by("name"),
        to_field_name="code",
        required=False,
        empty_label="All sites",
    )
    patient_class = forms.ChoiceField(
        label="Patient class", choices=PatientClass.choices, required=False
    )

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        if data is not None and not data.get("date") and data.get("exam_type"):
            data = data.copy()
            data["date"] = timezone.localdate().isoformat()
        super().__init__(data, **kwargs)

    def question(self) -> dict[str, Any] | None:
        """The cleaned question, or None when it is incomplete or invalid."""
        if not self.is_bound or not self.is_valid():
            return None
        data = self.cleaned_data
        on: date = data["date"]
        return {
            "exam_type": data["exam_type"],
            "on": on,
            "site": data.get("site"),
            "patient_class": data.get("patient_class") or PatientClass.OUTPATIENT,
        }
