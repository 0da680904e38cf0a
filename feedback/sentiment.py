"""Sentiment of a comment, offline: VADER's lexicon ships inside the package (no downloads).

VADER's compound score runs from -1 (very negative) to 1 (very positive); the usual cut-offs
(±0.05) give the negative/neutral/positive labels routing rules match on.
"""

from __future__ import annotations

from functools import lru_cache

NEGATIVE_BELOW = -0.05
POSITIVE_ABOVE = 0.05


@lru_cache(maxsize=1)
def _analyzer():  # type: ignore[no-untyped-def]
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment_score(text: str) -> float | None:
    """The compound score of ``text``, or ``None`` when there is no comment to judge."""
    text = (text or "").strip()
    if not text:
        return None
    return round(float(_analyzer().polarity_scores(text[:5000])["compound"]), 4)


def sentiment_label(score: float | None) -> str:
    """negative / neutral / positive (blank when there was no comment)."""
    if score is None:
        return ""
    if score <= NEGATIVE_BELOW:
        return "negative"
    if score >= POSITIVE_ABOVE:
        return "positive"
    return "neutral"
