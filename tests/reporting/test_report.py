"""`build_report`: every number of the review over the lives in conftest, the period, and edge cases
checked on hand-made entries."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

import pytest

from domain.state import LedgerEntry
from reporting.model import Funnel, RecycleFlow, Report, SourceQuality
from reporting.report import build_report, nearest_rank

from .conftest import NOW, T0, D, H, M

# --- the scenario, all time ------------------------------------------------------------------


@pytest.fixture(scope="module")
def report(entries: list[LedgerEntry]) -> Report:
    return build_report(entries, since=None, now=NOW)


def stages(funnel: Funnel) -> dict[str, tuple[int, int, float | None]]:
    """stage → (reached, entered, conversion rounded to 4 places)."""
    return {s.stage: (s.reached, s.entered, _round(s.conversion)) for s in funnel.stages}


def _round(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def test_period_and_leads(report: Report, entries: list[LedgerEntry]) -> None:
    assert (report.since, report.until) == (None, NOW)
    assert report.entries == len(entries)
    assert report.leads == 7


def test_funnel(report: Report) -> None:
    f = report.funnel
    assert f.leads == 7
    assert stages(f) == {
        "new": (7, 7, None),
        "mql": (7, 7, 1.0),  # C reached MQL by rejection, B by recycling: everyone went through it
        "sql": (6, 6, 0.8571),  # all but D
        "accepted": (3, 3, 0.5),  # A, B, C
        "customer": (1, 1, 0.3333),  # A
    }
    assert (f.lost, f.disqualified) == (1, 1)  # B; G (rejected as spam)
    assert f.overall_conversion == pytest.approx(1 / 7)


def test_funnel_by_tier_uses_the_tier_at_sql(report: Report) -> None:
    # E was recorded `low` at intake (before scoring) and high from then on: the tier at SQL counts.
    by_tier = {t.tier: t for t in report.funnel_by_tier}
    assert [t.tier for t in report.funnel_by_tier] == ["high", "medium", "low"]
    high, medium, low = by_tier["high"], by_tier["medium"], by_tier["low"]
    assert high.leads == 3  # A, E, H
    assert stages(high) == {
        "new": (3, 3, None),
        "mql": (3, 3, 1.0),
        "sql": (3, 3, 1.0),
        "accepted": (1, 1, 0.3333),
        "customer": (1, 1, 1.0),
    }
    assert high.overall_conversion == pytest.approx(1 / 3)
    assert medium.leads == 3  # B, C, G
    assert stages(medium)["accepted"] == (2, 2, 0.6667)
    assert stages(medium)["customer"] == (0, 0, 0.0)
    assert (medium.lost, medium.disqualified, medium.overall_conversion) == (1, 1, 0.0)
    assert low.leads == 1  # D never entered SQL: its latest tier
    assert stages(low) == {
        "new": (1, 1, None),
        "mql": (1, 1, 1.0),
        "sql": (0, 0, 0.0),
        "accepted": (0, 0, None),
        "customer": (0, 0, None),
    }


def test_speed_to_lead_per_rep(report: Report) -> None:
    reps = {r.rep: r for r in report.speed_to_lead.reps}
    assert list(reps) == ["r-01", "r-02", "r-03", "r-04"]
    r01, r02, r03, r04 = reps["r-01"], reps["r-02"], reps["r-03"], reps["r-04"]
    # r-01: A in 30m, B in 2h (from B's SQL entry, across r-02's missed attempt); E's attempt 2 overdue
    assert (r01.accepted, r01.measured, r01.p50_seconds, r01.p90_seconds) == (2, 2, 30 * 60, 2 * 3600)
    assert (r01.attempts, r01.open, r01.breached, _round(r01.breach_rate)) == (3, 0, 1, 0.3333)
    # r-02: B overdue, G rejected in time, H pending with its deadline ahead (open, left out of the rate)
    assert (r02.accepted, r02.measured, r02.p50_seconds, r02.p90_seconds) == (0, 0, None, None)
    assert (r02.attempts, r02.open, r02.breached, r02.breach_rate) == (3, 1, 1, 0.5)
    # r-03: C rejected in time, C accepted in 15m after its second entry into SQL, E's attempt 3 overdue
    assert (r03.accepted, r03.measured, r03.p50_seconds, r03.p90_seconds) == (1, 1, 900, 900)
    assert (r03.attempts, r03.open, r03.breached, _round(r03.breach_rate)) == (3, 0, 1, 0.3333)
    assert (r04.attempts, r04.breached, r04.breach_rate, r04.accepted) == (1, 1, 1.0, 0)


def test_speed_to_lead_total(report: Report) -> None:
    total = report.speed_to_lead.total
    assert total.rep == "all"
    assert (total.accepted, total.measured) == (3, 3)
    assert (total.p50_seconds, total.p90_seconds) == (30 * 60, 2 * 3600)  # of 15m, 30m, 2h
    assert (total.attempts, total.open, total.breached) == (10, 1, 4)
    assert total.breach_rate == pytest.approx(4 / 9)


def quality(report: Report) -> dict[str, SourceQuality]:
    return {q.source: q for q in report.quality_by_source}


def reasons(items: list[Any]) -> dict[str, int]:
    return {r.reason: r.count for r in items}


def test_quality_by_source(report: Report) -> None:
    by_source = quality(report)
    assert list(by_source) == ["web_form", "ad", "partner", "referral", "sales"]  # most leads first, then by name
    web = by_source["web_form"]
    assert (web.leads, web.ratings, web.average_rating) == (3, 2, 3.5)
    assert web.rating_counts == {1: 0, 2: 1, 3: 0, 4: 0, 5: 1}
    assert reasons(web.feedback_reasons) == {"good_fit": 1, "low_intent": 1}
    assert (web.feedback_missed, web.rejected, web.won, web.lost) == (0, 0, 1, 1)
    assert reasons(web.lost_reasons) == {"price": 1}
    referral = by_source["referral"]
    assert (referral.leads, referral.ratings, referral.average_rating, referral.feedback_missed) == (1, 0, None, 1)
    assert (referral.rejected, reasons(referral.reject_reasons)) == (1, {"not_interested": 1})
    sales = by_source["sales"]
    assert (sales.ratings, sales.average_rating, sales.rating_counts[1]) == (1, 1.0, 1)
    assert reasons(sales.feedback_reasons) == {"wrong_contact_details": 1}
    assert (sales.rejected, reasons(sales.reject_reasons)) == (1, {"spam": 1})
    for quiet in (by_source["ad"], by_source["partner"]):
        assert (quiet.leads, quiet.ratings, quiet.rejected, quiet.won, quiet.lost, quiet.feedback_missed) == (
            1,
            0,
            0,
            0,
            0,
            0,
        )


def flows(report: Report) -> dict[str, RecycleFlow]:
    return {f.flow: f for f in report.recycled.flows}


def test_recycled(report: Report) -> None:
    assert report.recycled.leads == 3
    by_flow = flows(report)
    assert list(by_flow) == ["returned_to_marketing", "recycled", "rejected_to_nurture"]
    returned, recycled, rejected = by_flow.values()
    assert (returned.count, returned.leads) == (1, 1)  # E, after three missed attempts
    assert reasons(returned.reasons) == {"no rep accepted after 3 attempt(s)": 1}
    assert (recycled.count, recycled.leads, reasons(recycled.reasons)) == (1, 1, {"price": 1})  # B, 90 days on
    assert (rejected.count, rejected.leads, reasons(rejected.reasons)) == (1, 1, {"not_interested": 1})  # C


def test_no_notes_or_lead_ids_in_the_report(report: Report) -> None:
    dumped = report.model_dump_json()
    for private in ("Ada", "ada@example.com", "7946", "lead-a", "lead-"):
        assert private not in dumped


def test_input_order_does_not_matter(entries: list[LedgerEntry], report: Report) -> None:
    shuffled = list(entries)
    random.Random(7).shuffle(shuffled)
    assert build_report(shuffled, since=None, now=NOW) == report


# --- the period -------------------------------------------------------------------------------


def test_since_counts_what_happened_from_then(entries: list[LedgerEntry]) -> None:
    since = T0 + D
    report = build_report(entries, since=since, now=NOW)
    assert report.since == since
    assert report.entries == sum(1 for e in entries if e.at >= since)
    # E's only later entries are temperature changes (engagement decay): not activity
    assert report.leads == 6
    assert stages(report.funnel) == {
        "new": (6, 1, None),  # only H was taken in after `since`
        "mql": (6, 3, 1.0),  # D nurtured (its download at exactly `since` counts), B recycled, H
        "sql": (5, 3, 0.8333),  # A, B, C were there; C, G, H entered
        "accepted": (3, 1, 0.6),  # A, B were accepted before; C accepted now
        "customer": (1, 1, 0.3333),  # A won after `since`
    }
    assert (report.funnel.lost, report.funnel.disqualified) == (1, 1)
    # speed and breaches: only attempts with an entry in the period
    reps = {r.rep: r for r in report.speed_to_lead.reps}
    assert list(reps) == ["r-02", "r-03"]
    assert (reps["r-03"].accepted, reps["r-03"].p50_seconds, reps["r-03"].breached) == (1, 900, 0)
    assert (reps["r-02"].attempts, reps["r-02"].open, reps["r-02"].breach_rate) == (2, 1, 0.0)
    # sources: every ledger row carries the lead's source, so D (intake before `since`) is known too
    by_source = quality(report)
    assert "unknown" not in by_source
    assert sum(q.leads for q in by_source.values()) == report.leads
    assert (by_source["web_form"].leads, by_source["web_form"].ratings) == (3, 2)
    assert (by_source["referral"].feedback_missed, by_source["referral"].rejected) == (1, 0)
    by_flow = flows(report)
    assert [(f.flow, f.count) for f in by_flow.values()] == [
        ("returned_to_marketing", 0),
        ("recycled", 1),
        ("rejected_to_nurture", 0),
    ]


def test_an_acceptance_whose_sql_entry_is_before_the_period_is_counted_not_timed(entries: list[LedgerEntry]) -> None:
    report = build_report(entries, since=T0 + H + 20 * M, now=NOW)  # after A entered SQL, before it was accepted
    r01 = {r.rep: r for r in report.speed_to_lead.reps}["r-01"]
    # A: SQL and its pending handoff before the period → accepted, not timed; B: timed (2h)
    assert (r01.accepted, r01.measured, r01.p50_seconds) == (2, 1, 2 * 3600)


def test_empty_ledger() -> None:
    report = build_report([], since=T0, now=NOW)
    assert (report.leads, report.entries, report.funnel.leads, report.funnel.overall_conversion) == (0, 0, 0, None)
    assert [s.reached for s in report.funnel.stages] == [0] * 5
    assert report.funnel_by_tier == []
    assert report.speed_to_lead.reps == []
    assert report.speed_to_lead.total.breach_rate is None
    assert report.quality_by_source == []
    assert report.recycled.leads == 0


def test_a_naive_since_is_utc(entries: list[LedgerEntry]) -> None:
    aware = build_report(entries, since=T0 + D, now=NOW)
    naive = build_report(entries, since=(T0 + D).replace(tzinfo=None), now=NOW)
    assert naive == aware


# --- percentiles ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "percent", "expected"),
    [
        ([], 50, None),
        ([7.0], 90, 7.0),
        ([1.0, 2.0], 50, 1.0),
        ([1.0, 2.0], 90, 2.0),
        ([5.0, 1.0, 4.0, 2.0, 3.0], 50, 3.0),
        ([float(v) for v in range(1, 11)], 90, 9.0),
        ([float(v) for v in range(1, 12)], 90, 10.0),
        ([float(v) for v in range(1, 21)], 50, 10.0),
        ([3.0, 1.0, 2.0], 100, 3.0),
    ],
)
def test_nearest_rank(values: list[float], percent: float, expected: float | None) -> None:
    assert nearest_rank(values, percent) == expected


# --- edge cases on hand-made entries ----------------------------------------------------------


class Ledger:
    """Hand-made entries for one lead, in sequence; `data` as `decide` records it."""

    def __init__(self, lead_id: str = "lead-x") -> None:
        self.lead_id = lead_id
        self.entries: list[LedgerEntry] = []

    def add(self, kind: Any, at: datetime, **data: Any) -> Ledger:
        self.entries.append(
            LedgerEntry(lead_id=self.lead_id, seq=len(self.entries) + 1, kind=kind, at=at, rules_version="v", data=data)
        )
        return self

    def qualify(self, at: datetime) -> Ledger:
        return self.add("transition", at, machine="lifecycle", source="mql", dest="sql", trigger="qualify", reason="x")

    def handoff(self, at: datetime, rep: str, attempt: int, status: str, **extra: Any) -> Ledger:
        context = {"stage": "sql", "temperature": "hot", "tier": "high", "score": 70.0}
        return self.add("handoff", at, rep=rep, attempt=attempt, status=status, **context, **extra)


def speed(entries: list[LedgerEntry], now: datetime = NOW) -> dict[str, Any]:
    return {r.rep: r for r in build_report(entries, now=now).speed_to_lead.reps}


def test_accepted_after_the_deadline_is_a_breach_without_an_overdue_entry() -> None:
    ledger = Ledger().qualify(T0).handoff(T0, "r-1", 1, "pending", deadline=(T0 + H).isoformat())
    ledger.handoff(T0 + H + M, "r-1", 1, "accepted")
    r = speed(ledger.entries)["r-1"]
    assert (r.attempts, r.breached, r.breach_rate, r.p50_seconds) == (1, 1, 1.0, 3660)


def test_accepted_at_the_deadline_is_in_time() -> None:
    ledger = Ledger().qualify(T0).handoff(T0, "r-1", 1, "pending", deadline=(T0 + H).isoformat())
    ledger.handoff(T0 + H, "r-1", 1, "accepted")
    assert speed(ledger.entries)["r-1"].breached == 0


def test_pending_past_its_deadline_at_the_end_of_the_period_is_a_breach() -> None:
    ledger = Ledger().qualify(T0).handoff(T0, "r-1", 1, "pending", deadline=(T0 + H).isoformat())
    before, after = speed(ledger.entries, now=T0 + 30 * M)["r-1"], speed(ledger.entries, now=T0 + 2 * H)["r-1"]
    assert (before.open, before.breached, before.breach_rate) == (1, 0, None)
    assert (after.open, after.breached, after.breach_rate) == (0, 1, 1.0)


def test_a_reassigned_attempt_is_closed_not_breached() -> None:
    ledger = Ledger().qualify(T0).handoff(T0, "r-1", 1, "pending", deadline=(T0 + H).isoformat())
    ledger.handoff(T0 + 10 * M, "r-2", 2, "pending", deadline=(T0 + 70 * M).isoformat())
    ledger.handoff(T0 + 20 * M, "r-2", 2, "accepted")
    reps = speed(ledger.entries)
    assert (reps["r-1"].attempts, reps["r-1"].open, reps["r-1"].breached) == (1, 0, 0)
    assert (reps["r-2"].accepted, reps["r-2"].p50_seconds, reps["r-2"].breached) == (1, 20 * 60, 0)


def test_a_handoff_without_a_rep_is_nobodys_attempt() -> None:
    ledger = Ledger().qualify(T0).handoff(T0, None, 1, "expired")  # type: ignore[arg-type]
    report = build_report(ledger.entries, now=NOW)
    assert report.speed_to_lead.reps == []
    assert report.speed_to_lead.total.attempts == 0


def test_a_duplicate_intake_is_not_a_new_lead_and_temperature_changes_are_not_activity() -> None:
    old = Ledger("lead-old").add("intake", T0, stage="mql", tier="medium", duplicate=True, duplicates=1)
    cooling = Ledger("lead-cool").add(
        "transition", T0, machine="temperature", source="hot", dest="warm", trigger="cool_to_warm", reason="x"
    )
    report = build_report(old.entries + cooling.entries, now=NOW)
    assert report.leads == 1
    assert stages(report.funnel)["new"] == (1, 0, None)
    assert stages(report.funnel)["mql"] == (1, 0, 1.0)
    assert [q.source for q in report.quality_by_source] == ["unknown"]


def test_feedback_names_the_source_when_the_intake_is_before_the_period() -> None:
    ledger = Ledger().add("feedback", T0, stage="customer", tier="high", rating=4, reasons=[], rep="r-1", source="ad")
    ledger.add("feedback", T0, stage="customer", tier="high", missed=True, rep="r-1", source="ad")
    (ad,) = build_report(ledger.entries, now=NOW).quality_by_source
    assert (ad.source, ad.leads, ad.ratings, ad.average_rating, ad.feedback_missed) == ("ad", 1, 1, 4.0, 1)
