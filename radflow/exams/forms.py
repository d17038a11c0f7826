"""Forms for the exam actions and the two audit reports. They parse and label input; the
rules (room free, authorization window, hard stops, reasons) stay in ``exams.services``."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from radflow.catalog.models import ExamType
from radflow.core.hard_stops import Stop
from radflow.exams.models import Exam, HardStop, Override, ReasonKind
from radflow.exams.selectors import Gap, reason_choices
from radflow.exams.services import DEFAULT_OVERRIDE_PERMISSION, OVERRIDE_PERMISSION
from radflow.orders.models import Priority
from radflow.orders.selectors import auth_booking_problem
from radflow.scheduling.models import Modality, Room, Site
from radflow.staff.models import JobRole, StaffMember
from radflow.web.forms import ServiceErrorsMixin

#: ``<input type="datetime-local">`` sends this; the value is read in the current time zone.
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class ExamActionForm(ServiceErrorsMixin, forms.Form):
    """Base of every action form: knows its exam and who is acting."""

    def __init__(self, data: Any = None, *, exam: Exam, user: Any, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.exam = exam
        self.user = user


class ConfirmForm(ExamActionForm):
    """Actions with nothing to ask (arrive, sign, bill): the button is the confirmation."""


class TriageForm(ExamActionForm):
    exam_type = forms.ModelChoiceField(
        queryset=ExamType.objects.none(), to_field_name="code", label="Exam type"
    )
    priority = forms.ChoiceField(choices=Priority.choices)
    protocol = forms.CharField(max_length=120, required=False)
    instructions = forms.CharField(
        label="Instructions for the patient and the sonographer",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, data: Any = None, *, exam: Exam, user: Any, **kwargs: Any) -> None:
        order = exam.order
        initial = {
            "exam_type": order.exam_type.code,
            "priority": order.priority,
            "protocol": order.protocol,
            "instructions": order.instructions,
        }
        super().__init__(data, exam=exam, user=user, initial=initial, **kwargs)
        field: Any = self.fields["exam_type"]
        field.queryset = (
            ExamType.objects.filter(Q(active=True) | Q(pk=order.exam_type_id))
            .select_related("modality")
            .order_by("modality__code", "name")
        )


def _datetime_field(label: str, help_text: str = "") -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        help_text=help_text,
        input_formats=[DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )


class RoomChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        room: Room = obj
        label = f"{room.name} ({room.code}) — {room.site.name}"
        if room.status != "in_service":
            label += f" — {room.get_status_display().lower()}"
        return label


class ScheduleForm(ExamActionForm):
    room = RoomChoiceField(queryset=Room.objects.none())
    start = _datetime_field("Start", "Date and time in the department's time zone.")
    technologist = forms.ModelChoiceField(
        queryset=StaffMember.objects.none(), required=False, label="Sonographer / technologist"
    )

    field_aliases = {"room_id": "room", "at": "start"}

    def __init__(self, data: Any = None, *, exam: Exam, user: Any, **kwargs: Any) -> None:
        initial: dict[str, Any] = {}
        if exam.room_id:
            initial["room"] = exam.room_id
        if exam.scheduled_start:
            initial["start"] = timezone.localtime(exam.scheduled_start).strftime(DATETIME_LOCAL)
        if exam.technologist_id:
            initial["technologist"] = exam.technologist_id
        super().__init__(data, exam=exam, user=user, initial=initial, **kwargs)
        room: Any = self.fields["room"]
        room.queryset = (
            Room.objects.filter(modality_id=exam.order.exam_type.modality_id)
            .select_related("site")
            .order_by("site__name", "name")
        )
        if "technologist" in self.fields:
            tech: Any = self.fields["technologist"]
            tech.queryset = StaffMember.objects.filter(
                active=True, job_role__in=[JobRole.SONOGRAPHER, JobRole.TECHNOLOGIST]
            ).order_by("family_name", "given_name")
        # The authorization window: asked only when the chosen day is outside it.
        self.auth_problem = auth_booking_problem(exam.order, self._day())
        self.can_override_auth = bool(user.has_perm("orders.override_authorization"))
        if self.auth_problem and self.can_override_auth:
            self.fields["override_reason"] = forms.CharField(
                label="Reason to book outside the authorization window",
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
                help_text="Recorded on the override report with your name and role.",
            )

    def _day(self) -> date:
        """The day being booked: the posted start if it parses, else the requested date."""
        raw = self.data.get("start") if self.is_bound else None
        if raw:
            try:
                parsed = self.fields["start"].clean(raw)
            except forms.ValidationError:
                parsed = None
            if parsed is not None:
                return timezone.localdate(parsed)
        requested = self.exam.order.requested_date
        today = timezone.localdate()
        return requested if requested and requested > today else today


class RescheduleForm(ScheduleForm):
    reason_code = forms.ChoiceField(label="Reason for the change")
    reason = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, data: Any = None, *, exam: Exam, user: Any, **kwargs: Any) -> None:
        super().__init__(data, exam=exam, user=user, **kwargs)
        # A reschedule keeps the sonographer; changing staff is the roster's business.
        del self.fields["technologist"]
        field: Any = self.fields["reason_code"]
        field.choices = [("", "Choose…"), *reason_choices(ReasonKind.RESCHEDULE)]


class ReasonForm(ExamActionForm):
    """Cancel, no-show and discontinue: a coded reason (data) and an optional note."""

    kind: str = ReasonKind.CANCEL
    reason_code = forms.ChoiceField(label="Reason")
    reason = forms.CharField(
        label="Details", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, data: Any = None, *, exam: Exam, user: Any, **kwargs: Any) -> None:
        super().__init__(data, exam=exam, user=user, **kwargs)
        field: Any = self.fields["reason_code"]
        field.choices = [("", "Choose…"), *reason_choices(self.kind)]


class CancelForm(ReasonForm):
    kind = ReasonKind.CANCEL


class NoShowForm(ReasonForm):
    kind = ReasonKind.NO_SHOW


class DiscontinueForm(ReasonForm):
    kind = ReasonKind.DISCONTINUE


def override_permission(stop_code: str) -> str:
    return OVERRIDE_PERMISSION.get(stop_code, DEFAULT_OVERRIDE_PERMISSION)


class BeginForm(ExamActionForm):
    """Lists the unmet hard stops; a permitted role gets a reason field for each."""

    def __init__(
        self, data: Any = None, *, exam: Exam, user: Any, stops: list[Stop], **kwargs: Any
    ) -> None:
        super().__init__(data, exam=exam, user=user, **kwargs)
        self.stops = stops
        self.blocked: list[Stop] = []
        labels = dict(HardStop.choices)
        for stop in stops:
            if user.has_perm(override_permission(stop.code)):
                self.fields[f"override_{stop.code}"] = forms.CharField(
                    label=f"Override: {labels.get(stop.code, stop.code)}",
                    help_text=stop.detail,
                    required=False,
                    widget=forms.Textarea(attrs={"rows": 2}),
                )
            else:
                self.blocked.append(stop)

    def overrides(self) -> dict[str, str]:
        return {
            stop.code: self.cleaned_data.get(f"override_{stop.code}", "") or ""
            for stop in self.stops
            if f"override_{stop.code}" in self.fields
        }


class CompleteForm(ExamActionForm):
    images_count = forms.IntegerField(
        label="Images acquired",
        min_value=0,
        required=False,
        help_text="Leave empty when the modality reports it (MPPS).",
    )


class ReportForm(ExamActionForm):
    text = forms.CharField(label="Report", widget=forms.Textarea(attrs={"rows": 12}))

    def __init__(self, data: Any = None, *, exam: Exam, user: Any, **kwargs: Any) -> None:
        super().__init__(data, exam=exam, user=user, initial={"text": exam.report_text}, **kwargs)


# --- report filters ----------------------------------------------------------------------------


def _date_field(label: str) -> forms.DateField:
    return forms.DateField(
        label=label, required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class DateRangeForm(forms.Form):
    since = _date_field("From")
    until = _date_field("To (inclusive)")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data


def _overriders() -> QuerySet[Any]:
    """The people who have overridden a hard stop, for the report's filter."""
    user_model: Any = get_user_model()
    who = Override.objects.values("by_id").distinct()
    overriders: QuerySet[Any] = user_model.objects.filter(pk__in=who).order_by("username")
    return overriders


class OverrideFilterForm(DateRangeForm):
    stop = forms.ChoiceField(
        label="Hard stop", required=False, choices=[("", "Any"), *HardStop.choices]
    )
    user: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label="Overridden by", required=False, queryset=None, empty_label="Anyone"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["user"]
        field.queryset = _overriders()


class DocumentationAuditForm(DateRangeForm):
    site = forms.ModelChoiceField(
        queryset=Site.objects.order_by("name"), required=False, empty_label="All sites"
    )
    modality = forms.ModelChoiceField(
        queryset=Modality.objects.order_by("code"), required=False, empty_label="All modalities"
    )
    missing = forms.ChoiceField(
        label="Missing", required=False, choices=[("", "Anything"), *Gap.choices]
    )

    #: The default window: the last 30 days.
    DEFAULT_DAYS = 30

    @classmethod
    def with_defaults(cls, query: Any) -> DocumentationAuditForm:
        """Bound to the query string, with the last 30 days when no dates are given."""
        data = query.copy()
        today = timezone.localdate()
        if not data.get("since") and not data.get("until"):
            data["since"] = (today - timedelta(days=cls.DEFAULT_DAYS)).isoformat()
            data["until"] = today.isoformat()
        return cls(data)
