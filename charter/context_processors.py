"""Navigation that fits the person's role."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

# (label, url name, who sees it: None = everyone logged in, else a user predicate name)
NAV_ITEMS: list[tuple[str, str, str | None]] = [
    ("Dashboard", "reports:dashboard", None),
    ("Validation", "reports:validation-queue", "is_finance"),
    ("Triage", "feedback:triage", "can_triage"),
    ("My actions", "feedback:my-actions", None),
    ("Systemic", "feedback:systemic", "can_triage"),
    ("Responses", "feedback:response-list", None),
    ("Programs", "feedback:program-list", "is_cx_leader"),
    ("Routing", "feedback:routing", "is_cx_leader"),
    ("Mission", "missions:mission", None),
    ("Success", "missions:success", None),
    ("Charter", "charter:charter", None),
    ("Departments", "charter:department-list", None),
    ("Journey", "charter:journey", None),
    ("Moments", "missions:moments", None),
    ("Maturity", "charter:maturity", None),
    ("Reports", "reports:report-list", None),
]


def _ambassador_ids(user: Any) -> set[int]:
    """The departments ``user`` is an ambassador of, once per request: cached on the user under
    the attribute ``feedback.triage.selectors.ambassador_department_ids`` uses, so a page
    whose view asked already (the triage inbox) spends no query on the menu."""
    cached: set[int] | None = getattr(user, "_cxgov_ambassador_ids", None)
    if cached is None:
        cached = set(user.ambassador_of.values_list("id", flat=True))
        user._cxgov_ambassador_ids = cached
    return cached


def _allowed(user: Any, predicate: str | None) -> bool:
    if predicate is None:
        return True
    if predicate == "can_triage":
        return user.sees_all_departments or bool(_ambassador_ids(user))
    return bool(getattr(user, predicate, False))


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = []
    for label, name, predicate in NAV_ITEMS:
        try:
            url = reverse(name)
        except NoReverseMatch:  # the screen has not landed yet
            continue
        if _allowed(user, predicate):
            items.append({"label": label, "url": url, "active": request.path.startswith(url)})
    return {"nav_items": items}
