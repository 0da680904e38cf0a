from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.functional import cached_property

from .roles import Role


class User(AbstractUser):
    """A person. Roles are groups (see ``charter.roles``); departments say what they may see."""

    email = models.EmailField("email address", blank=True, db_index=True)
    title = models.CharField(max_length=120, blank=True)
    slack_webhook_url = models.URLField(blank=True, help_text="Incoming-webhook URL for personal alerts.")
    notify_by_email = models.BooleanField(default=True)
    daily_digest = models.BooleanField(default=False, help_text="One e-mail a day instead of one per event.")

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

    class Meta:
        ordering = ["department__name", "position", "id"]

    def __str__(self) -> str:
        return f"{self.department}: {self.title}"


class JourneyStage(models.Model):
    """A stage of the customer journey (awareness, purchase, onboarding, use, support, renewal)."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)

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

    class Meta:
        ordering = ["stage__position", "position", "id"]

    def __str__(self) -> str:
        return self.name
