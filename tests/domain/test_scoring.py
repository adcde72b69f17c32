"""Scoring: worked examples under the known test rules (see conftest), decay arithmetic included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from domain.models import LeadEvent
from domain.rules import FitCriterion, Rules
from domain.scoring import Score, decayed, matches, score
from domain.vocabulary import Temperature, Tier

from .conftest import T0, event, intake, make_rules

DAY = timedelta(days=1)
HALF_LIFE = timedelta(days=10)  # the test rules' engagement.half_life


@pytest.fixture(scope="module")
def flat_rules() -> Rules:
    """Test rules whose engagement practically does not decay, for cap arithmetic."""
    return make_rules({"engagement.half_life": "10000w"})


def lines(result: Score, kind: str | None = None) -> dict[str, float]:
    return {c.name: c.points for c in result.explanation if kind is None or c.kind == kind}


def assert_adds_up(result: Score) -> None:
    assert sum(c.points for c in result.explanation) == pytest.approx(result.total, abs=0.01)


# --- decay ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("points", "age", "expected"),
    [
        (10, timedelta(0), 10.0),
        (10, HALF_LIFE, 5.0),
        (10, 2 * HALF_LIFE, 2.5),
        (10, 3 * HALF_LIFE, 1.25),
        (40, HALF_LIFE / 2, 40 / 2**0.5),
        (10, -DAY, 10.0),  # an event "from the future" does not grow
    ],
)
def test_decayed_halves_once_per_half_life(points: float, age: timedelta, expected: float) -> None:
    assert decayed(points, age, HALF_LIFE) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("age", "expected"),
    [(timedelta(0), 10.0), (HALF_LIFE, 5.0), (2 * HALF_LIFE, 2.5), (3 * HALF_LIFE, 1.25), (5 * HALF_LIFE, 0.31)],
)
def test_ten_points_decay_in_the_score(rules: Rules, age: timedelta, expected: float) -> None:
    result = score(intake(), [event("form_submitted", T0 - age)], rules, T0)
    assert result.fit == 0
    assert result.engagement == expected
    assert result.total == expected
    assert lines(result, "engagement") == {"form_submitted": expected}
    assert_adds_up(result)


def test_worked_example_with_several_kinds(rules: Rules) -> None:
    events = [
        event("form_submitted", T0 - HALF_LIFE),  # 10 → 5
        event("email_clicked", T0),  # 5 → 5
        event("page_viewed", T0 - 2 * HALF_LIFE),  # 2 → 0.5
        event("order_placed", T0 - 3 * HALF_LIFE),  # 40 → 5
    ]
    lead = intake(attributes={"occupation": "working_professional"}, country="India")  # fit 20 + 5
    result = score(lead, events, rules, T0)
    assert result.fit == 25
    assert result.tier is Tier.HIGH
    assert lines(result, "fit") == {"working professional": 20, "in india": 5}
    assert lines(result, "engagement") == {
        "form_submitted": 5.0,
        "email_clicked": 5.0,
        "page_viewed": 0.5,
        "order_placed": 5.0,
    }
    assert result.engagement == 15.5
    assert result.total == 40.5
    assert result.temperature is Temperature.WARM
    assert_adds_up(result)


def test_events_after_now_are_ignored(rules: Rules) -> None:
    result = score(intake(), [event("order_placed", T0 + timedelta(seconds=1))], rules, T0)
    assert result.total == 0
    assert result.explanation == []


def test_event_kinds_without_points_do_not_appear(rules: Rules) -> None:
    result = score(intake(), [event("cart_viewed", T0), event("webinar_registered", T0)], rules, T0)
    assert result.total == 0
    assert lines(result) == {}


# --- daily caps -------------------------------------------------------------------------------


def test_daily_cap_limits_points_of_a_kind_per_day(flat_rules: Rules) -> None:
    views = [event("page_viewed", T0 + timedelta(minutes=i)) for i in range(5)]  # 5 x 2, cap 6
    result = score(intake(), views, flat_rules, T0 + DAY / 2)
    assert lines(result, "engagement") == {"page_viewed": 6.0}
    detail = next(c.detail for c in result.explanation if c.name == "page_viewed")
    assert detail.startswith("5 event(s)")


def test_daily_cap_is_per_kind(flat_rules: Rules) -> None:
    events = [event("page_viewed", T0 + timedelta(minutes=i)) for i in range(4)]
    events += [event("email_opened", T0 + timedelta(minutes=i)) for i in range(3)]  # 3 x 4, cap 8
    result = score(intake(), events, flat_rules, T0 + DAY / 2)
    assert lines(result, "engagement") == {"page_viewed": 6.0, "email_opened": 8.0}


def test_daily_cap_resets_at_utc_midnight(flat_rules: Rules) -> None:
    late = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
    events = [event("page_viewed", late + timedelta(minutes=i)) for i in range(4)]  # day 1: 6
    events += [event("page_viewed", late + timedelta(hours=1, minutes=i)) for i in range(4)]  # day 2: 6
    result = score(intake(), events, flat_rules, late + DAY)
    assert lines(result, "engagement") == {"page_viewed": 12.0}


def test_daily_cap_counts_utc_days_not_local_days(flat_rules: Rules) -> None:
    india = timezone_hours(5, 30)
    new_york = timezone_hours(-5)
    events = [
        # local 2 March 23:30 and local 3 March 01:00 in India: both on 2 March UTC
        event("page_viewed", datetime(2026, 3, 2, 23, 30, tzinfo=india)),
        event("page_viewed", datetime(2026, 3, 3, 1, 0, tzinfo=india)),
        event("page_viewed", datetime(2026, 3, 2, 15, 0, tzinfo=UTC)),
        event("page_viewed", datetime(2026, 3, 2, 16, 0, tzinfo=UTC)),
        # local 2 March 23:30 in New York: 3 March UTC, a fresh day
        event("page_viewed", datetime(2026, 3, 2, 23, 30, tzinfo=new_york)),
    ]
    result = score(intake(), events, flat_rules, datetime(2026, 3, 4, tzinfo=UTC))
    assert lines(result, "engagement") == {"page_viewed": 8.0}


def timezone_hours(hours: int, minutes: int = 0) -> timezone:
    sign = -1 if hours < 0 else 1
    return timezone(sign * timedelta(hours=abs(hours), minutes=minutes))


def test_cap_applies_before_decay(rules: Rules) -> None:
    day = T0 - HALF_LIFE
    views = [event("page_viewed", day + timedelta(minutes=i)) for i in range(10)]  # capped at 6, then halved
    result = score(intake(), views, rules, day + HALF_LIFE + timedelta(minutes=5))
    assert lines(result, "engagement")["page_viewed"] == pytest.approx(3.0, abs=0.01)


# --- penalties and bounds ---------------------------------------------------------------------


def test_penalties_do_not_decay(rules: Rules) -> None:
    events = [event("unsubscribed", T0 - 100 * DAY), event("email_bounced", T0 - 3 * HALF_LIFE)]
    lead = intake(attributes={"occupation": "working_professional"}, company="Acme")  # fit 23
    result = score(lead, events, rules, T0 + 365 * DAY)
    assert lines(result, "penalty") == {"unsubscribed": -20.0, "email_bounced": -10.0}
    assert result.fit == 23
    assert result.engagement == -30
    assert result.total == 0  # bounded
    bound = [c for c in result.explanation if c.kind == "bound"]
    assert [(c.name, c.points) for c in bound] == [("score bounded to 0-100", 7.0)]
    assert_adds_up(result)


def test_score_is_bounded_to_100_with_an_explanation_line(rules: Rules) -> None:
    lead = intake(source="referral", attributes={"occupation": "working_professional", "budget": 5000})  # fit 60
    events = [event("order_placed", T0), event("quote_requested", T0), event("trial_started", T0)]  # 100
    result = score(lead, events, rules, T0)
    assert result.fit == 60
    assert result.engagement == 100
    assert result.total == 100
    assert [(c.kind, c.points) for c in result.explanation if c.kind == "bound"] == [("bound", -60.0)]
    assert_adds_up(result)


def test_no_bound_line_within_bounds(rules: Rules) -> None:
    result = score(intake(), [event("order_placed", T0)], rules, T0)
    assert all(c.kind != "bound" for c in result.explanation)


def test_negative_fit_criterion_counts(rules: Rules) -> None:
    lead = intake(consent={"do_not_email": True}, attributes={"occupation": "working_professional"})
    result = score(lead, [event("order_placed", T0)], rules, T0)
    assert lines(result, "fit") == {"working professional": 20, "asked not to be e-mailed": -15}
    assert result.fit == 5
    assert result.total == 45


# --- fit criteria and tiers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "fit", "tier"),
    [
        ({}, 0, Tier.LOW),
        ({"company": "Acme"}, 3, Tier.LOW),
        ({"attributes": {"budget": 1000}}, 10, Tier.MEDIUM),  # exactly medium
        ({"attributes": {"budget": 999.5}}, 0, Tier.LOW),
        ({"attributes": {"occupation": "working_professional"}, "company": "Acme"}, 23, Tier.MEDIUM),
        ({"attributes": {"occupation": "Working_Professional "}, "country": "India"}, 25, Tier.HIGH),  # exactly high
        ({"source": "sales"}, 25, Tier.HIGH),
        ({"source": "partner", "consent": {"do_not_email": True}}, 15, Tier.MEDIUM),
        ({"consent": {"do_not_email": True}}, -15, Tier.LOW),
    ],
)
def test_fit_points_set_the_tier(rules: Rules, fields: dict[str, Any], fit: float, tier: Tier) -> None:
    result = score(intake(**fields), [], rules, T0)
    assert result.fit == fit
    assert result.tier is tier
    assert sum(c.points for c in result.explanation if c.kind == "fit") == fit


def criterion(**fields: Any) -> FitCriterion:
    return FitCriterion.model_validate({"name": "c", "points": 1, **fields})


@pytest.mark.parametrize(
    ("crit", "lead_fields", "expected"),
    [
        ({"field": "attributes.industry", "op": "equals", "value": "Software"}, {"industry": "software"}, True),
        ({"field": "attributes.industry", "op": "equals", "value": "software"}, {"industry": "hardware"}, False),
        ({"field": "attributes.industry", "op": "equals", "value": "software"}, {}, False),
        ({"field": "attributes.size", "op": "equals", "value": 50}, {"size": 50}, True),
        ({"field": "attributes.size", "op": "one_of", "value": [10, 50]}, {"size": 50}, True),
        ({"field": "attributes.size", "op": "one_of", "value": [10, 20]}, {"size": 50}, False),
        ({"field": "attributes.size", "op": "range", "min": 10, "max": 50}, {"size": 50}, True),
        ({"field": "attributes.size", "op": "range", "min": 10, "max": 50}, {"size": 10}, True),
        ({"field": "attributes.size", "op": "range", "min": 10, "max": 50}, {"size": 51}, False),
        ({"field": "attributes.size", "op": "range", "max": 50}, {"size": -1000}, True),
        ({"field": "attributes.size", "op": "range", "min": 10}, {"size": "25"}, True),  # numeric text
        ({"field": "attributes.size", "op": "range", "min": 10}, {"size": "many"}, False),
        ({"field": "attributes.size", "op": "range", "min": 0}, {"size": True}, False),  # a bool is no number
        ({"field": "attributes.size", "op": "present"}, {"size": 0}, True),
        ({"field": "attributes.size", "op": "present"}, {"size": ""}, False),
        ({"field": "attributes.size", "op": "absent"}, {}, True),
        ({"field": "attributes.size", "op": "absent"}, {"size": 3}, False),
    ],
)
def test_fit_operators(crit: dict[str, Any], lead_fields: dict[str, Any], expected: bool) -> None:
    assert matches(criterion(**crit), intake(attributes=lead_fields)) is expected


@pytest.mark.parametrize(
    ("crit", "lead_fields", "expected"),
    [
        ({"field": "email_domain", "op": "equals", "value": "example.com"}, {}, True),
        ({"field": "email_domain", "op": "absent"}, {"email": None, "external_id": "x-1"}, True),
        ({"field": "source", "op": "equals", "value": "referral"}, {"source": "referral"}, True),
        ({"field": "source", "op": "one_of", "value": ["ad", "chat"]}, {"source": "referral"}, False),
        ({"field": "do_not_call", "op": "equals", "value": True}, {"consent": {"do_not_call": True}}, True),
        ({"field": "do_not_call", "op": "equals", "value": True}, {}, False),
        ({"field": "city", "op": "present"}, {"city": "Pune"}, True),
        ({"field": "referrer", "op": "absent"}, {}, True),
    ],
)
def test_fit_reads_intake_fields(crit: dict[str, Any], lead_fields: dict[str, Any], expected: bool) -> None:
    assert matches(criterion(**crit), intake(**lead_fields)) is expected


# --- temperature ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kinds", "total", "temperature"),
    [
        ([], 0, Temperature.COLD),
        (["form_submitted"], 10, Temperature.COLD),
        (["form_submitted", "form_submitted", "chat_started"], 28, Temperature.COLD),
        (["trial_started"], 30, Temperature.WARM),  # exactly warm
        (["order_placed", "form_submitted"], 50, Temperature.WARM),
        (["order_placed", "form_submitted", "pricing_page_viewed"], 60, Temperature.HOT),  # exactly hot
    ],
)
def test_temperature_by_score_thresholds(
    rules: Rules, kinds: list[str], total: float, temperature: Temperature
) -> None:
    result = score(intake(), [event(k, T0) for k in kinds], rules, T0)
    assert result.total == total
    assert result.temperature is temperature


@pytest.mark.parametrize(
    ("kind", "window", "during", "after"),
    [
        ("subscribed", timedelta(days=7), Temperature.WARM, Temperature.COLD),
        ("webinar_attended", timedelta(days=7), Temperature.WARM, Temperature.COLD),
        ("contact_requested", timedelta(days=2), Temperature.HOT, Temperature.COLD),
    ],
)
def test_signals_set_temperature_for_their_window(
    rules: Rules, kind: str, window: timedelta, during: Temperature, after: Temperature
) -> None:
    events = [event(kind, T0)]
    at_once = score(intake(), events, rules, T0)
    assert at_once.total < 30  # the score alone would make it cold
    assert at_once.temperature is during
    assert at_once.next_change_at == T0 + window
    assert score(intake(), events, rules, T0 + window - timedelta(seconds=1)).temperature is during
    assert score(intake(), events, rules, T0 + window).temperature is after


def test_hot_signal_over_a_warm_score_cools_to_warm(rules: Rules) -> None:
    events = [event("order_placed", T0), event("contact_requested", T0)]  # 65 → hot anyway
    assert score(intake(), events, rules, T0).temperature is Temperature.HOT
    events = [event("trial_started", T0), event("contact_requested", T0 - timedelta(days=1))]
    now = T0 + timedelta(hours=1)
    result = score(intake(), events, rules, now)
    assert result.temperature is Temperature.HOT and result.total < 60
    assert result.next_change_at == T0 + timedelta(days=1)
    assert score(intake(), events, rules, T0 + timedelta(days=1)).temperature is Temperature.WARM


# --- when the score will next change by decay alone -------------------------------------------


def crossing_check(rules: Rules, events: list[LeadEvent], before: Temperature, after: Temperature) -> None:
    result = score(intake(), events, rules, T0)
    assert result.temperature is before
    change = result.next_change_at
    assert change is not None and change > T0
    just_before = score(intake(), events, rules, change - timedelta(seconds=1))
    just_after = score(intake(), events, rules, change)
    assert just_before.temperature is before
    assert just_after.temperature is after


def test_next_change_is_when_decay_crosses_the_warm_threshold(rules: Rules) -> None:
    events = [event("order_placed", T0)]  # 40 now; below 30 after h·log2(40/30) = 4.15 days
    result = score(intake(), events, rules, T0)
    exact = T0 + HALF_LIFE * 0.41503749927884376  # log2(4/3)
    assert result.next_change_at is not None
    assert abs(result.next_change_at - exact) < timedelta(minutes=10)
    crossing_check(rules, events, Temperature.WARM, Temperature.COLD)
    change = result.next_change_at
    assert score(intake(), events, rules, change - timedelta(seconds=1)).total >= 30
    assert score(intake(), events, rules, change).total < 30


def test_next_change_is_when_decay_crosses_the_hot_threshold(rules: Rules) -> None:
    events = [event("order_placed", T0), event("trial_started", T0)]  # 70, hot
    crossing_check(rules, events, Temperature.HOT, Temperature.WARM)


def test_next_change_with_several_kinds_and_fit(rules: Rules) -> None:
    lead = intake(company="Acme")  # fit 3
    events = [
        event("order_placed", T0 - timedelta(days=1)),
        event("page_viewed", T0 - timedelta(hours=3)),
        event("email_clicked", T0 - timedelta(days=2)),
    ]
    result = score(lead, events, rules, T0)
    assert result.temperature is Temperature.WARM
    change = result.next_change_at
    assert change is not None
    assert score(lead, events, rules, change - timedelta(seconds=1)).total >= 30
    assert score(lead, events, rules, change).total < 30


def test_next_change_also_watches_lifecycle_thresholds(rules: Rules) -> None:
    events = [event("email_clicked", T0), event("form_submitted", T0), event("form_submitted", T0)]  # 25 ≥ mql 20
    result = score(intake(), events, rules, T0)
    assert result.temperature is Temperature.COLD
    change = result.next_change_at
    assert change is not None
    assert score(intake(), events, rules, change - timedelta(seconds=1)).total >= 20
    assert score(intake(), events, rules, change).total < 20


def test_next_change_takes_the_earliest_of_threshold_and_signal(rules: Rules) -> None:
    events = [event("order_placed", T0), event("subscribed", T0 - timedelta(days=6))]  # 44.xx, signal ends in 1 day
    result = score(intake(), events, rules, T0)
    assert result.next_change_at == T0 + timedelta(days=1)


def test_no_next_change_without_decaying_engagement(rules: Rules) -> None:
    assert score(intake(), [], rules, T0).next_change_at is None
    assert score(intake(), [event("unsubscribed", T0)], rules, T0).next_change_at is None
    assert score(intake(), [event("form_submitted", T0)], rules, T0).next_change_at is None  # below all thresholds


def test_no_next_change_when_fit_alone_holds_every_threshold(rules: Rules) -> None:
    lead = intake(
        source="referral",
        country="India",
        company="Acme",
        attributes={"occupation": "working_professional", "budget": 5000},
    )  # fit 68 ≥ every threshold
    result = score(lead, [event("form_submitted", T0)], rules, T0)
    assert result.fit == 68
    assert result.next_change_at is None
