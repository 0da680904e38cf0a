"""Demo data for the pipeline: themes, routing rules, SLA policies and a few hundred responses
that flow through the real intake service and ``response_process``, so the inbox is alive.

Idempotent: everything is get-or-create by natural key (theme slug, rule name, SLA
priority+loop, response (source, external_id)); a second run adds nothing. Deterministic
(seeded random), so every demo looks the same. E-mails the pipeline would send are held for
the daily digest instead of flooding the console.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.text import slugify

from charter.models import Department

from .models import (
    ActionItem,
    Insight,
    Loop,
    OuterLoopSettings,
    Program,
    Response,
    RoutingRule,
    SLAPolicy,
    Source,
    Theme,
)
from .notifications import notifications_held
from .processing import response_process
from .sla import DEFAULT_POLICIES

RESPONSES = 780
DAYS = 180

THEMES: list[tuple[str, str, str, str]] = [
    # name, slug, keywords (one per line), department slug
    (
        "Late delivery",
        "late-delivery",
        "late delivery\ndelivery was late\nnever arrived\nstill waiting",
        "logistics",
    ),
    ("Billing error", "billing-error", "charged twice\nwrong invoice\nbilling error\nrefund", "billing"),
    ("Rude staff", "rude-staff", "rude\nunfriendly\nimpolite\nhung up on me", "support"),
    ("Slow support", "slow-support", "slow support\non hold\nno reply\nnobody called me back", "support"),
    (
        "Onboarding confusion",
        "onboarding-confusion",
        "confusing setup\nonboarding\nhard to set up",
        "onboarding",
    ),
    ("Product bug", "product-bug", "bug\ncrash\nerror message\nstopped working", "product"),
]

NEGATIVE: dict[str, list[str]] = {
    "late-delivery": [
        "Second late delivery this month, my customers are angry.",
        "The parcel never arrived and tracking is useless.",
        "Delivery was late again. I am still waiting for half the order.",
    ],
    "billing-error": [
        "I was charged twice for the same order and nobody fixed it.",
        "Wrong invoice again, the VAT number is missing.",
        "Still waiting for my refund after three weeks. Terrible.",
    ],
    "rude-staff": [
        "The agent was rude and hung up on me.",
        "Unfriendly staff at the counter, I felt ignored.",
        "Very impolite answer on the phone, I will not come back.",
    ],
    "slow-support": [
        "Slow support: 40 minutes on hold and no answer.",
        "I sent three e-mails and got no reply at all.",
        "Nobody called me back although it was promised.",
    ],
    "onboarding-confusion": [
        "The onboarding was confusing, I could not find where to start.",
        "Really hard to set up, the guide skips steps.",
        "Confusing setup wizard, I gave up and called sales.",
    ],
    "product-bug": [
        "The app crashes every time I export a report.",
        "Found a bug: the dashboard shows an error message after login.",
        "Sync stopped working after the last update. Frustrating.",
    ],
}
NEUTRAL = [
    "It was fine.",
    "Okay overall, nothing special.",
    "Average experience, could be faster.",
    "",
]
POSITIVE = [
    "Great service, thank you!",
    "Fast and friendly, exactly what I needed.",
    "Love the product, the team is brilliant.",
    "Excellent help from the support agent.",
    "",
]
NAMES = [
    "Ana Souza", "Ben Carter", "Chloé Martin", "Dev Patel", "Elif Yılmaz", "Finn O'Brien", "Grace Liu",
    "Hugo Schmidt", "Ines García", "Jon Berg", "Kemi Adeyemi", "Lars Nilsson", "Mia Rossi", "Noah Levi",
    "Olivia Brown", "Pavel Novak", "Quinn Taylor", "Rosa Díaz", "Sam Lee", "Tara Singh",
]  # fmt: skip

# program kind -> (demo program slug, name, department, source slug, metric)
PROGRAMS = [
    (Program.Kind.RELATIONSHIP_NPS, "relationship-nps", "Relationship NPS", "support", "demo-nps-web", "nps"),
    (
        Program.Kind.POST_SUPPORT_CSAT,
        "post-support-csat",
        "Post-support CSAT",
        "support",
        "demo-csat-zd",
        "csat",
    ),
    (Program.Kind.ONBOARDING_CES, "onboarding-ces", "Onboarding CES", "onboarding", "demo-ces-app", "ces"),
]


def _department(slug: str) -> Department:
    return Department.objects.get_or_create(slug=slug, defaults={"name": slug.replace("-", " ").title()})[0]


def _sources() -> list[tuple[Source, str]]:
    """The demo programs' sources (from ``demo_intake`` when it made them), one per metric."""
    found: list[tuple[Source, str]] = []
    for kind, program_slug, name, dept_slug, source_slug, metric in PROGRAMS:
        source = (
            Source.objects.filter(
                program__kind=kind, is_active=True, kind__in=["generic", "csv", "delighted"]
            )
            .order_by("id")
            .first()
        )
        if source is None:
            program, _ = Program.objects.get_or_create(
                slug=program_slug,
                defaults={
                    "name": name,
                    "kind": kind,
                    "department": _department(dept_slug),
                    "purpose": f"Shows whether {name} follow-ups recover unhappy customers.",
                },
            )
            source = Source.objects.filter(slug=source_slug).first()
            if source is None:
                source = Source(program=program, name=f"{name} (demo)", slug=source_slug, kind="generic")
                source.set_new_token()
                source.save()
        found.append((source, metric))
    return found


def _config() -> dict[str, int]:
    themes = {}
    for name, slug, keywords, dept in THEMES:
        themes[slug], _ = Theme.objects.get_or_create(
            slug=slug, defaults={"name": name, "keywords": keywords, "department": _department(dept)}
        )
    for (priority, loop), (hours, days) in DEFAULT_POLICIES.items():
        SLAPolicy.objects.get_or_create(
            priority=priority, loop=loop, defaults={"first_contact_hours": hours, "resolve_days": days}
        )
    OuterLoopSettings.current()
    onboarding = Program.objects.filter(kind=Program.Kind.ONBOARDING_CES).order_by("id").first()
    rules: list[dict[str, Any]] = [
        {"name": "Rude staff is urgent", "theme": themes["rude-staff"], "department": "support",
         "owner_mode": "ambassador", "priority": "urgent"},
        {"name": "Billing errors to Billing", "theme": themes["billing-error"], "department": "billing",
         "owner_mode": "round_robin", "priority": "high"},
        {"name": "Late deliveries to Logistics", "theme": themes["late-delivery"], "department": "logistics",
         "owner_mode": "round_robin"},
        {"name": "Product bugs to Product", "theme": themes["product-bug"], "department": "product",
         "owner_mode": "round_robin"},
        {"name": "Onboarding effort to Onboarding", "program": onboarding, "department": "onboarding",
         "owner_mode": "round_robin"},
        {"name": "Everything else to Support", "is_default": True, "department": "support",
         "owner_mode": "round_robin"},
    ]  # fmt: skip
    for position, spec in enumerate(rules, start=1):
        spec = dict(spec)
        spec["department"] = _department(spec["department"])
        if (
            spec.get("is_default")
            and RoutingRule.objects.filter(is_default=True).exclude(name=spec["name"]).exists()
        ):
            spec["is_default"] = False  # the CX leader already chose a default; keep theirs
        RoutingRule.objects.get_or_create(name=spec.pop("name"), defaults={"position": position * 10, **spec})
    return {"themes": len(themes), "routing_rules": RoutingRule.objects.count()}


def _score(metric: str, mood: str, rng: random.Random) -> int:
    ranges = {
        "nps": {"bad": (0, 6), "meh": (7, 8), "good": (9, 10)},
        "csat": {"bad": (1, 2), "meh": (3, 3), "good": (4, 5)},
        "ces": {"bad": (5, 7), "meh": (4, 4), "good": (1, 3)},
    }
    lo, hi = ranges[metric][mood]
    return rng.randint(lo, hi)


def _items(sources: list[tuple[Source, str]]) -> list[tuple[Source, dict[str, Any]]]:
    """The demo responses, the same every run (seeded)."""
    rng = random.Random(20261123)
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    theme_slugs = list(NEGATIVE)
    items = []
    for i in range(RESPONSES):
        source, metric = sources[i % len(sources)]
        mood = rng.choices(["bad", "meh", "good"], weights=[35, 25, 40])[0]
        if mood == "bad":
            # Late deliveries spike in the last two months (a systemic issue to find).
            weights = [4 if i % 3 == 0 else 2, 2, 1, 2, 1, 1]
            slug = rng.choices(theme_slugs, weights=weights)[0]
            comment = rng.choice(NEGATIVE[slug])
        elif mood == "meh":
            comment = rng.choice(NEUTRAL)
        else:
            comment = rng.choice(POSITIVE)
        name = NAMES[i % len(NAMES)]
        email = f"{slugify(name.split()[0]) or 'customer'}.{i % 97}@customer.example"
        submitted = now - timedelta(days=rng.randint(0, DAYS), hours=rng.randint(0, 23))
        items.append(
            (
                source,
                {
                    "external_id": f"demo-{i:04d}",
                    "submitted_at": submitted,
                    "customer": {"external_id": f"demo-cust-{i % 97}", "email": email, "name": name},
                    "scores": {metric: _score(metric, mood, rng)},
                    "comment": comment,
                },
            )
        )
    return items


def _ingest(source: Source, data: dict[str, Any]) -> tuple[Response, bool]:
    """Through the intake service when it is there (as a webhook would), else directly.

    The SLA clock starts when we heard of a response; for backfilled history that is its
    submit time, set before the transaction commits (processing runs after commit).
    """
    try:
        from .intake import response_upsert
        from .sources.base import CustomerIn, ResponseIn
    except ImportError:  # pragma: no cover - intake not installed
        response_upsert = None
    with transaction.atomic():
        if response_upsert is not None:
            item = ResponseIn(
                external_id=data["external_id"],
                submitted_at=data["submitted_at"],
                customer=CustomerIn(**data["customer"]),
                scores=data["scores"],
                comment=data["comment"],
            )
            outcome = response_upsert(source=source, item=item)
            response, created = outcome.response, outcome.status == "created"
        else:
            from .models import Customer

            customer, _ = Customer.objects.get_or_create(
                source=source,
                external_id=data["customer"]["external_id"],
                defaults={"email": data["customer"]["email"], "name": data["customer"]["name"]},
            )
            response, created = Response.objects.get_or_create(
                source=source,
                external_id=data["external_id"],
                defaults={
                    "program": source.program,
                    "department": source.program.department,
                    "submitted_at": data["submitted_at"],
                    "customer": customer,
                    "comment": data["comment"],
                    **data["scores"],
                },
            )
        if created:
            Response.objects.filter(id=response.id).update(received_at=data["submitted_at"])
    return response, created


def _age_actions(now: Any, sources: Any) -> None:
    """Make the demo look lived-in: insights and follow-ups date from their response (so time
    to close and backlog age read true), and most follow-ups older than three weeks were closed."""
    submitted = Response.objects.filter(id=OuterRef("response_id")).values("submitted_at")[:1]
    demo = [source.id for source, _metric in sources]
    Insight.objects.filter(response__source__in=demo).update(created_at=Subquery(submitted))
    ActionItem.objects.filter(loop=Loop.INNER, response__source__in=demo).update(
        created_at=Subquery(submitted)
    )
    rng = random.Random(7)
    old = ActionItem.objects.filter(
        loop=Loop.INNER, status=ActionItem.Status.NEW, response__submitted_at__lt=now - timedelta(days=21)
    ).select_related("response")
    for action in old:
        if rng.random() < 0.8:
            contacted = action.response.submitted_at + timedelta(hours=rng.randint(2, 60))
            status = rng.choices(["resolved", "unreachable", "no_action"], weights=[80, 12, 8])[0]
            ActionItem.objects.filter(id=action.id).update(
                status=status,
                first_contacted_at=contacted if status != "unreachable" else None,
                closed_at=contacted + timedelta(days=rng.randint(0, 6)),
                close_reason="" if status == "resolved" else "Closed during the demo backfill.",
                resolution_outcome="solved" if status == "resolved" else "",
                customer_told=True if status == "resolved" else None,
                customer_told_at=contacted if status == "resolved" else None,
            )


def seed() -> dict[str, int]:
    """Themes, rules, SLAs and ~300 responses through the real pipeline. Idempotent."""
    with transaction.atomic():
        counts = _config()
        sources = _sources()
    now = timezone.now()
    created = 0
    with notifications_held():
        for source, data in _items(sources):
            response, was_created = _ingest(source, data)
            if was_created:
                created += 1
            # Inline already in the embedded default; in real mode the worker will find it done.
            response_process(response_id=response.id)
    if created:
        _age_actions(now, sources)
    counts.update(
        {
            "responses_processed_now": created,
            "insights": Insight.objects.count(),
            "inner_actions": ActionItem.objects.filter(loop=Loop.INNER).count(),
            "systemic_actions": ActionItem.objects.filter(loop=Loop.OUTER).count(),
        }
    )
    return counts
