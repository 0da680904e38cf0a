"""Themes: which of the CX leader's keyword lists a comment talks about.

A keyword or phrase matches a comment when its words, stemmed, appear next to each other and
in order in the comment: "late delivery" matches "two late deliveries this month" but not
"the delivery was late" (add "delivery was late" as a second line for that).

Two paths, kept consistent and tested against each other:
- PostgreSQL (real mode): ``to_tsvector('english', comment) @@ phraseto_tsquery('english', phrase)``,
  the database's Snowball English stemmer with its stop words;
- Python (embedded SQLite): the same Snowball stemmer (``snowballstemmer``), where a stop word in a
  phrase matches any single word, as ``phraseto_tsquery`` does with its ``<N>`` distances.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from django.db import connection

from .models import Theme

# PostgreSQL's english.stop (the Snowball list).
STOP_WORDS = frozenset(
    """i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she
    her hers herself it its itself they them their theirs themselves what which who whom this that these
    those am is are was were be been being have has had having do does did doing a an the and but if or
    because as until while of at by for with about against between into through during before after above
    below to from up down in out on off over under again further then once here there when where why how
    all any both each few more most other some such no nor not only own same so than too very s t can
    will just don should now""".split()  # noqa: SIM905
)

_WORD = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import snowballstemmer

    return snowballstemmer.stemmer("english")


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _stems(text: str) -> list[str | None]:
    """Stemmed words; ``None`` for a stop word (it holds a position but matches anything)."""
    return [None if word in STOP_WORDS else _stem(word) for word in _tokens(text)]


@lru_cache(maxsize=20000)
def _stem(word: str) -> str:
    return _stemmer().stemWord(word)


@lru_cache(maxsize=2048)
def _phrase_stems(phrase: str) -> tuple[str | None, ...]:
    """A phrase's stems without leading/trailing stop words (they constrain nothing)."""
    wanted = _stems(phrase)
    while wanted and wanted[0] is None:
        wanted.pop(0)
    while wanted and wanted[-1] is None:
        wanted.pop()
    return tuple(wanted)


def theme_phrases(theme: Theme) -> list[str]:
    """The theme's keywords and phrases, one per line, blanks skipped."""
    return [line.strip() for line in theme.keywords.splitlines() if _tokens(line)]


def _contains(words: list[str | None], wanted: tuple[str | None, ...]) -> bool:
    size = len(wanted)
    if not size:
        return False
    for i in range(len(words) - size + 1):
        if all(w is None or w == words[i + j] for j, w in enumerate(wanted)):
            return True
    return False


def phrase_matches(phrase: str, text: str) -> bool:
    """Python path: the phrase's stems appear consecutively in the text's words."""
    return _contains(_stems(text), _phrase_stems(phrase))


def themes_match_python(*, text: str, themes: Iterable[Theme]) -> list[Theme]:
    words = _stems(text)
    return [t for t in themes if any(_contains(words, _phrase_stems(p)) for p in theme_phrases(t))]


def themes_match_postgres(*, text: str, themes: Iterable[Theme]) -> list[Theme]:
    """Real-mode path: one query, the database's own full-text matching."""
    themes = list(themes)
    pairs = [(t.id, p) for t in themes for p in theme_phrases(t)]
    if not pairs or not text.strip():
        return []
    values = ", ".join(["(%s, %s)"] * len(pairs))
    params: list[object] = [x for pair in pairs for x in pair]
    sql = (
        f"SELECT DISTINCT k.theme_id FROM (VALUES {values}) AS k(theme_id, phrase) "  # noqa: S608  # nosec B608
        "WHERE to_tsvector('english', %s) @@ phraseto_tsquery('english', k.phrase)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, text])
        ids = {row[0] for row in cursor.fetchall()}
    return [t for t in themes if t.id in ids]


def themes_match(*, text: str, themes: Iterable[Theme] | None = None) -> list[Theme]:
    """The active themes ``text`` talks about, by the database's matcher when it has one."""
    if themes is None:
        themes = Theme.objects.filter(is_active=True).order_by("name")
    if not (text or "").strip():
        return []
    if connection.vendor == "postgresql":
        return themes_match_postgres(text=text, themes=themes)
    return themes_match_python(text=text, themes=themes)
