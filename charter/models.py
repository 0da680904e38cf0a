from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from django_fsm import FSMField, transition
from simple_history.models import HistoricalRecords

from .roles import Role


class User(AbstractUser):
    """A person. Roles are groups (see ``charter.roles``); departments say what they may see."""

    email = models.EmailField("email address", blank=True, db_index=True)
    title = models.CharField(max_length=120, blank=True)
    slack_webhook_url = models.URLField(blank=True, help_text="Incoming-webhook URL for personal alerts.")
    notify_by_email = models.BooleanField(default=True)
    daily_digest = models.BooleanField(default=False, help_text="One e-mail a day instead of one per event.")
    inbox_email = models.BooleanField(
        "e-mail my inbox", default=True, help_text="Also send an e-mail for each item that lands in my inbox."
    )
    # Kept by ``charter.inbox`` (increment on notify, recount on read): the bell on every page
    # reads it from the user row the request loaded anyway, so no page pays a query for it.
    inbox_unread = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["first_name", "last_name", "username"]
        permissions = [
            ("manage_governance", "Can edit charter, priorities and journey"),
            ("edit_own_department", "Can edit own department's goals"),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @cached_property
    def roles(self) -> frozenset[str]:
        labels = {r.label: r.value for r in Role}
        return frozenset(
            labels[name] for name in self.groups.values_list("name", flat=True) if name in labels
        )

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_cx_leader(self) -> bool:
        return self.has_role(Role.CX_LEADER)

    @property
    def is_executive(self) -> bool:
        return self.has_role(Role.EXECUTIVE)

    @property
    def is_finance(self) -> bool:
        return self.has_role(Role.FINANCE)

    @property
    def sees_all_departments(self) -> bool:
        """CX leaders, executives and superusers look across the whole organisation."""
        return self.is_superuser or self.has_role(Role.CX_LEADER, Role.EXECUTIVE)


class Department(models.Model):
    """A part of the organisation that owns touchpoints, goals and action items."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    leader = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="led_departments"
    )
    members = models.ManyToManyField(User, blank=True, related_name="departments")
    ambassadors = models.ManyToManyField(User, blank=True, related_name="ambassador_of")
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DepartmentGoal(models.Model):
    """What a department's leader already measures; success measures and programs link here."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="goals")
    title = models.CharField(max_length=200)
    metric = models.CharField(max_length=120, blank=True, help_text="How the department measures it today.")
    current_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    target_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    unit = models.CharField(max_length=30, blank=True)
    target_date = models.DateField(null=True, blank=True)
    position = models.PositiveIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["department__name", "position", "id"]

    def __str__(self) -> str:
        return f"{self.department}: {self.title}"


class JourneyStage(models.Model):
    """A stage of the customer journey (awareness, purchase, onboarding, use, support, renewal)."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Touchpoint(models.Model):
    """Where a customer meets the company; owned by exactly one department."""

    stage = models.ForeignKey(JourneyStage, on_delete=models.PROTECT, related_name="touchpoints")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, unique=True)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="touchpoints")
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["stage__position", "position", "id"]

    def __str__(self) -> str:
        return self.name


# --- Inbox ------------------------------------------------------------------------------------


class InboxItem(models.Model):
    """Something waiting for one person ("Mission v3 awaits your approval"), shown under the bell.

    The row is also the outbox of its e-mail: ``email_status`` is empty when the person does
    not want (or cannot get) e-mail, ``pending`` until sent, then ``sent`` or ``failed`` with
    the reason; the beat retries pending and failed rows (see ``charter.inbox``).
    """

    class EmailStatus(models.TextChoices):
        NONE = "", "Not e-mailed"
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="inbox_items")
    kind = models.CharField(max_length=40, help_text="What happened: approval-requested, draft-returned, ...")
    text = models.CharField(max_length=300)
    url = models.CharField(max_length=500, blank=True)
    body = models.TextField(blank=True)
    dedupe_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    email_status = models.CharField(max_length=10, choices=EmailStatus.choices, blank=True, default="")
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_error = models.CharField(max_length=300, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "read_at"], name="inbox_user_read"),
            models.Index(
                fields=["email_status"],
                name="inbox_email_due",
                condition=models.Q(email_status__in=["pending", "failed"]),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "dedupe_key"], condition=~models.Q(dedupe_key=""), name="inbox_unique_dedupe"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.text}"

    @property
    def is_unread(self) -> bool:
        return self.read_at is None


# --- Versioned governance documents ------------------------------------------------------


class DocState(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"
    SUPERSEDED = "superseded", "Superseded"


class VersionedDocument(models.Model):
    """A version of a governance document (mission, success statement, charter).

    Lifecycle: draft → in review → published (an executive approves; the previous published
    version becomes superseded) or back to draft with the reviewer's comment. Exactly one
    version is published at a time (a partial unique index enforces it). Versions are never
    deleted, so any two can be compared. Services in ``charter.documents`` drive it.
    """

    CONTENT_FIELDS: tuple[str, ...] = ()

    number = models.PositiveIntegerField(editable=False)
    state = FSMField(default=DocState.DRAFT, choices=DocState.choices, db_index=True)
    change_note = models.CharField(max_length=200, blank=True, help_text="What changed in this version.")
    review_comment = models.TextField(blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["state"],
                condition=models.Q(state="published"),
                name="%(app_label)s_%(class)s_one_published",
            ),
            models.UniqueConstraint(fields=["number"], name="%(app_label)s_%(class)s_unique_number"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} v{self.number} ({self.get_state_display()})"

    @transition(field=state, source=DocState.DRAFT, target=DocState.IN_REVIEW)
    def submit(self, *, by: User) -> None:
        self.submitted_by, self.submitted_at = by, timezone.now()
        self.review_comment = ""

    @transition(field=state, source=DocState.IN_REVIEW, target=DocState.PUBLISHED)
    def approve(self, *, by: User) -> None:
        now = timezone.now()
        self.decided_by, self.decided_at, self.published_at = by, now, now

    @transition(field=state, source=DocState.IN_REVIEW, target=DocState.DRAFT)
    def return_to_draft(self, *, by: User, comment: str) -> None:
        self.decided_by, self.decided_at, self.review_comment = by, timezone.now(), comment

    @transition(field=state, source=DocState.PUBLISHED, target=DocState.SUPERSEDED)
    def supersede(self) -> None:
        self.superseded_at = timezone.now()

    @property
    def is_draft(self) -> bool:
        return self.state == DocState.DRAFT

    def diff_sections(self) -> list[tuple[str, str]]:
        """(label, text) pairs compared between versions; subclasses may add derived sections."""
        return [(str(self._meta.get_field(name).verbose_name).capitalize(), getattr(self, name) or "")
                for name in self.CONTENT_FIELDS]  # fmt: skip


class CharterVersion(VersionedDocument):
    """The CX Charter as approved: purpose and scope, plus a snapshot of roles, RACI, cadence
    and priorities taken when the version is submitted (so the approved text never drifts)."""

    CONTENT_FIELDS = ("purpose", "scope")

    purpose = models.TextField(help_text="Markdown allowed.")
    scope = models.TextField(blank=True, help_text="Markdown allowed.")
    snapshot = models.JSONField(default=dict, blank=True, editable=False)
    history = HistoricalRecords()

    class Meta(VersionedDocument.Meta):
        verbose_name = "charter version"

    def diff_sections(self) -> list[tuple[str, str]]:
        snap = self.snapshot or {}
        sections = super().diff_sections()
        sections.append(("Roles", "\n".join(
            f"{r['name']}: {r['responsibilities']} | {r['accountabilities']}" for r in snap.get("roles", [])
        )))  # fmt: skip
        sections.append(("RACI", "\n".join(
            f"{row['activity']}: " + ", ".join(f"{k}={v}" for k, v in row["cells"].items() if v)
            for row in snap.get("raci", [])
        )))  # fmt: skip
        sections.append(("Cadence", "\n".join(
            f"{m['name']} ({m['frequency']}): {m['attendees']}" for m in snap.get("cadence", [])
        )))  # fmt: skip
        sections.append(("Priorities", "\n".join(
            f"{p['rank']}. {p['title']} [{p['department']}; {p['measure']}]"
            for p in snap.get("priorities", [])
        )))  # fmt: skip
        return sections


# --- Charter contents ----------------------------------------------------------------------


class CharterRole(models.Model):
    """A governance role in the charter (executive sponsor, CX leader, steering committee...)."""

    key = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    responsibilities = models.TextField(blank=True, help_text="What this role does. Markdown allowed.")
    accountabilities = models.TextField(blank=True, help_text="What this role answers for.")
    position = models.PositiveIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class GovernanceActivity(models.Model):
    """A row of the RACI matrix: something the governance does (approve the mission, ...)."""

    name = models.CharField(max_length=160, unique=True)
    position = models.PositiveIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = "governance activities"

    def __str__(self) -> str:
        return self.name


class Raci(models.TextChoices):
    RESPONSIBLE = "R", "Responsible"
    ACCOUNTABLE = "A", "Accountable"
    CONSULTED = "C", "Consulted"
    INFORMED = "I", "Informed"


class RaciAssignment(models.Model):
    """One cell of the RACI matrix; no row means the role has no part in the activity."""

    activity = models.ForeignKey(GovernanceActivity, on_delete=models.CASCADE, related_name="assignments")
    role = models.ForeignKey(CharterRole, on_delete=models.CASCADE, related_name="assignments")
    value = models.CharField(max_length=1, choices=Raci.choices)
    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["activity", "role"], name="uniq_raci_cell")]

    def __str__(self) -> str:
        return f"{self.activity} × {self.role}: {self.value}"


class GovernanceMeeting(models.Model):
    """The governance cadence: who meets, how often, why."""

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", "Weekly"
        FORTNIGHTLY = "fortnightly", "Every two weeks"
        MONTHLY = "monthly", "Monthly"
        QUARTERLY = "quarterly", "Quarterly"
        YEARLY = "yearly", "Yearly"

    name = models.CharField(max_length=120)
    frequency = models.CharField(max_length=12, choices=Frequency.choices)
    attendees = models.CharField(max_length=300, help_text="Roles or people who attend.")
    purpose = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Priority(models.Model):
    """A ranked CX priority; each is tied to a success measure and an owning department.

    ``success_measure`` names ``missions.SuccessMeasure`` by string: charter sits left of
    missions and never imports it, but the charter's priorities must point at a measure.
    """

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="Markdown allowed.")
    rank = models.PositiveIntegerField(default=0, db_index=True)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="priorities")
    success_measure = models.ForeignKey(
        "missions.SuccessMeasure", on_delete=models.PROTECT, related_name="priorities"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["rank", "id"]
        verbose_name_plural = "priorities"

    def __str__(self) -> str:
        return self.title


class Decision(models.Model):
    """The decisions log: what the governance decided, when and why."""

    title = models.CharField("decision", max_length=255)
    decided_on = models.DateField("date")
    rationale = models.TextField(help_text="Markdown allowed.")
    priority = models.ForeignKey(
        Priority, null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions"
    )
    recorded_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-decided_on", "-id"]

    def __str__(self) -> str:
        return self.title


# --- CX maturity self-assessment -----------------------------------------------------------


class MaturityDimension(models.TextChoices):
    INTENTIONAL_SUCCESS = "intentional_success", "Intentional success"
    CULTURAL_COMMITMENT = "cultural_commitment", "Cultural commitment"
    CUSTOMER_COLLABORATION = "customer_collaboration", "Customer collaboration"
    EXPERIENTIAL_INNOVATION = "experiential_innovation", "Experiential innovation"


class MaturityStatement(models.Model):
    """A statement the steering committee scores 1–5 ("We have clear CX measures...")."""

    dimension = models.CharField(max_length=30, choices=MaturityDimension.choices)
    text = models.CharField(max_length=255)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["dimension", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["dimension", "text"], name="uniq_maturity_statement")]

    def __str__(self) -> str:
        return self.text


class MaturityAssessment(models.Model):
    """One periodic self-assessment; its scores give a 1–5 level per dimension."""

    title = models.CharField(max_length=120)
    assessed_on = models.DateField(unique=True)
    notes = models.TextField(blank=True, help_text="Markdown allowed.")
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-assessed_on"]

    def __str__(self) -> str:
        return self.title


class MaturityScore(models.Model):
    assessment = models.ForeignKey(MaturityAssessment, on_delete=models.CASCADE, related_name="scores")
    statement = models.ForeignKey(MaturityStatement, on_delete=models.PROTECT, related_name="scores")
    score = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["assessment", "statement"], name="uniq_maturity_score"),
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5), name="maturity_score_1_5"),
        ]

    def __str__(self) -> str:
        return f"{self.assessment}: {self.statement} = {self.score}"
