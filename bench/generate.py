"""Realistic benchmark data, loaded with COPY (never the ORM for the big tables).

Six departments with ambassadors and owners, five programs (each with its own score
distribution), two sources per program, eight themes, customers, responses spread over 18
months (busier lately), comments from a phrase bank, and an inner-loop action item (with its
insight) on every ``ratio``-th response. Reference rows use the ORM with get_or_create, so
a second run changes nothing; big tables are topped up to their target count, chunk by
chunk, each chunk in one transaction, so an interrupted load resumes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from bench.copyutil import copy_rows, reserve_ids
from charter.models import Department, User
from charter.roles import Role, roles_sync
from feedback.models import (
    ActionInsight,
    ActionItem,
    Customer,
    Insight,
    Program,
    Response,
    RoutingRule,
    SLAPolicy,
    Source,
    Theme,
)
from feedback.scoring import band_for

PREFIX = "bench"
PASSWORD = "bench-password-123"
DEPARTMENTS = [
    ("Support", "support"),
    ("Billing", "billing"),
    ("Onboarding", "onboarding"),
    ("Product", "product"),
    ("Logistics", "logistics"),
    ("Sales", "sales"),
]
OWNERS_PER_DEPARTMENT = 3
# slug, name, kind, department, metric, weights over the scale (low → high)
PROGRAMS = [
    (
        "rel-nps",
        "Relationship NPS",
        "relationship_nps",
        "sales",
        "nps",
        [3, 2, 2, 3, 3, 5, 7, 12, 16, 22, 25],
    ),
    ("support-csat", "Post-support CSAT", "post_support_csat", "support", "csat", [8, 7, 12, 33, 40]),
    ("onboarding-ces", "Onboarding CES", "onboarding_ces", "onboarding", "ces", [18, 26, 20, 14, 10, 7, 5]),
    (
        "product-nps",
        "Product NPS",
        "relationship_nps",
        "product",
        "nps",
        [5, 3, 4, 5, 6, 8, 10, 14, 15, 15, 15],
    ),
    ("billing-csat", "Billing CSAT", "post_support_csat", "billing", "csat", [12, 10, 15, 30, 33]),
]
PROGRAM_SHARE = [35, 25, 12, 18, 10]
THEMES = [
    ("Slow support", "slow-support", "support", "slow\nwaited\nhold time\nno reply"),
    ("Billing errors", "billing-errors", "billing", "invoice\ncharged twice\nrefund\nbilling"),
    ("Onboarding friction", "onboarding-friction", "onboarding", "setup\nconfusing\ninstall\ntutorial"),
    ("Missing features", "missing-features", "product", "feature\nmissing\nroadmap\nintegration"),
    ("Late delivery", "late-delivery", "logistics", "late\ndelivery\nshipping\ntracking"),
    ("Pricing", "pricing", "sales", "price\nexpensive\ncontract\ndiscount"),
    ("Friendly staff", "friendly-staff", "support", "friendly\nhelpful\nkind\nprofessional"),
    ("App stability", "app-stability", "product", "crash\nbug\nslow app\nerror"),
]
PHRASES_NEGATIVE = [
    "I waited on hold for forty minutes.",
    "Nobody replied to my ticket for a week.",
    "I was charged twice this month and still have no refund.",
    "The invoice does not match the contract.",
    "Setup was confusing and the tutorial is out of date.",
    "The app crashes every time I export a report.",
    "My delivery was late again and tracking showed nothing.",
    "The price went up without any warning.",
    "The integration we were promised is still missing.",
    "Support closed my case without fixing it.",
    "Too expensive for what it does.",
    "Error messages make no sense.",
]
PHRASES_NEUTRAL = [
    "It does the job.",
    "Delivery was on time.",
    "The new dashboard is fine but slow to load.",
    "Billing is clear enough.",
    "Onboarding took about a week.",
    "Would like a mobile app.",
]
PHRASES_POSITIVE = [
    "The support agent was friendly and very helpful.",
    "Setup took five minutes, great tutorial.",
    "Love the new reporting feature.",
    "Fast delivery, well packed.",
    "Professional team, quick answers.",
    "Fair price for the value we get.",
    "Best tool we use every day.",
]
FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Eva", "Farah", "Goran", "Hana", "Ivo", "Jun", "Kemal", "Lea"]
LAST = ["Novak", "Smith", "Müller", "Rossi", "García", "Kowalski", "Dubois", "Tanaka", "Silva", "Olsen"]
OPEN_STATUSES = ["new", "assigned", "contacted", "waiting"]
CLOSED_STATUSES = ["resolved", "unreachable", "no_action"]
MONTHS = 18
CHUNK = 50_000


@dataclass
class Sizes:
    responses: int
    actions: int
    customers: int

    @classmethod
    def full(cls) -> Sizes:
        return cls(responses=1_000_000, actions=100_000, customers=200_000)

    @classmethod
    def quick(cls) -> Sizes:
        return cls(responses=20_000, actions=2_000, customers=4_000)


@dataclass
class Reference:
    departments: dict[str, Department]
    ambassadors: dict[str, User]
    owners: dict[str, list[User]]
    leader: User
    executive: User
    programs: list[Program]
    sources: dict[str, list[Source]]
    themes: list[Theme]
    extra: dict[str, Any] = field(default_factory=dict)


def _user(username: str, role: str, password_hash: str, **extra: Any) -> User:
    user, _created = User.objects.get_or_create(
        username=username,
        defaults={"email": f"{username}@bench.example", "password": password_hash, **extra},
    )
    user.groups.add(Group.objects.get(name=Role(role).label))
    return user


@transaction.atomic
def reference_data() -> Reference:
    """Departments, people, programs, sources, themes, routing and SLAs (idempotent)."""
    roles_sync()
    password_hash = make_password(PASSWORD)
    leader = _user(f"{PREFIX}-leader", Role.CX_LEADER, password_hash, first_name="Lea", last_name="Leader")
    executive = _user(f"{PREFIX}-exec", Role.EXECUTIVE, password_hash, first_name="Eli", last_name="Exec")
    departments, ambassadors, owners = {}, {}, {}
    for name, slug in DEPARTMENTS:
        dept, _ = Department.objects.get_or_create(slug=slug, defaults={"name": name})
        amb = _user(f"{PREFIX}-amb-{slug}", Role.AMBASSADOR, password_hash, first_name="Amb", last_name=name)
        dept.ambassadors.add(amb)
        dept.members.add(amb)
        people = []
        for k in range(1, OWNERS_PER_DEPARTMENT + 1):
            person = _user(
                f"{PREFIX}-owner-{slug}-{k}",
                Role.OWNER,
                password_hash,
                first_name=FIRST[k % len(FIRST)],
                last_name=name,
            )
            dept.members.add(person)
            people.append(person)
        if dept.leader_id is None:
            dept.leader = people[0]
            dept.save(update_fields=["leader"])
        departments[slug], ambassadors[slug], owners[slug] = dept, amb, people
    programs, sources = [], {}
    for slug, name, kind, dept_slug, _metric, _weights in PROGRAMS:
        program, _ = Program.objects.get_or_create(
            slug=f"{PREFIX}-{slug}",
            defaults={
                "name": name,
                "kind": kind,
                "department": departments[dept_slug],
                "purpose": f"Tells {departments[dept_slug].name} where customers struggle.",
            },
        )
        programs.append(program)
        sources[program.slug] = []
        for suffix, kind_ in (("api", Source.Kind.GENERIC), ("csv", Source.Kind.CSV)):
            source = Source.objects.filter(slug=f"{PREFIX}-{slug}-{suffix}").first()
            if source is None:
                source = Source(program=program, name=f"{name} ({suffix})", slug=f"{PREFIX}-{slug}-{suffix}")
                source.kind = kind_
                source.set_new_token()
                source.save()
            sources[program.slug].append(source)
    themes = []
    for name, slug, dept_slug, keywords in THEMES:
        theme, _ = Theme.objects.get_or_create(
            slug=slug, defaults={"name": name, "keywords": keywords, "department": departments[dept_slug]}
        )
        themes.append(theme)
    if not RoutingRule.objects.filter(is_default=True).exists():
        RoutingRule.objects.create(
            name="Everything else to Support",
            is_default=True,
            department=departments["support"],
            owner_mode=RoutingRule.OwnerMode.AMBASSADOR,
        )
    for priority in ("urgent", "high", "normal", "low"):
        for loop in ("inner", "outer"):
            SLAPolicy.objects.get_or_create(priority=priority, loop=loop)
    return Reference(departments, ambassadors, owners, leader, executive, programs, sources, themes)


def _count(sql: str, params: list[Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.fetchone()[0])


def load_customers(target: int) -> int:
    """Top up bench customers to ``target``; returns how many were added."""
    have = _count("SELECT count(*) FROM feedback_customer WHERE external_id LIKE %s", [f"{PREFIX}-c%"])
    if have >= target:
        return 0
    rng = random.Random(f"customers-{have}")
    now = timezone.now()

    def rows():
        for i in range(have, target):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            yield (
                f"{PREFIX}-c{i:07d}",
                f"customer{i}@bench.example",
                name,
                {"tier": rng.choice("ABC")},
                now,
                now,
            )

    with transaction.atomic():
        return copy_rows(
            Customer, ["external_id", "email", "name", "attributes", "created_at", "updated_at"], rows()
        )


def _comment(rng: random.Random, sentiment_class: int) -> str:
    if rng.random() < 0.35:
        return ""
    bank = (PHRASES_NEGATIVE, PHRASES_NEUTRAL, PHRASES_POSITIVE)[sentiment_class]
    return " ".join(rng.sample(bank, k=rng.choice((1, 1, 2, 3))))


def _submitted(rng: random.Random, now: Any) -> Any:
    # Busier lately: the square root skews the draws towards the recent end of 18 months.
    age_days = MONTHS * 30.4 * (1 - rng.random() ** 0.6)
    return now - timedelta(days=age_days, seconds=rng.randrange(86_400))


def bench_source_ids(ref: Reference) -> list[int]:
    return [s.id for group in ref.sources.values() for s in group]


def load_responses(ref: Reference, sizes: Sizes, *, progress: Any = None) -> dict[str, int]:
    """Top up responses (and their themes, insights and action items) to the target sizes."""
    source_ids = bench_source_ids(ref)
    have = _count("SELECT count(*) FROM feedback_response WHERE source_id = ANY(%s)", [source_ids])
    if have >= sizes.responses:
        return {"responses": 0, "actions": 0}
    customer_ids = [
        row[0]
        for row in Customer.objects.filter(external_id__startswith=f"{PREFIX}-c")
        .order_by("id")
        .values_list("id")
    ]
    ratio = max(sizes.responses // max(sizes.actions, 1), 1)
    added = {"responses": 0, "actions": 0}
    start = have
    while start < sizes.responses:
        end = min(start + CHUNK, sizes.responses)
        with transaction.atomic():
            counts = _load_chunk(ref, start, end, ratio, customer_ids)
        added["responses"] += counts[0]
        added["actions"] += counts[1]
        if progress:
            progress(f"responses {end:,}/{sizes.responses:,}")
        start = end
    return added


def _load_chunk(ref: Reference, start: int, end: int, ratio: int, customer_ids: list[int]) -> tuple[int, int]:
    rng = random.Random(f"responses-{start}")
    now = timezone.now()
    n = end - start
    first_id = reserve_ids(Response, n)
    dept_slugs = list(ref.departments)
    responses, themes_m2m, actionable = [], [], []
    theme_ids = [t.id for t in ref.themes]
    for offset in range(n):
        i = start + offset
        rid = first_id + offset
        p_index = rng.choices(range(len(PROGRAMS)), weights=PROGRAM_SHARE)[0]
        _slug, _name, _kind, dept_slug, metric, weights = PROGRAMS[p_index]
        program = ref.programs[p_index]
        source = ref.sources[program.slug][0 if rng.random() < 0.7 else 1]
        lo = 0 if metric == "nps" else 1
        wants_action = i % ratio == 0
        if wants_action:  # actionable: a low score (high effort for CES)
            value = lo + rng.randrange(3) if metric != "ces" else 7 - rng.randrange(3)
        else:
            value = lo + rng.choices(range(len(weights)), weights=weights)[0]
        band = band_for(metric=metric, value=value)
        badness = {"detractor": 0, "low": 0, "high_effort": 0, "passive": 1, "neutral": 1}.get(band, 2)
        comment = _comment(rng, badness)
        sentiment = round((-0.6, 0.0, 0.6)[badness] + rng.uniform(-0.35, 0.35), 3) if comment else None
        submitted = _submitted(rng, now)
        received = submitted + timedelta(seconds=rng.randrange(5, 600))
        dept = dept_slug if rng.random() < 0.7 else rng.choice(dept_slugs)
        scores = {"nps": None, "csat": None, "ces": None}
        bands = {"nps": "", "csat": "", "ces": ""}
        scores[metric], bands[metric] = value, band
        if metric == "csat" and rng.random() < 0.3:  # support surveys sometimes ask NPS too
            nps = rng.choices(range(11), weights=PROGRAMS[0][5])[0]
            scores["nps"], bands["nps"] = nps, band_for(metric="nps", value=nps)
        responses.append(
            (
                rid,
                source.id,
                program.id,
                f"{PREFIX}-{i:08d}",
                submitted,
                received,
                received,
                rng.choice(customer_ids) if customer_ids and rng.random() < 0.9 else None,
                ref.departments[dept].id,
                scores["nps"],
                scores["csat"],
                scores["ces"],
                bands["nps"],
                bands["csat"],
                bands["ces"],
                comment,
                {"channel": rng.choice(["email", "web", "in-app"])},
                Response.Status.PROCESSED,
                sentiment,
                received + timedelta(seconds=2),
            )
        )
        picked = rng.sample(theme_ids, k=rng.choice((1, 1, 2))) if comment and rng.random() < 0.6 else []
        themes_m2m.extend((rid, theme_id) for theme_id in picked)
        if wants_action:
            actionable.append((rid, dept, metric, value, received, picked[0] if picked else None))
    copy_rows(
        Response,
        [
            "id",
            "source_id",
            "program_id",
            "external_id",
            "submitted_at",
            "received_at",
            "updated_at",
            "customer_id",
            "department_id",
            "nps",
            "csat",
            "ces",
            "nps_band",
            "csat_band",
            "ces_band",
            "comment",
            "answers",
            "status",
            "sentiment",
            "processed_at",
        ],
        responses,
    )
    copy_rows(Response.themes.through, ["response_id", "theme_id"], themes_m2m)
    _load_actions(ref, rng, now, actionable)
    return n, len(actionable)


def _load_actions(ref: Reference, rng: random.Random, now: Any, actionable: list[tuple]) -> None:
    if not actionable:
        return
    first_insight = reserve_ids(Insight, len(actionable))
    first_action = reserve_ids(ActionItem, len(actionable))
    insights, actions, links = [], [], []
    for k, (rid, dept, metric, value, received, theme_id) in enumerate(actionable):
        iid, aid = first_insight + k, first_action + k
        owner = rng.choice(ref.owners[dept])
        priority = rng.choices(["urgent", "high", "normal", "low"], weights=[5, 20, 60, 15])[0]
        due = received + timedelta(days=rng.choice((2, 5, 10, 14)))
        age = now - received
        # Old actions are mostly closed; recent ones mostly open, as in a working team.
        closed = rng.random() < min(0.95, age.days / 60)
        status = rng.choice(CLOSED_STATUSES) if closed else rng.choice(OPEN_STATUSES)
        closed_at = min(received + timedelta(days=rng.randrange(1, 20)), now) if closed else None
        reason = f"{metric.upper()} {value}"
        insights.append((iid, rid, ref.departments[dept].id, owner.id, due, priority, reason, received))
        actions.append(
            (
                aid,
                "inner",
                f"Follow up {metric.upper()} {value} response #{rid}",
                status,
                ref.departments[dept].id,
                owner.id,
                priority,
                due,
                received + timedelta(hours=48),
                rid,
                theme_id,
                received,
                closed_at or received,
                closed_at,
                received + timedelta(hours=rng.randrange(1, 40)) if status != "new" else None,
            )
        )
        links.append((aid, iid))
    copy_rows(
        Insight,
        ["id", "response_id", "department_id", "owner_id", "due_at", "priority", "reason", "created_at"],
        insights,
    )
    copy_rows(
        ActionItem,
        [
            "id",
            "loop",
            "title",
            "status",
            "department_id",
            "owner_id",
            "priority",
            "due_at",
            "first_contact_due_at",
            "response_id",
            "theme_id",
            "created_at",
            "updated_at",
            "closed_at",
            "first_contacted_at",
        ],
        actions,
    )
    copy_rows(ActionInsight, ["action_id", "insight_id"], links)


def analyze() -> None:
    """VACUUM ANALYZE the big tables: fresh planner statistics and a visibility map, as
    autovacuum would leave a long-lived database (index-only scans depend on it)."""
    with connection.cursor() as cursor:
        for model in (Customer, Response, Response.themes.through, Insight, ActionItem, ActionInsight):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")


def generate(sizes: Sizes, *, progress: Any = None) -> dict[str, Any]:
    """Everything a run needs; returns what was added and the totals now present."""
    ref = reference_data()
    customers = load_customers(sizes.customers)
    added = load_responses(ref, sizes, progress=progress)
    analyze()
    source_ids = bench_source_ids(ref)
    totals = {
        "responses": _count("SELECT count(*) FROM feedback_response WHERE source_id = ANY(%s)", [source_ids]),
        "actions": _count(
            "SELECT count(*) FROM feedback_actionitem a JOIN feedback_response r ON r.id = a.response_id "
            "WHERE r.source_id = ANY(%s)",
            [source_ids],
        ),
        "customers": _count(
            "SELECT count(*) FROM feedback_customer WHERE external_id LIKE %s", [f"{PREFIX}-c%"]
        ),
    }
    return {"added": {"customers": customers, **added}, "totals": totals, "reference": ref}
