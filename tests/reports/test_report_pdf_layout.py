"""The executive PDF on paper (issue 22): A4 portrait, nothing past the margin, no text under
8 pt, every page naming its period, abbreviations spelled out, validated and unvalidated money
apart, departments without answers on one line, and a report for a past period that holds no
figure dated outside it.

Each check reads the real PDF back: ``pdftoppm`` renders every page to PNG (the page must be
blank outside the text box: a table or its background running past the margin shows there),
and ``pdftotext -bbox-layout`` gives every word's box (a word past the right margin, or set in
a font smaller than 8 pt, fails).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from PIL import Image

from feedback.models import ActionItem, Loop
from missions.models import MeasureActual, SuccessMeasure
from reports.models import Report, RoiAssumption
from reports.services import report_request
from tests.factories import ActionItemFactory, DepartmentFactory, ProgramFactory, SourceFactory, ThemeFactory
from tests.reports.helpers import scored

START, END = date(2025, 9, 1), date(2025, 11, 30)
PERIOD_LABEL = "1 Sep 2025 – 30 Nov 2025"
MM = 72 / 25.4
A4 = (210 * MM, 297 * MM)
MARGIN_X = 16 * MM  # the template's @page margin, left and right
MIN_WORD_HEIGHT = 9.2  # DejaVu's word box is 1.164 × the font size: 8 pt → 9.31 pt
LONG_WORD = "Kundenzufriedenheitsverbesserungsmaßnahmenkoordinationsabteilung"  # no break opportunity
LONG_DEPARTMENT = (f"{LONG_WORD} and the regional customer operations of the DACH and Benelux markets")[:120]
LONG_MEASURE = (
    "Share of enterprise customers in the German, Austrian and Swiss region who renew their annual "
    "contract within thirty days of its end date, measured on the signed renewal and not on the invoice"
)[:200]


@dataclass
class Word:
    page: int
    x_min: float
    y_min: float
    x_max: float
    y_max: float
    text: str


def _words(pdf: Path) -> tuple[list[tuple[float, float]], list[Word]]:
    out = subprocess.run(
        ["pdftotext", "-bbox-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    pages, words = [], []
    for number, page in enumerate(re.split(r"<page ", out)[1:], start=1):
        width, height = re.match(r'width="([\d.]+)" height="([\d.]+)"', page).groups()
        pages.append((float(width), float(height)))
        for x0, y0, x1, y1, text in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', page
        ):
            words.append(Word(number, float(x0), float(y0), float(x1), float(y1), text))
    return pages, words


def _page_texts(pdf: Path, pages: int) -> list[str]:
    return [
        subprocess.run(
            ["pdftotext", "-f", str(i), "-l", str(i), "-layout", str(pdf), "-"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for i in range(1, pages + 1)
    ]


@pytest.fixture
def world(leader, finance):  # type: ignore[no-untyped-def]
    """A past quarter (Sep–Nov 2025) with answers, actuals and quotes just outside it too."""
    long_dept = DepartmentFactory(name=LONG_DEPARTMENT, slug="long-dept")
    support = DepartmentFactory(name="Support", slug="support")
    DepartmentFactory(name="Legal", slug="legal")
    DepartmentFactory(name="Facilities", slug="facilities")
    theme = ThemeFactory(name="Late delivery", slug="late-delivery")
    src_long = SourceFactory(program=ProgramFactory(department=long_dept, name=f"Relationship {LONG_WORD}"))
    src_support = SourceFactory(program=ProgramFactory(department=support, name="Post-support survey"))
    inside = datetime(2025, 10, 14, 12, tzinfo=UTC)
    for i in range(40):
        r = scored(
            source=src_long if i % 2 else src_support, submitted_at=inside, nps=(10, 9, 7, 3)[i % 4], csat=4
        )
        r.comment = f"Parcel late again, October answer {i}"
        r.save()
        r.themes.add(theme)
    for when, word in (
        (datetime(2025, 8, 20, tzinfo=UTC), "AUGUSTQUOTE"),
        (datetime(2025, 12, 3, tzinfo=UTC), "DECEMBERQUOTE"),
    ):
        for _ in range(35):
            r = scored(source=src_support, submitted_at=when, nps=0, csat=1)
            r.comment = f"{word} parcel late"
            r.save()
            r.themes.add(theme)
    measure = SuccessMeasure.objects.create(
        name=LONG_MEASURE,
        kind="retention",
        unit="%",
        baseline_value=Decimal("70"),
        baseline_date=date(2025, 1, 1),
        target_value=Decimal("90"),
        target_date=date(2026, 12, 31),
        owner_department=long_dept,
        validated_by=finance,
        validated_at=timezone.now(),
    )
    for day, value in (
        (date(2025, 8, 15), "80.50"),
        (date(2025, 10, 15), "85.25"),
        (date(2025, 12, 15), "99.75"),
    ):
        MeasureActual.objects.create(measure=measure, date=day, value=Decimal(value), entered_by=leader)
    RoiAssumption.objects.create(
        segment="Default",
        customer_value_per_year=Decimal("1200"),
        churn_rate_detractor=Decimal("25"),
        churn_rate_passive=Decimal("12"),
        churn_rate_promoter=Decimal("5"),
        cost_per_contact=Decimal("18"),
        cost_to_serve=Decimal("240"),
        owner=finance,
        validated_by=finance,
        validated_at=timezone.now(),
    )
    RoiAssumption.objects.create(
        segment=f"{LONG_WORD} enterprise customers segment",
        department=long_dept,
        customer_value_per_year=Decimal("98765432.10"),
        churn_rate_detractor=Decimal("30"),
        churn_rate_passive=Decimal("14"),
        churn_rate_promoter=Decimal("6"),
        cost_per_contact=Decimal("22"),
        cost_to_serve=Decimal("310"),
        owner=finance,
    )
    ActionItemFactory(
        loop=Loop.OUTER,
        department=long_dept,
        theme=theme,
        title=f"Systemic: {LONG_WORD} carrier hand-over fix for every parcel leaving the central warehouse",
        status=ActionItem.Status.NEW,
    )
    return {"measure": measure, "long_dept": long_dept}


@pytest.fixture
def pdf(world, leader, django_capture_on_commit_callbacks, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        report, _ = report_request(user=leader, period_start=START, period_end=END)
    report.refresh_from_db()
    assert report.status == Report.Status.DONE, report.error
    return Path(report.file.path)


def test_every_page_is_a4_portrait_and_blank_outside_the_margins(pdf: Path, tmp_path: Path) -> None:
    pages, _ = _words(pdf)
    assert pages and all(abs(w - A4[0]) < 1 and abs(h - A4[1]) < 1 for w, h in pages)
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(tmp_path / "page")], check=True)
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == len(pages)
    for path in images:
        image = Image.open(path).convert("L")
        width, height = image.size
        scale = width / A4[0]
        inner_right = int((A4[0] - MARGIN_X) * scale) + 2
        inner_left = int(MARGIN_X * scale) - 2
        for box in ((inner_right, 0, width, height), (0, 0, inner_left, height)):
            darkest = min(image.crop(box).getdata())
            assert darkest > 245, f"{path.name}: something is drawn in the margin {box} (darkest {darkest})"


def test_no_word_runs_past_the_margin_even_a_long_name(pdf: Path) -> None:
    _pages, words = _words(pdf)
    right, left = A4[0] - MARGIN_X + 0.5, MARGIN_X - 0.5
    outside = [(w.page, w.text, round(w.x_max, 1)) for w in words if w.x_max > right or w.x_min < left]
    assert not outside, outside[:10]
    text = " ".join(w.text for w in words)
    for fragment in ("Share of enterprise customers", "signed renewal", "DACH", "hand-over"):
        assert fragment in text  # the long names are there, wrapped


def test_no_text_is_smaller_than_8_points_charts_included(pdf: Path) -> None:
    _pages, words = _words(pdf)
    small = [
        (w.page, w.text, round(w.y_max - w.y_min, 2)) for w in words if w.y_max - w.y_min < MIN_WORD_HEIGHT
    ]
    assert not small, small[:10]
    assert any(w.text == "2025-10" for w in words)  # a chart's month label was measured too


def test_every_page_says_which_period(pdf: Path) -> None:
    pages, _ = _words(pdf)
    for number, text in enumerate(_page_texts(pdf, len(pages)), start=1):
        assert PERIOD_LABEL in " ".join(text.split()), f"page {number} does not name the period"


def test_a_past_periods_report_holds_no_figure_dated_outside_it(pdf: Path) -> None:
    pages, _ = _words(pdf)
    text = " ".join(" ".join(_page_texts(pdf, len(pages))).split())
    for outside in (
        "Aug 2025",
        "Dec 2025",
        "2025-08",
        "2025-12",
        "AUGUSTQUOTE",
        "DECEMBERQUOTE",
        "99.8",
        "80.5",
    ):
        assert outside not in text, f"{outside!r} is outside {PERIOD_LABEL} but in the report"
    assert "85.3%" in text  # the actual of 15 Oct 2025 is the latest in the period
    assert "2025-10" in text and "Parcel late again, October answer" in text


def test_abbreviations_are_spelled_out_and_headers_say_what_they_mean(pdf: Path) -> None:
    pages, _ = _words(pdf)
    texts = _page_texts(pdf, len(pages))
    cover = " ".join(texts[0].split())
    for short, long in (
        ("NPS", "Net Promoter Score"),
        ("CSAT", "Customer satisfaction"),
        ("CES", "Customer Effort Score"),
        ("SLA", "Service-level agreement"),
        ("ROI", "Return on investment"),
        ("CX", "Customer experience"),
    ):
        assert re.search(rf"\b{short}\b.*{long}", cover), short
    everything = " ".join(" ".join(texts).split())
    assert "D / P / Pr" not in everything
    assert "Yearly churn of detractors" in everything


def test_validated_and_unvalidated_money_are_apart(pdf: Path) -> None:
    pages, _ = _words(pdf)
    text = " ".join(" ".join(_page_texts(pdf, len(pages))).split())
    assert "Validated by finance" in text and "Not yet validated by finance" in text
    assert "includes UNVALIDATED" not in text and "Estimated total" not in text
    assert "€98,765,432.10" in text  # money with its currency and separators


def test_departments_without_answers_share_one_line(pdf: Path) -> None:
    pages, _ = _words(pdf)
    text = " ".join(" ".join(_page_texts(pdf, len(pages))).split())
    assert "No answers in this period: Facilities, Legal." in text
    assert "Department section 1 of 2" in text and "Department section 3" not in text  # no page for Legal
