"""Demo ROI assumptions: a default segment validated by finance, and one department's
segment still awaiting validation (so the report shows both states). Idempotent."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from charter.models import Department, User

from .models import RoiAssumption

SEGMENTS = [
    # segment, department slug, value, churn D/P/Pr, cost/contact, cost to serve, validated
    ("All customers (default)", None, "1200", "25", "12", "5", "18", "240", True),
    ("Billing customers", "billing", "1800", "30", "14", "6", "22", "310", False),
]


@transaction.atomic
def seed() -> dict[str, int]:
    finance = User.objects.filter(username="finance").first()
    leader = User.objects.filter(username="leader").first() or User.objects.order_by("id").first()
    if leader is None:
        return {"roi_assumptions": 0}
    created = 0
    for segment, slug, value, det, pas, pro, contact, serve, validated in SEGMENTS:
        department = Department.objects.filter(slug=slug).first() if slug else None
        if slug and department is None:
            continue
        _obj, was_created = RoiAssumption.objects.get_or_create(
            segment=segment,
            defaults={
                "department": department,
                "customer_value_per_year": Decimal(value),
                "churn_rate_detractor": Decimal(det),
                "churn_rate_passive": Decimal(pas),
                "churn_rate_promoter": Decimal(pro),
                "cost_per_contact": Decimal(contact),
                "cost_to_serve": Decimal(serve),
                "owner": finance or leader,
                "notes": "Demo figures from the 2025 finance plan.",
                "validated_by": finance if validated and finance else None,
                "validated_at": timezone.now() if validated and finance else None,
                "validation_note": "Matches the 2025 finance plan." if validated and finance else "",
            },
        )
        created += was_created
    from .measures import measure_actuals_compute_all

    return {
        "roi_assumptions": RoiAssumption.objects.count(),
        "roi_assumptions_created": created,
        **measure_actuals_compute_all(),
    }
