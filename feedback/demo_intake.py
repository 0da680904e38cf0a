"""Demo programs and sources: each program says why it exists, one deliberately does not.

Idempotent (get-or-create by slug). Tokens are generated and not shown: rotate a source on
its program page to get one. Responses flowing through these sources are seeded by
``feedback.demo_pipeline``.
"""

from __future__ import annotations

import base64

from django.db import transaction

from charter.models import Department, DepartmentGoal, Touchpoint
from missions.models import SuccessMeasure

from .models import Program, Source

# slug, name, kind, department, touchpoint, success measure name (or None), purpose
PROGRAMS = [
    (
        "relationship-nps",
        "Relationship NPS",
        Program.Kind.RELATIONSHIP_NPS,
        "support",
        None,
        "Relationship NPS",
        "Tells the steering committee whether customers would recommend us, twice a year, "
        "and which detractors to call back within 48 hours.",
    ),
    (
        "post-support-csat",
        "Post-support CSAT",
        Program.Kind.POST_SUPPORT_CSAT,
        "support",
        "support-ticket",
        "Post-support CSAT",
        "Tells Support whether a closed ticket left the customer satisfied, so agents can recover "
        "bad experiences the same week.",
    ),
    (
        "onboarding-ces",
        "Onboarding CES",
        Program.Kind.ONBOARDING_CES,
        "onboarding",
        "welcome-setup",
        "Onboarding effort (CES)",
        "Tells Onboarding how hard the first setup felt (lower effort is better) and where the "
        "setup call loses people.",
    ),
    (
        "delivery-reviews",
        "Delivery reviews",
        Program.Kind.PRODUCT_REVIEWS,
        "logistics",
        "delivery",
        None,
        "Tells Logistics which carriers and regions miss the promised delivery date.",
    ),
    (
        "employee-pulse",
        "Employee pulse (EX)",
        Program.Kind.EMPLOYEE_PULSE,
        "support",
        None,
        None,
        "Tells department leaders whether employees feel able to keep the customer promise.",
    ),
    (
        "legacy-checkout-survey",
        "Legacy checkout survey",
        Program.Kind.OTHER,
        "billing",
        "checkout",
        None,
        "",  # no purpose: the programs page flags it, as it should
    ),
]

# slug, program slug, name, kind, field map, secret
SOURCES = [
    ("website-nps", "relationship-nps", "Website NPS widget (API)", "generic", {}, ""),
    (
        "typeform-nps",
        "relationship-nps",
        "Typeform relationship survey",
        "typeform",
        {"nps": "nps_score", "comment": "nps_reason", "email": "email"},
        "demo-typeform-secret",
    ),
    ("zendesk-csat", "post-support-csat", "Zendesk satisfaction ratings", "zendesk", {}, ""),
    (
        "support-csv",
        "post-support-csat",
        "Support survey export (CSV)",
        "csv",
        {"external_id": "Ticket", "csat": "Rating", "comment": "Comment", "email": "Email"},
        "",
    ),
    (
        "formbricks-onboarding",
        "onboarding-ces",
        "Formbricks in-app survey",
        "formbricks",
        {"ces": "effort", "comment": "why"},
        "whsec_" + base64.b64encode(b"cxgov-demo-formbricks-secret").decode(),
    ),
    (
        "onboarding-csv",
        "onboarding-ces",
        "Onboarding survey export (CSV)",
        "csv",
        {"ces": "Effort", "comment": "Comment", "email": "Email"},
        "",
    ),
    ("delivery-reviews-api", "delivery-reviews", "Review platform (API)", "generic", {}, ""),
    ("pulse-form", "employee-pulse", "Monthly pulse form (API)", "generic", {}, ""),
    (
        "qualtrics-checkout",
        "legacy-checkout-survey",
        "Qualtrics checkout survey",
        "qualtrics",
        {},
        "demo-shared-key",
    ),
]


@transaction.atomic
def seed() -> dict[str, int]:
    departments = {d.slug: d for d in Department.objects.all()}
    if not departments:
        return {"programs": Program.objects.count(), "sources": Source.objects.count()}
    fallback = next(iter(departments.values()))
    for slug, name, kind, dept_slug, tp_slug, measure_name, purpose in PROGRAMS:
        department = departments.get(dept_slug, fallback)
        measure = SuccessMeasure.objects.filter(name=measure_name).first() if measure_name else None
        goal = None
        if measure is None and purpose:
            goal = DepartmentGoal.objects.filter(department=department).order_by("position", "id").first()
        Program.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "kind": kind,
                "purpose": purpose,
                "department": department,
                "touchpoint": Touchpoint.objects.filter(slug=tp_slug).first() if tp_slug else None,
                "success_measure": measure,
                "department_goal": goal,
            },
        )
    programs = {p.slug: p for p in Program.objects.all()}
    for slug, program_slug, name, kind, field_map, secret in SOURCES:
        if Source.objects.filter(slug=slug).exists():
            continue
        source = Source(
            program=programs[program_slug],
            name=name,
            slug=slug,
            kind=kind,
            field_map=field_map,
            secret=secret,
        )
        source.set_new_token()
        source.save()
    return {"programs": Program.objects.count(), "sources": Source.objects.count()}
