"""Reports data: the ROI assumptions finance validates, and generated PDF reports.

- ``RoiAssumption``: the money figures of one customer segment. Every figure has an owner;
  a finance partner's validation (who, when) is cleared by any edit, so a validated number
  is always exactly the number finance looked at.
- ``Report``: an executive PDF for a period and a set of departments (none = the whole
  organisation). A row in status ``pending`` is the work item: it is written in the request,
  published to Celery after commit, and swept again by beat if it stays pending.
- ``ReportDelivery``: one row per month for the scheduled e-mail; its unique month makes
  sending twice impossible.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from charter.models import Department
from missions.models import FinanceValidated

User = settings.AUTH_USER_MODEL

_PERCENT = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]
_MONEY = [MinValueValidator(Decimal("0"))]


class RoiAssumption(FinanceValidated):
    """Money assumptions for one segment. ``department`` empty = the default segment."""

    # Changing any of these after finance validated them clears the validation: the money
    # figures, their currency, and whose customers they are about.
    MEANING_FIELDS = (
        "segment",
        "department",
        "customer_value_per_year",
        "churn_rate_detractor",
        "churn_rate_passive",
        "churn_rate_promoter",
        "cost_per_contact",
        "cost_to_serve",
        "currency",
    )
    VALIDATION_IGNORED_FIELDS = (
        "id",
        "notes",  # commentary on where the figures come from, not a figure
        "owner",  # who answers for the figures; the figures stay the same
        "updated_by",
        "updated_at",
        *FinanceValidated.VALIDATION_STATE_FIELDS,
    )

    segment = models.CharField(max_length=120, unique=True)
    department = models.OneToOneField(
        Department,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="roi_assumption",
        help_text="Whose customers this segment covers; empty = everyone else (the default).",
    )
    customer_value_per_year = models.DecimalField(
        max_digits=14, decimal_places=2, validators=_MONEY, help_text="Revenue per customer per year."
    )
    churn_rate_detractor = models.DecimalField(
        max_digits=5, decimal_places=2, validators=_PERCENT, help_text="Yearly churn % of detractors."
    )
    churn_rate_passive = models.DecimalField(
        max_digits=5, decimal_places=2, validators=_PERCENT, help_text="Yearly churn % of passives."
    )
    churn_rate_promoter = models.DecimalField(
        max_digits=5, decimal_places=2, validators=_PERCENT, help_text="Yearly churn % of promoters."
    )
    cost_per_contact = models.DecimalField(
        max_digits=10, decimal_places=2, validators=_MONEY, help_text="Cost of one support contact."
    )
    cost_to_serve = models.DecimalField(
        max_digits=12, decimal_places=2, validators=_MONEY, help_text="Yearly cost to serve one customer."
    )
    currency = models.CharField(max_length=3, default="EUR")
    notes = models.TextField(blank=True, help_text="Where the figures come from.")
    owner = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    updated_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["department__name", "segment"]
        constraints = [
            models.UniqueConstraint(
                fields=["department"], condition=models.Q(department__isnull=True), name="one_default_segment"
            )
        ]

    def __str__(self) -> str:
        return self.segment

    def clean(self) -> None:
        if (
            self.churn_rate_detractor is not None
            and self.churn_rate_passive is not None
            and self.churn_rate_detractor < self.churn_rate_passive
        ):
            raise ValidationError(
                {"churn_rate_detractor": "Detractors usually churn at least as much as passives."}
            )


class Report(models.Model):
    """An executive PDF report; the row is also the work item a Celery task picks up."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Generating"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    period_start = models.DateField()
    period_end = models.DateField()
    departments = models.ManyToManyField(Department, blank=True, related_name="+")
    org_wide = models.BooleanField(default=False, help_text="No department filter: the whole organisation.")
    department_key = models.CharField(max_length=500, blank=True, editable=False, help_text="Sorted ids.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0)
    step = models.CharField(max_length=120, blank=True)
    fingerprint = models.CharField(max_length=64, db_index=True)
    file = models.FileField(upload_to="reports/%Y/%m/", blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("download_org_reports", "Can download organisation-wide reports")]

    def __str__(self) -> str:
        scope = "organisation" if self.org_wide else self.department_key
        return f"Report {self.period_start}..{self.period_end} ({scope})"

    def clean(self) -> None:
        if self.period_start and self.period_end and self.period_start > self.period_end:
            raise ValidationError({"period_end": "The period must end on or after its start."})

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class ReportDelivery(models.Model):
    """The monthly e-mail to executives: one row per month, so it is sent once."""

    month = models.DateField(unique=True, help_text="First day of the month reported on.")
    report = models.ForeignKey(Report, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recipients = models.JSONField(default=list, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month"]
        verbose_name_plural = "report deliveries"

    def __str__(self) -> str:
        return f"Monthly report {self.month:%Y-%m}"


class DayRollup(models.Model):
    """A daily roll-up row's key: one UTC day and department (``None``: no department), and a
    third column per table. ``rollups.rollup_fold`` folds both tables on that key."""

    day = models.DateField()
    department_id = models.BigIntegerField(null=True)

    class Meta:
        abstract = True
        indexes = [models.Index(fields=["day", "department_id"], name="%(app_label)s_%(class)s_day")]


class ResponseDay(DayRollup):
    """Score counts of the responses of one UTC day, department and program: a roll-up that
    PostgreSQL triggers keep equal to ``feedback_response`` (ADR 0010, ``reports.rollups``).

    Append-only from the triggers: every statement that inserts, deletes or changes responses
    adds a row per (day, department, program) it touched, with signed counts, so concurrent
    writers never wait on each other. The sum of a key's rows is the figure; ``rollup_fold``
    (beat, every minute) replaces a key's rows by their sum. No foreign keys: a trigger must
    never fail a write, and a department or program that goes away takes its responses with it.
    """

    program_id = models.BigIntegerField()
    responses = models.IntegerField(default=0)
    nps_count = models.IntegerField(default=0)
    nps_promoters = models.IntegerField(default=0)
    nps_passives = models.IntegerField(default=0)
    nps_detractors = models.IntegerField(default=0)
    csat_count = models.IntegerField(default=0)
    csat_high = models.IntegerField(default=0)
    ces_count = models.IntegerField(default=0)
    ces_total = models.FloatField(default=0.0)

    def __str__(self) -> str:
        return f"Responses of {self.day} (department {self.department_id}, program {self.program_id})"


class ThemeDay(DayRollup):
    """Theme mentions of one UTC day and department (a response's links to its themes), with
    the detractors and NPS answers among them; kept by triggers like ``ResponseDay``."""

    theme_id = models.BigIntegerField()
    mentions = models.IntegerField(default=0)
    detractors = models.IntegerField(default=0)
    scored = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"Theme {self.theme_id} on {self.day} (department {self.department_id})"
