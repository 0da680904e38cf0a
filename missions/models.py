from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from charter.models import Department, DepartmentGoal, Touchpoint, VersionedDocument


class FinanceValidated(models.Model):
    """A figure a finance partner vouches for: who validated it, when, with what note and
    evidence; or the question they returned it to the CX leader with.

    Each concrete model lists beside its fields which of them make up the figure's meaning
    (``MEANING_FIELDS``: changing one clears the validation) and which do not
    (``VALIDATION_IGNORED_FIELDS``, each for a stated reason). A test fails when a new field
    is in neither list, so nobody adds a field that silently survives validation.
    """

    MEANING_FIELDS: ClassVar[tuple[str, ...]] = ()
    VALIDATION_IGNORED_FIELDS: ClassVar[tuple[str, ...]] = ()
    # The validation bookkeeping itself: never part of a figure's meaning.
    VALIDATION_STATE_FIELDS: ClassVar[tuple[str, ...]] = (
        "validated_by",
        "validated_at",
        "validation_note",
        "validation_evidence_url",
        "returned_by",
        "returned_at",
        "return_question",
    )

    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    validated_at = models.DateTimeField(null=True, blank=True)
    validation_note = models.TextField(blank=True, help_text="What finance checked, in their words.")
    validation_evidence_url = models.URLField(
        max_length=500, blank=True, help_text="Optional link to the evidence (spreadsheet, ledger extract)."
    )
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    returned_at = models.DateTimeField(null=True, blank=True)
    return_question = models.TextField(blank=True, help_text="Finance's question to the CX leader.")

    class Meta:
        abstract = True

    @property
    def is_validated(self) -> bool:
        return self.validated_at is not None

    @property
    def is_returned(self) -> bool:
        return self.returned_at is not None

    def meaning_value(self, name: str) -> Any:
        """The comparable value of one meaning field (a related row by its id)."""
        field = self._meta.get_field(name)
        if field.many_to_many:
            return None if self.pk is None else frozenset(getattr(self, name).values_list("pk", flat=True))
        if field.is_relation:
            return getattr(self, field.attname)
        return field.to_python(getattr(self, name))

    def meaning(self) -> dict[str, Any]:
        return {name: self.meaning_value(name) for name in self.MEANING_FIELDS}

    def validation_clear(self) -> None:
        """Forget finance's validation: the figure no longer means what they looked at."""
        self.validated_by = None
        self.validated_at = None
        self.validation_note = ""
        self.validation_evidence_url = ""

    def return_clear(self) -> None:
        self.returned_by = None
        self.returned_at = None
        self.return_question = ""


class SuccessMeasure(FinanceValidated):
    """A measure of the CX Success Statement: how a CX outcome links to a business outcome.

    CX kinds are computed from feedback (responses of the programs that say they inform this
    measure, ``feedback.Program.success_measure``); business kinds are entered by hand.
    Finance validates baseline and money assumptions; editing a validated figure clears it.
    """

    class Kind(models.TextChoices):
        NPS = "nps", "NPS (from feedback)"
        CSAT = "csat", "CSAT (from feedback)"
        CES = "ces", "CES (from feedback)"
        RETENTION = "retention", "Retention rate"
        CHURN = "churn", "Churn rate"
        REVENUE_PER_CUSTOMER = "revenue_per_customer", "Revenue per customer"
        COST_TO_SERVE = "cost_to_serve", "Cost to serve"
        CONTACT_VOLUME = "contact_volume", "Contact volume"
        OTHER = "other", "Other business metric"

    class Direction(models.TextChoices):
        HIGHER = "higher", "Higher is better"
        LOWER = "lower", "Lower is better"

    CX_KINDS = frozenset({Kind.NPS, Kind.CSAT, Kind.CES})

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=30, choices=Kind.choices)
    unit = models.CharField(max_length=30, blank=True)
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.HIGHER)
    baseline_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    baseline_date = models.DateField(null=True, blank=True)
    target_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    target_date = models.DateField(null=True, blank=True)
    owner_department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="success_measures"
    )
    department_goal = models.ForeignKey(
        DepartmentGoal, null=True, blank=True, on_delete=models.SET_NULL, related_name="success_measures"
    )
    scope_departments = models.ManyToManyField(
        Department,
        blank=True,
        related_name="scoped_measures",
        help_text="For CX kinds: whose feedback counts.",
    )
    money_assumptions = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    min_answers = models.PositiveIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(100_000)],
        help_text="For CX kinds: a month with fewer answers shows no score and never becomes the latest.",
    )
    history = HistoricalRecords(m2m_fields=[scope_departments])

    # Editing any of these after finance validated them clears the validation: each changes
    # what the figure is (what is measured, how, in which unit and direction, for whom).
    MEANING_FIELDS = (
        "kind",
        "unit",
        "direction",
        "baseline_value",
        "baseline_date",
        "target_value",
        "target_date",
        "owner_department",
        "department_goal",
        "scope_departments",
        "money_assumptions",
        "min_answers",  # fewer answers needed: another month can become the latest value
    )
    VALIDATION_IGNORED_FIELDS = (
        "id",
        "name",  # the label; kind, unit, direction and scope say what is measured
        "position",  # the order on the success page
        *FinanceValidated.VALIDATION_STATE_FIELDS,
    )

    class Meta:
        ordering = ["position", "id"]
        permissions = [("validate_figures", "Can validate baselines and money assumptions")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_cx_metric(self) -> bool:
        return self.kind in self.CX_KINDS

    def value_range(self) -> tuple[Decimal | None, Decimal | None]:
        """The values this measure's unit allows (``None`` = unbounded on that side)."""
        return value_range(kind=self.kind, unit_text=self.unit)

    def value_errors(self, value: Decimal | None) -> str | None:
        """Why ``value`` is impossible for this measure's unit, or None."""
        if value is None:
            return None
        lo, hi = self.value_range()
        if lo is not None and value < lo:
            return f"Must be at least {lo} for this unit." if lo else "Cannot be negative for this unit."
        if hi is not None and value > hi:
            return f"Must be at most {hi} for this unit."
        return None

    def clean(self) -> None:
        errors: dict[str, str] = {}
        for name in ("baseline_value", "target_value"):
            problem = self.value_errors(getattr(self, name))
            if problem:
                errors[name] = problem
        for name in ("baseline_date",):
            value = getattr(self, name)
            if value is not None and value < EARLIEST_DATE:
                errors[name] = f"Enter a date from {EARLIEST_DATE:%d %b %Y} on."
        if self.baseline_date and self.target_date and self.target_date <= self.baseline_date:
            errors["target_date"] = "The target date must come after the baseline date."
        if errors:
            raise ValidationError(errors)

    @property
    def latest_actual(self) -> MeasureActual | None:
        """The actual that may be shown as latest (complete period, enough answers, not in the
        future): ``missions.measure_status`` decides; uses the prefetched actuals."""
        from .measure_status import measure_status

        latest = measure_status(self).latest
        return latest.actual if latest else None


EARLIEST_DATE = dt.date(2000, 1, 1)  # a sane start: nothing the programme measured is older
LATEST_DATE = dt.date(2100, 12, 31)  # beyond any target date anybody sets


def value_range(*, kind: str, unit_text: str = "") -> tuple[Decimal | None, Decimal | None]:
    """Percentages 0–100, NPS −100..100, CES 1–7; counts and money at least 0; a unit that
    says it may go negative ("±", "net", "change", "delta") is unbounded."""
    from .formatting import unit_for_measure

    text = (unit_text or "").lower()
    if kind == "nps":
        return Decimal(-100), Decimal(100)
    if kind == "ces":
        return Decimal(1), Decimal(7)
    if any(word in text for word in ("±", "+/-", "net", "change", "delta")):
        return None, None
    fmt, _ = unit_for_measure(kind=kind, unit_text=unit_text)
    if fmt == "percent":
        return Decimal(0), Decimal(100)
    if fmt in ("money", "count"):
        return Decimal(0), None
    return None, None


class MeasureActual(models.Model):
    """A value of a measure at a date: entered by hand or computed from feedback.

    Computed actuals carry ``count`` (the answers behind them) and ``stats`` (the counts a
    significance test needs: promoters/passives/detractors, satisfied, or mean and SD); they are
    recorded for complete months only. Rules: the date is not in the future nor before
    ``EARLIEST_DATE``, and the value is possible for the measure's unit.
    """

    class Origin(models.TextChoices):
        MANUAL = "manual", "Entered"
        COMPUTED = "computed", "Computed from feedback"

    measure = models.ForeignKey(SuccessMeasure, on_delete=models.CASCADE, related_name="actuals")
    date = models.DateField()
    value = models.DecimalField(max_digits=14, decimal_places=2)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.MANUAL)
    note = models.CharField(max_length=200, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    count = models.PositiveIntegerField(null=True, blank=True, help_text="Answers behind a computed value.")
    stats = models.JSONField(default=dict, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["measure", "date"]
        constraints = [
            models.UniqueConstraint(fields=["measure", "date", "origin"], name="uniq_measure_actual")
        ]

    def __str__(self) -> str:
        return f"{self.measure} @ {self.date}: {self.value}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        today = timezone.now().date()
        if self.date is not None:
            if self.date > today:
                errors["date"] = "An actual is measured: its date cannot be in the future."
            elif self.date < EARLIEST_DATE:
                errors["date"] = f"Enter a date from {EARLIEST_DATE:%d %b %Y} on."
        if self.measure_id is not None and self.value is not None:
            problem = self.measure.value_errors(Decimal(self.value))
            if problem:
                errors["value"] = problem
        if errors:
            raise ValidationError(errors)


class MissionVersion(VersionedDocument):
    """A version of the CX Mission Statement: who we promise to be for our customers."""

    CONTENT_FIELDS = ("statement", "narrative")
    LABEL = "Mission"
    URL_NAME = "missions:mission-version"

    statement = models.TextField(help_text="The promise, in one or two sentences.")
    narrative = models.TextField(blank=True, help_text="Why, and what it means day to day. Markdown allowed.")
    history = HistoricalRecords()

    class Meta(VersionedDocument.Meta):
        verbose_name = "mission version"
        permissions = [
            ("edit_drafts", "Can create and edit drafts of governance documents"),
            ("approve_documents", "Can approve or return governance documents"),
        ]


class SuccessStatementVersion(VersionedDocument):
    """The narrative of the CX Success Statement: how CX outcomes drive business outcomes.

    The measures themselves are live rows (``SuccessMeasure``) with their own audit trail.
    """

    CONTENT_FIELDS = ("narrative",)
    LABEL = "Success statement"
    URL_NAME = "missions:success-version"

    narrative = models.TextField(help_text="Markdown allowed.")
    history = HistoricalRecords()

    class Meta(VersionedDocument.Meta):
        verbose_name = "success statement version"


class MissionMoment(models.Model):
    """A short story of a moment the mission was lived (or broken) for a customer."""

    class Kind(models.TextChoices):
        LIVED = "lived", "Mission lived"
        BROKEN = "broken", "Mission broken"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.LIVED)
    title = models.CharField(max_length=160)
    story = models.TextField(
        max_length=2000, help_text="What happened, in a few sentences. Markdown allowed."
    )
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="moments")
    touchpoint = models.ForeignKey(
        Touchpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="moments"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="moments"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    featured_at = models.DateTimeField(null=True, blank=True)
    featured_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_featured(self) -> bool:
        return self.featured_at is not None
