"""What every outgoing e-mail of cxgov needs, whichever app sends it."""

from __future__ import annotations

import unicodedata


def header_safe(text: str, *, limit: int = 255) -> str:
    """``text`` as one header-safe line: CR, LF and every other control or line-separator
    character become a space, runs of spaces one. A customer's name with a CR/LF in it used to
    reach an e-mail subject, which Django refuses (``BadHeaderError``) on every retry, so the
    owner was never told; now the subject is always sendable."""
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text or "")
    return " ".join(cleaned.split())[:limit]
