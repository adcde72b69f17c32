"""Routing: which rep gets a lead. `choose_rep` is the pure decision; `assign` makes it once per attempt.

A rep is eligible when active, not excluded (already tried for this lead) and below capacity.
Among the eligible, the order is: territory (the lead's country exactly, case-insensitive, before a
`*` wildcard, before no match), then segment (the lead's tier among the rep's segments), then the
fewest open handoffs; reps still tied take turns, in team order, by a counter of assignments made.
Nobody eligible → None, and the workflow escalates; an excluded rep is never chosen, even when
nobody else is left.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from activities.ledger import Assignment, Ledger
from domain.rules import Rep, Team

__all__ = ["assign", "choose_rep", "explain"]

_EXACT, _WILDCARD, _ELSEWHERE = 0, 1, 2


def choose_rep(
    team: Team,
    country: str | None,
    tier: str,
    exclude: Collection[str],
    load: Mapping[str, int],
    turn: int,
) -> Rep | None:
    """The rep who should get the lead, or None when no eligible rep exists."""
    eligible = [r for r in team.reps if r.active and r.id not in exclude and load.get(r.id, 0) < r.capacity]
    if not eligible:
        return None
    best = min(_rank(r, country, tier, load) for r in eligible)
    tied = [r for r in eligible if _rank(r, country, tier, load) == best]
    return tied[turn % len(tied)]


def explain(
    rep: Rep | None,
    team: Team,
    country: str | None,
    tier: str,
    exclude: Collection[str],
    load: Mapping[str, int],
) -> str:
    """One sentence on why `choose_rep` answered as it did. No personal data."""
    if rep is None:
        active = [r for r in team.reps if r.active]
        others = [r for r in active if r.id not in exclude]
        if not others:
            return f"every active rep ({len(active)}) was already tried for this lead"
        return f"all {len(others)} active rep(s) not yet tried are at capacity"
    territory = _territory(rep, country)
    where = {
        _EXACT: f"territory {country}",
        _WILDCARD: "any territory",
        _ELSEWHERE: "outside their territories",
    }[territory]
    segment = f"segment {tier}" if tier in rep.segments else f"not their segment ({tier})"
    return f"{where}, {segment}, {load.get(rep.id, 0)} open of {rep.capacity}"


def assign(
    ledger: Ledger,
    lead_id: str,
    request: int,
    team: Team,
    country: str | None,
    tier: str,
    exclude: Collection[str],
    now: datetime | None = None,
) -> Assignment:
    """Choose a rep for (lead_id, request) once; a retry gets the stored answer. Blocking (SQLite)."""

    def choose(load: Mapping[str, int], turn: int) -> tuple[str | None, str]:
        rep = choose_rep(team, country, tier, exclude, load, turn)
        return (rep.id if rep else None), explain(rep, team, country, tier, exclude, load)

    return ledger.assign_once(lead_id, request, choose, now)


def _territory(rep: Rep, country: str | None) -> int:
    territories = {t.strip().casefold() for t in rep.territories}
    if country is not None and country.strip().casefold() in territories:
        return _EXACT
    return _WILDCARD if "*" in territories else _ELSEWHERE


def _rank(rep: Rep, country: str | None, tier: str, load: Mapping[str, int]) -> tuple[int, int, int]:
    return (_territory(rep, country), 0 if tier in rep.segments else 1, load.get(rep.id, 0))
