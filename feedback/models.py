"""Feedback data: programs, sources, deliveries, responses, and the actions they lead to.

Invariants that live in the database, not only in code:
- a response is identified by (source, external_id): retries never create a second one;
- a response yields at most one insight, and an inner-loop action at most once per insight;
- every accepted delivery is stored with an outbox row in the same transaction as its response.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from charter.models import Department, DepartmentGoal, Touchpoint
from missions.models import SuccessMeasure

User = settings.AUTH_USER_MODEL


class Metric(models.TextChoices):
    NPS = "nps", "NPS"
    CSAT = "csat", "CSAT"
    CES = "ces", "CES"


DEFAULT_SCALES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


class Band(models.TextChoices):
    """Score bands on the source's scale (see ``feedback.scoring``)."""

    DETRACTOR = "detractor", "Detractor"
    PASSIVE = "passive", "Passive"
    PROMOTER = "promoter", "Promoter"
    LOW = "low", "Low"
    NEUTRAL = "neutral", "Neutral"
    HIGH = "high", "High"
    LOW_EFFORT = "low_effort", "Low effort"
    HIGH_EFFORT = "high_effort", "High effort"


class Program(models.Model):
    """A feedback program. It must say why it exists: the measure or goal it informs."""

    class Kind(models.TextChoices):
        RELATIONSHIP_NPS = "relationship_nps", "Relationship NPS"
        POST_SUPPORT_CSAT = "post_support_csat", "Post-support CSAT"
        ONBOARDING_CES = "onboarding_ces", "Onboarding CES"
        PRODUCT_REVIEWS = "product_reviews", "Product reviews"
        EMPLOYEE_PULSE = "employee_pulse", "Employee pulse (EX)"
        OTHER = "other", "Other"

    name = models.CharField(max_length=160)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=30, choices=Kind.choices, default=Kind.OTHER)
    purpose = models.TextField(blank=True, help_text="Why this program exists: the decision it informs.")
    success_measure = models.ForeignKey(
        SuccessMeasure, null=True, blank=True, on_delete=models.SET_NULL, related_name="programs"
    )
    department_goal = models.ForeignKey(
        DepartmentGoal, null=True, blank=True, on_delete=models.SET_NULL, related_name="programs"
    )
    touchpoint = models.ForeignKey(
        Touchpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="programs"
    )
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="programs")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        permissions = [("manage_programs", "Can set up programs and sources")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_employee(self) -> bool:
        return self.kind == self.Kind.EMPLOYEE_PULSE

    @property
    def has_purpose(self) -> bool:
        return bool(self.purpose.strip()) and bool(self.success_measure_id or self.department_goal_id)


class Source(models.Model):
    """One tool that sends data into a program, with its own secret and intake URL."""

    class Kind(models.TextChoices):
        GENERIC = "generic", "Generic JSON API"
        CSV = "csv", "CSV file"
        TYPEFORM = "typeform", "Typeform"
        QUALTRICS = "qualtrics", "Qualtrics (event subscription)"
        QUALTRICS_CSV = "qualtrics_csv", "Qualtrics CSV export"
        SURVEYMONKEY = "surveymonkey", "SurveyMonkey"
        DELIGHTED = "delighted", "Delighted"
        FORMBRICKS = "formbricks", "Formbricks"
        ZENDESK = "zendesk", "Zendesk"
        HELPSCOUT = "helpscout", "Help Scout"
        INTERCOM = "intercom", "Intercom"

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="sources")
    name = models.CharField(max_length=160)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    token_hash = models.CharField(max_length=64, editable=False, help_text="SHA-256 of the bearer token.")
    token_prefix = models.CharField(max_length=8, editable=False, blank=True)
    secret = models.CharField(max_length=255, blank=True, help_text="Vendor signing secret (kept to verify).")
    field_map = models.JSONField(
        default=dict, blank=True, help_text="role -> vendor question id/ref or column"
    )
    scales = models.JSONField(default=dict, blank=True, help_text='e.g. {"csat": [1, 7]}; defaults otherwise')
    timezone = models.CharField(max_length=64, default="UTC", help_text="For timestamps without a zone.")
    api_credentials = models.JSONField(
        default=dict, blank=True, help_text="To fetch details from the vendor."
    )
    rate_limit_per_minute = models.PositiveIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["program__name", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def clean(self) -> None:
        """A detail-fetch base URL must be one of the vendor's documented hosts (no SSRF)."""
        from .vendor_hosts import base_url_validate

        base_url_validate(kind=self.kind, credentials=self.api_credentials)

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def set_new_token(self) -> str:
        """Make a fresh bearer token; only its hash is kept, so it is shown once."""
        token = secrets.token_urlsafe(32)
        self.token_hash = self.hash_token(token)
        self.token_prefix = token[:6]
        return token

    def scale_for(self, metric: str) -> tuple[int, int]:
        lo_hi = self.scales.get(metric) if isinstance(self.scales, dict) else None
        if lo_hi and len(lo_hi) == 2:
            return int(lo_hi[0]), int(lo_hi[1])
        return DEFAULT_SCALES[metric]


class Customer(models.Model):
    """A customer, personal data: scope it.

    A vendor's person id identifies a customer within the source (vendor account) that sent
    it, not across the organisation: two vendor accounts both numbering someone 5975 are two
    people. A normalised e-mail may link customers across sources. ``source`` is null only
    for customers that predate this rule and had no response to tell where they came from.
    """

    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="customers", db_index=False
    )
    external_id = models.CharField(max_length=255, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    name = models.CharField(max_length=255, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "email"], condition=~models.Q(email=""), name="uniq_customer_source_email"
            ),
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~models.Q(external_id=""),
                name="uniq_customer_source_external_id",
            ),
        ]
        indexes = [
            # the cross-source link: a delivery's e-mail finds its customer in any source
            models.Index(fields=["email"], condition=~models.Q(email=""), name="customer_email_link"),
        ]

    def __str__(self) -> str:
        return self.name or self.email or self.external_id or f"Customer {self.pk}"


class CustomerChange(models.Model):
    """Audit of a customer record changed by later vendor data (same person id, new e-mail or
    name): who sent it (the source and the response), when, and each field's old and new value.
    Personal data: erasing the customer blanks ``changes``."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="changes")
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    changes = models.JSONField(default=dict, help_text='{"email": {"from": ..., "to": ...}, ...}')
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["customer", "-at", "-id"]

    def __str__(self) -> str:
        return f"customer {self.customer_id} @ {self.at:%Y-%m-%d %H:%M}: {', '.join(self.changes)}"


class Theme(models.Model):
    """A recurring topic, defined by the CX leader as keywords and phrases (one per line)."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    keywords = models.TextField(help_text="One keyword or phrase per line; matched with stemming.")
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="themes",
        help_text="The department that usually owns this theme's systemic fixes.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Response(models.Model):
    """One customer's answer, identified by (source, external_id)."""

    class Status(models.TextChoices):
        AWAITING_DETAILS = "awaiting_details", "Awaiting details from the vendor"
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Processing failed"

    # No single-column indexes on source, program or department: the unique constraint and the
    # two indexes below lead with them and serve every query on them. A redundant one costs each
    # insert, and it misleads the planner: for a new source (no statistics yet) both indexes
    # look like one row, the smaller single-column one wins, and intake's per-delivery lookup by
    # (source, external_id) read every response of the source until the next ANALYZE.
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="responses", db_index=False)
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="responses", db_index=False)
    external_id = models.CharField(max_length=255)
    submitted_at = models.DateTimeField(default=timezone.now, db_index=True)
    vendor_updated_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="responses"
    )
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="responses", db_index=False
    )
    department_hint = models.CharField(max_length=120, blank=True)
    touchpoint = models.ForeignKey(
        Touchpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    touchpoint_label = models.CharField(max_length=160, blank=True)
    nps = models.SmallIntegerField(null=True, blank=True)
    csat = models.SmallIntegerField(null=True, blank=True)
    ces = models.SmallIntegerField(null=True, blank=True)
    nps_band = models.CharField(max_length=12, choices=Band.choices, blank=True)
    csat_band = models.CharField(max_length=12, choices=Band.choices, blank=True)
    ces_band = models.CharField(max_length=12, choices=Band.choices, blank=True)
    scales = models.JSONField(default=dict, blank=True, help_text="The scale each score was given on.")
    comment = models.TextField(blank=True)
    answers = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED, db_index=True)
    sentiment = models.FloatField(null=True, blank=True, help_text="VADER compound score, -1..1")
    themes = models.ManyToManyField(Theme, blank=True, related_name="responses")
    entered_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="uniq_response_source_external_id")
        ]
        indexes = [
            models.Index(fields=["program", "submitted_at"]),
            models.Index(fields=["department", "submitted_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.source.slug}:{self.external_id}"

    @property
    def scores(self) -> dict[str, int]:
        return {m: getattr(self, m) for m in ("nps", "csat", "ces") if getattr(self, m) is not None}


class RawDelivery(models.Model):
    """Every request that reached an intake URL, kept as it came (headers minus secrets)."""

    class Verdict(models.TextChoices):
        CREATED = "created", "Created"
        DUPLICATE = "duplicate", "Already had it"
        UPDATED = "updated", "Updated"
        ACCEPTED = "accepted", "Accepted, awaiting details"
        IGNORED = "ignored", "Ignored (not a response event)"
        REJECTED = "rejected", "Rejected"

    # Indexed together with delivery_id (Meta), not alone: the same reason as on Response.
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    content_type = models.CharField(max_length=200, blank=True)
    headers = models.JSONField(default=dict)
    body = models.BinaryField()
    verdict = models.CharField(max_length=12, choices=Verdict.choices)
    status_code = models.PositiveSmallIntegerField()
    error = models.TextField(blank=True)
    delivery_id = models.CharField(max_length=255, blank=True, help_text="Vendor delivery id")
    response = models.ForeignKey(
        Response, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "raw deliveries"
        indexes = [models.Index(fields=["source", "delivery_id"], name="rawdelivery_source_delivery")]

    def __str__(self) -> str:
        return f"{self.source_id}@{self.received_at:%Y-%m-%d %H:%M} {self.verdict}"


class OutboxEvent(models.Model):
    """Work to hand to Celery, written in the same transaction as the data it is about.

    A relay publishes rows after commit; a beat sweeper re-publishes rows still unprocessed
    after a while. Handlers are idempotent, so publishing twice is harmless.
    """

    class Kind(models.TextChoices):
        RESPONSE_PROCESS = "response_process", "Process a response"
        RESPONSE_FETCH = "response_fetch", "Fetch response details from the vendor"
        IMPORT_RUN = "import_run", "Run a CSV import"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    object_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["created_at"], condition=models.Q(processed_at__isnull=True), name="outbox_pending"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}#{self.object_id}"


class ImportJob(models.Model):
    """A CSV import run: progress and per-row errors, readable while it runs."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="imports")
    file = models.FileField(upload_to="imports/%Y/%m/")
    original_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    @property
    def percent(self) -> int:
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else 0

    def __str__(self) -> str:
        return f"Import #{self.pk} into {self.source_id} ({self.status})"


class ActionabilityPolicy(models.Model):
    """Which responses become insights. One row (pk=1); defaults per DESIGN."""

    nps_max = models.SmallIntegerField(default=6, help_text="NPS at or below this is actionable.")
    csat_max = models.SmallIntegerField(default=2, help_text="CSAT at or below this is actionable.")
    ces_min = models.SmallIntegerField(default=5, help_text="CES at or above this is actionable.")
    sentiment_max = models.FloatField(default=-0.5, help_text="A comment this negative is actionable.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "actionability policy"

    @classmethod
    def current(cls) -> ActionabilityPolicy:
        return cls.objects.get_or_create(pk=1)[0]

    def __str__(self) -> str:
        return "Actionability policy"


class PipelineConfigStamp(models.Model):
    """One row whose ``stamp`` changes with any edit of the pipeline's configuration (rules,
    themes, SLA policies, the policies, departments, touchpoints): workers cache that
    configuration per process and re-read it when the stamp they see differs
    (``feedback.pipeline_config``). It is written in the editing transaction, so the first
    task to see the edit committed also sees the new stamp."""

    stamp = models.CharField(max_length=32)

    def __str__(self) -> str:
        return self.stamp


class Priority(models.TextChoices):
    URGENT = "urgent", "Urgent"
    HIGH = "high", "High"
    NORMAL = "normal", "Normal"
    LOW = "low", "Low"


class Loop(models.TextChoices):
    INNER = "inner", "Inner loop"
    OUTER = "outer", "Outer loop"


class RoutingRule(models.Model):
    """Ordered, first match wins; the rule marked default catches everything else."""

    class OwnerMode(models.TextChoices):
        USER = "user", "A named person"
        ROUND_ROBIN = "round_robin", "Round-robin among the department's owners"
        AMBASSADOR = "ambassador", "The department's ambassador"

    class Loops(models.TextChoices):
        INNER = "inner", "Inner loop only"
        OUTER = "outer", "Outer loop only"
        BOTH = "both", "Inner and outer loop"

    class Sentiment(models.TextChoices):
        NEGATIVE = "negative", "Negative"
        NEUTRAL = "neutral", "Neutral"
        POSITIVE = "positive", "Positive"

    name = models.CharField(max_length=160)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False)
    # conditions (blank = any)
    program = models.ForeignKey(Program, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    touchpoint = models.ForeignKey(
        Touchpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    theme = models.ForeignKey(Theme, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    score_band = models.CharField(max_length=12, choices=Band.choices, blank=True)
    sentiment = models.CharField(max_length=10, choices=Sentiment.choices, blank=True)
    department_hint = models.CharField(max_length=120, blank=True)
    customer_attribute = models.CharField(max_length=80, blank=True)
    customer_attribute_value = models.CharField(max_length=200, blank=True)
    # outcome
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="routing_rules")
    owner_mode = models.CharField(max_length=12, choices=OwnerMode.choices, default=OwnerMode.AMBASSADOR)
    owner = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    loops = models.CharField(max_length=6, choices=Loops.choices, default=Loops.BOTH)
    round_robin_cursor = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["is_default", "position", "id"]
        permissions = [("manage_routing", "Can edit themes, routing rules and SLAs")]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_rule"
            )
        ]

    def __str__(self) -> str:
        return self.name


class SLAPolicy(models.Model):
    """Due dates per priority and loop, counted on a working-day calendar."""

    priority = models.CharField(max_length=10, choices=Priority.choices)
    loop = models.CharField(max_length=6, choices=Loop.choices)
    first_contact_hours = models.PositiveIntegerField(
        default=48, help_text="Business hours to first contact."
    )
    resolve_days = models.PositiveIntegerField(default=10, help_text="Working days to resolution.")
    working_days = models.CharField(
        max_length=20, default="0,1,2,3,4", help_text="Weekday numbers, Monday=0."
    )
    day_start_hour = models.PositiveSmallIntegerField(default=9)
    day_end_hour = models.PositiveSmallIntegerField(default=17)

    class Meta:
        ordering = ["loop", "priority"]
        constraints = [models.UniqueConstraint(fields=["priority", "loop"], name="uniq_sla_priority_loop")]

    def __str__(self) -> str:
        return f"{self.get_loop_display()} / {self.get_priority_display()}"


class OuterLoopSettings(models.Model):
    """When similar insights attach to one systemic action. One row (pk=1)."""

    threshold = models.PositiveIntegerField(
        default=3, help_text="Insights on a theme before a systemic action."
    )
    window_days = models.PositiveIntegerField(default=30)

    @classmethod
    def current(cls) -> OuterLoopSettings:
        return cls.objects.get_or_create(pk=1)[0]

    def __str__(self) -> str:
        return "Outer-loop settings"


class ResolutionOutcome(models.TextChoices):
    """What resolving an inner loop achieved for the customer."""

    SOLVED = "solved", "Problem solved for the customer"
    EXPLAINED = "explained", "Explained; nothing to change"
    COMPENSATED = "compensated", "Compensated or goodwill gesture"
    REFERRED = "referred", "Handed to another team, customer agreed"


class ActionItem(models.Model):
    """An owned piece of work with a due date: follow up one customer (inner loop) or fix a
    systemic cause (outer loop). ``version`` detects concurrent edits."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        ASSIGNED = "assigned", "Assigned"
        CONTACTED = "contacted", "Contacted"
        WAITING = "waiting", "Waiting on customer"
        RESOLVED = "resolved", "Resolved"
        UNREACHABLE = "unreachable", "Closed: unreachable"
        NO_ACTION = "no_action", "Closed: no action needed"
        INVESTIGATING = "investigating", "Investigating"
        FIXED = "fixed", "Fixed, awaiting verification"
        VERIFIED = "verified", "Verified"
        NOT_MOVED = "not_moved", "Fix did not move the measure"

    OPEN_STATUSES = frozenset({"new", "assigned", "contacted", "waiting", "investigating"})
    CLOSED_STATUSES = frozenset({"resolved", "unreachable", "no_action", "fixed", "verified", "not_moved"})

    loop = models.CharField(max_length=6, choices=Loop.choices)
    title = models.CharField(max_length=255)
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.NEW, db_index=True)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="actions")
    owner = models.ForeignKey(User, on_delete=models.PROTECT, related_name="actions")
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    due_at = models.DateTimeField()
    first_contact_due_at = models.DateTimeField(null=True, blank=True)
    response = models.ForeignKey(
        Response,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="actions",
        help_text="The customer's response (inner loop only).",
    )
    theme = models.ForeignKey(Theme, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions")
    close_reason = models.TextField(blank=True)
    first_contacted_at = models.DateTimeField(
        null=True, blank=True, help_text="The first real conversation; attempts do not count."
    )
    customer_told_at = models.DateTimeField(null=True, blank=True)
    resolution_outcome = models.CharField(
        max_length=12, choices=ResolutionOutcome.choices, blank=True, help_text="What resolving achieved."
    )
    customer_told = models.BooleanField(
        null=True, blank=True, help_text="Whether the customer was told the outcome (unknown if empty)."
    )
    fix_notified_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the customer was e-mailed about the systemic fix (a message went out).",
    )
    root_cause = models.TextField(blank=True)
    fix = models.TextField(blank=True)
    success_measure = models.ForeignKey(
        SuccessMeasure, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    verification_date = models.DateField(null=True, blank=True)
    verification_result = models.JSONField(default=dict, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["due_at", "id"]
        permissions = [
            ("triage_all", "Can triage every department"),
            ("triage_department", "Can triage own department"),
            ("work_own_actions", "Can work on own actions"),
        ]
        indexes = [
            models.Index(fields=["department", "status", "due_at"]),
            models.Index(fields=["owner", "status"]),
        ]
        constraints = [
            # One customer, one follow-up: a response never gets a second inner-loop action.
            models.UniqueConstraint(
                fields=["response"], condition=models.Q(loop="inner"), name="one_inner_action_per_response"
            ),
            # Never two open systemic actions for the same theme in the same department.
            models.UniqueConstraint(
                fields=["theme", "department"],
                condition=models.Q(
                    loop="outer", status__in=["new", "assigned", "contacted", "waiting", "investigating"]
                ),
                name="one_open_systemic_action_per_theme",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @classmethod
    def really_closed_q(cls) -> models.Q:
        """Closed for real: an inner loop counts as resolved only when someone actually spoke
        with the customer (``first_contacted_at``); a follow-up marked resolved without any
        conversation (the old "tell customers" did that) is not a closed loop."""
        return models.Q(status__in=cls.CLOSED_STATUSES) & ~models.Q(
            loop="inner", status="resolved", first_contacted_at__isnull=True
        )


class Insight(models.Model):
    """An actionable response: exactly one owner and a due date, through its action items."""

    response = models.OneToOneField(Response, on_delete=models.CASCADE, related_name="insight")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="insights")
    owner = models.ForeignKey(User, on_delete=models.PROTECT, related_name="insights")
    due_at = models.DateTimeField()
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    themes = models.ManyToManyField(Theme, blank=True, related_name="insights")
    routing_rule = models.ForeignKey(
        RoutingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=200, help_text="Why the policy found it actionable.")
    routing_note = models.CharField(
        max_length=255, blank=True, help_text="How the owner was chosen (rule, default or fallback)."
    )
    loops = models.CharField(
        max_length=6,
        choices=RoutingRule.Loops.choices,
        default=RoutingRule.Loops.BOTH,
        help_text="Which loops the routing asked for; only outer-loop insights cluster.",
    )
    systemic_action = models.ForeignKey(
        ActionItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="insights"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Insight on {self.response}"


class ActionInsight(models.Model):
    """Which insights an inner-loop action follows up (one), so the API can list ``insights``."""

    action = models.ForeignKey(ActionItem, on_delete=models.CASCADE, related_name="inner_links")
    insight = models.OneToOneField(Insight, on_delete=models.CASCADE, related_name="inner_action_link")

    def __str__(self) -> str:
        return f"{self.action_id} <- {self.insight_id}"


class ContactLog(models.Model):
    """A contact with the customer on an inner-loop action."""

    class Channel(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "E-mail"
        CHAT = "chat", "Chat"
        MEETING = "meeting", "Meeting"
        OTHER = "other", "Other"

    class Outcome(models.TextChoices):
        REACHED = "reached", "Reached the customer"
        VOICEMAIL = "voicemail", "Attempt: left a voicemail"
        NO_ANSWER = "no_answer", "Attempt: no answer"
        EMAIL_SENT = "email_sent", "Attempt: e-mail sent, no reply yet"
        RESOLVED = "resolved", "Resolved on contact"
        FOLLOW_UP = "follow_up", "Spoke with them; needs a follow-up"

    # A real conversation stops the first-contact clock; an attempt is only recorded.
    ATTEMPTS = frozenset({"voicemail", "no_answer", "email_sent"})

    action = models.ForeignKey(ActionItem, on_delete=models.CASCADE, related_name="contacts")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    note = models.TextField(blank=True)
    by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.get_channel_display()}: {self.get_outcome_display()}"

    @property
    def is_attempt(self) -> bool:
        return self.outcome in self.ATTEMPTS


class ActionComment(models.Model):
    action = models.ForeignKey(ActionItem, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    mentions = models.ManyToManyField(User, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.body[:60]


class Notification(models.Model):
    """An outbound message. ``dedupe_key`` makes sending twice impossible."""

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        SLACK = "slack", "Slack/Teams webhook"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed, will retry"
        DIGEST = "digest", "Held for the daily digest"
        GAVE_UP = "gave_up", "Gave up"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    channel = models.CharField(max_length=6, choices=Channel.choices)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    url = models.CharField(max_length=500, blank=True)
    dedupe_key = models.CharField(max_length=255, unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.subject


class PrivacyRequest(models.Model):
    """The audit record of a customer's data export or erasure: who did it, when, and what.

    It outlives the erasure on purpose (it holds no personal data, only the customer's row id
    and counts), so we can show a regulator that a request was honoured.
    """

    class Kind(models.TextChoices):
        EXPORT = "export", "Personal data export"
        ERASE = "erase", "Erasure"

    kind = models.CharField(max_length=6, choices=Kind.choices)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="privacy_requests"
    )
    customer_ref = models.CharField(max_length=40, help_text="The customer's row id, kept after erasure.")
    by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=255, blank=True, help_text="E.g. the ticket of the request.")
    summary = models.JSONField(default=dict, blank=True, help_text="Counts of what was exported or erased.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of customer {self.customer_ref}"


class ActionReopening(models.Model):
    """A closed action opened again: who, when, why, and what it was closed as (the history
    keeps every field too; this row is the reason, in full)."""

    action = models.ForeignKey(ActionItem, on_delete=models.CASCADE, related_name="reopenings")
    by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    reason = models.TextField()
    previous_status = models.CharField(max_length=15, choices=ActionItem.Status.choices)
    previous_closed_at = models.DateTimeField(null=True, blank=True)
    previous_close_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"Reopened #{self.action_id}: {self.reason[:40]}"


def email_normalise(email: str) -> str:
    return (email or "").strip().lower()


class EmailSuppression(models.Model):
    """Addresses we never e-mail customers at: unsubscribed, bounced, complained, or added by
    the operator. Checked when the recipients are listed and again just before each send."""

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Hard bounce"
        COMPLAINT = "complaint", "Marked as spam"
        MANUAL = "manual", "Added by an operator"

    email = models.CharField(max_length=254, unique=True, help_text="Normalised (trimmed, lower case).")
    reason = models.CharField(max_length=12, choices=Reason.choices, default=Reason.MANUAL)
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_reason_display()})"

    def save(self, *args: object, **kwargs: object) -> None:
        self.email = email_normalise(self.email)
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class CustomerMessage(models.Model):
    """The "we fixed it" message of one systemic action: written once, sent to each eligible
    customer as their own e-mail (``CustomerDelivery``). ``{name}`` becomes the customer's name."""

    action = models.OneToOneField(ActionItem, on_delete=models.CASCADE, related_name="customer_message")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    base_url = models.CharField(
        max_length=200, blank=True, help_text="Where links in the e-mail point (CXGOV_BASE_URL wins)."
    )
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.subject


class CustomerDelivery(models.Model):
    """One e-mail to one customer: queued, sent, or failed with the reason (retried first)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RETRYING = "retrying", "Failed, will retry"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Not sent: address suppressed"

    message = models.ForeignKey(CustomerMessage, on_delete=models.CASCADE, related_name="deliveries")
    customer = models.ForeignKey(
        Customer, null=True, on_delete=models.SET_NULL, related_name="fix_deliveries"
    )
    inner_action = models.ForeignKey(
        ActionItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="fix_deliveries"
    )
    email = models.CharField(max_length=254)
    name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    queued_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["message", "email"], name="one_fix_delivery_per_address")
        ]

    def __str__(self) -> str:
        return f"{self.email}: {self.get_status_display()}"
