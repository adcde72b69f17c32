"""The terminal tables and the HTML page: sections, widths, the numbers they show, escaping."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import pytest

from domain.state import LedgerEntry
from reporting.html import render_report_html
from reporting.report import Report, build_report, render_report_text

from .conftest import NOW, T0

VOID = {"meta", "link", "br", "img", "input", "hr", "col", "area", "base", "source", "wbr"}
SECTIONS = ("FUNNEL", "CONVERSION BY TIER", "SPEED TO LEAD", "LEAD QUALITY BY SOURCE", "RECYCLED LEADS")


@pytest.fixture(scope="module")
def report(entries: list[LedgerEntry]) -> Report:
    return build_report(entries, since=None, now=NOW)


def section(text: str, title: str) -> list[str]:
    """The lines of one section (from its heading to the next blank line)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next((i for i in range(start, len(lines)) if not lines[i]), len(lines))
    return lines[start:end]


def row(lines: list[str], first: str) -> list[str]:
    return next(line.split() for line in lines if line.split()[:1] == [first])


# --- text -------------------------------------------------------------------------------------


def test_text_has_every_section_within_100_columns(report: Report) -> None:
    text = render_report_text(report)
    assert text.startswith("Sales–Marketing review: the start of the ledger → 2026-06-30 09:00 UTC\n")
    assert "7 leads with activity in the period" in text
    for title in SECTIONS:
        assert any(line.startswith(title) for line in text.splitlines()), title
    assert max(len(line) for line in text.splitlines()) <= 100


def test_text_numbers(report: Report) -> None:
    text = render_report_text(report)
    funnel = section(text, "FUNNEL")
    assert row(funnel, "sql") == ["sql", "6", "6", "85.7%"]
    assert row(funnel, "customer") == ["customer", "1", "1", "33.3%"]
    assert "overall conversion (customer / leads): 14.3%" in funnel[-1]
    tiers = section(text, "CONVERSION BY TIER")
    assert " ".join(row(tiers, "high")) == "high 3 3 (100.0%) 3 (100.0%) 1 (33.3%) 1 (100.0%) 33.3%"
    assert " ".join(row(tiers, "low")) == "low 1 1 (100.0%) 0 (0.0%) 0 (-) 0 (-) 0.0%"
    speed = section(text, "SPEED TO LEAD")
    assert row(speed, "r-01") == ["r-01", "2", "2", "30m", "2h", "3", "0", "1", "33.3%"]
    assert row(speed, "r-02") == ["r-02", "0", "0", "-", "-", "3", "1", "1", "50.0%"]
    assert row(speed, "all") == ["all", "3", "3", "30m", "2h", "10", "1", "4", "44.4%"]
    quality = section(text, "LEAD QUALITY BY SOURCE")
    assert row(quality, "web_form") == ["web_form", "3", "2", "3.50", "0", "1", "0", "0", "1", "0", "0", "1", "1"]
    assert "  web_form: rated for: good_fit (1), low_intent (1); lost: price (1)" in quality
    assert "  sales: rated for: wrong_contact_details (1); rejected: spam (1)" in quality
    recycled = section(text, "RECYCLED LEADS")
    assert recycled[0] == "RECYCLED LEADS  (3 leads went back to marketing)"
    assert any(
        line.startswith("returned to marketing") and "no rep accepted after 3 attempt(s) (1)" in line
        for line in recycled
    )


def test_text_for_an_empty_period() -> None:
    text = render_report_text(build_report([], since=T0, now=NOW))
    assert text == (
        "Sales–Marketing review: 2026-03-02 09:00 UTC → 2026-06-30 09:00 UTC\n\n"
        "No activity in the period: no lead was taken in, moved on, handed off or rated.\n"
    )


def test_text_wraps_long_reasons_within_100_columns(entries: list[LedgerEntry]) -> None:
    long_reason = "no rep accepted after 3 attempt(s) " + "because everybody was away at the offsite " * 4
    changed = [
        e.model_copy(update={"data": {**e.data, "reason": long_reason}})
        if e.data.get("trigger") == "return_to_marketing"
        else e
        for e in entries
    ]
    text = render_report_text(build_report(changed, now=NOW))
    assert max(len(line) for line in text.splitlines()) <= 100
    recycled = section(text, "RECYCLED LEADS")
    returned = next(i for i, line in enumerate(recycled) if line.startswith("returned to marketing"))
    assert recycled[returned + 1].startswith(" " * 20) and "offsite" in recycled[returned + 1]
    assert recycled[-1].startswith("rejected to nurture")


# --- html -------------------------------------------------------------------------------------


class Page(HTMLParser):
    """Checks that tags nest and close, and collects what the tests look at."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.problems: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self.title = ""
        self.charts: list[str] = []
        self.tooltips: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
            return
        self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.open[-1:] == ["title"]:
            if self.open[-2:-1] == ["svg"]:
                self.charts.append(data)
            elif "svg" in self.open:
                self.tooltips.append(data)
            else:
                self.title += data


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    assert page.problems == []
    assert page.open == []
    return page


def test_html_is_one_well_formed_self_contained_page(report: Report) -> None:
    html = render_report_html(report)
    assert html.startswith("<!DOCTYPE html>")
    page = parse(html)
    assert page.title == "Sales–Marketing review: the start of the ledger → 2026-06-30 09:00 UTC"
    assert page.tags.count("svg") == 6  # funnel, tiers, speed, rating, reject reasons, lost reasons
    assert "script" not in page.tags
    for fetching in ("src=", "href=", "url(", "@import", "http://", "https://"):
        assert fetching not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_html_charts_and_tables_show_the_numbers(report: Report) -> None:
    page = parse(render_report_html(report))
    assert page.charts == [
        "Leads that reached each stage",
        "Overall conversion (customer / leads) by tier",
        "Speed to lead per rep: p50 and p90",
        "Average rating by source",
        "Reject reasons",
        "Lost reasons",
    ]
    bars = set(page.tooltips)
    for bar in (
        "sql · reached: 6",
        "high · conversion: 33.3%",
        "r-01 · p50: 30m",
        "r-01 · p90: 2h",
        "r-03 · p50: 15m",
        "web_form · average rating: 3.50",
        "sales · average rating: 1.00",
        "not_interested · times: 1",
        "spam · times: 1",
        "price · times: 1",
    ):
        assert bar in bars, bar
    text = " ".join(page.text)
    for shown in ("85.7%", "44.4%", "14.3%", "no rep accepted after 3 attempt(s) (1)", "good_fit (1), low_intent (1)"):
        assert shown in text, shown


def test_html_escapes_every_value(entries: list[LedgerEntry]) -> None:
    nasty = '<script>alert("x")</script> & co'

    def spoil(e: LedgerEntry) -> LedgerEntry:
        if e.kind == "intake" and e.lead_id == "lead-b":
            return e.model_copy(update={"data": {**e.data, "source": nasty}})  # a source, a chart label
        if e.data.get("trigger") == "return_to_marketing":
            return e.model_copy(update={"data": {**e.data, "reason": nasty}})  # a reason, a table cell
        return e

    changed = [spoil(e) for e in entries]
    html = render_report_html(build_report(changed, now=NOW))
    assert "<script" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in html
    page = parse(html)
    assert nasty in " ".join(page.text)


def test_html_carries_no_notes_or_lead_ids(report: Report) -> None:
    html = render_report_html(report)
    for private in ("Ada", "ada@example.com", "7946", "lead-"):
        assert private not in html


def test_html_for_an_empty_period() -> None:
    html = render_report_html(build_report([], since=T0, now=T0 + timedelta(days=7)))
    page = parse(html)
    assert page.title == "Sales–Marketing review: 2026-03-02 09:00 UTC → 2026-03-09 09:00 UTC"
    assert "No activity in the period" in " ".join(page.text)
    assert "svg" not in page.tags
