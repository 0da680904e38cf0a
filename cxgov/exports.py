"""CSV export helpers shared by every app: cells that a spreadsheet would run as a formula
(starting with = + - @ or a look-alike, or tab/CR/LF) are neutralised with a leading apostrophe (OWASP)."""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import StreamingHttpResponse

_FORMULA_START = frozenset("=+-@\t\r\n")
# Look-alikes NFKC leaves alone that spreadsheets may still read as an operator.
_LOOKALIKES = {"\u2212": "-", "\u2796": "-", "\u2795": "+", "\u2010": "-", "\u2011": "-", "\u2013": "-"}
_LEADING_SPACE = " \u00a0\u2000\u2001\u2002\u2003\u2009\u200b\u3000\ufeff"


def csv_safe(value: Any) -> Any:
    """A cell that could start a formula gets a leading apostrophe. The first character is
    NFKC-normalised first, so full-width ``＝ ＋ － ＠`` and small-form ``﹦ ﹢ ﹣`` count too, as
    do leading spaces before one (some spreadsheets trim them)."""
    if not isinstance(value, str) or not value:
        return value
    stripped = value.lstrip(_LEADING_SPACE) or value
    first = unicodedata.normalize("NFKC", stripped[0])[:1]
    if _LOOKALIKES.get(first, first) in _FORMULA_START or stripped[0] in _FORMULA_START:
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(
    *, filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    """Stream a CSV download; every cell goes through ``csv_safe``."""
    writer = csv.writer(_Echo())

    def lines() -> Iterable[str]:
        yield writer.writerow([csv_safe(h) for h in header])
        for row in rows:
            yield writer.writerow([csv_safe(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
