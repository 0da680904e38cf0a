"""Links from a figure to the rows behind it (triage inbox, response list).

Those screens belong to other areas and may not exist yet; a figure whose list is missing is
shown as plain text (an empty URL) rather than a broken link.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.urls import NoReverseMatch, reverse

TRIAGE = "feedback:triage"
RESPONSES = "feedback:response-list"


def filtered_url(name: str, **query: Any) -> str:
    """``reverse(name)`` plus the non-empty ``query`` as a query string, or ``""``."""
    try:
        base = reverse(name)
    except NoReverseMatch:
        return ""
    clean = {
        k: (v.isoformat() if isinstance(v, date) else v) for k, v in query.items() if v not in (None, "")
    }
    return f"{base}?{urlencode(clean, doseq=True)}" if clean else base


def triage_url(**query: Any) -> str:
    return filtered_url(TRIAGE, **query)


def responses_url(**query: Any) -> str:
    return filtered_url(RESPONSES, **query)
