"""Explainable scoring: fit + decaying engagement → total (0–100), tier and temperature.

Pure: `score(intake, events, rules, now)`. Every criterion and event kind that contributes appears
in the explanation, and the explanation's points add up to the total. Because all positive
engagement decays with the same half-life, the score's future is known in closed form, so
`next_change_at` tells the workflow when decay alone will next change temperature or stage.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from domain.models import LeadEvent, LeadIntake, Scalar
from domain.rules import FitCriterion, Rules
from domain.vocabulary import EventKind, Temperature, Tier

MAX_SCORE = 100.0


class Contribution(BaseModel):
    """One line of the explanation: what, and how many points (after decay) it gives now."""

    model_config = ConfigDict(frozen=True)

    kind: str  # "fit", "engagement", "penalty" or "bound"
    name: str
    points: float
    detail: str = ""


class Score(BaseModel):
    """The score of a lead at one moment, with its explanation."""

    model_config = ConfigDict(frozen=True)

    fit: float
    engagement: float
    total: float
    tier: Tier
    temperature: Temperature
    explanation: list[Contribution]
    next_change_at: datetime | None


def score(intake: LeadIntake, events: Sequence[LeadEvent], rules: Rules, now: datetime) -> Score:
    """Score a lead at `now`. Events after `now` are ignored."""
    fit_lines = [
        Contribution(kind="fit", name=c.name, points=round(c.points, 2), detail=_describe(c))
        for c in rules.fit.criteria
        if matches(c, intake)
    ]
    fit = round(sum(line.points for line in fit_lines), 2)
    tier = tier_for(fit, rules)

    past = [e for e in events if e.occurred_at <= now]
    raw_positive, penalties = _engagement_parts(past, rules, now)
    eng_lines = [
        Contribution(
            kind="engagement",
            name=kind.value,
            points=round(pts, 2),
            detail=f"{count} event(s), decayed",
        )
        for kind, (pts, count) in sorted(raw_positive.items())
        if round(pts, 2) != 0
    ]
    eng_lines += [
        Contribution(kind="penalty", name=kind.value, points=round(pts, 2), detail=f"{count} event(s)")
        for kind, (pts, count) in sorted(penalties.items())
    ]
    engagement = round(sum(line.points for line in eng_lines), 2)
    unbounded = round(fit + engagement, 2)
    total = min(MAX_SCORE, max(0.0, unbounded))
    explanation = fit_lines + eng_lines
    if total != unbounded:
        explanation.append(
            Contribution(kind="bound", name="score bounded to 0-100", points=round(total - unbounded, 2))
        )
    temperature = temperature_for(total, past, rules, now)
    positive_now = [pts for _, (pts, _) in sorted(raw_positive.items())]
    penalty_now = [pts for _, (pts, _) in sorted(penalties.items())]
    next_change = _next_change(fit, positive_now, penalty_now, past, rules, now, total, temperature)
    return Score(
        fit=fit,
        engagement=engagement,
        total=round(total, 2),
        tier=tier,
        temperature=temperature,
        explanation=explanation,
        next_change_at=next_change,
    )


def matches(criterion: FitCriterion, intake: LeadIntake) -> bool:
    """Whether one fit criterion holds for the intake."""
    value = _field(intake, criterion.field)
    if criterion.op == "present":
        return value not in (None, "")
    if criterion.op == "absent":
        return value in (None, "")
    if value is None:
        return False
    if criterion.op == "equals":
        return _same(value, criterion.value)
    if criterion.op == "one_of":
        options = criterion.value if isinstance(criterion.value, list) else [criterion.value]
        return any(_same(value, option) for option in options)
    number = _number(value)
    if number is None:
        return False
    low = criterion.min if criterion.min is not None else -math.inf
    high = criterion.max if criterion.max is not None else math.inf
    return low <= number <= high


def tier_for(fit: float, rules: Rules) -> Tier:
    thresholds = rules.fit.tiers
    if fit >= thresholds.high:
        return Tier.HIGH
    if fit >= thresholds.medium:
        return Tier.MEDIUM
    return Tier.LOW


def temperature_for(total: float, events: Sequence[LeadEvent], rules: Rules, now: datetime) -> Temperature:
    """Hot or warm by score, or by a recent hot / warm signal; otherwise cold."""
    temp = rules.temperature
    if total >= temp.thresholds.hot or _recent(events, temp.hot_signals, temp.signal_window.hot, now):
        return Temperature.HOT
    if total >= temp.thresholds.warm or _recent(events, temp.warm_signals, temp.signal_window.warm, now):
        return Temperature.WARM
    return Temperature.COLD


def decayed(points: float, age: timedelta, half_life: timedelta) -> float:
    """`points` halved once per `half_life` of `age`."""
    return points * float(0.5 ** (max(age.total_seconds(), 0.0) / half_life.total_seconds()))


# --- helpers -------------------------------------------------------------------------------


def _engagement_parts(
    events: Sequence[LeadEvent], rules: Rules, now: datetime
) -> tuple[dict[EventKind, tuple[float, int]], dict[EventKind, tuple[float, int]]]:
    """Per kind: decayed positive points (daily caps applied before decay) and fixed penalties."""
    table = rules.engagement.events
    half_life = rules.engagement.half_life
    counted_today: dict[tuple[EventKind, str], float] = defaultdict(float)
    positive: dict[EventKind, tuple[float, int]] = {}
    penalty: dict[EventKind, tuple[float, int]] = {}
    for event in sorted(events, key=lambda e: (e.occurred_at, e.event_id)):
        entry = table.get(event.kind)
        if entry is None or entry.points == 0:
            continue
        if entry.points < 0:
            pts, n = penalty.get(event.kind, (0.0, 0))
            penalty[event.kind] = (pts + entry.points, n + 1)
            continue
        day = (event.kind, event.occurred_at.date().isoformat())
        points = entry.points
        if entry.daily_cap is not None:
            points = max(0.0, min(points, entry.daily_cap - counted_today[day]))
        counted_today[day] += points
        pts, n = positive.get(event.kind, (0.0, 0))
        positive[event.kind] = (pts + decayed(points, now - event.occurred_at, half_life), n + 1)
    return positive, penalty


def _recent(events: Sequence[LeadEvent], kinds: Sequence[EventKind], window: timedelta, now: datetime) -> bool:
    return any(e.kind in kinds and now - e.occurred_at < window for e in events)


def _next_change(
    fit: float,
    positive: Sequence[float],
    penalties: Sequence[float],
    events: Sequence[LeadEvent],
    rules: Rules,
    now: datetime,
    total: float,
    temperature: Temperature,
) -> datetime | None:
    """The first moment after `now` at which decay alone changes the temperature or crosses a
    lifecycle threshold. Score: base + positive·2^(-t/h); signals: when their window closes."""
    candidates: list[datetime] = []
    half_life = rules.engagement.half_life
    thresholds = {
        rules.temperature.thresholds.warm,
        rules.temperature.thresholds.hot,
        rules.lifecycle.mql.min_score,
        rules.lifecycle.sql.min_score,
    }
    base = fit + sum(penalties)
    for threshold in thresholds:
        if total >= threshold and sum(positive) > 0 and base < threshold:
            crossing = _first_second_below(threshold, fit, positive, penalties, half_life)
            if crossing is not None:
                candidates.append(now + crossing)
    temp = rules.temperature
    for kinds, window in (
        (temp.hot_signals, temp.signal_window.hot),
        (temp.warm_signals, temp.signal_window.warm),
    ):
        for event in events:
            if event.kind in kinds and event.occurred_at + window > now:
                candidates.append(event.occurred_at + window)
    later = [c for c in candidates if c > now]
    return min(later) if later else None


def _total_of(fit: float, positive: Sequence[float], penalties: Sequence[float]) -> float:
    """The bounded total exactly as `score` adds it up: every line rounded to 0.01 first."""
    engagement = round(sum([*(round(p, 2) for p in positive), *(round(p, 2) for p in penalties)]), 2)
    return round(min(MAX_SCORE, max(0.0, round(fit + engagement, 2))), 2)


def _first_second_below(
    threshold: float, fit: float, positive: Sequence[float], penalties: Sequence[float], half_life: timedelta
) -> timedelta | None:
    """How long until decay takes the score (as rounded for the total) below `threshold`, to the
    second. The closed form (fit + penalties + positive·2^(-t/h) = target) gives the start; a short
    search settles it, because the total is a sum of rounded lines, which can stay at the threshold
    for minutes after the exact crossing."""

    def below(seconds: int) -> bool:
        factor = float(0.5 ** (seconds / half_life.total_seconds()))
        return _total_of(fit, [p * factor for p in positive], penalties) < threshold

    base, total_positive = fit + sum(penalties), sum(positive)
    target = threshold - 0.005 if base < threshold - 0.005 else threshold  # where rounding usually tips
    high = max(1, math.ceil(half_life.total_seconds() * math.log2(total_positive / (target - base))))
    step = 1
    for _ in range(64):  # gallop up until below
        if below(high):
            break
        high, step = high + step, step * 2
    else:
        return None
    low, step = high - 1, 1
    while low > 0 and below(low):  # gallop down until not below (at 0 it is not: that is now)
        high, low, step = low, max(0, low - step), step * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if below(middle) else (middle, high)
    return timedelta(seconds=high)


def _field(intake: LeadIntake, path: str) -> Scalar | None:
    if path.startswith("attributes."):
        return intake.attributes.get(path.removeprefix("attributes."))
    if path == "email_domain":
        return intake.email.split("@", 1)[1] if intake.email else None
    if path in ("do_not_email", "do_not_call"):
        return bool(getattr(intake.consent, path))
    value = getattr(intake, path)
    result: Scalar | None = value.value if hasattr(value, "value") else value  # enums compare by their spelling
    return result


def _same(left: Scalar, right: Scalar | list[Scalar] | None) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left.strip().casefold() == right.strip().casefold()
    return left == right


def _number(value: Scalar) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except ValueError:
        return None


def _describe(c: FitCriterion) -> str:
    if c.op == "range":
        return f"{c.field} in [{c.min if c.min is not None else '-inf'}, {c.max if c.max is not None else 'inf'}]"
    if c.op in ("present", "absent"):
        return f"{c.field} {c.op}"
    return f"{c.field} {c.op} {c.value}"
