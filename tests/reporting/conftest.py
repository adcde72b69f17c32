"""Seven lead lives driven through the real `decide` under `rules/default.yaml`, as the ledger holds them.

Tiers come from the default fit criteria (each life asserts the tier it counts on, so a
recalibration that changes one fails here, plainly): a working professional is high (47), a
student with a career motive is medium (18), a referral alone is medium (25) and skips to SQL,
a partner with a profile is high (43) and skips to SQL, `sales` is medium (20), nothing is low.

| lead | source   | tier   | life                                                                        |
|------|----------|--------|-----------------------------------------------------------------------------|
| A    | web_form | high   | quote +1h → SQL, r-01 accepts +1h30m (30m), won +5d, rated 5 good_fit        |
| B    | web_form | medium | quote +2h → SQL, r-02 misses 1h SLA, r-01 accepts +4h (2h), lost price,    |
|      |          |        | rated 2 low_intent, recycled 90 days later                                  |
| C    | referral | medium | fast-tracked SQL at intake, r-03 rejects not_interested, feedback missed;  |
|      |          |        | quote +20d → SQL again, r-03 accepts in 15m, no outcome yet                 |
| D    | ad       | low    | page view, content download +1d → MQL                                       |
| E    | partner  | high   | fast-tracked SQL, r-04, r-01, r-03 each miss the 2h SLA → back to marketing |
| G    | sales    | medium | quote +3d → SQL, r-02 rejects spam in 20m → disqualified, rated 1           |
| H    | web_form | high   | quote 30m before the report, r-02 holds it, deadline still ahead           |
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.rules import Rules
from domain.state import LedgerEntry
from domain.vocabulary import Stage, Tier

from .lives import Life

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=120)
M, H, D = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)

HIGH = {"attributes": {"occupation": "working_professional"}}
MEDIUM = {"attributes": {"occupation": "student", "motivation": "better_career_prospects"}}


def _tier(life: Life, tier: Tier) -> None:
    assert life.state is not None
    assert life.state.tier is tier, f"{life.lead_id}: rules/default.yaml no longer makes this lead {tier.value}"


def lives(rules: Rules) -> dict[str, Life]:
    a = Life(rules, "lead-a", T0, source="web_form", **HIGH)
    _tier(a, Tier.HIGH)
    a.event("quote_requested", T0 + H)
    a.assign("r-01", T0 + H)
    a.accept("r-01", T0 + H + 30 * M)
    a.outcome("won", T0 + 5 * D)
    a.feedback(5, T0 + 6 * D, "good_fit", note="call Ada Lovelace on +44 20 7946 0000")

    b = Life(rules, "lead-b", T0, source="web_form", **MEDIUM)
    _tier(b, Tier.MEDIUM)
    b.event("quote_requested", T0 + 2 * H)
    b.assign("r-02", T0 + 2 * H)
    b.run_until(T0 + 3 * H + 30 * M)  # overdue at +3h, escalated at +3h30m: attempt 2 asked for
    b.assign("r-01", T0 + 3 * H + 30 * M)
    b.accept("r-01", T0 + 4 * H)
    b.outcome("lost", T0 + 10 * D, reason="price")
    b.feedback(2, T0 + 11 * D, "low_intent")

    c = Life(rules, "lead-c", T0, source="referral")
    _tier(c, Tier.MEDIUM)
    assert c.state is not None and c.state.stage is Stage.SQL
    c.assign("r-03", T0)
    c.reject("r-03", "not_interested", T0 + 5 * H, note="ada@example.com asked to wait")
    c.event("quote_requested", T0 + 20 * D)
    c.assign("r-03", T0 + 20 * D)
    c.accept("r-03", T0 + 20 * D + 15 * M)

    d = Life(rules, "lead-d", T0, source="ad")
    _tier(d, Tier.LOW)
    d.event("page_viewed", T0 + H)
    d.event("content_downloaded", T0 + D)

    e = Life(rules, "lead-e", T0, source="partner", **MEDIUM)
    _tier(e, Tier.HIGH)
    e.assign("r-04", T0)
    e.run_until(T0 + 2 * H + 30 * M)
    e.assign("r-01", T0 + 2 * H + 30 * M)
    e.run_until(T0 + 5 * H)
    e.assign("r-03", T0 + 5 * H)

    g = Life(rules, "lead-g", T0, source="sales")
    _tier(g, Tier.MEDIUM)
    g.event("quote_requested", T0 + 3 * D)
    g.assign("r-02", T0 + 3 * D)
    g.reject("r-02", "spam", T0 + 3 * D + 20 * M)
    g.feedback(1, T0 + 4 * D, "wrong_contact_details")

    h = Life(rules, "lead-h", NOW - H, source="web_form", **HIGH)
    h.event("quote_requested", NOW - 30 * M)
    h.assign("r-02", NOW - 30 * M)

    everyone = {"A": a, "B": b, "C": c, "D": d, "E": e, "G": g, "H": h}
    for life in everyone.values():
        life.run_until(NOW)
    return everyone


def ledger_order(entries: list[LedgerEntry]) -> list[LedgerEntry]:
    """As `Ledger.all_entries` returns them: by time, then lead and sequence."""
    return sorted(entries, key=lambda e: (e.at, e.lead_id, e.seq))


@pytest.fixture(scope="session")
def scenario(default_rules: Rules) -> dict[str, Life]:
    return lives(default_rules)


@pytest.fixture(scope="session")
def entries(scenario: dict[str, Life]) -> list[LedgerEntry]:
    return ledger_order([entry for life in scenario.values() for entry in life.entries])
