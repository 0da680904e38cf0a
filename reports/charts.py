"""Server-rendered SVG charts: the same markup goes into the dashboard and the PDF.

Geometry is computed here; ``reports/charts/line.svg`` draws it with autoescaped labels, so
no chart can carry script or markup from data.
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import SafeString

RANGES = {"nps": (-100.0, 100.0), "csat": (0.0, 100.0), "ces": (1.0, 7.0)}
TITLES = {
    "nps": "NPS by month",
    "csat": "CSAT % satisfied by month",
    "ces": "CES mean effort by month (lower is better)",
}


def line_chart(
    series: list[dict[str, Any]], *, metric: str, width: int = 560, height: int = 200
) -> SafeString:
    """An SVG line chart of monthly scores; each point links to the responses behind it."""
    lo, hi = RANGES[metric]
    left, right, top, bottom = 44, 12, 14, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(series)

    def y_of(value: float) -> float:
        return round(top + plot_h * (1 - (value - lo) / (hi - lo)), 1)

    points = []
    for i, row in enumerate(series):
        x = round(left + (plot_w * (i + 0.5) / n), 1) if n else left
        score = row.get("score")
        # Too few answers: no point on the line (a number that means nothing is not drawn);
        # a month not over yet is labelled partial.
        drawn = score is not None and not row.get("small_sample")
        note = f"n = {row.get('count')}" if score is not None and not drawn else ""
        if row.get("partial"):
            note = f"{note}, partial" if note else "partial"
        points.append(
            {
                "x": x,
                "y": y_of(score) if drawn else None,
                "note": note,
                "note_y": height - bottom + 28,
                "label": row.get("group"),
                "score": score,
                "count": row.get("count"),
                "small": row.get("small_sample"),
                "url": row.get("url", ""),
            }
        )
    ticks = [{"value": int(v) if float(v).is_integer() else v, "y": y_of(v)} for v in (lo, (lo + hi) / 2, hi)]
    polyline = " ".join(f"{p['x']},{p['y']}" for p in points if p["y"] is not None)
    return render_to_string(
        "reports/charts/line.svg",
        {
            "metric": metric,
            "title": TITLES[metric],
            "width": width,
            "height": height,
            "left": left,
            "right_x": width - right,
            "bottom_y": height - bottom,
            "label_y": height - bottom + 16,
            "points": points,
            "ticks": ticks,
            "polyline": polyline,
        },
    )
