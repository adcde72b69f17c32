"""Shared fixtures for the domain tests: rules with known numbers, a lead driver, time helpers.

The test rules start from `rules/default.yaml` (its lifecycle table, its shape) and replace every
number, list and reason the tests rely on with the values below, so calibrating the default
file's points never breaks these tests.
"""

from __future__ import annotations

import copy
import io
import itertools
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from ruamel.yaml import YAML

from domain.decide import AssignRep, Effect, EventReceived, Input, IntakeReceived, Notify, Record, TimerFired, decide
from domain.models import LeadEvent, LeadIntake
from domain.rules import Rules
from domain.rules_file import parse_rules
from domain.state import LeadState
from domain.vocabulary import EventKind

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RULES_PATH = ROOT / "rules" / "default.yaml"

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning, UTC
LEAD_ID = "lead-0123456789abcdef01234567"

# Everything the tests count on. `lifecycle.transitions` comes from the default file.
KNOWN_SECTIONS_YAML = """
fit:
  criteria:
    - {name: referred, field: source, op: one_of, value: [referral, partner], points: 30}
    - {name: came through sales, field: source, op: equals, value: sales, points: 25}
    - {name: working professional, field: attributes.occupation, op: equals, value: working_professional, points: 20}
    - {name: in india, field: country, op: one_of, value: [India], points: 5}
    - {name: stated a budget, field: attributes.budget, op: range, min: 1000, max: 100000, points: 10}
    - {name: named a company, field: company, op: present, points: 3}
    - {name: asked not to be e-mailed, field: do_not_email, op: equals, value: true, points: -15}
  tiers: {high: 25, medium: 10}
engagement:
  half_life: 10d
  events:
    page_viewed: {points: 2, daily_cap: 6}
    article_read: {points: 4}
    pricing_page_viewed: {points: 10}
    email_opened: {points: 4, daily_cap: 8}
    email_clicked: {points: 5}
    email_bounced: {points: -10}
    subscribed: {points: 8}
    unsubscribed: {points: -20}
    social_followed: {points: 4}
    webinar_attended: {points: 15}
    content_downloaded: {points: 8}
    form_submitted: {points: 10}
    chat_started: {points: 8}
    call_connected: {points: 25}
    contact_requested: {points: 25}
    quote_requested: {points: 30}
    trial_started: {points: 30}
    order_placed: {points: 40}
temperature:
  thresholds: {warm: 30, hot: 60}
  warm_signals: [subscribed, webinar_attended]
  hot_signals: [contact_requested, quote_requested]
  signal_window: {warm: 7d, hot: 2d}
lifecycle:
  mql: {min_score: 20, signals: [content_downloaded, subscribed]}
  sql: {min_score: 60, min_tier: medium, signals: [quote_requested, trial_started]}
  referral_fast_track: true
  recycle: {lost_after: 30d}
handoff:
  sla:
    by_temperature: {new: 1d, cold: 1d, warm: 4h, hot: 1h}
    by_tier: {high: 2h}
  escalate_after: 30m
  max_attempts: 3
  escalation_target: sales-manager
outcome: {remind_every: 7d, max_reminders: 2}
feedback: {ask_on: [won, lost, rejected], deadline: 7d, reminders: [2d, 5d]}
reasons:
  reject:
    not_interested: {label: Not interested right now}
    no_budget: {label: No budget}
    spam: {label: Spam or fake details, then: disqualify}
  lost: {price: Too expensive, competitor: Chose a competitor}
  disqualify: {spam: Spam or fake details, test: Test submission}
  feedback: {good_fit: Good fit, low_intent: Low intent}
team:
  reps:
    - {id: r-01, territories: [India], segments: [high, medium], capacity: 40}
    - {id: r-02, territories: ["*"], capacity: 30}
    - {id: r-03, territories: ["*"], capacity: 20}
    - {id: r-09, territories: ["*"], capacity: 10, active: false}
"""

REPS = ("r-01", "r-02", "r-03")
INACTIVE_REP = "r-09"


def _safe_load(text: str) -> Any:
    return YAML(typ="safe").load(text)


def yaml_text(data: Any) -> str:
    out = io.StringIO()
    yaml = YAML()
    yaml.width = 4096
    yaml.dump(data, out)
    return out.getvalue()


def default_rules_data() -> dict[str, Any]:
    data: dict[str, Any] = _safe_load(DEFAULT_RULES_PATH.read_text())
    return data


def known_rules_data() -> dict[str, Any]:
    """The default file with every section the tests count on replaced by the known values."""
    data = default_rules_data()
    known: dict[str, Any] = _safe_load(KNOWN_SECTIONS_YAML)
    transitions = data["lifecycle"]["transitions"]
    data.update(copy.deepcopy(known))
    data["name"] = "test"
    data["lifecycle"]["transitions"] = transitions
    return data


DELETE = object()


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """`set_path(d, "handoff.max_attempts", 1)`; a value of `DELETE` removes the key."""
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def make_rules(changes: dict[str, Any] | None = None, source: str = "test.yaml") -> Rules:
    """Test rules, with `changes` ({dotted path: value}) applied, through the real loader."""
    data = known_rules_data()
    for path, value in (changes or {}).items():
        set_path(data, path, value)
    return parse_rules(yaml_text(data), source)


@pytest.fixture(scope="session")
def rules() -> Rules:
    return make_rules()


@pytest.fixture(scope="session")
def default_rules() -> Rules:
    return parse_rules(DEFAULT_RULES_PATH.read_text(), "rules/default.yaml")


# --- building inputs ------------------------------------------------------------------------


def intake(**fields: Any) -> LeadIntake:
    """A valid intake received at T0; plain (fit 0 under the test rules) unless fields say otherwise."""
    data: dict[str, Any] = {"email": "Ada.Lovelace@Example.com", "received_at": T0, **fields}
    return LeadIntake.model_validate(data, context={"now": data["received_at"]})


_ids = itertools.count(1)


def event(kind: EventKind | str, at: datetime, event_id: str | None = None, **properties: Any) -> LeadEvent:
    return LeadEvent(
        event_id=event_id or f"ev-{next(_ids)}",
        kind=EventKind(kind),
        occurred_at=at,
        properties=properties,
    )


# --- driving a lead through decide ------------------------------------------------------------

E = TypeVar("E")


def of_type(effects: Iterable[Any], kind: type[E]) -> list[E]:
    return [e for e in effects if isinstance(e, kind)]


def topics(effects: Iterable[Any]) -> list[tuple[str, str]]:
    """(to, topic) of every notification."""
    return [(n.notification.to, n.notification.topic) for n in of_type(effects, Notify)]


def transitions_of(effects: Iterable[Any]) -> list[tuple[str, str, str, str]]:
    """(machine, trigger, from, to) of every transition recorded in the effects."""
    out = []
    for r in of_type(effects, Record):
        if r.entry.kind == "transition":
            d = r.entry.data
            out.append((d["machine"], d["trigger"], d["source"], d["dest"]))
    return out


class Lead:
    """A lead under test: feeds inputs to `decide` and keeps the state and every effect."""

    def __init__(self, rules: Rules, lead_intake: LeadIntake | None = None, now: datetime = T0) -> None:
        self.rules = rules
        self.now = now
        first = decide(None, IntakeReceived(lead_id=LEAD_ID, intake=lead_intake or intake()), rules, now)
        self.state: LeadState = first.state
        self.effects: list[Effect] = list(first.effects)
        self.history: list[Effect] = list(first.effects)

    def send(self, item: Input, at: datetime | None = None) -> list[Effect]:
        if at is not None:
            self.now = at
        result = decide(self.state, item, self.rules, self.now)
        self.state = result.state
        self.effects = list(result.effects)
        self.history += result.effects
        return self.effects

    def current(self) -> LeadState:
        """The state now (a call, so that type checkers forget what they narrowed before a send)."""
        return self.state

    def later(self, delta: timedelta) -> datetime:
        self.now = self.now + delta
        return self.now

    def event(self, kind: EventKind | str, at: datetime | None = None, event_id: str | None = None) -> list[Effect]:
        when = at or self.now
        return self.send(EventReceived(event=event(kind, when, event_id)), max(self.now, when))

    def fire(self, name: str) -> list[Effect]:
        """Wake the timer `name` at its due time."""
        assert name in self.state.timers, f"timer {name!r} is not set; timers: {self.state.timers}"
        return self.send(TimerFired(name=name), self.state.timers[name])

    def trail(self, machine: str) -> list[str]:
        """The triggers fired on `machine`, oldest first."""
        return [t.trigger for t in self.state.timeline if t.machine == machine]


def assign_request(effects: Sequence[Any]) -> AssignRep:
    """The single AssignRep effect among `effects`."""
    found = of_type(effects, AssignRep)
    assert len(found) == 1, f"expected one AssignRep, got {found}"
    return found[0]
