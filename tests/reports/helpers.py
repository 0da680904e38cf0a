"""Building blocks for reports tests: responses with a given score and band."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from feedback.scoring import band_for
from tests.factories import ResponseFactory


def scored(
    *, source: Any, submitted_at: datetime, scale: tuple[int, int] | None = None, **scores: int
) -> Any:
    """A response with scores and bands set as intake would set them."""
    fields: dict[str, Any] = {"source": source, "submitted_at": submitted_at}
    scales = {}
    for metric, value in scores.items():
        fields[metric] = value
        fields[f"{metric}_band"] = band_for(metric=metric, value=value, scale=scale)
        if scale:
            scales[metric] = list(scale)
    fields["scales"] = scales
    return ResponseFactory(**fields)
