"""The ROI model's arithmetic, as pure functions (tested against hand-computed numbers).

- Revenue retained by the inner loop: detractors contacted and recovered × customer value
  per year × (detractor churn − passive churn). Conservative on purpose: a recovered
  detractor is assumed to behave like a passive, not like a promoter.
- Cost avoided by the outer loop: for each systemic fix, (contacts on its theme in the
  ``FIX_WINDOW_DAYS`` before the fix − contacts in as many days after) × cost per contact,
  never below zero. A fix younger than the window has no "after" yet and counts nothing.
- Movement of a success measure: change from baseline to the latest actual, and the share
  of the way to target covered, in the measure's direction.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

FIX_WINDOW_DAYS = 30
CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def revenue_retained(
    *, recovered: int, customer_value: Decimal, churn_from_pct: Decimal, churn_to_pct: Decimal
) -> Decimal:
    """Yearly revenue kept because ``recovered`` customers now churn at ``churn_to_pct``."""
    difference = max(Decimal(churn_from_pct) - Decimal(churn_to_pct), Decimal("0"))
    return money(Decimal(recovered) * Decimal(customer_value) * difference / Decimal("100"))


def cost_avoided(*, contacts_before: int, contacts_after: int, cost_per_contact: Decimal) -> Decimal:
    """Support cost no longer spent on a theme that a systemic fix addressed."""
    fewer = max(contacts_before - contacts_after, 0)
    return money(Decimal(fewer) * Decimal(cost_per_contact))


def measure_movement(
    *, baseline: Decimal | None, latest: Decimal | None, target: Decimal | None, lower_is_better: bool = False
) -> dict[str, Decimal | bool | None]:
    """``change`` (latest − baseline), ``progress`` (% of the way to target), ``improved``."""
    if baseline is None or latest is None:
        return {"change": None, "progress": None, "improved": None}
    change = Decimal(latest) - Decimal(baseline)
    improved = change < 0 if lower_is_better else change > 0
    progress = None
    if target is not None and Decimal(target) != Decimal(baseline):
        progress = (change / (Decimal(target) - Decimal(baseline)) * 100).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )
    return {"change": change, "progress": progress, "improved": improved if change != 0 else False}
