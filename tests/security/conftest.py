"""Security suite fixtures: a small two-department world built lazily, and a client per role.

``World`` creates an object only when a test (or a matrix row) asks for it, so a new row for a
new model needs one new ``cached_property`` here and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from charter.models import Department, User
from charter.roles import Role, roles_sync
from tests.factories import (
    ActionItemFactory,
    CustomerFactory,
    DepartmentFactory,
    ProgramFactory,
    ResponseFactory,
    SourceFactory,
    ThemeFactory,
    UserFactory,
)

#: The roles of the authorization matrix, in the column order of its table.
ROLES = ("leader", "ambassador", "owner", "finance", "executive", "anonymous", "source")


class World:
    """Department A (the ambassador's and the owner's) and department B (nobody's but the
    leader's), each with a program, a source, a customer's response and an action."""

    BASE = ("dept_a", "dept_b", "leader", "executive", "finance", "ambassador", "owner", "ambassador_b")

    def __init__(self, base: World | None = None) -> None:
        if base is not None:  # share the people and departments, not the lazily made objects
            for name in self.BASE:
                setattr(self, name, getattr(base, name))
            return
        self.dept_a: Department = DepartmentFactory(name="Support", slug="support")
        self.dept_b: Department = DepartmentFactory(name="Billing", slug="billing")
        self.leader: User = UserFactory(username="leader", role=Role.CX_LEADER)
        self.executive: User = UserFactory(username="executive", role=Role.EXECUTIVE)
        self.finance: User = UserFactory(username="finance", role=Role.FINANCE)
        self.ambassador: User = UserFactory(username="ambassador", role=Role.AMBASSADOR)
        self.dept_a.ambassadors.add(self.ambassador)
        self.dept_a.members.add(self.ambassador)
        self.owner: User = UserFactory(username="owner", role=Role.OWNER)
        self.dept_a.members.add(self.owner)
        self.ambassador_b: User = UserFactory(username="ambassador_b", role=Role.AMBASSADOR)
        self.dept_b.ambassadors.add(self.ambassador_b)
        self.dept_b.members.add(self.ambassador_b)

    # --- feedback ---------------------------------------------------------------------------
    @cached_property
    def program_a(self) -> Any:
        return ProgramFactory(slug="support-csat", department=self.dept_a)

    @cached_property
    def program_b(self) -> Any:
        return ProgramFactory(slug="billing-nps", department=self.dept_b)

    @cached_property
    def source_a(self) -> Any:
        return SourceFactory(slug="support-survey", program=self.program_a, kind="generic")

    @cached_property
    def source_b(self) -> Any:
        return SourceFactory(slug="billing-survey", program=self.program_b, kind="generic")

    @cached_property
    def customer_a(self) -> Any:
        return CustomerFactory(external_id="cust-a", email="ana@example.org", name="Ana A")

    @cached_property
    def customer_b(self) -> Any:
        return CustomerFactory(external_id="cust-b", email="bob@example.org", name="Bob B")

    @cached_property
    def response_a(self) -> Any:
        return ResponseFactory(source=self.source_a, customer=self.customer_a, external_id="r-a", nps=3)

    @cached_property
    def response_b(self) -> Any:
        return ResponseFactory(source=self.source_b, customer=self.customer_b, external_id="r-b", nps=2)

    @cached_property
    def theme(self) -> Any:
        return ThemeFactory(slug="late-delivery", name="Late delivery")

    @cached_property
    def action_a(self) -> Any:
        """The owner's inner-loop action in department A."""
        return ActionItemFactory(
            department=self.dept_a, owner=self.owner, response=self.response_a, title="Call Ana back"
        )

    @cached_property
    def action_b(self) -> Any:
        return ActionItemFactory(
            department=self.dept_b, owner=self.ambassador_b, response=self.response_b, title="Call Bob back"
        )

    @cached_property
    def outer_action_a(self) -> Any:
        return ActionItemFactory(
            department=self.dept_a, owner=self.ambassador, loop="outer", theme=self.theme, title="Fix delays"
        )

    @cached_property
    def outer_action_b(self) -> Any:
        return ActionItemFactory(
            department=self.dept_b, owner=self.ambassador_b, loop="outer", theme=self.theme, title="Fix bills"
        )

    @cached_property
    def import_job_a(self) -> Any:
        from django.core.files.base import ContentFile

        from feedback.models import ImportJob

        source = SourceFactory(slug="support-csv", program=self.program_a, kind="csv")
        job = ImportJob(source=source, original_name="a.csv", created_by=self.leader)
        job.file.save("a.csv", ContentFile(b"id,nps\n1,9\n"), save=False)
        job.save()
        return job

    @cached_property
    def import_job_b(self) -> Any:
        from django.core.files.base import ContentFile

        from feedback.models import ImportJob

        source = SourceFactory(slug="billing-csv", program=self.program_b, kind="csv")
        job = ImportJob(source=source, original_name="b.csv", created_by=self.leader)
        job.file.save("b.csv", ContentFile(b"id,nps\n1,9\n"), save=False)
        job.save()
        return job

    @cached_property
    def notification(self) -> Any:
        from feedback.models import Notification

        return Notification.objects.create(
            user=self.owner, channel="email", subject="New action", body="b", dedupe_key="w-n1"
        )

    @cached_property
    def now(self) -> Any:
        return timezone.now()

    # --- governance (missions) -------------------------------------------------------------
    @cached_property
    def measure_a(self) -> Any:
        from missions.models import SuccessMeasure

        return SuccessMeasure.objects.create(
            name="Detractor callback rate", kind="other", owner_department=self.dept_a
        )

    @cached_property
    def actual_a(self) -> Any:
        import datetime as dt
        from decimal import Decimal

        from missions.models import MeasureActual

        return MeasureActual.objects.create(
            measure=self.measure_a, date=dt.date(2026, 1, 31), value=Decimal(5)
        )

    @cached_property
    def mission_v1(self) -> Any:
        from missions.models import MissionVersion

        return MissionVersion.objects.create(
            number=1, statement="We answer on the first call.", created_by=self.leader
        )

    @cached_property
    def success_v1(self) -> Any:
        from missions.models import SuccessStatementVersion

        return SuccessStatementVersion.objects.create(
            number=1, narrative="CX drives retention.", created_by=self.leader
        )

    @cached_property
    def moment_a(self) -> Any:
        from missions.models import MissionMoment

        return MissionMoment.objects.create(
            title="Ana's refund",
            story="Refunded before she asked.",
            department=self.dept_a,
            submitted_by=self.owner,
        )

    # --- governance (charter) --------------------------------------------------------------
    @cached_property
    def charter_v1(self) -> Any:
        from charter.models import CharterVersion

        return CharterVersion.objects.create(
            number=1, purpose="Make CX a discipline.", created_by=self.leader
        )

    @cached_property
    def priority(self) -> Any:
        from charter.models import Priority

        return Priority.objects.create(
            title="Call detractors", department=self.dept_a, success_measure=self.measure_a
        )

    @cached_property
    def charter_role(self) -> Any:
        from charter.models import CharterRole

        return CharterRole.objects.create(key="sponsor", name="Executive sponsor")

    @cached_property
    def activity(self) -> Any:
        from charter.models import GovernanceActivity

        return GovernanceActivity.objects.create(name="Approve the charter")

    @cached_property
    def meeting(self) -> Any:
        from charter.models import GovernanceMeeting

        return GovernanceMeeting.objects.create(name="CX council", frequency="monthly", attendees="Leaders")

    @cached_property
    def decision(self) -> Any:
        from charter.models import Decision

        return Decision.objects.create(title="Adopt NPS", decided_on=self.now.date(), rationale="Comparable.")

    @cached_property
    def goal_a(self) -> Any:
        from charter.models import DepartmentGoal

        return DepartmentGoal.objects.create(department=self.dept_a, title="Answer within a day")

    @cached_property
    def goal_b(self) -> Any:
        from charter.models import DepartmentGoal

        return DepartmentGoal.objects.create(department=self.dept_b, title="Bill correctly")

    @cached_property
    def stage(self) -> Any:
        from charter.models import JourneyStage

        return JourneyStage.objects.create(name="Onboarding")

    @cached_property
    def touchpoint_a(self) -> Any:
        from charter.models import Touchpoint

        return Touchpoint.objects.create(
            stage=self.stage, name="Welcome call", slug="welcome-call", department=self.dept_a
        )

    @cached_property
    def assessment(self) -> Any:
        from charter.models import MaturityAssessment

        return MaturityAssessment.objects.create(title="2026 self-assessment", assessed_on=self.now.date())

    @cached_property
    def routing_rule(self) -> Any:
        from feedback.models import RoutingRule

        return RoutingRule.objects.create(
            name="Detractors to Support", department=self.dept_a, score_band="detractor"
        )

    # --- reports -----------------------------------------------------------------------------
    @cached_property
    def report_a(self) -> Any:
        from reports.models import Report

        report = Report.objects.create(
            period_start=self.now.date(),
            period_end=self.now.date(),
            fingerprint="a" * 64,
            requested_by=self.leader,
        )
        report.departments.add(self.dept_a)
        return report

    @cached_property
    def report_b(self) -> Any:
        from reports.models import Report

        report = Report.objects.create(
            period_start=self.now.date(),
            period_end=self.now.date(),
            fingerprint="b" * 64,
            requested_by=self.leader,
        )
        report.departments.add(self.dept_b)
        return report

    @cached_property
    def roi_assumption(self) -> Any:
        from reports.models import RoiAssumption

        return RoiAssumption.objects.create(
            segment="All customers",
            customer_value_per_year=1200,
            churn_rate_detractor="0.30",
            churn_rate_passive="0.15",
            churn_rate_promoter="0.05",
            cost_per_contact=12,
            cost_to_serve=100,
            owner=self.finance,
        )

    # --- clients -----------------------------------------------------------------------------
    def client_for(self, role: str, **client_kwargs: Any) -> Client:
        """A client acting as ``role``; ``source`` carries department A's source token."""
        if role == "source":
            return Client(HTTP_AUTHORIZATION=f"Bearer {self.source_a.token}", **client_kwargs)
        client = Client(**client_kwargs)
        if role != "anonymous":
            client.force_login(getattr(self, role))
        return client


@pytest.fixture
def world(db: None) -> World:
    return World()


@pytest.fixture(scope="module")
def shared_world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """People and departments made once per module inside an outer transaction; each test runs
    in a savepoint of it (pytest-django nests), and everything is rolled back at the end."""
    from django.db import transaction

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            roles_sync()
            yield World()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def fast_world(shared_world: World, db: None) -> World:
    """A per-test ``World`` over the module's shared people: lazily made objects are fresh."""
    return World(base=shared_world)


#: Filled by tests/security/test_api_fuzz.py, printed at the end of the run.
FUZZ_STATS: dict[str, Any] = {"operations": set(), "examples": 0, "server_errors": 0}
