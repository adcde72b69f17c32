"""Build the sales–marketing review report from ledger entries: a pure, deterministic function.

`build_report(entries, since=..., now=...)` reads only what `domain.decide` records and never
reads a clock: `now` is the end of the period. The definitions (period, funnel, tier, percentiles,
breaches) are in the package docstring, `reporting/__init__.py`.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from domain.state import LedgerEntry
from reporting.model import (
    FUNNEL_STAGES,
    Funnel,
    ReasonCount,
    Recycled,
    RecycleFlow,
    Report,
    RepSpeed,
    SourceQuality,
    SpeedToLead,
    StageCount,
    TierFunnel,
)
from reporting.text import render_report_text

__all__ = ["Report", "build_report", "nearest_rank", "render_report_text"]

UNKNOWN = "unknown"
_RANK = {"new": 0, "mql": 1, "sql": 2, "accepted": 3, "lost": 3, "customer": 4}
_TIER_ORDER = ("high", "medium", "low")
_BREACH_STATUSES = ("overdue", "escalated", "expired")
_FLOWS = {"return_to_marketing": "returned_to_marketing", "recycle": "recycled", "reject": "rejected_to_nurture"}


def build_report(entries: Sequence[LedgerEntry], *, since: datetime | None = None, now: datetime) -> Report:
    """The review report over the entries at or after `since` (all when `None`), up to `now`."""
    start = _aware(since) if since is not None else None
    end = _aware(now)
    kept = [e for e in entries if start is None or _aware(e.at) >= start]
    by_lead: dict[str, list[LedgerEntry]] = defaultdict(list)
    for entry in kept:
        by_lead[entry.lead_id].append(entry)
    leads = [_read_lead(sorted(lead_entries, key=lambda e: e.seq), end) for _, lead_entries in sorted(by_lead.items())]
    counted = [lead for lead in leads if lead.furthest is not None]
    return Report(
        since=start,
        until=end,
        entries=len(kept),
        leads=len(counted),
        funnel=_funnel(counted),
        funnel_by_tier=_funnel_by_tier(counted),
        speed_to_lead=_speed_to_lead(leads),
        quality_by_source=_quality_by_source(leads),
        recycled=_recycled(leads),
    )


def nearest_rank(values: Sequence[float], percent: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least `percent` % of values at or
    below it (`sorted[ceil(p/100 * n) - 1]`). Always a value that occurred; `None` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


# --- one lead's entries, read once ------------------------------------------------------------


@dataclass
class _Attempt:
    """One handoff attempt: (SQL episode, attempt number) of a lead, given to one rep."""

    rep: str
    deadline: datetime | None = None
    status: str = "pending"
    closed: bool = False  # the lead left SQL or another attempt replaced this one
    went_overdue: bool = False
    accepted_at: datetime | None = None
    speed: float | None = None  # seconds from entering SQL to this acceptance, when both are known
    open: bool = False
    breached: bool = False

    def judge(self, now: datetime) -> None:
        """Settle `open` and `breached` as of `now` (see the definitions in the package docstring)."""
        waiting = self.status == "pending" and not self.closed
        late = self.accepted_at is not None and self.deadline is not None and self.accepted_at > self.deadline
        past_due = waiting and self.deadline is not None and self.deadline <= now
        self.open = waiting and not past_due
        self.breached = self.went_overdue or late or past_due


@dataclass
class _Lead:
    """What the report needs to know about one lead, from its entries in the period."""

    source: str = UNKNOWN
    furthest: int | None = None  # rank of the furthest main-path stage seen; None: stage never shown
    entered: set[str] = field(default_factory=set)
    tier: str = UNKNOWN
    attempts: list[_Attempt] = field(default_factory=list)
    ratings: list[int] = field(default_factory=list)
    feedback_reasons: list[str] = field(default_factory=list)
    feedback_missed: int = 0
    reject_reasons: list[str] = field(default_factory=list)
    won: int = 0
    lost_reasons: list[str] = field(default_factory=list)
    flows: list[tuple[str, str]] = field(default_factory=list)  # (flow, reason)


def _read_lead(entries: list[LedgerEntry], now: datetime) -> _Lead:
    lead = _Lead()
    ranks: set[int] = set()
    shown = False
    latest_tier: str | None = None
    sql_tier: str | None = None
    after_qualify = False
    attempts: dict[tuple[int, int], _Attempt] = {}
    episode, sql_start = 0, None
    last_lost, last_reject = UNKNOWN, UNKNOWN
    for entry in entries:
        data = entry.data
        if entry.kind == "transition":
            if data.get("machine") != "lifecycle":
                continue
            shown = True
            source, dest, trigger = str(data.get("source")), str(data.get("dest")), data.get("trigger")
            ranks.update(_RANK[s] for s in (source, dest) if s in _RANK)
            lead.entered.add(dest)
            for attempt in attempts.values():
                attempt.closed = True  # the lead left SQL (or re-entered it): earlier attempts are over
            if trigger == "qualify":
                episode, sql_start, after_qualify = episode + 1, entry.at, True
            if trigger == "return_to_marketing":
                lead.flows.append((_FLOWS[trigger], _reason(data.get("reason"))))
            elif trigger == "recycle":
                lead.flows.append((_FLOWS[trigger], last_lost))
            elif trigger == "reject":
                lead.flows.append((_FLOWS[trigger], last_reject))
            continue
        context = _context(entry)
        stage, tier = context.get("stage"), context.get("tier")
        if isinstance(stage, str):
            shown = True
            if stage in _RANK:
                ranks.add(_RANK[stage])
        if isinstance(tier, str):
            latest_tier = tier
            if after_qualify and sql_tier is None:
                sql_tier = tier
        if entry.kind == "intake":
            ranks.add(0)
            if not data.get("duplicate"):
                lead.entered.add("new")
            if lead.source == UNKNOWN and isinstance(data.get("source"), str):
                lead.source = data["source"]
        elif entry.kind == "handoff":
            sql_start = _handoff(entry, attempts, episode, sql_start)
            if data.get("status") == "rejected":
                last_reject = _reason(data.get("reason"))
                lead.reject_reasons.append(last_reject)
        elif entry.kind == "outcome":
            if data.get("outcome") == "won":
                lead.won += 1
            elif data.get("outcome") == "lost":
                last_lost = _reason(data.get("reason"))
                lead.lost_reasons.append(last_lost)
        elif entry.kind == "feedback":
            if data.get("missed"):
                lead.feedback_missed += 1
            elif isinstance(data.get("rating"), int):
                lead.ratings.append(data["rating"])
                lead.feedback_reasons += [str(r) for r in data.get("reasons") or []]
        if lead.source == UNKNOWN and entry.kind != "notification" and isinstance(data.get("source"), str):
            lead.source = data["source"]
    if shown:
        lead.furthest = max(ranks, default=0)
    lead.tier = sql_tier or latest_tier or UNKNOWN
    lead.attempts = list(attempts.values())
    for attempt in lead.attempts:
        attempt.judge(now)
    return lead


def _handoff(
    entry: LedgerEntry, attempts: dict[tuple[int, int], _Attempt], episode: int, sql_start: datetime | None
) -> datetime | None:
    """Apply one handoff entry to its attempt; returns the SQL episode's start (now known or not)."""
    data = entry.data
    rep, number, status = data.get("rep"), data.get("attempt"), str(data.get("status"))
    if not isinstance(rep, str) or not isinstance(number, int):
        return sql_start
    key = (episode, number)
    for other_key, other in attempts.items():
        if other_key != key:
            other.closed = True  # a later attempt replaced it
    attempt = attempts.setdefault(key, _Attempt(rep=rep))
    attempt.status = status
    if status == "pending":
        attempt.deadline = _parse_time(data.get("deadline"))
        if number == 1 and sql_start is None:
            sql_start = entry.at  # the qualify transition is before the period: the first handoff stands in
    elif status in _BREACH_STATUSES:
        attempt.went_overdue = True
    elif status == "accepted":
        attempt.accepted_at = entry.at
        if sql_start is not None:
            attempt.speed = (entry.at - sql_start).total_seconds()
    return sql_start


# --- sections ---------------------------------------------------------------------------------


def _funnel(leads: list[_Lead]) -> Funnel:
    reached = [sum(1 for lead in leads if (lead.furthest or 0) >= rank) for rank in range(len(FUNNEL_STAGES))]
    stages = [
        StageCount(
            stage=stage,
            reached=reached[i],
            entered=sum(1 for lead in leads if stage in lead.entered),
            conversion=_ratio(reached[i], reached[i - 1]) if i else None,
        )
        for i, stage in enumerate(FUNNEL_STAGES)
    ]
    return Funnel(
        leads=len(leads),
        stages=stages,
        lost=sum(1 for lead in leads if "lost" in lead.entered),
        disqualified=sum(1 for lead in leads if "disqualified" in lead.entered),
        overall_conversion=_ratio(reached[-1], len(leads)),
    )


def _funnel_by_tier(leads: list[_Lead]) -> list[TierFunnel]:
    tiers = sorted({lead.tier for lead in leads}, key=_tier_key)
    return [
        TierFunnel(tier=tier, **_funnel([lead for lead in leads if lead.tier == tier]).model_dump()) for tier in tiers
    ]


def _speed_to_lead(leads: list[_Lead]) -> SpeedToLead:
    by_rep: dict[str, list[_Attempt]] = defaultdict(list)
    for lead in leads:
        for attempt in lead.attempts:
            by_rep[attempt.rep].append(attempt)
    everyone = [attempt for lead in leads for attempt in lead.attempts]
    return SpeedToLead(
        reps=[_rep_speed(rep, attempts) for rep, attempts in sorted(by_rep.items())],
        total=_rep_speed("all", everyone),
    )


def _rep_speed(rep: str, attempts: list[_Attempt]) -> RepSpeed:
    speeds = [a.speed for a in attempts if a.speed is not None]
    judged = sum(1 for a in attempts if not a.open)
    breached = sum(1 for a in attempts if a.breached)
    return RepSpeed(
        rep=rep,
        accepted=sum(1 for a in attempts if a.accepted_at is not None),
        measured=len(speeds),
        p50_seconds=nearest_rank(speeds, 50),
        p90_seconds=nearest_rank(speeds, 90),
        attempts=len(attempts),
        open=len(attempts) - judged,
        breached=breached,
        breach_rate=_ratio(breached, judged),
    )


def _quality_by_source(leads: list[_Lead]) -> list[SourceQuality]:
    by_source: dict[str, list[_Lead]] = defaultdict(list)
    for lead in leads:
        by_source[lead.source].append(lead)
    rows = [_source_quality(source, members) for source, members in by_source.items()]
    return sorted(rows, key=lambda q: (-q.leads, q.source == UNKNOWN, q.source))


def _source_quality(source: str, leads: list[_Lead]) -> SourceQuality:
    ratings = [r for lead in leads for r in lead.ratings]
    return SourceQuality(
        source=source,
        leads=sum(1 for lead in leads if lead.furthest is not None),
        ratings=len(ratings),
        average_rating=sum(ratings) / len(ratings) if ratings else None,
        rating_counts={value: ratings.count(value) for value in range(1, 6)},
        feedback_reasons=_counts(r for lead in leads for r in lead.feedback_reasons),
        feedback_missed=sum(lead.feedback_missed for lead in leads),
        rejected=sum(len(lead.reject_reasons) for lead in leads),
        reject_reasons=_counts(r for lead in leads for r in lead.reject_reasons),
        won=sum(lead.won for lead in leads),
        lost=sum(len(lead.lost_reasons) for lead in leads),
        lost_reasons=_counts(r for lead in leads for r in lead.lost_reasons),
    )


def _recycled(leads: list[_Lead]) -> Recycled:
    flows = []
    for flow in _FLOWS.values():
        happened = [(lead_no, reason) for lead_no, lead in enumerate(leads) for f, reason in lead.flows if f == flow]
        flows.append(
            RecycleFlow(
                flow=flow,
                count=len(happened),
                leads=len({lead_no for lead_no, _ in happened}),
                reasons=_counts(reason for _, reason in happened),
            )
        )
    return Recycled(leads=sum(1 for lead in leads if lead.flows), flows=flows)


# --- helpers ----------------------------------------------------------------------------------


def _context(entry: LedgerEntry) -> dict[str, Any]:
    """The lead's stage / temperature / tier / score recorded with an entry (a notification nests it)."""
    if entry.kind == "notification":
        nested = entry.data.get("data")
        return nested if isinstance(nested, dict) else {}
    return entry.data


def _reason(value: Any) -> str:
    return str(value) if value else "(none)"


def _counts(values: Iterable[str]) -> list[ReasonCount]:
    """Most frequent first, ties by name: stable output."""
    counted = Counter(values)
    return [ReasonCount(reason=r, count=n) for r, n in sorted(counted.items(), key=lambda rn: (-rn[1], rn[0]))]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _tier_key(tier: str) -> tuple[int, str]:
    return (_TIER_ORDER.index(tier) if tier in _TIER_ORDER else len(_TIER_ORDER) + (tier == UNKNOWN), tier)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return _aware(datetime.fromisoformat(value))
    except ValueError:
        return None


def _aware(at: datetime) -> datetime:
    """A naive time is taken as UTC (as the ledger does)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
