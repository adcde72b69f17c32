"""`rules diff OLD NEW`: every behavioural difference in words, nothing for a change of form."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

import starter
from domain.rules import Rules
from domain.rules_diff import RuleChange, diff_rules, render_diff
from domain.rules_file import parse_rules
from tests.domain.conftest import DELETE, known_rules_data, make_rules, set_path, yaml_text


@functools.cache
def base() -> Rules:
    return make_rules()


def lines(changes: dict[str, Any]) -> list[str]:
    """The diff from the test rules to the test rules with `changes` applied."""
    return [str(c) for c in diff_rules(base(), make_rules(changes))]


def appended(path: str, item: Any) -> dict[str, Any]:
    """A change that appends `item` to the list at `path` of the test rules."""
    node: Any = known_rules_data()
    for part in path.split("."):
        node = node[part]
    return {path: [*node, item]}


# --- one sentence per kind of change ------------------------------------------------------------

CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    # thresholds
    ("tier threshold", {"fit.tiers.high": 30}, ["fit: high tier from 25 → 30 fit points (stricter)"]),
    ("tier threshold down", {"fit.tiers.medium": 5}, ["fit: medium tier from 10 → 5 fit points (looser)"]),
    ("warm threshold", {"temperature.thresholds.warm": 25}, ["temperature: warm from score 30 → 25 (looser)"]),
    ("hot threshold", {"temperature.thresholds.hot": 70}, ["temperature: hot from score 60 → 70 (stricter)"]),
    ("MQL threshold", {"lifecycle.mql.min_score": 25}, ["lifecycle: MQL at score 20 → 25 (stricter)"]),
    ("SQL threshold", {"lifecycle.sql.min_score": 50}, ["lifecycle: SQL at score 60 → 50 (looser)"]),
    (
        "SQL min tier",
        {"lifecycle.sql.min_tier": "high"},
        ["lifecycle: SQL needs at least tier medium → high (stricter)"],
    ),
    # fit criteria
    ("criterion points", {"fit.criteria.2.points": 25}, ['fit: "working professional" 20 → 25 points']),
    (
        "criterion values",
        {"fit.criteria.3.value": ["India", "Nepal", "Sri Lanka"]},
        ['fit: "in india" now also matches Nepal, Sri Lanka'],
    ),
    (
        "criterion value dropped",
        {"fit.criteria.0.value": ["referral"]},
        ['fit: "referred" no longer matches partner'],
    ),
    (
        "criterion condition",
        {"fit.criteria.4.min": 2000},
        [
            'fit: "stated a budget" now holds when attributes.budget is between 2000 and 100000 '
            "(was: attributes.budget is between 1000 and 100000)"
        ],
    ),
    (
        "criterion renamed",
        {"fit.criteria.5.name": "has a company"},
        ['fit: criterion "named a company" renamed "has a company"'],
    ),
    (
        "criterion added",
        appended(
            "fit.criteria",
            {"name": "student", "field": "attributes.occupation", "op": "equals", "value": "student", "points": -5},
        ),
        ['fit: new criterion "student": -5 points when attributes.occupation is student'],
    ),
    # engagement
    ("half-life", {"engagement.half_life": "14d"}, ["engagement: points halve every 10d → 14d (fades slower)"]),
    ("event points", {"engagement.events.page_viewed.points": 3}, ["engagement: page_viewed +2 → +3 points per event"]),
    (
        "daily cap",
        {"engagement.events.page_viewed.daily_cap": 10},
        ["engagement: daily cap for page_viewed 6 points → 10 points"],
    ),
    (
        "cap removed",
        {"engagement.events.page_viewed.daily_cap": DELETE},
        ["engagement: daily cap for page_viewed 6 points → no cap"],
    ),
    (
        "event kind added",
        {"engagement.events.cart_viewed": {"points": 5, "daily_cap": 10}},
        ["engagement: cart_viewed now scores +5 points (at most 10 a day)"],
    ),
    (
        "event kind removed",
        {"engagement.events.article_read": DELETE},
        ["engagement: article_read no longer scores (was +4 points)"],
    ),
    (
        "now a penalty",
        {"engagement.events.chat_started.points": -2},
        ["engagement: chat_started +8 → -2 points per event (now a penalty: never fades, no cap)"],
    ),
    # signals and windows
    (
        "warm signals",
        {"temperature.warm_signals": ["subscribed", "social_followed"]},
        [
            "temperature: social_followed becomes a warm signal",
            "temperature: webinar_attended is no longer a warm signal",
        ],
    ),
    (
        "hot signals",
        {"temperature.hot_signals": ["contact_requested", "quote_requested", "trial_started"]},
        ["temperature: trial_started becomes a hot signal"],
    ),
    (
        "MQL signals",
        {"lifecycle.mql.signals": ["content_downloaded", "subscribed", "form_submitted"]},
        ["lifecycle: form_submitted becomes an MQL signal"],
    ),
    (
        "SQL signals",
        {"lifecycle.sql.signals": ["quote_requested"]},
        ["lifecycle: trial_started is no longer an SQL signal"],
    ),
    (
        "signal window",
        {"temperature.signal_window.warm": "14d"},
        ["temperature: a warm signal keeps the lead warm for 7d → 14d (longer)"],
    ),
    # lifecycle
    (
        "transition destination",
        {"lifecycle.transitions.3.dest": "new"},
        ["lifecycle: reject from sql now leads to new (was mql)"],
    ),
    (
        "transition removed",
        {"lifecycle.transitions.7.source": ["new", "mql", "sql"]},
        ["lifecycle: disqualify no longer allowed from accepted (→ disqualified)"],
    ),
    (
        "referral fast track",
        {"lifecycle.referral_fast_track": False},
        ["lifecycle: referral fast track switched off (referral / partner leads no longer skip to SQL)"],
    ),
    (
        "recycling",
        {"lifecycle.recycle.lost_after": "60d"},
        ["lifecycle: lost leads return to nurture after 30d → 60d (later)"],
    ),
    # handoff
    ("hot SLA", {"handoff.sla.by_temperature.hot": "30m"}, ["handoff: SLA for hot leads 1h → 30m (shorter)"]),
    ("warm SLA", {"handoff.sla.by_temperature.warm": "1d"}, ["handoff: SLA for warm leads 4h → 1d (longer)"]),
    ("tier SLA", {"handoff.sla.by_tier.high": "3h"}, ["handoff: SLA for high-tier leads at most 2h → 3h (longer)"]),
    (
        "tier SLA added",
        {"handoff.sla.by_tier.medium": "2h"},
        ["handoff: medium-tier leads now get at most 2h (the shorter SLA applies)"],
    ),
    (
        "tier SLA removed",
        {"handoff.sla.by_tier": {}},
        ["handoff: high-tier leads no longer have their own SLA (was at most 2h)"],
    ),
    (
        "escalate after",
        {"handoff.escalate_after": "1h"},
        ["handoff: escalate 30m → 1h after a missed deadline (later)"],
    ),
    (
        "max attempts",
        {"handoff.max_attempts": 2},
        ["handoff: at most 3 → 2 attempts before a lead returns to marketing (fewer)"],
    ),
    (
        "escalation target",
        {"handoff.escalation_target": "head-of-sales"},
        ["handoff: escalations go to sales-manager → head-of-sales"],
    ),
    # outcome and feedback
    (
        "outcome reminders",
        {"outcome.remind_every": "3d", "outcome.max_reminders": 4},
        [
            "outcome: remind the rep to record won / lost every 7d → 3d (more often)",
            "outcome: at most 2 → 4 outcome reminders (more)",
        ],
    ),
    (
        "feedback timing",
        {"feedback.ask_on": ["won", "lost"], "feedback.deadline": "5d", "feedback.reminders": ["3d"]},
        [
            "feedback: no longer asked after rejected leads",
            "feedback: deadline 7d → 5d (shorter)",
            "feedback: reminders after 2d, 5d → 3d",
        ],
    ),
    # reasons
    (
        "reason added",
        {"reasons.reject.wrong_person": {"label": "Not the decision maker"}},
        ['reasons: new reject reason wrong_person: "Not the decision maker"'],
    ),
    (
        "reason removed",
        {"reasons.lost.competitor": DELETE},
        ['reasons: lost reason competitor removed (was "Chose a competitor")'],
    ),
    (
        "reason relabelled",
        {"reasons.reject.no_budget.label": "No budget yet"},
        ['reasons: reject reason no_budget relabelled "No budget" → "No budget yet"'],
    ),
    (
        "reject then",
        {"reasons.reject.not_interested.then": "disqualify"},
        ["reasons: reject reason not_interested now disqualifies the lead (was: sends the lead back to nurture)"],
    ),
    # team
    (
        "rep added",
        appended("team.reps", {"id": "r-06", "territories": ["India"], "segments": ["high"], "capacity": 20}),
        ["team: new rep r-06 (covers India; takes high-tier leads; capacity 20)"],
    ),
    ("rep activated", {"team.reps.3.active": True}, ["team: r-09 activated"]),
    ("rep deactivated", {"team.reps.2.active": False}, ["team: r-03 deactivated"]),
    ("capacity", {"team.reps.0.capacity": 50}, ["team: r-01 capacity 40 → 50 open handoffs (more)"]),
    (
        "territory",
        {"team.reps.0.territories": ["Nepal"]},
        ["team: r-01 now also covers Nepal", "team: r-01 no longer covers India"],
    ),
    (
        "segments",
        {"team.reps.0.segments": ["high", "low"]},
        ["team: r-01 now also takes low-tier leads", "team: r-01 no longer takes medium-tier leads"],
    ),
]


@pytest.mark.parametrize(("changes", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_kind_of_change_reads_as_one_sentence(changes: dict[str, Any], expected: list[str]) -> None:
    assert lines(changes) == expected


def test_a_removed_rep_and_the_order_of_turns() -> None:
    data = known_rules_data()
    reps = data["team"]["reps"]
    data["team"]["reps"] = [reps[2], reps[1], reps[3]]  # r-01 leaves; r-03 before r-02
    new = parse_rules(yaml_text(data), "new.yaml")
    assert [str(c) for c in diff_rules(base(), new)] == [
        "team: r-01 removed",
        "team: order in which tied reps take turns r-02, r-03 → r-03, r-02",
    ]


def test_removing_recycling_names_the_move_and_the_delay() -> None:
    data = known_rules_data()
    data["lifecycle"]["transitions"] = [t for t in data["lifecycle"]["transitions"] if t["trigger"] != "recycle"]
    del data["lifecycle"]["recycle"]
    new = parse_rules(yaml_text(data), "new.yaml")
    assert [str(c) for c in diff_rules(base(), new)] == [
        "lifecycle: lost leads are no longer recycled (was after 30d)",
        "lifecycle: recycle no longer allowed from lost (→ mql)",
    ]


def test_changes_are_grouped_by_section_in_file_order() -> None:
    changes = diff_rules(
        base(),
        make_rules({"team.reps.2.active": False, "fit.tiers.high": 30, "handoff.max_attempts": 2}),
    )
    assert [c.section for c in changes] == ["fit", "handoff", "team"]
    assert [c.path for c in changes] == ["fit.tiers.high", "handoff.max_attempts", "team.reps[r-03]"]
    assert render_diff(changes).splitlines() == [str(c) for c in changes]


# --- no behavioural difference -------------------------------------------------------------------


def test_identical_rules_have_no_differences() -> None:
    assert diff_rules(make_rules(), make_rules()) == []
    assert render_diff([]) == "no behavioural differences"


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "renamed file"},
        {"engagement.events.cart_viewed": {"points": 0, "daily_cap": 5}},  # 0 points: as good as absent
        {"engagement.events.email_bounced.daily_cap": 5},  # penalties have no cap
        {"fit.criteria.3.value": ["INDIA "]},  # text matches case-insensitively
        {"fit.criteria.2.op": "one_of", "fit.criteria.2.value": ["working_professional"]},  # equals x = one_of [x]
        {"handoff.sla.by_tier.low": "3d"},  # longer than every temperature's SLA: never applies
        {"team.reps.0.territories": ["india"]},  # territories match case-insensitively
        {"temperature.warm_signals": ["webinar_attended", "subscribed"]},  # order of a set
    ],
    ids=[
        "name",
        "zero points",
        "penalty cap",
        "value case",
        "equals as one_of",
        "dead tier SLA",
        "territory case",
        "order",
    ],
)
def test_changes_without_effect_are_not_differences(changes: dict[str, Any]) -> None:
    new = make_rules(changes)
    assert new.version != base().version
    assert diff_rules(base(), new) == []


def test_a_reformatted_file_has_no_differences() -> None:
    data = known_rules_data()
    data["fit"]["criteria"] = list(reversed(data["fit"]["criteria"]))
    data["reasons"]["reject"] = dict(reversed(list(data["reasons"]["reject"].items())))
    reordered = {key: data[key] for key in reversed(list(data))}
    text = "# reformatted by hand\n" + yaml_text(reordered).replace("\n", "  # a comment\n", 3)
    old, new = base(), parse_rules(text, "reformatted.yaml")
    assert diff_rules(old, new) == []


def test_rule_changes_serialise_for_json() -> None:
    change = diff_rules(base(), make_rules({"handoff.max_attempts": 2}))[0]
    assert isinstance(change, RuleChange)
    assert change.model_dump(mode="json") == {
        "section": "handoff",
        "path": "handoff.max_attempts",
        "text": "at most 3 → 2 attempts before a lead returns to marketing (fewer)",
    }


# --- the command line ------------------------------------------------------------------------


def write(path: Path, changes: dict[str, Any] | None = None) -> str:
    data = known_rules_data()
    for dotted, value in (changes or {}).items():
        set_path(data, dotted, value)
    path.write_text(yaml_text(data), encoding="utf-8")
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = starter.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_cli_prints_the_changes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    old = write(tmp_path / "old.yaml")
    new = write(tmp_path / "new.yaml", {"handoff.sla.by_temperature.hot": "30m", "team.reps.3.active": True})
    code, out, err = run(capsys, "rules", "diff", old, new)
    assert (code, err) == (0, "")
    assert out.splitlines() == ["handoff: SLA for hot leads 1h → 30m (shorter)", "team: r-09 activated"]


def test_cli_says_when_nothing_changes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    old = write(tmp_path / "old.yaml")
    new = write(tmp_path / "new.yaml", {"name": "another name"})
    assert run(capsys, "rules", "diff", old, new) == (0, "no behavioural differences\n", "")


def test_cli_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    old = write(tmp_path / "old.yaml")
    new = write(tmp_path / "new.yaml", {"lifecycle.sql.min_score": 50})
    code, out, _ = run(capsys, "rules", "diff", old, new, "--json")
    assert code == 0
    assert json.loads(out) == {
        "old": base().version,
        "new": make_rules({"lifecycle.sql.min_score": 50}).version,
        "changes": [
            {
                "section": "lifecycle",
                "path": "lifecycle.sql.min_score",
                "text": "SQL at score 60 → 50 (looser)",
                "line": "lifecycle: SQL at score 60 → 50 (looser)",
            }
        ],
    }


def test_cli_invalid_files_give_file_line_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    old = write(tmp_path / "old.yaml", {"handoff.max_attempts": 0})
    new = tmp_path / "new.yaml"
    new.write_text(yaml_text(known_rules_data()).replace("half_life:", "halflife:"), encoding="utf-8")
    code, out, err = run(capsys, "rules", "diff", old, str(new))
    assert code == 2 and out == ""
    problems = err.splitlines()
    assert any(p.startswith(f"{old}:") and "handoff.max_attempts" in p for p in problems)
    assert any(p.startswith(f"{new}:") and "unknown key 'halflife'" in p for p in problems)
    assert all(p.split(":")[1].isdigit() for p in problems)  # file:line: field: message


def test_cli_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    old = write(tmp_path / "old.yaml")
    code, out, err = run(capsys, "rules", "diff", old, str(tmp_path / "nope.yaml"))
    assert (code, out) == (2, "")
    assert err == f"{tmp_path / 'nope.yaml'}: no such rules file\n"
