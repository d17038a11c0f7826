"""Forms of the quality pages; the services check every rule again."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.db.models import QuerySet

from radflow.catalog.models import ExamType
from radflow.exams.models import Exam
from radflow.patients.models import Patient
from radflow.quality.models import (
    AccessibilityNeed,
    ActionKind,
    AuditChecklist,
    AuditChecklistItem,
    AuditStatus,
    ChecklistCategory,
    FeedbackCategory,
    FeedbackChannel,
    FeedbackKind,
    FeedbackStatus,
    FollowUpAction,
    IncidentCategory,
    IncidentKind,
    IncidentStatus,
    ItemResult,
    QualitySettings,
    RadpeerScore,
    RequestStatus,
    RootCauseCategory,
    ScoringMethod,
    Severity,
)
from radflow.quality.services_audits import ScoreInput
from radflow.scheduling.models import Modality, Site
from radflow.staff.models import JobRole, StaffMember
from radflow.web.forms import ServiceErrorsMixin

DATE = forms.DateInput(attrs={"type": "date"})
#: ``<input type="datetime-local">`` sends this; the value is read in the department's zone.
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
BLANK = [("", "Any")]


class UserChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_full_name() or obj.get_username())


def staff_users() -> QuerySet[User]:
    """People who can own quality work: active users holding a role."""
    return (
        User.objects.filter(is_active=True, groups__isnull=False)
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


class MonthField(forms.CharField):
    """A month as ``YYYY-MM`` (the browser's month picker), cleaned to its first day."""

    widget = forms.TextInput(attrs={"type": "month"})

    def to_python(self, value: Any) -> date | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        try:
            return date.fromisoformat(f"{text}-01")
        except ValueError as exc:
            raise forms.ValidationError("Give the month as YYYY-MM, e.g. 2026-02.") from exc


class SettingsForm(ServiceErrorsMixin, forms.ModelForm):  # type: ignore[type-arg]
    follow_up_owner = UserChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Owner of new discrepancy follow-ups",
    )

    class Meta:
        model = QualitySettings
        fields = [
            "audit_sample_size",
            "sample_seed",
            "audit_pass_mark",
            "peer_reviews_per_radiologist",
            "peer_review_due_days",
            "follow_up_due_days",
            "follow_up_owner",
            "complaint_response_working_days",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["follow_up_owner"]
        field.queryset = staff_users()


class DrawForm(ServiceErrorsMixin, forms.Form):
    month = MonthField(label="Month")


# --- audits ------------------------------------------------------------------------------------


class AuditFilterForm(forms.Form):
    month = MonthField(label="Month", required=False)
    performer = forms.ModelChoiceField(
        queryset=StaffMember.objects.none(), required=False, label="Sonographer"
    )
    status = forms.ChoiceField(choices=[*BLANK, *AuditStatus.choices], required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["performer"]
        field.queryset = StaffMember.objects.filter(
            job_role__in=[JobRole.SONOGRAPHER, JobRole.TECHNOLOGIST]
        ).order_by("family_name", "given_name")


class ChecklistForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=120)
    exam_type = forms.ModelChoiceField(
        queryset=ExamType.objects.none(),
        required=False,
        help_text="Leave empty for a form that covers a whole modality.",
    )
    protocol = forms.CharField(
        max_length=120, required=False, help_text="Only for orders triaged with this protocol."
    )
    modality = forms.ModelChoiceField(
        queryset=Modality.objects.none(),
        required=False,
        help_text="For a modality-wide form (ignored when an exam type is chosen).",
    )
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        exam_type: Any = self.fields["exam_type"]
        exam_type.queryset = ExamType.objects.filter(active=True).order_by("modality", "name")
        modality: Any = self.fields["modality"]
        modality.queryset = Modality.objects.order_by("code")

    @staticmethod
    def initial_for(checklist: AuditChecklist) -> dict[str, Any]:
        return {
            "name": checklist.name,
            "exam_type": checklist.exam_type_id,
            "protocol": checklist.protocol,
            "modality": checklist.modality_id,
            "active": checklist.active,
        }


class ChecklistItemForm(ServiceErrorsMixin, forms.Form):
    category = forms.ChoiceField(choices=ChecklistCategory.choices)
    label = forms.CharField(max_length=160)
    guidance = forms.CharField(max_length=300, required=False)
    scoring = forms.ChoiceField(choices=ScoringMethod.choices)
    max_points = forms.IntegerField(
        min_value=1, max_value=20, initial=2, help_text="Points for a pass (a partial earns half)."
    )
    position = forms.IntegerField(min_value=0, required=False)
    active = forms.BooleanField(required=False, initial=True)

    @staticmethod
    def initial_for(item: AuditChecklistItem) -> dict[str, Any]:
        return {
            "category": item.category,
            "label": item.label,
            "guidance": item.guidance,
            "scoring": item.scoring,
            "max_points": item.max_points,
            "position": item.position,
            "active": item.active,
        }


class AuditScoreForm(ServiceErrorsMixin, forms.Form):
    """One field per active checklist item (and a comment beside it), then the feedback."""

    feedback = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="What went well and what to change: the sonographer reads this.",
    )

    def __init__(
        self, *args: Any, items: list[AuditChecklistItem], scores: dict[int, Any], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.items = items
        for item in items:
            current = scores.get(item.pk)
            key = f"item_{item.pk}"
            label = f"{item.get_category_display()}: {item.label}"
            if item.scoring == ScoringMethod.POINTS:
                self.fields[key] = forms.DecimalField(
                    label=f"{label} (0 to {item.max_points} points)",
                    min_value=0,
                    max_value=item.max_points,
                    decimal_places=1,
                    required=False,
                    help_text=item.guidance or "Leave empty when not applicable.",
                    initial=current.points if current else None,
                )
            else:
                self.fields[key] = forms.ChoiceField(
                    label=label,
                    choices=ItemResult.choices,
                    widget=forms.RadioSelect,
                    help_text=item.guidance,
                    initial=current.result if current else None,
                )
            self.fields[f"comment_{item.pk}"] = forms.CharField(
                label="Comment",
                max_length=300,
                required=False,
                initial=current.comment if current else "",
            )
        self.order_fields([*(f for i in items for f in (f"item_{i.pk}", f"comment_{i.pk}"))])

    def score_inputs(self) -> list[ScoreInput]:
        data = self.cleaned_data
        inputs = []
        for item in self.items:
            value = data.get(f"item_{item.pk}")
            comment = data.get(f"comment_{item.pk}") or ""
            if item.scoring == ScoringMethod.POINTS:
                result = ItemResult.NOT_APPLICABLE.value if value is None else ""
                inputs.append(ScoreInput(item.pk, result=result, points=value, comment=comment))
            else:
                inputs.append(ScoreInput(item.pk, result=value or "", comment=comment))
        return inputs

    def item_rows(self) -> list[tuple[AuditChecklistItem, Any, Any]]:
        return [(i, self[f"item_{i.pk}"], self[f"comment_{i.pk}"]) for i in self.items]


class AcknowledgeForm(ServiceErrorsMixin, forms.Form):
    reply = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label="Your reply (optional)",
    )


# --- peer review -------------------------------------------------------------------------------


class PeerReviewForm(ServiceErrorsMixin, forms.Form):
    score = forms.ChoiceField(choices=RadpeerScore.choices, widget=forms.RadioSelect)
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="Required for any discrepancy: what differs, as the reader will read it.",
    )


class DeclineForm(ServiceErrorsMixin, forms.Form):
    reason = forms.CharField(max_length=200, label="Why you cannot review this read")


class ReassignForm(ServiceErrorsMixin, forms.Form):
    reviewer = forms.ModelChoiceField(queryset=StaffMember.objects.none())

    def __init__(self, *args: Any, exclude: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["reviewer"]
        field.queryset = (
            StaffMember.objects.filter(job_role=JobRole.RADIOLOGIST, active=True)
            .exclude(pk__in=exclude)
            .order_by("family_name", "given_name")
        )


class FollowUpForm(ServiceErrorsMixin, forms.Form):
    owner = UserChoiceField(queryset=User.objects.none())
    due_on = forms.DateField(label="Due", widget=DATE)
    action_kind = forms.ChoiceField(
        label="Action taken",
        choices=[("", "None yet"), *FollowUpAction.choices],
        required=False,
    )
    action = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label="What was done"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["owner"]
        field.queryset = staff_users()


class FollowUpCloseForm(ServiceErrorsMixin, forms.Form):
    outcome = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


# --- incidents ---------------------------------------------------------------------------------


def _exam_by_accession(value: str) -> Exam | None:
    return Exam.objects.select_related("order__patient").filter(accession_number=value).first()


def _patient_by_mrn(value: str) -> tuple[Patient | None, str]:
    found = list(Patient.objects.filter(mrn=value, active=True)[:2])
    if not found:
        return None, "No patient has this MRN."
    if len(found) > 1:
        return None, "Two patients share this MRN (different authorities): give the accession."
    return found[0], ""


class PatientLinkMixin(forms.Form):
    """Optional accession number and MRN, cleaned to ``exam`` and ``patient``."""

    accession_number = forms.CharField(max_length=16, required=False, label="Accession number")
    mrn = forms.CharField(max_length=32, required=False, label="Patient MRN")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["exam"] = data["patient"] = None
        accession = (data.get("accession_number") or "").strip()
        mrn = (data.get("mrn") or "").strip()
        if accession:
            data["exam"] = _exam_by_accession(accession)
            if data["exam"] is None:
                self.add_error("accession_number", "No exam has this accession number.")
        if mrn:
            patient, problem = _patient_by_mrn(mrn)
            if problem:
                self.add_error("mrn", problem)
            data["patient"] = patient
        return data


class IncidentForm(ServiceErrorsMixin, PatientLinkMixin):
    kind = forms.ChoiceField(choices=IncidentKind.choices, widget=forms.RadioSelect)
    category = forms.ChoiceField(choices=IncidentCategory.choices)
    severity = forms.ChoiceField(
        choices=Severity.choices, help_text="The harm that resulted (none for a near miss)."
    )
    occurred_at = forms.DateTimeField(
        label="When it happened",
        input_formats=[DATETIME_LOCAL],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )
    site = forms.ModelChoiceField(queryset=Site.objects.none(), required=False)
    location_detail = forms.CharField(max_length=120, required=False, label="Where (room, area)")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}))
    immediate_action = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Immediate action taken"
    )
    field_order = [
        "kind",
        "category",
        "severity",
        "occurred_at",
        "site",
        "location_detail",
        "accession_number",
        "mrn",
        "description",
        "immediate_action",
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        site: Any = self.fields["site"]
        site.queryset = Site.objects.order_by("name")


class IncidentUpdateForm(ServiceErrorsMixin, forms.Form):
    kind = forms.ChoiceField(choices=IncidentKind.choices)
    category = forms.ChoiceField(choices=IncidentCategory.choices)
    severity = forms.ChoiceField(choices=Severity.choices)
    status = forms.ChoiceField(choices=IncidentStatus.choices)
    root_cause_category = forms.ChoiceField(
        label="Root cause category",
        choices=[("", "Not yet known"), *RootCauseCategory.choices],
        required=False,
    )
    root_cause = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), required=False, label="Root cause"
    )


class ActionForm(ServiceErrorsMixin, forms.Form):
    kind = forms.ChoiceField(choices=ActionKind.choices)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    owner = UserChoiceField(queryset=User.objects.none())
    due_on = forms.DateField(label="Due", widget=DATE)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["owner"]
        field.queryset = staff_users()


class ActionCloseForm(ServiceErrorsMixin, forms.Form):
    outcome = forms.ChoiceField(
        choices=[("done", "Done"), ("cancelled", "No longer needed (cancel)")],
        widget=forms.RadioSelect,
        initial="done",
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="What was done / why")
    completed_on = forms.DateField(label="Completed on", widget=DATE, required=False)


class IncidentFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[*BLANK, *IncidentStatus.choices], required=False)
    severity = forms.ChoiceField(choices=[*BLANK, *Severity.choices], required=False)
    kind = forms.ChoiceField(choices=[*BLANK, *IncidentKind.choices], required=False)


# --- complaints and compliments ----------------------------------------------------------------


class FeedbackForm(ServiceErrorsMixin, PatientLinkMixin):
    kind = forms.ChoiceField(choices=FeedbackKind.choices, widget=forms.RadioSelect)
    channel = forms.ChoiceField(choices=FeedbackChannel.choices)
    category = forms.ChoiceField(choices=FeedbackCategory.choices)
    received_on = forms.DateField(label="Received", widget=DATE)
    summary = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    site = forms.ModelChoiceField(queryset=Site.objects.none(), required=False)
    staff_named = forms.ModelChoiceField(
        queryset=StaffMember.objects.none(), required=False, label="Staff member named"
    )
    owner = UserChoiceField(
        queryset=User.objects.none(),
        required=False,
        help_text="Complaints: who answers it (you, when left empty).",
    )
    field_order = [
        "kind",
        "channel",
        "category",
        "received_on",
        "summary",
        "description",
        "site",
        "accession_number",
        "mrn",
        "staff_named",
        "owner",
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        site: Any = self.fields["site"]
        site.queryset = Site.objects.order_by("name")
        staff: Any = self.fields["staff_named"]
        staff.queryset = StaffMember.objects.filter(active=True).order_by(
            "family_name", "given_name"
        )
        owner: Any = self.fields["owner"]
        owner.queryset = staff_users()


class FeedbackAssignForm(ServiceErrorsMixin, forms.Form):
    owner = UserChoiceField(queryset=User.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["owner"]
        field.queryset = staff_users()


class FeedbackResolveForm(ServiceErrorsMixin, forms.Form):
    resolution = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), label="Response / resolution"
    )
    resolved_on = forms.DateField(label="Resolved on", widget=DATE, required=False)


class FeedbackFilterForm(forms.Form):
    kind = forms.ChoiceField(choices=[*BLANK, *FeedbackKind.choices], required=False)
    status = forms.ChoiceField(choices=[*BLANK, *FeedbackStatus.choices], required=False)
    category = forms.ChoiceField(choices=[*BLANK, *FeedbackCategory.choices], required=False)


# --- satisfaction and accessibility ------------------------------------------------------------


class SatisfactionImportForm(ServiceErrorsMixin, forms.Form):
    file = forms.FileField(label="Survey results (CSV)")
    skip_known = forms.BooleanField(
        label="Skip responses already imported (an export that overlaps an earlier one)",
        required=False,
    )


class AccessRequestForm(ServiceErrorsMixin, forms.Form):
    mrn = forms.CharField(max_length=32, label="Patient MRN")
    accession_number = forms.CharField(
        max_length=16, required=False, label="Accession number (the visit, if booked)"
    )
    need = forms.ChoiceField(choices=AccessibilityNeed.choices)
    detail = forms.CharField(max_length=200, required=False)
    needed_on = forms.DateField(label="Needed on", widget=DATE)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["patient"] = data["exam"] = None
        mrn = (data.get("mrn") or "").strip()
        if mrn:
            patient, problem = _patient_by_mrn(mrn)
            if problem:
                self.add_error("mrn", problem)
            data["patient"] = patient
        accession = (data.get("accession_number") or "").strip()
        if accession:
            data["exam"] = _exam_by_accession(accession)
            if data["exam"] is None:
                self.add_error("accession_number", "No exam has this accession number.")
        return data


class AccessResolveForm(ServiceErrorsMixin, forms.Form):
    status = forms.ChoiceField(
        choices=[
            (RequestStatus.MET.value, "Met"),
            (RequestStatus.UNMET.value, "Not met"),
            (RequestStatus.CANCELLED.value, "Cancelled (no longer needed)"),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(max_length=300, required=False, label="Note (why, if not met)")
