"""`rules backtest PATH --ledger`: recorded lead lives re-decided under current and proposed rules.

The ledger is a real one (`activities.ledger.Ledger`), filled the way the workflow fills it: each lead
is driven through `domain.decide.decide` (intake, events, routing, sales' verdicts, timers at their due
times) and every `Record` effect's entry is appended.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import starter
from activities.assign import assign
from activities.ledger import Ledger
from domain.backtest import roc_auc
from domain.decide import (
    HANDOFF,
    AssignRep,
    EventReceived,
    Input,
    IntakeReceived,
    Record,
    RepAssigned,
    TimerFired,
    decide,
)
from domain.models import Accept, LeadEvent, LeadIntake, RecordOutcome
from domain.rules import Rules
from domain.state import LeadState, LedgerEntry
from domain.vocabulary import EventKind, Outcome
from leadclient import ledger_backtest
from leadclient.ledger_backtest import LedgerBacktestReport, compare, render_ledger_text
from tests.domain.conftest import T0, known_rules_data, make_rules, set_path, yaml_text

NOW = T0 + timedelta(days=30)
ACCEPT = "the assigned rep accepts"


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def intake(received: datetime, **fields: Any) -> LeadIntake:
    data = {"email": "someone@example.com", "received_at": received, **fields}
    return LeadIntake.model_validate(data, context={"now": received})


@dataclass
class Life:
    """One lead's recorded life: its intake, then (time, event kind or sales action) in order."""

    lead_id: str
    intake: LeadIntake
    steps: Sequence[tuple[datetime, EventKind | str | RecordOutcome]] = ()
    events: list[LeadEvent] = field(default_factory=list)


def lives() -> list[Life]:
    return [
        # nothing much: new, cold, low
        Life("lead-plain", intake(at(0)), [(at(1), EventKind.PAGE_VIEWED)]),
        # a marketing signal: MQL; warm for the signal's window, then cold again
        Life("lead-mql", intake(at(1), country="India"), [(at(2), EventKind.SUBSCRIBED)]),
        # high tier, a quote: SQL (India: r-01), accepted, won
        Life(
            "lead-won-1",
            intake(at(2), country="India", attributes={"occupation": "working_professional", "budget": 5000}),
            [
                (at(3), EventKind.QUOTE_REQUESTED),
                (at(3.5), ACCEPT),
                (at(24 * 5), RecordOutcome(outcome=Outcome.WON)),
            ],
        ),
        # a referral: fast track to SQL at intake, accepted, lost
        Life(
            "lead-lost-1",
            intake(at(4), source="referral"),
            [(at(4.5), ACCEPT), (at(24 * 6), RecordOutcome(outcome=Outcome.LOST, reason="price"))],
        ),
        # medium tier with a trial: SQL, accepted, won
        Life(
            "lead-won-2",
            intake(at(4.5), attributes={"occupation": "working_professional"}),
            [
                (at(5), EventKind.TRIAL_STARTED),
                (at(5.25), ACCEPT),
                (at(24 * 7), RecordOutcome(outcome=Outcome.WON)),
            ],
        ),
        # medium tier (a budget), a quote: SQL, accepted, lost
        Life(
            "lead-lost-2",
            intake(at(5.4), attributes={"budget": 2000}),
            [
                (at(5.5), EventKind.QUOTE_REQUESTED),
                (at(5.75), ACCEPT),
                (at(24 * 8), RecordOutcome(outcome=Outcome.LOST, reason="competitor")),
            ],
        ),
        # medium tier, engaged but below the SQL threshold (score 55 < 60): MQL
        Life(
            "lead-almost",
            intake(at(6), attributes={"occupation": "working_professional"}),
            [
                (at(7), EventKind.WEBINAR_ATTENDED),
                (at(7.1), EventKind.PRICING_PAGE_VIEWED),
                (at(7.2), EventKind.PRICING_PAGE_VIEWED),
            ],
        ),
    ]


class Recorder:
    """Drives leads through `decide` as the workflow would, appending what it records to the ledger."""

    def __init__(self, ledger: Ledger, rules: Rules) -> None:
        self.ledger = ledger
        self.rules = rules
        self.seq = 0

    def record(self, life: Life, until: datetime = NOW) -> LeadState:
        state = self.apply(None, IntakeReceived(lead_id=life.lead_id, intake=life.intake), life.intake.received_at)
        for when, step in life.steps:
            state = self.timers(state, when)
            item: Input
            if isinstance(step, EventKind):
                self.seq += 1
                event = LeadEvent(event_id=f"{life.lead_id}-e{self.seq}", kind=step, occurred_at=when)
                life.events.append(event)
                item = EventReceived(event=event)
            elif isinstance(step, RecordOutcome):
                item = step
            else:
                assert step == ACCEPT and state.handoff.rep is not None
                item = Accept(rep=state.handoff.rep)
            state = self.apply(state, item, when)
        return self.timers(state, until)

    def apply(self, state: LeadState | None, item: Input, now: datetime) -> LeadState:
        decision = decide(state, item, self.rules, now)
        self.ledger.append(e.entry for e in decision.effects if isinstance(e, Record))
        result = decision.state
        for effect in decision.effects:
            if isinstance(effect, AssignRep):  # the real routing on the real ledger, as the worker does
                team, lead = self.rules.team, effect.lead_id
                chosen = assign(
                    self.ledger, lead, effect.attempt, team, effect.country, effect.tier, effect.exclude, now
                )
                result = self.apply(result, RepAssigned(attempt=effect.attempt, rep=chosen.rep), now)
        return result

    def timers(self, state: LeadState, until: datetime) -> LeadState:
        while not state.completed and state.timers and min(state.timers.values()) <= until:
            name, due = min(state.timers.items(), key=lambda item: item[1])
            state = self.apply(state, TimerFired(name=name), due)
        return state


def replay_same_inputs(rules: Rules, life: Life, until: datetime = NOW) -> LeadState:
    """The oracle: the lead's intake and events alone through `decide`, timers at their due times (not the
    handoff's: nobody answers), any rep for a handoff (the rep does not change stage, temperature or tier)."""

    def run(state: LeadState | None, item: Input, now: datetime) -> LeadState:
        decision = decide(state, item, rules, now)
        result = decision.state
        for effect in decision.effects:
            if isinstance(effect, AssignRep):
                result = run(result, RepAssigned(attempt=effect.attempt, rep="r-02"), now)
        return result

    def timers(state: LeadState, until: datetime) -> LeadState:
        while True:
            due = [(when, name) for name, when in state.timers.items() if name != HANDOFF and when <= until]
            if not due:
                return state
            when, name = min(due)
            state = run(state, TimerFired(name=name), when)

    state = run(None, IntakeReceived(lead_id=life.lead_id, intake=life.intake), life.intake.received_at)
    for event in life.events:
        state = run(timers(state, event.occurred_at), EventReceived(event=event), event.occurred_at)
    return timers(state, until)


def old_lead_entries() -> list[LedgerEntry]:
    """A lead recorded before the ledger kept the scoring profile in the intake row."""
    context = {"stage": "new", "temperature": "new", "tier": "low", "score": 0.0}
    return [
        LedgerEntry(
            lead_id="lead-old",
            seq=1,
            kind="intake",
            at=at(0.5),
            rules_version="r-000000000000",
            data={**context, "source": "other", "identity_kind": "email"},
        ),
        LedgerEntry(
            lead_id="lead-old",
            seq=2,
            kind="event",
            at=at(0.6),
            rules_version="r-000000000000",
            data={
                **context,
                "event_id": "old-1",
                "kind": "page_viewed",
                "occurred_at": at(0.6).isoformat(),
                "properties": {},
            },
        ),
    ]


@dataclass
class Recorded:
    ledger: Ledger
    rules: Rules
    lives: list[Life]
    states: dict[str, LeadState]

    def entries(self) -> list[LedgerEntry]:
        return self.ledger.all_entries()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    rules = make_rules()
    ledger = Ledger(tmp_path_factory.mktemp("data") / "ledger.sqlite3")
    recorder = Recorder(ledger, rules)
    all_lives = lives()
    states = {life.lead_id: recorder.record(life) for life in all_lives}
    ledger.append(old_lead_entries())
    return Recorded(ledger, rules, all_lives, states)


@pytest.fixture(scope="module")
def same(recorded: Recorded) -> LedgerBacktestReport:
    return compare(recorded.entries(), recorded.rules, recorded.rules, NOW)


# --- the same rules --------------------------------------------------------------------------


def test_the_recorded_lives_are_what_the_tests_expect(recorded: Recorded) -> None:
    stages = {lead: state.stage.value for lead, state in recorded.states.items()}
    assert stages == {
        "lead-plain": "new",
        "lead-mql": "mql",
        "lead-won-1": "customer",
        "lead-lost-1": "lost",
        "lead-won-2": "customer",
        "lead-lost-2": "lost",
        "lead-almost": "mql",
    }


def test_same_rules_give_the_counts_of_replaying_the_same_inputs(
    recorded: Recorded, same: LedgerBacktestReport
) -> None:
    oracle = [replay_same_inputs(recorded.rules, life) for life in recorded.lives]
    assert same.leads == len(recorded.lives)
    assert same.current == same.proposed
    current = same.current
    assert current.rules_version == recorded.rules.version
    for counts, attribute in (
        (current.by_stage, "stage"),
        (current.by_temperature, "temperature"),
        (current.by_tier, "tier"),
    ):
        expected = Counter(getattr(state, attribute).value for state in oracle)
        assert {k: v for k, v in counts.items() if v} == dict(expected), attribute
    # sales' verdicts are not replayed: the four leads handed to sales wait in SQL
    assert current.by_stage == {
        "new": 1,
        "mql": 2,
        "sql": 4,
        "accepted": 0,
        "customer": 0,
        "lost": 0,
        "disqualified": 0,
    }
    assert current.handed_to_sales == 4


def test_the_recorded_column_says_what_happened(recorded: Recorded, same: LedgerBacktestReport) -> None:
    rec = same.recorded
    states = [recorded.states[life.lead_id] for life in recorded.lives]
    assert {k: v for k, v in rec.by_stage.items() if v} == dict(Counter(s.stage.value for s in states))
    assert {k: v for k, v in rec.by_temperature.items() if v} == dict(Counter(s.temperature.value for s in states))
    assert {k: v for k, v in rec.by_tier.items() if v} == dict(Counter(s.tier.value for s in states))
    assert rec.by_tier == same.current.by_tier  # tier is fit alone: the same rules give the same tiers
    assert rec.handed_to_sales == 4
    assert rec.rules_version is None
    assert rec.unassigned_handoffs is None


def test_sla_load_counts_handoffs_and_their_sla_hours(same: LedgerBacktestReport) -> None:
    load = same.current.sla_load_by_rep
    assert list(load) == ["r-01", "r-02", "r-03", "r-09"]  # the team, in file order
    assert sum(rep.handoffs for rep in load.values()) == 4
    # won-1: India, high tier → r-01; hot and high: the shorter of 1h and 2h
    assert load["r-01"].handoffs == 1
    assert load["r-01"].sla_hours == 1.0
    assert load["r-09"].handoffs == 0  # inactive
    assert same.current.unassigned_handoffs == 0
    # the recording routed the same leads to the same reps with the same SLAs
    assert same.recorded.sla_load_by_rep == {rep: v for rep, v in load.items() if v.handoffs}


def test_auc_and_conversion_come_from_the_recorded_outcomes(same: LedgerBacktestReport) -> None:
    for column in (same.current, same.recorded):
        assert column.outcomes == 4
        assert column.auc is not None
    assert same.current.conversion_by_tier == {"high": 0.5, "medium": 0.5}
    assert same.recorded.conversion_by_tier == same.current.conversion_by_tier


def test_auc_uses_the_score_at_the_outcome(recorded: Recorded, same: LedgerBacktestReport) -> None:
    won = {"lead-won-1": True, "lead-won-2": True, "lead-lost-1": False, "lead-lost-2": False}
    at_outcome, at_the_end, labels = [], [], []
    for life in recorded.lives:
        if life.lead_id in won:
            outcome_at = max(when for when, step in life.steps if isinstance(step, RecordOutcome))
            at_outcome.append(replay_same_inputs(recorded.rules, life, until=outcome_at).score)
            at_the_end.append(replay_same_inputs(recorded.rules, life).score)
            labels.append(won[life.lead_id])
    assert same.current.auc == roc_auc(at_outcome, labels) == 1.0
    assert roc_auc(at_the_end, labels) == 0.75  # weeks later, engagement has faded: not what sales saw


def test_a_lead_without_a_profile_is_skipped_and_reported(same: LedgerBacktestReport) -> None:
    assert [s.lead_id for s in same.skipped] == ["lead-old"]
    assert "no scoring profile" in same.skipped[0].reason
    assert same.recorded.leads == same.current.leads == 7


# --- changed rules ---------------------------------------------------------------------------


def test_a_lower_sql_threshold_moves_more_leads_to_sql(recorded: Recorded) -> None:
    proposed = make_rules({"lifecycle.sql.min_score": 40})
    report = compare(recorded.entries(), recorded.rules, proposed, NOW)
    assert report.current.by_stage["sql"] == 4
    assert report.proposed.by_stage["sql"] == 5  # lead-almost (score 55) is now sales-ready
    assert report.proposed.by_stage["mql"] == report.current.by_stage["mql"] - 1
    assert report.proposed.handed_to_sales == 5
    assert report.proposed.rules_version == proposed.version != report.current.rules_version


def test_a_deactivated_rep_gets_no_load(recorded: Recorded) -> None:
    proposed = make_rules({"team.reps.0.active": False})  # r-01
    report = compare(recorded.entries(), recorded.rules, proposed, NOW)
    assert report.current.sla_load_by_rep["r-01"].handoffs == 1
    assert report.proposed.sla_load_by_rep["r-01"].handoffs == 0
    assert report.proposed.sla_load_by_rep["r-01"].sla_hours == 0
    total = sum(r.handoffs for r in report.current.sla_load_by_rep.values())
    assert sum(r.handoffs for r in report.proposed.sla_load_by_rep.values()) == total


def test_routing_tracks_open_handoffs_across_leads(recorded: Recorded) -> None:
    """Two reps of capacity 1: overlapping handoffs fill them, the next waits and retries as the engine does."""
    proposed = make_rules({"team.reps.0.active": False, "team.reps.1.capacity": 1, "team.reps.2.capacity": 1})
    report = compare(recorded.entries(), recorded.rules, proposed, NOW)
    load = report.proposed.sla_load_by_rep
    # lost-1 (4h, SLA 2h) and won-2 (5h, SLA 4h) hold both reps when lost-2 qualifies at 5.5h:
    # nobody is free; 30 minutes later lost-1's deadline has passed and its rep takes lost-2
    assert report.proposed.unassigned_handoffs == 1
    assert load["r-02"].handoffs + load["r-03"].handoffs == 4
    assert report.proposed.by_stage["sql"] == 4


def test_a_shorter_hot_sla_lowers_the_sla_hours(recorded: Recorded) -> None:
    proposed = make_rules({"handoff.sla.by_temperature.hot": "30m"})
    report = compare(recorded.entries(), recorded.rules, proposed, NOW)
    before = sum(r.sla_hours for r in report.current.sla_load_by_rep.values())
    after = sum(r.sla_hours for r in report.proposed.sla_load_by_rep.values())
    assert report.proposed.sla_load_by_rep["r-01"].sla_hours == 0.5
    assert after < before


def test_the_result_does_not_depend_on_entry_order(recorded: Recorded) -> None:
    proposed = make_rules({"lifecycle.sql.min_score": 40})
    entries = recorded.entries()
    forward = compare(entries, recorded.rules, proposed, NOW)
    backward = compare(list(reversed(entries)), recorded.rules, proposed, NOW)
    assert forward == backward


def test_the_text_puts_the_rules_side_by_side(recorded: Recorded) -> None:
    proposed = make_rules({"lifecycle.sql.min_score": 40, "team.reps.0.active": False})
    report = compare(recorded.entries(), recorded.rules, proposed, NOW)
    text = render_ledger_text(report, "published", "proposed.yaml")
    assert f"current   {recorded.rules.version}  (published)" in text
    assert f"proposed  {proposed.version}  (proposed.yaml)" in text
    lines = text.splitlines()
    header = next(line for line in lines if line.split() == ["current", "proposed", "change", "recorded"])
    assert header
    sql = next(line for line in lines if line.split()[:1] == ["sql"])
    assert sql.split() == ["sql", "4", "5", "+1", "0"]
    r01 = next(line for line in lines if line.split()[:1] == ["r-01"])
    assert r01.split() == ["r-01", "1", "/", "1h", "0", "/", "0h", "-1", "1", "/", "1h"]
    assert "ROC AUC of the score" in text
    assert "lead-old: the intake row has no scoring profile" in text


# --- the command line ------------------------------------------------------------------------


def write_rules(path: Path, changes: dict[str, Any] | None = None) -> Path:
    """The test rules with `changes` (as `make_rules` takes them), as a file."""
    data = known_rules_data()
    for dotted, value in (changes or {}).items():
        set_path(data, dotted, value)
    path.write_text(yaml_text(data), encoding="utf-8")
    return path


@pytest.fixture
def data_dir(recorded: Recorded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory holding a copy of the recorded ledger; the current rules are the test rules."""
    directory = tmp_path / "data"
    Ledger(directory / "ledger.sqlite3").append(recorded.entries())
    monkeypatch.setenv("LEADFLOW_RULES", str(write_rules(tmp_path / "current.yaml")))
    monkeypatch.delenv("LEADFLOW_DATA_DIR", raising=False)
    return directory


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = starter.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_cli_ledger_backtest_json(capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path) -> None:
    proposed = write_rules(tmp_path / "proposed.yaml", {"lifecycle.sql.min_score": 40})
    code, out, err = run(capsys, "rules", "backtest", str(proposed), "--ledger", "--data-dir", str(data_dir), "--json")
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert {"current", "proposed", "recorded", "skipped", "leads"} <= set(report)
    for name in ("current", "proposed", "recorded"):
        column = report[name]
        assert {"by_stage", "by_temperature", "by_tier", "sla_load_by_rep", "auc", "conversion_by_tier"} <= set(column)
    assert report["current"]["rules_version"] == make_rules().version
    assert report["proposed"]["rules_version"] == make_rules({"lifecycle.sql.min_score": 40}).version
    assert report["current"]["by_stage"]["sql"] == 4
    assert report["proposed"]["by_stage"]["sql"] == 5
    assert report["recorded"]["by_stage"]["customer"] == 2
    assert report["current"]["sla_load_by_rep"]["r-01"] == {"handoffs": 1, "sla_hours": 1.0}
    assert [s["lead_id"] for s in report["skipped"]] == ["lead-old"]


def test_cli_ledger_backtest_text_compares_with_the_published_rules(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    proposed = write_rules(tmp_path / "proposed.yaml", {"team.reps.0.active": False})
    code, out, _ = run(capsys, "rules", "backtest", str(proposed), "--ledger", "--data-dir", str(data_dir))
    assert code == 0
    assert f"current   {make_rules().version}" in out
    assert "r-01" in out and "handed to sales" in out


def test_cli_data_dir_comes_from_the_environment(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADFLOW_DATA_DIR", str(data_dir))
    proposed = write_rules(tmp_path / "proposed.yaml")
    code, out, _ = run(capsys, "rules", "backtest", str(proposed), "--ledger", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["current"] == report["proposed"]


def test_cli_needs_exactly_one_of_data_and_ledger(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    rules = str(write_rules(data_dir.parent / "x.yaml"))
    code, _, err = run(capsys, "rules", "backtest", rules)
    assert code == 2 and "--data" in err and "--ledger" in err
    code, _, err = run(capsys, "rules", "backtest", rules, "--data", "leads.csv", "--ledger")
    assert code == 2 and "not allowed with" in err


def test_cli_without_a_ledger_says_where_it_looked(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rules = str(write_rules(tmp_path / "x.yaml"))
    code, out, err = run(capsys, "rules", "backtest", rules, "--ledger", "--data-dir", str(tmp_path / "nothing"))
    assert code == 2 and out == ""
    assert f"{tmp_path / 'nothing' / 'ledger.sqlite3'}: no ledger here" in err


def test_cli_an_invalid_proposed_file_is_refused(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    bad = data_dir.parent / "bad.yaml"
    bad.write_text(yaml_text(known_rules_data()).replace("max_attempts: 3", "max_attempts: 0"), encoding="utf-8")
    code, out, err = run(capsys, "rules", "backtest", str(bad), "--ledger", "--data-dir", str(data_dir))
    assert code == 2 and out == ""
    assert f"{bad}:" in err and "handoff.max_attempts" in err


def test_replaying_in_two_processes_changes_nothing(recorded: Recorded, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger_backtest, "_PARALLEL_FROM_STEPS", 0)
    proposed = make_rules({"lifecycle.sql.min_score": 40})
    alone = compare(recorded.entries(), recorded.rules, proposed, NOW)
    assert compare(recorded.entries(), recorded.rules, proposed, NOW, workers=2) == alone


def entries_of(rules: Rules, lead_id: str, lead_intake: LeadIntake) -> list[LedgerEntry]:
    decision = decide(None, IntakeReceived(lead_id=lead_id, intake=lead_intake), rules, lead_intake.received_at)
    return [e.entry for e in decision.effects if isinstance(e, Record)]


def test_the_recorded_tier_of_a_lead_with_only_its_intake_comes_from_its_rules_version() -> None:
    """The intake row carries the context from before the first scoring: the tier is named by scoring the
    profile under the rules version that recorded it, when the caller can look that version up."""
    rules = make_rules()
    entries = entries_of(rules, "lead-quiet", intake(at(0), attributes={"occupation": "working_professional"}))
    assert [e.kind for e in entries if "tier" in e.data] == ["intake"]
    looked_up = compare(entries, rules, rules, NOW, recorded_rules={rules.version: rules}.get)
    assert looked_up.recorded.by_tier == looked_up.current.by_tier == {"high": 0, "medium": 1, "low": 0}
    unknown = compare(entries, rules, rules, NOW)
    assert unknown.recorded.by_tier == {"high": 0, "medium": 0, "low": 0, "unknown": 1}


def test_a_lead_with_an_unreadable_event_is_skipped() -> None:
    rules = make_rules()
    entries = entries_of(rules, "lead-odd", intake(at(0)))
    context = {"stage": "new", "temperature": "cold", "tier": "low", "score": 0.0}
    data = {**context, "event_id": "x-1", "kind": "teleported", "occurred_at": at(1).isoformat(), "properties": {}}
    entries.append(LedgerEntry(lead_id="lead-odd", seq=99, kind="event", at=at(1), rules_version="r-1", data=data))
    report = compare(entries, rules, rules, NOW)
    assert report.leads == 0
    assert [(s.lead_id, s.reason.split(":")[0]) for s in report.skipped] == [
        ("lead-odd", "event row 99 is not a valid event")
    ]
