"""Demo organisation: six departments with leaders, ambassadors and owners, and the role users."""

from __future__ import annotations

import functools

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction

from .models import Department, User
from .roles import Role

DEPARTMENTS = [
    ("Customer Support", "support", "Resolve customer issues quickly and warmly."),
    ("Billing", "billing", "Accurate invoices and painless payments."),
    ("Onboarding", "onboarding", "Get new customers to first value fast."),
    ("Product", "product", "Build what customers need."),
    ("Logistics", "logistics", "Deliver on time, every time."),
    ("Sales", "sales", "Promise only what we deliver."),
]

# username, first, last, role, department slug or None, department relation
DEMO_USERS = [
    ("leader", "Lena", "Leader", Role.CX_LEADER, None, None),
    ("executive", "Evan", "Exec", Role.EXECUTIVE, None, None),
    ("finance", "Fiona", "Finance", Role.FINANCE, None, None),
    ("ambassador", "Amir", "Ambassador", Role.AMBASSADOR, "support", "ambassador"),
    ("owner", "Olga", "Owner", Role.OWNER, "support", "member"),
]


@functools.cache
def _password_hash(password: str) -> str:
    return make_password(password)


def _demo_password_hash() -> str:
    """Hash the demo password once: ~30 demo users would otherwise cost a PBKDF2 run each.
    Cached per password, so a changed ``DEMO_PASSWORD`` (tests set their own) is honoured."""
    return _password_hash(settings.DEMO_PASSWORD)


def _user(username: str, first: str, last: str, role: str | None) -> User:
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"first_name": first, "last_name": last, "email": f"{username}@demo.cxgov.example"},
    )
    if created:
        user.password = _demo_password_hash()
        user.save(update_fields=["password"])
    if role:
        user.groups.add(Group.objects.get(name=Role(role).label))
    return user


@transaction.atomic
def seed() -> dict[str, int]:
    """Idempotent: get-or-create everything by natural key."""
    from .roles import roles_sync

    roles_sync()
    for username, first, last, role, _dept, _rel in DEMO_USERS:
        _user(username, first, last, role)
    for name, slug, description in DEPARTMENTS:
        dept, _ = Department.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description}
        )
        head = _user(f"{slug}-lead", name.split()[0], "Lead", None)
        amb = _user(f"{slug}-ambassador", name.split()[0], "Ambassador", Role.AMBASSADOR)
        owners = [_user(f"{slug}-owner{i}", name.split()[0], f"Owner {i}", Role.OWNER) for i in (1, 2)]
        if dept.leader_id is None:
            dept.leader = head
            dept.save(update_fields=["leader"])
        dept.ambassadors.add(amb)
        dept.members.add(head, amb, *owners)
    for username, *_rest, slug, relation in DEMO_USERS:
        if slug:
            dept = Department.objects.get(slug=slug)
            user = User.objects.get(username=username)
            dept.members.add(user)
            if relation == "ambassador":
                dept.ambassadors.add(user)
    governance = _seed_governance()
    return {"departments": Department.objects.count(), "users": User.objects.count(), **governance}


# --- governance: goals, journey map, roles, RACI, cadence, maturity (issue 4) ------------------

GOALS = {
    "support": [("Resolve tickets on first contact", "First-contact resolution", 68, 80, "%")],
    "billing": [("Fewer billing disputes", "Disputes per 1,000 invoices", 14, 8, "")],
    "onboarding": [("Faster time to first value", "Days to first value", 21, 10, "days")],
    "product": [("Fewer usability complaints", "Usability tickets per month", 120, 60, "")],
    "logistics": [("Deliver on time", "On-time delivery rate", 91, 97, "%")],
    "sales": [("Keep promises made at sale", "Expectation-gap complaints per month", 35, 15, "")],
}

JOURNEY = [
    ("Awareness", [("Website and ads", "website", "sales")]),
    ("Purchase", [("Sales call", "sales-call", "sales"), ("Checkout", "checkout", "billing")]),
    ("Onboarding", [("Welcome and setup", "welcome-setup", "onboarding")]),
    ("Delivery", [("Delivery", "delivery", "logistics")]),
    ("Use", [("Product app", "product-app", "product")]),
    ("Support", [("Support ticket", "support-ticket", "support"), ("Invoice", "invoice", "billing")]),
]

ROLES = [
    (
        "executive-sponsor",
        "Executive sponsor",
        "Champions CX in the leadership team; removes blockers; funds priorities.",
        "The CX program delivering business results.",
    ),
    (
        "cx-leader",
        "CX leader",
        "Runs the governance: mission, success statement, charter, programs and reporting.",
        "A working governance cadence and honest reporting.",
    ),
    (
        "steering-committee",
        "Steering committee",
        "Sets and ranks priorities; reviews progress monthly.",
        "Priorities that match the success statement.",
    ),
    (
        "ambassador",
        "Department ambassadors",
        "Triage their department's actions; close the loop with customers.",
        "Their department's loop closure within SLA.",
    ),
    (
        "finance-partner",
        "Finance partner",
        "Validates baselines and money assumptions.",
        "Credible ROI figures.",
    ),
    (
        "action-owner",
        "Action owners",
        "Do the follow-up and the fixes assigned to them.",
        "Their actions closed on time.",
    ),
]

ACTIVITIES = [
    (
        "Approve the mission and charter",
        {
            "executive-sponsor": "A",
            "cx-leader": "R",
            "steering-committee": "C",
            "ambassador": "I",
            "finance-partner": "I",
            "action-owner": "I",
        },
    ),
    (
        "Rank CX priorities",
        {
            "executive-sponsor": "C",
            "cx-leader": "R",
            "steering-committee": "A",
            "ambassador": "C",
            "finance-partner": "C",
        },
    ),
    ("Validate money figures", {"cx-leader": "C", "finance-partner": "A", "executive-sponsor": "I"}),
    ("Close the inner loop", {"ambassador": "A", "action-owner": "R", "cx-leader": "I"}),
    (
        "Fix systemic causes",
        {"steering-committee": "A", "ambassador": "R", "action-owner": "R", "cx-leader": "C"},
    ),
    ("Report ROI to the board", {"executive-sponsor": "A", "cx-leader": "R", "finance-partner": "C"}),
]

MEETINGS = [
    ("Loop-closure stand-up", "weekly", "Ambassadors, CX leader", "Overdue actions and escalations."),
    (
        "CX steering committee",
        "monthly",
        "Executive sponsor, CX leader, department leaders, finance partner",
        "Priorities, measures against targets, decisions.",
    ),
    (
        "Executive review",
        "quarterly",
        "Executives, CX leader, finance partner",
        "ROI report and charter review.",
    ),
]

MATURITY = {
    "intentional_success": [
        "We have a published CX mission everyone can recite.",
        "CX measures are tied to business outcomes with targets.",
    ],
    "cultural_commitment": [
        "Leaders talk about customers in every operational review.",
        "Employees know how their work affects the customer.",
    ],
    "customer_collaboration": [
        "We listen at every key touchpoint.",
        "We close the loop with customers who gave feedback.",
    ],
    "experiential_innovation": [
        "We fix root causes, not just symptoms.",
        "We design new experiences with customers.",
    ],
}
MATURITY_ASSESSMENTS = [
    ("Baseline assessment", "2026-03-01", [2, 1, 2, 2, 3, 1, 1, 1]),
    ("Half-year assessment", "2026-09-01", [3, 3, 3, 2, 3, 3, 2, 2]),
]


def _seed_governance() -> dict[str, int]:
    import datetime as dt

    from .models import (
        CharterRole,
        DepartmentGoal,
        GovernanceActivity,
        GovernanceMeeting,
        JourneyStage,
        MaturityAssessment,
        MaturityScore,
        MaturityStatement,
        RaciAssignment,
        Touchpoint,
    )

    for slug, goals in GOALS.items():
        dept = Department.objects.get(slug=slug)
        for position, (title, metric, current, target, unit) in enumerate(goals, start=1):
            DepartmentGoal.objects.get_or_create(
                department=dept,
                title=title,
                defaults={
                    "metric": metric,
                    "current_value": current,
                    "target_value": target,
                    "unit": unit,
                    "position": position,
                    "target_date": dt.date(2027, 6, 30),
                },
            )
    for position, (stage_name, touchpoints) in enumerate(JOURNEY, start=1):
        stage, _ = JourneyStage.objects.get_or_create(name=stage_name, defaults={"position": position})
        for tp_position, (name, slug, dept_slug) in enumerate(touchpoints, start=1):
            Touchpoint.objects.get_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "stage": stage,
                    "department": Department.objects.get(slug=dept_slug),
                    "position": tp_position,
                },
            )
    roles = {}
    for position, (key, name, responsibilities, accountabilities) in enumerate(ROLES, start=1):
        roles[key], _ = CharterRole.objects.get_or_create(
            key=key,
            defaults={
                "name": name,
                "responsibilities": responsibilities,
                "accountabilities": accountabilities,
                "position": position,
            },
        )
    for position, (name, cells) in enumerate(ACTIVITIES, start=1):
        activity, created = GovernanceActivity.objects.get_or_create(
            name=name, defaults={"position": position}
        )
        if created:
            for key, value in cells.items():
                RaciAssignment.objects.get_or_create(
                    activity=activity, role=roles[key], defaults={"value": value}
                )
    for position, (name, frequency, attendees, purpose) in enumerate(MEETINGS, start=1):
        GovernanceMeeting.objects.get_or_create(
            name=name,
            defaults={
                "frequency": frequency,
                "attendees": attendees,
                "purpose": purpose,
                "position": position,
            },
        )
    statements = []
    for dimension, texts in MATURITY.items():
        for position, text in enumerate(texts, start=1):
            statement, _ = MaturityStatement.objects.get_or_create(
                dimension=dimension, text=text, defaults={"position": position}
            )
            statements.append(statement)
    leader = User.objects.filter(username="leader").first()
    for title, on, scores in MATURITY_ASSESSMENTS:
        assessment, created = MaturityAssessment.objects.get_or_create(
            assessed_on=dt.date.fromisoformat(on), defaults={"title": title, "created_by": leader}
        )
        if created:
            for statement, score in zip(statements, scores, strict=True):
                MaturityScore.objects.create(assessment=assessment, statement=statement, score=score)
    return {
        "goals": DepartmentGoal.objects.count(),
        "touchpoints": Touchpoint.objects.count(),
        "raci_cells": RaciAssignment.objects.count(),
        "maturity_assessments": MaturityAssessment.objects.count(),
    }
