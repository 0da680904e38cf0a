"""Demo governance documents: a published mission and success statement with measures,
the charter's priorities and decisions, an approved charter, and Mission Moments.

Idempotent: natural keys (measure name, priority title, moment title) and "only if nothing is
published yet" for documents, which go through the real lifecycle services so the audit trail
and history look like the real thing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from charter.documents import document_approve, document_draft_create, document_published, document_submit
from charter.models import (
    CharterVersion,
    Decision,
    Department,
    DepartmentGoal,
    DocState,
    Priority,
    Touchpoint,
    User,
)
from charter.services import charter_draft_create, charter_submit

from .models import MeasureActual, MissionMoment, MissionVersion, SuccessMeasure, SuccessStatementVersion

MISSION_V1 = (
    "We make every customer feel expected, understood and looked after.",
    "We keep our promises, and when we fail we fix it fast.",
)
MISSION = (
    "Every customer feels expected, understood and looked after — "
    "and when we fall short, we make it right fast.",
    "**Expected**: we know who you are and what you bought.\n\n"
    "**Understood**: we listen at every touchpoint and act on what we hear.\n\n"
    "**Looked after**: an owner follows up every actionable piece of feedback within 48 hours.",
)
SUCCESS_NARRATIVE = (
    "Customers who feel looked after stay longer and cost less to serve.\n\n"
    "- Raising relationship NPS by 10 points is worth about 2 points of retention.\n"
    "- Fixing the top three contact drivers cuts contact volume by 15%.\n"
    "- Every follow-up within 48 hours recovers a third of detractors."
)
# name, kind, unit, direction, baseline, target, owner slug, validated, money assumptions, actuals
MEASURES = [
    ("Relationship NPS", "nps", "pts", "higher", 18, 30, "support", False, "", []),
    ("Post-support CSAT", "csat", "%", "higher", 52, 65, "support", False, "", []),
    (
        "Onboarding effort (CES)",
        "ces",
        "",
        "lower",
        Decimal("4.1"),
        Decimal("3.0"),
        "onboarding",
        False,
        "",
        [],
    ),
    (
        "Customer retention",
        "retention",
        "%",
        "higher",
        Decimal("86.5"),
        90,
        "sales",
        True,
        "One retained customer is worth €1,850 a year (average gross margin).",
        [86.5, 87.2, 88.0],
    ),
    (
        "Churn rate",
        "churn",
        "%",
        "lower",
        Decimal("13.5"),
        10,
        "sales",
        True,
        "Each point of churn costs €410k a year in lost margin.",
        [13.5, 12.9, 12.1],
    ),
    (
        "Cost to serve",
        "cost_to_serve",
        "€/customer",
        "lower",
        142,
        120,
        "support",
        True,
        "Fully loaded cost of support contacts divided by active customers.",
        [142, 139, 133],
    ),
    (
        "Contact volume",
        "contact_volume",
        "contacts/month",
        "lower",
        9400,
        8000,
        "support",
        False,
        "€6.80 per contact.",
        [9400, 9100],
    ),
]
PRIORITIES = [
    ("Call every detractor back within 48 hours", "support", "Relationship NPS"),
    ("Fix the top three billing dispute causes", "billing", "Churn rate"),
    ("Halve time to first value in onboarding", "onboarding", "Onboarding effort (CES)"),
    ("Deliver on the date we promise", "logistics", "Customer retention"),
]
MOMENTS = [
    (
        "lived",
        "Driver waited for a customer in a wheelchair",
        "logistics",
        "delivery",
        True,
        "Our driver noticed the customer needed more time, waited, and carried the parcel inside.",
    ),
    (
        "lived",
        "Billing refunded before being asked",
        "billing",
        "invoice",
        True,
        "We spotted a double charge in the nightly check and refunded it with an apology e-mail.",
    ),
    (
        "broken",
        "Promised a feature we do not have",
        "sales",
        "sales-call",
        False,
        "A customer bought because of a promise in the sales call; the feature does not exist. We called, "
        "apologised and offered a cancellation without fee.",
    ),
    (
        "lived",
        "Onboarding call in the customer's language",
        "onboarding",
        "welcome-setup",
        False,
        "We found a colleague who speaks Portuguese and redid the setup call together.",
    ),
]


def _publish(model: type, leader: User, executive: User, fields: dict, create=None, submit=None) -> None:  # type: ignore[no-untyped-def]
    doc = (create or (lambda by, fields: document_draft_create(model=model, by=by, fields=fields)))(
        by=leader, fields=fields
    )
    doc = (submit or (lambda doc, by: document_submit(doc=doc, by=by)))(doc=doc, by=leader)
    document_approve(doc=doc, by=executive)


@transaction.atomic
def seed() -> dict[str, int]:
    leader = User.objects.get(username="leader")
    executive = User.objects.get(username="executive")
    finance = User.objects.get(username="finance")
    depts = {d.slug: d for d in Department.objects.all()}

    if not MissionVersion.objects.exists():
        _publish(MissionVersion, leader, executive, {"statement": MISSION_V1[0], "narrative": MISSION_V1[1]})
        _publish(
            MissionVersion,
            leader,
            executive,
            {"statement": MISSION[0], "narrative": MISSION[1], "change_note": "Name the 48-hour promise."},
        )
    if not SuccessStatementVersion.objects.exists():
        _publish(SuccessStatementVersion, leader, executive, {"narrative": SUCCESS_NARRATIVE})

    today = timezone.now().date()
    for position, (name, kind, unit, direction, base, target, owner, validated, money, actuals) in enumerate(
        MEASURES, start=1
    ):
        goal = DepartmentGoal.objects.filter(department=depts.get(owner)).first()
        measure, created = SuccessMeasure.objects.get_or_create(
            name=name,
            defaults={
                "kind": kind,
                "unit": unit,
                "direction": direction,
                "baseline_value": base,
                "baseline_date": dt.date(2026, 1, 1),
                "target_value": target,
                "target_date": dt.date(2027, 6, 30),
                "owner_department": depts.get(owner),
                "department_goal": goal,
                "money_assumptions": money,
                "position": position,
            },
        )
        if created:
            if kind in ("nps", "csat", "ces"):
                measure.scope_departments.set([depts[owner]] if owner in depts else [])
            if validated:
                measure.validated_by, measure.validated_at = finance, timezone.now()
                measure.validation_note = "Baseline and target checked against the 2025 finance plan."
                measure.save(update_fields=["validated_by", "validated_at", "validation_note"])
            # Month-end figures of the last complete months (never the month that is not over).
            month_ends = []
            end = today.replace(day=1) - dt.timedelta(days=1)
            for _ in actuals:
                month_ends.insert(0, end)
                end = end.replace(day=1) - dt.timedelta(days=1)
            for value, on in zip(actuals, month_ends, strict=True):
                MeasureActual.objects.get_or_create(
                    measure=measure,
                    date=on,
                    origin=MeasureActual.Origin.MANUAL,
                    defaults={"value": Decimal(str(value)), "entered_by": finance},
                )

    for rank, (title, dept_slug, measure_name) in enumerate(PRIORITIES, start=1):
        Priority.objects.get_or_create(
            title=title,
            defaults={
                "rank": rank,
                "department": depts[dept_slug],
                "success_measure": SuccessMeasure.objects.get(name=measure_name),
            },
        )
    first = Priority.objects.order_by("rank").first()
    Decision.objects.get_or_create(
        title="Detractor call-backs are owned by department ambassadors",
        defaults={
            "decided_on": dt.date(2026, 4, 14),
            "rationale": "Ambassadors know the department's work; the CX team coaches.",
            "priority": first,
            "recorded_by": leader,
        },
    )
    Decision.objects.get_or_create(
        title="Finance validates every money figure before the quarterly report",
        defaults={
            "decided_on": dt.date(2026, 5, 12),
            "rationale": "Executives trust numbers they can trace.",
            "recorded_by": leader,
        },
    )
    if (
        document_published(model=CharterVersion) is None
        and not CharterVersion.objects.filter(state__in=[DocState.DRAFT, DocState.IN_REVIEW]).exists()
    ):
        _publish(
            CharterVersion,
            leader,
            executive,
            {
                "purpose": "Make customer experience a managed business discipline: a clear promise, "
                "measures tied to business results, owners for every insight, and loops closed.",
                "scope": "All customer-facing departments and every feedback program of the company.",
                "decisions_policy": "The steering committee decides by majority at its monthly meeting; "
                "the executive sponsor breaks ties. Every decision is logged with who recorded it and when.",
            },
            create=charter_draft_create,
            submit=charter_submit,
        )

    touchpoints = {t.slug: t for t in Touchpoint.objects.all()}
    for kind, title, dept_slug, tp_slug, featured, story in MOMENTS:
        moment, created = MissionMoment.objects.get_or_create(
            title=title,
            defaults={
                "kind": kind,
                "story": story,
                "department": depts[dept_slug],
                "touchpoint": touchpoints.get(tp_slug),
                "submitted_by": User.objects.filter(username=f"{dept_slug}-ambassador").first() or leader,
            },
        )
        if created and featured:
            moment.featured_at, moment.featured_by = timezone.now(), leader
            moment.save(update_fields=["featured_at", "featured_by"])

    return {
        "mission_versions": MissionVersion.objects.count(),
        "success_measures": SuccessMeasure.objects.count(),
        "priorities": Priority.objects.count(),
        "moments": MissionMoment.objects.count(),
    }
