"""The X Education mapping and the back-test: real data, real engine, no forbidden columns."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import starter
from domain.backtest import REFERENCE_TIME, BacktestReport, backtest, replay, roc_auc, summarise
from domain.rules import Rules
from domain.rules_file import parse_rules
from domain.vocabulary import EventKind, Source
from domain.xeducation import (
    FORBIDDEN_COLUMNS,
    SCORING_COLUMNS,
    TAG_REASONS,
    MalformedRow,
    feedback_of,
    map_row,
    outcome_of,
)

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RULES = ROOT / "rules" / "default.yaml"
LEADS_CSV = ROOT.parent / "shared" / "data" / "x-education-leads.csv"
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

Rows = list[tuple[int, dict[str, str]]]


@pytest.fixture(scope="module")
def rules() -> Rules:
    return parse_rules(DEFAULT_RULES.read_text(encoding="utf-8"), "rules/default.yaml")


@pytest.fixture(scope="module")
def csv_rows() -> Rows:
    assert LEADS_CSV.exists(), f"the shared data set is missing: {LEADS_CSV}"
    rows, bad = starter.read_leads_csv(str(LEADS_CSV))
    assert bad == []
    return rows


@pytest.fixture(scope="module")
def full_report(rules: Rules, csv_rows: Rows) -> BacktestReport:
    results, skipped = starter.replay_in_parallel(rules, csv_rows, workers=max(2, os.cpu_count() or 1))
    return summarise(rules.version, results, skipped)


def a_row(**overrides: str) -> dict[str, str]:
    """A complete row in the CSV's format; every column present."""
    row = {
        "Prospect ID": "7927b2df-8bba-4d29-b9a2-b6e0beafe620",
        "Lead Number": "660737",
        "Lead Origin": "Landing Page Submission",
        "Lead Source": "Google",
        "Do Not Email": "No",
        "Do Not Call": "No",
        "Converted": "1",
        "TotalVisits": "3",
        "Total Time Spent on Website": "674",
        "Page Views Per Visit": "2.5",
        "Last Activity": "Email Opened",
        "Country": "India",
        "Specialization": "Banking, Investment And Insurance",
        "How did you hear about X Education": "Select",
        "What is your current occupation": "Working Professional",
        "What matters most to you in choosing a course": "Better Career Prospects",
        "Search": "No",
        "Magazine": "No",
        "Newspaper Article": "No",
        "X Education Forums": "No",
        "Newspaper": "No",
        "Digital Advertisement": "No",
        "Through Recommendations": "No",
        "Receive More Updates About Our Courses": "No",
        "Tags": "Will revert after reading the email",
        "Lead Quality": "Might be",
        "Update me on Supply Chain Content": "No",
        "Get updates on DM Content": "No",
        "Lead Profile": "Potential Lead",
        "City": "Mumbai",
        "Asymmetrique Activity Index": "02.Medium",
        "Asymmetrique Profile Index": "01.High",
        "Asymmetrique Activity Score": "14",
        "Asymmetrique Profile Score": "18",
        "I agree to pay the amount through cheque": "No",
        "A free copy of Mastering The Interview": "Yes",
        "Last Notable Activity": "Email Opened",
    }
    row.update(overrides)
    return row


# --- the mapping ---------------------------------------------------------------------------


def test_a_row_maps_to_intake_attributes_and_consent() -> None:
    intake = map_row(a_row(), T0).intake
    assert intake.external_id == "7927b2df-8bba-4d29-b9a2-b6e0beafe620"
    assert intake.source is Source.PAID_SEARCH
    assert intake.country == "India"
    assert intake.city == "Mumbai"
    assert intake.received_at == T0
    assert intake.consent.do_not_email is False
    assert intake.attributes["lead_origin"] == "landing_page_submission"
    assert intake.attributes["lead_source"] == "google"
    assert intake.attributes["occupation"] == "working_professional"
    assert intake.attributes["motivation"] == "better_career_prospects"
    assert intake.attributes["specialization"] == "banking_investment_and_insurance"
    assert intake.attributes["wants_interview_guide"] is True
    assert intake.attributes["saw_ad_in_search"] is False
    assert "heard_from" not in intake.attributes  # "Select" is missing


def test_engagement_becomes_events_in_a_fixed_order_a_minute_apart() -> None:
    events = map_row(a_row(), T0).events
    kinds = [e.kind for e in events]
    # the interview guide at intake; 3 visits; 674 s = 2 full 5-minute blocks; the last activity
    assert kinds == [
        EventKind.CONTENT_DOWNLOADED,
        EventKind.PAGE_VIEWED,
        EventKind.PAGE_VIEWED,
        EventKind.PAGE_VIEWED,
        EventKind.PRODUCT_PAGE_VIEWED,
        EventKind.PRODUCT_PAGE_VIEWED,
        EventKind.EMAIL_OPENED,
    ]
    assert events[0].occurred_at == T0
    assert [e.occurred_at - T0 for e in events[1:]] == [timedelta(minutes=m) for m in range(1, 7)]
    assert events[1].properties == {"visit": 1, "pages": 2.5}
    assert events[1].event_id == "7927b2df-8bba-4d29-b9a2-b6e0beafe620:visit-1"
    assert len({e.event_id for e in events}) == len(events)
    assert map_row(a_row(), T0) == map_row(a_row(), T0)  # deterministic


@pytest.mark.parametrize(
    ("activity", "kind"),
    [
        ("Had a Phone Conversation", EventKind.CALL_CONNECTED),
        ("Approached upfront", EventKind.CONTACT_REQUESTED),
        ("Olark Chat Conversation", EventKind.CHAT_STARTED),
        ("Email Bounced", EventKind.EMAIL_BOUNCED),
        ("SMS Sent", None),
        ("Unreachable", None),
        ("Converted to Lead", None),
        ("", None),
    ],
)
def test_last_activity_becomes_one_event_or_none(activity: str, kind: EventKind | None) -> None:
    row = a_row(**{"Last Activity": activity, "TotalVisits": "0", "Total Time Spent on Website": "0"})
    row["A free copy of Mastering The Interview"] = "No"
    events = map_row(row, T0).events
    assert [e.kind for e in events] == ([kind] if kind else [])


def test_sources_referral_and_partner_but_not_referral_sites() -> None:
    assert map_row(a_row(**{"Lead Source": "Reference"}), T0).intake.source is Source.REFERRAL
    assert map_row(a_row(**{"Lead Source": "Welingak Website"}), T0).intake.source is Source.PARTNER
    assert map_row(a_row(**{"Lead Source": "Referral Sites"}), T0).intake.source is Source.OTHER
    unknown = map_row(a_row(**{"Lead Source": "Carrier Pigeon"}), T0).intake
    assert unknown.source is Source.OTHER
    assert unknown.attributes["lead_source"] == "carrier_pigeon"


def test_outcome_and_sales_feedback_are_read_separately(rules: Rules) -> None:
    assert outcome_of(a_row(Converted="1")) is True
    assert outcome_of(a_row(Converted="0")) is False
    assert outcome_of(a_row(Converted="")) is None
    feedback = feedback_of(a_row())
    assert (feedback.rating, feedback.reason, feedback.tag) == (4, "no_decision", None)
    odd = feedback_of(a_row(Tags="Called twice", **{"Lead Quality": ""}))
    assert (odd.rating, odd.reason, odd.tag) == (None, None, "Called twice")
    known = set(rules.reasons.reject) | set(rules.reasons.lost) | set(rules.reasons.feedback)
    assert set(TAG_REASONS.values()) <= known


class _Watched(dict[str, str]):
    """A row that remembers which columns were looked at."""

    def __init__(self, row: dict[str, str]) -> None:
        super().__init__(row)
        self.seen: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.seen.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.seen.add(str(key))
        return super().__contains__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.seen.add(key)
        return super().get(key, default)

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("the mapping must ask for columns by name, not walk the row")


def test_the_mapping_never_looks_at_a_forbidden_column() -> None:
    row = _Watched(a_row())
    map_row(row, T0)
    assert row.seen, "the watcher saw nothing"
    assert row.seen <= SCORING_COLUMNS
    assert not row.seen & set(FORBIDDEN_COLUMNS)


def test_scrambling_the_forbidden_columns_changes_no_score(rules: Rules, csv_rows: Rows) -> None:
    sample = csv_rows[::25]  # ~260 leads across the file
    rng = random.Random(7)
    scrambled: Rows = []
    for line, row in sample:
        other = dict(row)
        for column in FORBIDDEN_COLUMNS:
            # `Converted` stays a valid outcome (it is read, for evaluation); the rest may be anything
            choices = ["0", "1", ""] if column == "Converted" else [r[column] for _, r in sample] + ["garbage", ""]
            other[column] = rng.choice(choices)
        scrambled.append((line, other))
    before, skipped_before = replay(rules, sample)
    after, skipped_after = replay(rules, scrambled)
    assert skipped_before == skipped_after == []
    scores = [(r.line, r.stage, r.temperature, r.tier, r.score) for r in before]
    assert scores == [(r.line, r.stage, r.temperature, r.tier, r.score) for r in after]
    assert len({r.score for r in before}) > 20  # the scores are not trivially constant


@pytest.mark.parametrize(
    ("overrides", "column", "problem"),
    [
        ({"TotalVisits": "three"}, "TotalVisits", "'three' is not a number"),
        ({"Total Time Spent on Website": "-5"}, "Total Time Spent on Website", "must be a number >= 0"),
        ({"Do Not Email": "maybe"}, "Do Not Email", "is not Yes or No"),
        ({"Prospect ID": ""}, "Prospect ID", "is empty"),
        ({"Prospect ID": "has spaces in it"}, "Prospect ID", "is not an identifier"),
        ({"Last Activity": "Sent a Carrier Pigeon"}, "Last Activity", "is not a known activity"),
        ({"Country": "X" * 300}, "Country", "at most 200"),
    ],
)
def test_a_malformed_row_names_the_column(overrides: dict[str, str], column: str, problem: str) -> None:
    with pytest.raises(MalformedRow) as caught:
        map_row(a_row(**overrides), T0)
    assert caught.value.column == column
    assert problem in str(caught.value)
    assert str(caught.value).startswith(f"column {column!r}: ")


def test_a_short_row_is_malformed() -> None:
    row: dict[str, str | None] = dict(a_row())
    row["City"] = None  # what csv.DictReader gives for a row shorter than the header
    with pytest.raises(MalformedRow, match="fewer fields than the header"):
        map_row(row, T0)


# --- the back-test -------------------------------------------------------------------------


def test_malformed_rows_are_reported_by_line_and_skipped(rules: Rules) -> None:
    rows = [
        (2, a_row()),
        (3, a_row(TotalVisits="lots", **{"Prospect ID": "p-3"})),
        (4, a_row(**{"Prospect ID": "p-4"})),
        (5, a_row(Converted="maybe", **{"Prospect ID": "p-5"})),
        (6, a_row(**{"Do Not Call": "?", "Prospect ID": "p-6"})),
    ]
    report = backtest(rules, rows)
    assert report.leads == 2
    assert [(s.line, s.error.split(":")[0]) for s in report.skipped] == [
        (3, "column 'TotalVisits'"),
        (5, "column 'Converted'"),
        (6, "column 'Do Not Call'"),
    ]


def test_the_backtest_uses_the_engine(rules: Rules) -> None:
    # a referral with a profile is fast-tracked to SQL at intake; a bare chat lead stays new
    referral = a_row(**{"Lead Source": "Reference", "Lead Origin": "Lead Add Form", "Last Activity": ""})
    bare = a_row(
        **{
            "Prospect ID": "bare-1",
            "Lead Source": "Olark Chat",
            "Lead Origin": "API",
            "What is your current occupation": "",
            "What matters most to you in choosing a course": "",
            "TotalVisits": "0",
            "Total Time Spent on Website": "0",
            "A free copy of Mastering The Interview": "No",
            "Last Activity": "Converted to Lead",
            "Converted": "0",
        }
    )
    report = backtest(rules, [(2, referral), (3, bare)])
    assert report.by_stage["sql"] == 1
    assert report.by_stage["new"] == 1
    assert report.by_tier["high"] == 1
    assert report.by_tier["low"] == 1
    assert report.auc == 1.0
    assert report.conversion_by_tier == {"high": 1.0, "low": 0.0}


def test_parallel_replay_equals_the_plain_one(rules: Rules, csv_rows: Rows) -> None:
    sample = csv_rows[:400]
    plain = backtest(rules, sample, REFERENCE_TIME)
    results, skipped = starter.replay_in_parallel(rules, sample, workers=2)
    assert summarise(rules.version, results, skipped) == plain


@pytest.mark.parametrize(
    ("scores", "positives", "auc"),
    [
        ([1, 2, 3, 4], [False, False, True, True], 1.0),
        ([4, 3, 2, 1], [False, False, True, True], 0.0),
        ([5, 5, 5, 5], [False, True, False, True], 0.5),
        ([1, 2, 2, 3], [False, True, False, True], 0.875),  # one tied pair counts half
        ([1, 1, 2], [True, False, False], 0.25),
    ],
)
def test_roc_auc_is_exact_with_ties(scores: list[float], positives: list[bool], auc: float) -> None:
    assert roc_auc(scores, positives) == pytest.approx(auc)


def test_roc_auc_needs_both_classes() -> None:
    assert roc_auc([1, 2], [True, True]) is None
    assert roc_auc([], []) is None


def test_default_rules_rank_the_real_leads(full_report: BacktestReport) -> None:
    assert full_report.leads == 6448
    assert full_report.skipped == []
    assert full_report.outcomes == 6448
    assert full_report.auc is not None
    assert full_report.auc >= 0.80, f"ROC AUC {full_report.auc} < 0.80 with rules/default.yaml"


def test_default_rules_spread_the_real_leads_sensibly(full_report: BacktestReport) -> None:
    for counts in (full_report.by_tier, full_report.by_stage, full_report.by_temperature):
        assert max(counts.values()) < 0.7 * full_report.leads, counts
    assert all(full_report.by_tier[t] >= 0.1 * full_report.leads for t in ("high", "medium", "low"))
    assert full_report.by_stage["sql"] >= 0.1 * full_report.leads
    rate = full_report.conversion_by_tier
    assert rate["high"] > rate["medium"] > rate["low"]
    assert rate["high"] - rate["low"] > 0.5
    assert full_report.conversion_by_stage["sql"] > 0.7  # what sales gets mostly converts
