"""Contrast media: the agents, what each exam type asks before giving one, and what was given.

Stock (lots, expiry, recalls, the ledger) lives in ``radflow.supplies``: an agent points at its
supply item, an administration at the lot it drew from and the stock movement that issued it.
The screening rule is ``radflow.contrast.rules``; ``selectors`` feeds it from these rows.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from radflow.catalog.models import ExamType
from radflow.contrast.rules import AgentClass, Grade
from radflow.db import UUIDModel
from radflow.exams.models import Exam
from radflow.patients.models import Allergy, Patient
from radflow.supplies.models import Item, Lot, StockMovement

AGENT_CLASS_CHOICES = [(c.value, c.label) for c in AgentClass]
GRADE_CHOICES = [(g.value, g.value.capitalize()) for g in Grade]


class GbcaGroup(models.TextChoices):
    """ACR Manual on Contrast Media grouping of gadolinium agents by NSF risk."""

    NONE = "", "Not a gadolinium agent"
    GROUP_I = "I", "Group I (highest NSF risk)"
    GROUP_II = "II", "Group II (lowest NSF risk)"
    GROUP_III = "III", "Group III (limited data)"


class Route(models.TextChoices):
    INTRAVENOUS = "iv", "Intravenous"
    INTRA_ARTERIAL = "ia", "Intra-arterial"
    ORAL = "oral", "Oral"
    RECTAL = "rectal", "Rectal"
    INTRAVESICAL = "intravesical", "Intravesical"
    INTRA_ARTICULAR = "intra_articular", "Intra-articular"


class ContrastAgent(UUIDModel):
    """One product at one concentration (Omnipaque 350, Gadavist, Lumason)."""

    name = models.CharField(
        max_length=120, unique=True, help_text="Generic name and strength: Iohexol 350."
    )
    brand = models.CharField(max_length=80, blank=True, help_text="Omnipaque 350, Gadavist …")
    manufacturer = models.CharField(max_length=80, blank=True)
    agent_class = models.CharField("class", max_length=12, choices=AGENT_CLASS_CHOICES)
    gbca_group = models.CharField(
        "ACR GBCA group", max_length=3, choices=GbcaGroup.choices, blank=True
    )
    concentration = models.DecimalField(
        max_digits=8, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    concentration_unit = models.CharField(
        max_length=16, blank=True, help_text="mgI/mL, mmol/mL, µL/mL …"
    )
    #: Route codes (``Route``) the label allows.
    routes = models.JSONField(default=list)
    dose_unit = models.CharField(max_length=8, default="mL")
    supply_item = models.OneToOneField(
        Item,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contrast_agent",
        help_text="The stocked item (category contrast) whose lots the doses are drawn from.",
    )
    safety_programme = models.CharField(
        max_length=120,
        blank=True,
        help_text="Where adverse events are reported: the maker's pharmacovigilance, MedWatch.",
    )
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["agent_class", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.brand})" if self.brand else self.name

    @property
    def class_enum(self) -> AgentClass:
        return AgentClass(self.agent_class)

    def route_labels(self) -> list[str]:
        labels = dict(Route.choices)
        return [str(labels.get(code, code)) for code in self.routes]


class ContrastRequirement(models.Model):
    """What an exam type asks before contrast: saved settings override the modality default
    (``selectors.requirement_for``)."""

    exam_type = models.OneToOneField(
        ExamType, on_delete=models.CASCADE, related_name="contrast_requirement"
    )
    gives_contrast = models.BooleanField(
        default=True, help_text="Off: the exam type takes no contrast and nothing is screened."
    )
    agent_class = models.CharField("agent class", max_length=12, choices=AGENT_CLASS_CHOICES)
    egfr_required = models.BooleanField("eGFR required", default=True)
    egfr_window_days = models.PositiveSmallIntegerField(
        "eGFR window (days)",
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="The latest eGFR must be no older than this on the exam day.",
    )
    egfr_minimum = models.DecimalField(
        "eGFR minimum (mL/min/1.73 m²)",
        max_digits=5,
        decimal_places=1,
        default=30,
        validators=[MinValueValidator(0)],
    )
    reaction_screening = models.BooleanField(
        "prior-reaction screening",
        default=True,
        help_text="A prior moderate or severe reaction to the class needs premedication.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["exam_type__modality", "exam_type__name"]

    def __str__(self) -> str:
        return f"Contrast for {self.exam_type}"


class EgfrSource(models.TextChoices):
    LAB = "lab", "Laboratory report"
    POINT_OF_CARE = "poc", "Point-of-care test"
    INTAKE = "intake", "Intake screening"
    INTERFACE = "interface", "Interface (HL7/FHIR)"


class EgfrResult(UUIDModel):
    """One eGFR result for a patient: what renal screening reads, whichever exam it was for."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="egfr_results")
    value = models.DecimalField(
        "eGFR (mL/min/1.73 m²)", max_digits=5, decimal_places=1, validators=[MinValueValidator(0)]
    )
    measured_on = models.DateField("result date")
    source = models.CharField(max_length=12, choices=EgfrSource.choices, default=EgfrSource.LAB)
    reference = models.CharField(
        max_length=60, blank=True, help_text="Lab accession or report number."
    )
    #: Set when intake recorded it while screening this exam.
    exam = models.ForeignKey(
        Exam, on_delete=models.SET_NULL, null=True, blank=True, related_name="egfr_results"
    )
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["patient", "-measured_on", "-recorded_at"]
        indexes = [models.Index(fields=["patient", "measured_on"], name="egfr_patient_date_idx")]

    def __str__(self) -> str:
        return f"eGFR {self.value} on {self.measured_on:%Y-%m-%d}"


class ContrastAdministration(UUIDModel):
    """One dose given in an exam, with the lot it came from and the eGFR that cleared it."""

    exam = models.ForeignKey(
        Exam, on_delete=models.PROTECT, related_name="contrast_administrations"
    )
    agent = models.ForeignKey(
        ContrastAgent, on_delete=models.PROTECT, related_name="administrations"
    )
    lot = models.ForeignKey(
        Lot, on_delete=models.PROTECT, null=True, blank=True, related_name="contrast_doses"
    )
    stock_movement = models.OneToOneField(
        StockMovement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contrast_administration",
    )
    dose = models.DecimalField(max_digits=7, decimal_places=2, validators=[MinValueValidator(0)])
    dose_unit = models.CharField(max_length=8, default="mL")
    route = models.CharField(max_length=16, choices=Route.choices)
    injection_site = models.CharField(
        max_length=80, blank=True, help_text="Right antecubital, 20 G; port; oral …"
    )
    flow_rate = models.DecimalField(
        "flow rate (mL/s)",
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    given_at = models.DateTimeField()
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    #: The eGFR that was on file when the dose was given (none for agents that need none).
    egfr_value = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    egfr_date = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-given_at"]
        indexes = [models.Index(fields=["given_at"], name="contrast_admin_given_idx")]
        permissions = [
            ("override_contrast_stop", "Override the contrast hard stop with a reason"),
        ]

    def __str__(self) -> str:
        return f"{self.dose} {self.dose_unit} {self.agent} at {self.given_at:%Y-%m-%d %H:%M}"


class ReactionKind(models.TextChoices):
    ALLERGIC_LIKE = "allergic_like", "Allergic-like"
    PHYSIOLOGIC = "physiologic", "Physiologic"
    EXTRAVASATION = "extravasation", "Extravasation"


class ReactionOutcome(models.TextChoices):
    RESOLVED = "resolved", "Resolved in the department"
    OBSERVED = "observed", "Resolved after extended observation"
    EMERGENCY = "emergency", "Transferred to the emergency department"
    ADMITTED = "admitted", "Admitted"
    DIED = "died", "Died"


#: Symptoms offered as checkboxes (ACR Manual on Contrast Media, reaction tables).
SYMPTOMS: dict[str, str] = {
    "urticaria": "Hives (urticaria)",
    "pruritus": "Itching",
    "flushing": "Flushing",
    "nausea_vomiting": "Nausea / vomiting",
    "nasal_congestion": "Nasal congestion, sneezing",
    "facial_edema": "Facial swelling",
    "throat_tightness": "Throat tightness, hoarseness",
    "bronchospasm": "Wheezing / bronchospasm",
    "laryngeal_edema": "Laryngeal edema",
    "hypotension": "Hypotension",
    "vasovagal": "Vasovagal reaction",
    "chest_pain": "Chest pain",
    "arrhythmia": "Arrhythmia",
    "seizure": "Seizure",
    "anaphylaxis": "Anaphylactic shock",
    "cardiopulmonary_arrest": "Cardiopulmonary arrest",
    "extravasation": "Extravasation at the site",
}


class AdverseEvent(UUIDModel):
    """A reaction to a dose: what happened, what was done, how it ended, who was told."""

    administration = models.ForeignKey(
        ContrastAdministration, on_delete=models.PROTECT, related_name="adverse_events"
    )
    onset_at = models.DateTimeField()
    grade = models.CharField(max_length=8, choices=GRADE_CHOICES)
    kind = models.CharField(
        max_length=16, choices=ReactionKind.choices, default=ReactionKind.ALLERGIC_LIKE
    )
    #: ``SYMPTOMS`` codes.
    symptoms = models.JSONField(default=list)
    description = models.TextField(blank=True)
    treatment = models.TextField(help_text="Drugs with doses, oxygen, fluids; or observation.")
    outcome = models.CharField(max_length=12, choices=ReactionOutcome.choices)
    reported_to_programme = models.BooleanField("reported to the safety programme", default=False)
    reported_on = models.DateField(null=True, blank=True)
    report_reference = models.CharField(max_length=60, blank=True)
    #: The patient's allergy entry this event created or raised (allergic-like events only).
    allergy = models.ForeignKey(
        Allergy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-onset_at"]

    def __str__(self) -> str:
        return f"{self.get_grade_display()} reaction at {self.onset_at:%Y-%m-%d %H:%M}"

    def symptom_labels(self) -> list[str]:
        return [SYMPTOMS.get(code, code) for code in self.symptoms]


class Premedication(UUIDModel):
    """The premedication protocol given before an exam, one row per exam and protocol."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="contrast_premedications")
    protocol = models.CharField(max_length=120)
    ordered_by = models.CharField(
        max_length=120, blank=True, help_text="The radiologist or referrer who ordered it."
    )
    note = models.CharField(max_length=200, blank=True)
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["exam", "recorded_at"]

    def __str__(self) -> str:
        return self.protocol


class PremedRoute(models.TextChoices):
    ORAL = "oral", "Oral"
    INTRAVENOUS = "iv", "Intravenous"
    INTRAMUSCULAR = "im", "Intramuscular"


class PremedicationDose(models.Model):
    premedication = models.ForeignKey(Premedication, on_delete=models.CASCADE, related_name="doses")
    drug = models.CharField(max_length=80)
    dose = models.CharField(max_length=40, help_text="50 mg, 25 mg …")
    route = models.CharField(max_length=4, choices=PremedRoute.choices)
    given_at = models.DateTimeField()
    given_by = models.CharField(
        max_length=120, help_text="Who gave it, or “patient, at home” for oral doses."
    )

    class Meta:
        ordering = ["premedication", "given_at"]

    def __str__(self) -> str:
        return f"{self.drug} {self.dose} at {self.given_at:%Y-%m-%d %H:%M}"
