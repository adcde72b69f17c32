"""Routing: `choose_rep` table-driven; the assign_rep activity idempotent per (lead, attempt)."""

from __future__ import annotations

from typing import Any

import pytest

from activities.assign import choose_rep
from activities.lead_activities import LeadActivities
from activities.types import AssignRepInput, AssignRepResult
from domain.rules import Rules, Team
from tests.activities.helpers import activity_env


def team(*reps: dict[str, Any]) -> Team:
    return Team.model_validate({"reps": list(reps)})


def rep(id: str, **fields: Any) -> dict[str, Any]:
    return {"id": id, "capacity": 10, **fields}


CASES: list[tuple[str, Team, str | None, str, list[str], dict[str, int], int, str | None]] = [
    # name, team, country, tier, exclude, load, turn, expected
    (
        "exact territory beats wildcard",
        team(rep("r-any", territories=["*"]), rep("r-in", territories=["India"])),
        "India",
        "high",
        [],
        {},
        0,
        "r-in",
    ),
    (
        "territory match is case-insensitive",
        team(rep("r-any", territories=["*"]), rep("r-in", territories=["india"])),
        "INDIA",
        "high",
        [],
        {},
        0,
        "r-in",
    ),
    (
        "wildcard beats another territory",
        team(rep("r-fr", territories=["France"]), rep("r-any", territories=["*"])),
        "India",
        "high",
        [],
        {},
        0,
        "r-any",
    ),
    (
        "no country: wildcard first",
        team(rep("r-in", territories=["India"]), rep("r-any", territories=["*"])),
        None,
        "low",
        [],
        {},
        0,
        "r-any",
    ),
    (
        "nobody covers the country: someone still gets it",
        team(rep("r-fr", territories=["France"])),
        "India",
        "low",
        [],
        {},
        0,
        "r-fr",
    ),
    (
        "segment decides within a territory",
        team(rep("r-low", segments=["low"]), rep("r-high", segments=["high"])),
        None,
        "high",
        [],
        {},
        0,
        "r-high",
    ),
    (
        "territory outranks segment",
        team(
            rep("r-any-high", territories=["*"], segments=["high"]),
            rep("r-in-low", territories=["India"], segments=["low"]),
        ),
        "India",
        "high",
        [],
        {},
        0,
        "r-in-low",
    ),
    (
        "least loaded among equals",
        team(rep("r-1"), rep("r-2"), rep("r-3")),
        None,
        "low",
        [],
        {"r-1": 3, "r-2": 1, "r-3": 2},
        0,
        "r-2",
    ),
    (
        "segment outranks load",
        team(rep("r-busy", segments=["high"]), rep("r-idle", segments=["low"])),
        None,
        "high",
        [],
        {"r-busy": 9},
        0,
        "r-busy",
    ),
    (
        "at capacity is skipped",
        team(rep("r-in", territories=["India"], capacity=2), rep("r-any")),
        "India",
        "low",
        [],
        {"r-in": 2},
        0,
        "r-any",
    ),
    (
        "inactive is never chosen",
        team(rep("r-off", territories=["India"], active=False), rep("r-any")),
        "India",
        "low",
        [],
        {},
        0,
        "r-any",
    ),
    (
        "excluded is never chosen",
        team(rep("r-in", territories=["India"]), rep("r-any")),
        "India",
        "low",
        ["r-in"],
        {},
        0,
        "r-any",
    ),
    (
        "ties: turn 0 takes the first in team order",
        team(rep("r-1"), rep("r-2"), rep("r-3")),
        None,
        "low",
        [],
        {},
        0,
        "r-1",
    ),
    (
        "ties: turn 4 takes the second of three",
        team(rep("r-1"), rep("r-2"), rep("r-3")),
        None,
        "low",
        [],
        {},
        4,
        "r-2",
    ),
    (
        "ties only among the best: the loaded rep is not in the rotation",
        team(rep("r-1"), rep("r-2"), rep("r-3")),
        None,
        "low",
        [],
        {"r-2": 1},
        1,
        "r-3",
    ),
    (
        "nobody: all eligible were tried",
        team(rep("r-1"), rep("r-2"), rep("r-off", active=False)),
        None,
        "low",
        ["r-1", "r-2"],
        {},
        0,
        None,
    ),
    (
        "nobody: the rest are full",
        team(rep("r-1", capacity=1), rep("r-2", capacity=1)),
        None,
        "low",
        ["r-1"],
        {"r-2": 1},
        0,
        None,
    ),
]


@pytest.mark.parametrize(
    ("team_", "country", "tier", "exclude", "load", "turn", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_choose_rep(
    team_: Team,
    country: str | None,
    tier: str,
    exclude: list[str],
    load: dict[str, int],
    turn: int,
    expected: str | None,
) -> None:
    chosen = choose_rep(team_, country, tier, exclude, load, turn)
    assert (chosen.id if chosen else None) == expected


def test_round_robin_visits_every_tied_rep() -> None:
    reps = team(rep("r-1"), rep("r-2"), rep("r-3"))
    chosen = [choose_rep(reps, None, "low", [], {}, turn) for turn in range(6)]
    assert [r.id for r in chosen if r] == ["r-1", "r-2", "r-3", "r-1", "r-2", "r-3"]


# --- the activity -----------------------------------------------------------------------------


async def assign(acts: LeadActivities, lead: str, attempt: int, reps: Team, **kwargs: Any) -> AssignRepResult:
    env = activity_env("assign_rep", workflow_id=lead)
    request = AssignRepInput(
        lead_id=lead, request=attempt, attempt=attempt, team=reps, tier=kwargs.pop("tier", "low"), **kwargs
    )
    return await env.run(acts.assign_rep, request)


async def test_assign_rep_is_idempotent_per_lead_and_attempt(acts: LeadActivities) -> None:
    reps = team(rep("r-1"), rep("r-2"), rep("r-3"))
    first = await assign(acts, "lead-a", 1, reps)
    # A retry, even after other leads changed loads and turns, gets the stored answer.
    await assign(acts, "lead-b", 1, reps)
    await assign(acts, "lead-c", 1, reps)
    again = await assign(acts, "lead-a", 1, reps)
    assert again == first
    assert first.rep == "r-1"
    assert first.reason
    # The next attempt is a new decision and honours the exclusion.
    second = await assign(acts, "lead-a", 2, reps, exclude=["r-1"])
    assert second.rep not in (None, "r-1")


async def test_simultaneous_leads_spread_over_tied_reps_and_respect_capacity(acts: LeadActivities) -> None:
    reps = team(rep("r-1", capacity=1), rep("r-2", capacity=1))
    results = [await assign(acts, f"lead-{n}", 1, reps) for n in range(3)]
    assert [r.rep for r in results] == ["r-1", "r-2", None]  # in-flight assignments count as load
    assert "capacity" in results[2].reason


async def test_assign_rep_with_the_default_rules(acts: LeadActivities, default_rules: Rules) -> None:
    reps = default_rules.team
    chosen = await assign(acts, "lead-in", 1, reps, country="India", tier="high")
    assert chosen.rep is not None
    rep_ = reps.get(chosen.rep)
    assert rep_ is not None and rep_.active and "high" in rep_.segments
    active = [r.id for r in reps.reps if r.active]
    never = await assign(acts, "lead-x", 1, reps, exclude=active)
    assert never.rep is None  # inactive reps are never the fallback
