"""Back-testing rules on the ledger: what marketing and routing would have done with the leads we had.

Every lead in the ledger is re-decided by the real engine (`domain.decide.decide`) under the current
rules and under the proposed ones: its intake, rebuilt from the intake row's scoring profile, then its
recorded events, each at the moment it was recorded. All leads are replayed interleaved in time order,
and every handoff is routed by the real routing (`activities.assign.choose_rep`) with each rep's load
tracked across the replay, so capacity and least-loaded choices play out as they would have. The report
puts the two rules side by side, with what the ledger says actually happened for reference.

The back-test answers "what would marketing and routing have done", not "what would sales have done":

- **Sales' and ops' actions are not replayed** (accept, reject, outcome, feedback, reassign, disqualify,
  hand to sales). They answered the leads the rules of the day handed over; nothing says how they
  would have answered others. A replayed lead that reaches SQL therefore stays there, waiting for its
  rep: it counts under `sql`, and `handed_to_sales` counts every lead that reached SQL. Its deadline
  passes unnoticed (no overdue, escalation or reassignment for a rep who did not answer is simulated).
  A handoff that found no free rep is routing's part: it retries as the engine does (`escalate_after`
  later, up to `max_attempts`, then back to marketing). Other timers (engagement decay) fire at their
  due times, as in the workflow.
- **SLA load** of a rep: the handoffs routing gave them, and the sum of those handoffs' SLA windows
  (deadline − assignment) in hours. For routing, a replayed handoff holds its rep's capacity from
  assignment until its deadline (the longest the rep may take to answer).
- **ROC AUC and conversion per tier** use the leads with a recorded outcome (the latest `outcome` row;
  won = converted), scored at the moment sales recorded that outcome: for the replays, the score and tier
  each rules set gives the lead then (engagement decayed as the engine would); for `recorded`, the score
  and tier the outcome row carries.
- The profile holds no personal data: company, city and referrer read `(redacted)` when present (a
  criterion on their presence replays exactly, one on their value does not), the e-mail survives only as
  its domain (rebuilt as an address at that domain), and the lead id stands in as the external id.
  Duplicate submissions merged into a lead are not replayed (the ledger keeps only the first profile).
- A lead whose intake row has no profile (recorded before the ledger kept one), or that has no intake
  row among the entries, is skipped and listed in `skipped` with the reason.

Pure computation: ledger entries in, report out; `now` is passed in. `compare` may fork one process per
rules set (`workers`), which changes nothing in the result.
"""

from __future__ import annotations

import heapq
import multiprocessing
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, ValidationError

from activities.assign import choose_rep
from domain.backtest import roc_auc
from domain.decide import HANDOFF, AssignRep, Decision, EventReceived, IntakeReceived, Record, RepAssigned, TimerFired
from domain.decide import decide as decide_lead
from domain.errors import LeadflowError
from domain.models import LeadEvent, LeadIntake, describe_validation_error
from domain.rules import Rules
from domain.scoring import score
from domain.state import LeadState, LedgerEntry
from domain.vocabulary import TIER_ORDER, Stage, Temperature

__all__ = [
    "LedgerBacktestReport",
    "RulesColumn",
    "SkippedLead",
    "SlaLoad",
    "compare",
    "render_ledger_text",
]

UNKNOWN_TIER = "unknown"
_MAX_TIMERS_PER_STEP = 1000  # a guard: decay timers fire a few times per lead, never this often
_PARALLEL_FROM_STEPS = 2000  # below this, forking costs more than it saves


# --- the report ----------------------------------------------------------------------------


class SlaLoad(BaseModel):
    """Handoffs routed to one rep and the SLA hours they carry (sum of deadline − assignment)."""

    model_config = ConfigDict(frozen=True)

    handoffs: int
    sla_hours: float


class RulesColumn(BaseModel):
    """One side of the comparison: where the leads end up under one rules set (or as recorded)."""

    model_config = ConfigDict(frozen=True)

    rules_version: str | None
    leads: int
    by_stage: dict[str, int]
    by_temperature: dict[str, int]
    by_tier: dict[str, int]
    handed_to_sales: int
    sla_load_by_rep: dict[str, SlaLoad]
    unassigned_handoffs: int | None  # handoffs routing found nobody for; None: not in the ledger's entries
    outcomes: int
    auc: float | None
    conversion_by_tier: dict[str, float]


class SkippedLead(BaseModel):
    model_config = ConfigDict(frozen=True)

    lead_id: str
    reason: str


class LedgerBacktestReport(BaseModel):
    """The proposed rules against the current ones on the ledger's leads, and what was recorded."""

    model_config = ConfigDict(frozen=True)

    now: datetime
    leads: int
    skipped: list[SkippedLead]
    current: RulesColumn
    proposed: RulesColumn
    recorded: RulesColumn


# --- reading the ledger ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Step:
    """One recorded input of one lead: its intake, an event, or (neither) the moment of its outcome."""

    at: datetime
    lead_id: str
    seq: int
    intake: LeadIntake | None = None
    event: LeadEvent | None = None


class _Result(NamedTuple):
    """Where one lead ends up, and its score and tier when sales recorded its outcome."""

    stage: str
    temperature: str
    tier: str
    handed_to_sales: bool
    score_at_outcome: float | None
    tier_at_outcome: str | None


@dataclass
class _Prepared:
    steps: list[_Step]
    won: dict[str, bool]  # lead → converted, for leads with a recorded outcome
    recorded: dict[str, _Result]
    recorded_load: dict[str, list[float]]  # rep → [handoffs, SLA seconds]
    skipped: dict[str, str]


RulesLookup = Callable[[str], Rules | None]


def _prepare(entries: Iterable[LedgerEntry], recorded_rules: RulesLookup | None) -> _Prepared:
    by_lead: dict[str, list[LedgerEntry]] = defaultdict(list)
    for entry in entries:
        by_lead[entry.lead_id].append(entry)
    prepared = _Prepared(steps=[], won={}, recorded={}, recorded_load={}, skipped={})
    for lead_id in sorted(by_lead):
        rows = sorted(by_lead[lead_id], key=lambda e: e.seq)
        try:
            steps = _steps_of(lead_id, rows)
        except _Skip as skip:
            prepared.skipped[lead_id] = str(skip)
            continue
        prepared.steps += steps
        outcome = next((e for e in reversed(rows) if e.kind == "outcome"), None)
        if outcome is not None:
            prepared.won[lead_id] = outcome.data.get("outcome") == "won"
        intake = steps[0].intake
        assert intake is not None
        prepared.recorded[lead_id] = _recorded(rows, intake, recorded_rules)
        for row in rows:
            if row.kind == "handoff" and row.data.get("status") == "pending" and row.data.get("rep"):
                load = prepared.recorded_load.setdefault(str(row.data["rep"]), [0, 0.0])
                load[0] += 1
                load[1] += _sla_seconds(row)
    prepared.steps.sort(key=lambda s: (s.at, s.lead_id, s.seq))
    return prepared


class _Skip(Exception):
    """A lead that cannot be replayed; the message says why."""


def _steps_of(lead_id: str, rows: Sequence[LedgerEntry]) -> list[_Step]:
    first = next((e for e in rows if e.kind == "intake" and not e.data.get("duplicate")), None)
    if first is None:
        raise _Skip("no intake row among the ledger entries read")
    profile = first.data.get("profile")
    if not isinstance(profile, dict):
        raise _Skip("the intake row has no scoring profile (recorded before the ledger kept one)")
    steps = [_Step(first.at, lead_id, first.seq, intake=_intake(lead_id, profile, first.at))]
    for row in rows:
        if row.kind == "event" and row.seq > first.seq:
            steps.append(_Step(row.at, lead_id, row.seq, event=_event(row)))
    outcome = next((e for e in reversed(rows) if e.kind == "outcome"), None)
    if outcome is not None:
        steps.append(_Step(outcome.at, lead_id, outcome.seq))
    return steps


def _intake(lead_id: str, profile: Mapping[str, Any], at: datetime) -> LeadIntake:
    data = {k: v for k, v in profile.items() if k not in ("email_domain", "received_at")}
    data["external_id"] = lead_id
    data["received_at"] = at
    if profile.get("email_domain"):
        data["email"] = f"lead@{profile['email_domain']}"  # only the domain was kept, and only it is scored
    try:
        return LeadIntake.model_validate(data)
    except ValidationError as exc:
        raise _Skip(f"the recorded profile is not a valid intake: {describe_validation_error(exc)}") from None


def _event(row: LedgerEntry) -> LeadEvent:
    data = {k: row.data.get(k) for k in ("event_id", "kind", "occurred_at", "properties")}
    try:
        return LeadEvent.model_validate(data)
    except ValidationError as exc:
        raise _Skip(f"event row {row.seq} is not a valid event: {describe_validation_error(exc)}") from None


def _sla_seconds(handoff: LedgerEntry) -> float:
    deadline = handoff.data.get("deadline")
    if not isinstance(deadline, str):
        return 0.0
    return max(0.0, (datetime.fromisoformat(deadline) - handoff.at).total_seconds())


def _recorded(rows: Sequence[LedgerEntry], intake: LeadIntake, recorded_rules: RulesLookup | None) -> _Result:
    """What the ledger says: stage and temperature from the transitions, tier from the latest context."""
    stage, temperature = Stage.NEW.value, Temperature.NEW.value
    handed = False
    tier: str | None = None
    first_intake = next(e.seq for e in rows if e.kind == "intake")
    for row in rows:
        if row.kind == "transition":
            if row.data.get("machine") == "lifecycle":
                stage = str(row.data.get("dest"))
                handed = handed or stage == Stage.SQL.value
            elif row.data.get("machine") == "temperature":
                temperature = str(row.data.get("dest"))
        elif row.kind == "notification" and isinstance(row.data.get("data"), dict):
            tier = row.data["data"].get("tier") or tier  # notifications carry the context after the decision
        elif row.seq != first_intake and "tier" in row.data:
            tier = str(row.data["tier"])  # other rows carry it before the decision: the intake's is unscored
    if tier is None:
        rules = recorded_rules(rows[-1].rules_version) if recorded_rules else None
        tier = score(intake, [], rules, intake.received_at).tier.value if rules else UNKNOWN_TIER
    outcome = next((e for e in reversed(rows) if e.kind == "outcome"), None)
    return _Result(
        stage=stage,
        temperature=temperature,
        tier=tier,
        handed_to_sales=handed,
        score_at_outcome=float(outcome.data["score"]) if outcome and "score" in outcome.data else None,
        tier_at_outcome=str(outcome.data["tier"]) if outcome and "tier" in outcome.data else None,
    )


# --- replaying under one rules set -------------------------------------------------------------


@dataclass
class _Run:
    """All leads replayed under one rules set, in time order, with routing's view of the reps' load.

    Decisions that route a lead (its steps, and the retries of a handoff that found no free rep) run in
    global time order, so each routing sees the open handoffs of that moment; a lead's other timers
    (decay) fire lazily, at their due times, before its next step.
    """

    rules: Rules
    results: dict[str, _Result] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    load_by_rep: dict[str, list[float]] = field(default_factory=dict)  # rep → [handoffs, SLA seconds]
    unassigned: int = 0
    _states: dict[str, LeadState] = field(default_factory=dict)
    _handed: set[str] = field(default_factory=set)
    _at_outcome: dict[str, tuple[float, str]] = field(default_factory=dict)
    _open: list[tuple[datetime, str]] = field(default_factory=list)  # (deadline, rep) of open handoffs
    _waiting: list[tuple[datetime, str]] = field(default_factory=list)  # (retry due, lead) with no rep yet
    _load: Counter[str] = field(default_factory=Counter)
    _turn: int = 0

    def replay(self, steps: Sequence[_Step], now: datetime) -> _Run:
        for step in steps:
            self._retry_waiting(step.at)
            if step.lead_id not in self.failed:
                with self._guard(step.lead_id, step.at):
                    self._step(step)
        self._retry_waiting(now)
        for lead_id in list(self._states):
            self._advance(lead_id, now)
        for lead_id, state in self._states.items():
            at_outcome = self._at_outcome.get(lead_id)
            self.results[lead_id] = _Result(
                stage=state.stage.value,
                temperature=state.temperature.value,
                tier=state.tier.value,
                handed_to_sales=lead_id in self._handed,
                score_at_outcome=at_outcome[0] if at_outcome else None,
                tier_at_outcome=at_outcome[1] if at_outcome else None,
            )
        self._states = {}
        return self

    @contextmanager
    def _guard(self, lead_id: str, at: datetime) -> Iterator[None]:
        """A lead the engine refuses is dropped from the replay and listed with the reason."""
        try:
            yield
        except LeadflowError as exc:
            self.failed[lead_id] = f"at {at.isoformat()}: {exc}"
            self._states.pop(lead_id, None)

    def _advance(self, lead_id: str, until: datetime) -> None:
        with self._guard(lead_id, until):
            self._keep(lead_id, self._catch_up(lead_id, until))

    def _step(self, step: _Step) -> None:
        if step.intake is not None:
            decision = decide_lead(None, IntakeReceived(lead_id=step.lead_id, intake=step.intake), self.rules, step.at)
            self._keep(step.lead_id, self._settle(decision, step.at))
            return
        state = self._catch_up(step.lead_id, step.at)
        if step.event is not None:
            state = self._settle(decide_lead(state, EventReceived(event=step.event), self.rules, step.at), step.at)
        else:  # the moment sales recorded the outcome: read the score, change nothing
            self._at_outcome[step.lead_id] = (state.score, state.tier.value)
        self._keep(step.lead_id, state)

    def _keep(self, lead_id: str, state: LeadState) -> None:
        self._states[lead_id] = state
        retry = state.timers.get(HANDOFF)
        if retry is not None and _waits_for_rep(state):
            heapq.heappush(self._waiting, (retry, lead_id))

    def _retry_waiting(self, until: datetime) -> None:
        """Wake, in time order, the leads whose handoff waits for a free rep and is due by `until`."""
        while self._waiting and self._waiting[0][0] <= until:
            due, lead_id = heapq.heappop(self._waiting)
            state = self._states.get(lead_id)
            if state is None or state.timers.get(HANDOFF) != due or not _waits_for_rep(state):
                continue  # answered already, or moved on
            self._advance(lead_id, due)

    def _catch_up(self, lead_id: str, until: datetime) -> LeadState:
        """Fire the lead's timers due by `until`, in order, at their due times. The handoff timer fires
        only while the handoff waits for a free rep: waiting for a rep's answer is sales' part."""
        state = self._states[lead_id]
        for _ in range(_MAX_TIMERS_PER_STEP):
            due = [
                (at, name)
                for name, at in state.timers.items()
                if at <= until and (name != HANDOFF or _waits_for_rep(state))
            ]
            if not due:
                break
            at, name = min(due)
            state = self._settle(decide_lead(state, TimerFired(name=name), self.rules, at), at)
        return state

    def _settle(self, decision: Decision, at: datetime) -> LeadState:
        """Carry out the effects that matter here: route each handoff, note SQL entries and handoffs."""
        state = decision.state
        effects = list(decision.effects)
        while effects:
            effect = effects.pop(0)
            if isinstance(effect, Record):
                self._note(effect.entry)
            elif isinstance(effect, AssignRep):
                rep = self._route(effect, at)
                follow = decide_lead(state, RepAssigned(attempt=effect.attempt, rep=rep), self.rules, at)
                state = follow.state
                effects += follow.effects
        return state

    def _note(self, entry: LedgerEntry) -> None:
        data = entry.data
        if entry.kind == "transition" and data.get("machine") == "lifecycle" and data.get("dest") == Stage.SQL.value:
            self._handed.add(entry.lead_id)
        elif entry.kind == "handoff" and data.get("status") == "pending" and data.get("rep"):
            rep = str(data["rep"])
            load = self.load_by_rep.setdefault(rep, [0, 0.0])
            load[0] += 1
            load[1] += _sla_seconds(entry)
            heapq.heappush(self._open, (datetime.fromisoformat(str(data["deadline"])), rep))
            self._load[rep] += 1

    def _route(self, request: AssignRep, at: datetime) -> str | None:
        while self._open and self._open[0][0] <= at:
            _, rep_id = heapq.heappop(self._open)
            self._load[rep_id] -= 1
        rep = choose_rep(self.rules.team, request.country, request.tier, request.exclude, self._load, self._turn)
        if rep is None:
            self.unassigned += 1
            return None
        self._turn += 1
        return rep.id


def _waits_for_rep(state: LeadState) -> bool:
    """In SQL with nobody holding the handoff: routing found no free rep and retries on the timer."""
    return state.stage is Stage.SQL and state.handoff.rep is None


def _replay(rules: Rules, steps: Sequence[_Step], now: datetime) -> _Run:
    return _Run(rules).replay(steps, now)


# --- comparing --------------------------------------------------------------------------------


def compare(
    entries: Iterable[LedgerEntry],
    current: Rules,
    proposed: Rules,
    now: datetime,
    *,
    recorded_rules: RulesLookup | None = None,
    workers: int = 1,
) -> LedgerBacktestReport:
    """Replay the ledger's leads under `current` and `proposed` rules and report them side by side.

    `recorded_rules(version)` gives the rules a version id stands for (or None); it is used only to
    name the recorded tier of a lead whose ledger rows never state it after scoring.
    """
    prepared = _prepare(entries, recorded_rules)
    if proposed.version and proposed.version == current.version:
        runs = [_replay(current, prepared.steps, now)] * 2
    elif workers > 1 and len(prepared.steps) >= _PARALLEL_FROM_STEPS and _can_fork():
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
            runs = list(pool.map(_replay, [current, proposed], [prepared.steps] * 2, [now] * 2))
    else:
        runs = [_replay(current, prepared.steps, now), _replay(proposed, prepared.steps, now)]
    skipped = dict(prepared.skipped)
    for name, run in zip(("current", "proposed"), runs, strict=True):
        for lead_id, reason in run.failed.items():
            skipped.setdefault(lead_id, f"under the {name} rules: {reason}")
    leads = sorted(lead for lead in prepared.recorded if lead not in skipped)
    columns = [
        _column(
            run.rules.version,
            {lead: run.results[lead] for lead in leads},
            prepared.won,
            run.load_by_rep,
            [r.id for r in run.rules.team.reps],
            run.unassigned,
        )
        for run in runs
    ]
    recorded = _column(
        None,
        {lead: prepared.recorded[lead] for lead in leads},
        prepared.won,
        prepared.recorded_load,
        [],
        None,
    )
    return LedgerBacktestReport(
        now=now,
        leads=len(leads),
        skipped=[SkippedLead(lead_id=lead, reason=reason) for lead, reason in sorted(skipped.items())],
        current=columns[0],
        proposed=columns[1],
        recorded=recorded,
    )


def _can_fork() -> bool:
    """Fork is cheap and needs no importable `__main__`, but unsafe once other threads run."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _column(
    version: str | None,
    results: Mapping[str, _Result],
    won: Mapping[str, bool],
    load: Mapping[str, list[float]],
    team: Sequence[str],
    unassigned: int | None,
) -> RulesColumn:
    stages = Counter(r.stage for r in results.values())
    temperatures = Counter(r.temperature for r in results.values())
    tiers = Counter(r.tier for r in results.values())
    tier_names = [t.value for t in reversed(TIER_ORDER)]
    tier_names += sorted(t for t in tiers if t not in tier_names)
    known = [(r, won[lead]) for lead, r in results.items() if lead in won and r.score_at_outcome is not None]
    auc = roc_auc([r.score_at_outcome or 0.0 for r, _ in known], [converted for _, converted in known])
    conversion: dict[str, float] = {}
    for tier in tier_names:
        group = [converted for r, converted in known if r.tier_at_outcome == tier]
        if group:
            conversion[tier] = round(sum(group) / len(group), 4)
    reps = list(team) + sorted(rep for rep in load if rep not in team)
    return RulesColumn(
        rules_version=version,
        leads=len(results),
        by_stage={s.value: stages[s.value] for s in Stage},
        by_temperature={t.value: temperatures[t.value] for t in Temperature},
        by_tier={t: tiers[t] for t in tier_names if tiers[t] or t != UNKNOWN_TIER},
        handed_to_sales=sum(1 for r in results.values() if r.handed_to_sales),
        sla_load_by_rep={
            rep: SlaLoad(handoffs=int(load[rep][0]) if rep in load else 0, sla_hours=_hours(load, rep)) for rep in reps
        },
        unassigned_handoffs=unassigned,
        outcomes=len(known),
        auc=None if auc is None else round(auc, 4),
        conversion_by_tier=conversion,
    )


def _hours(load: Mapping[str, list[float]], rep: str) -> float:
    return round(load[rep][1] / 3600, 2) if rep in load else 0.0


# --- the text form ----------------------------------------------------------------------------

_LABEL = 28
_CELL = 12


def render_ledger_text(report: LedgerBacktestReport, current_label: str = "", proposed_label: str = "") -> str:
    """The comparison for a terminal: current and proposed rules side by side, the change, and the record."""
    cur, new, rec = report.current, report.proposed, report.recorded
    lines = [
        f"ledger back-test as of {report.now:%Y-%m-%d %H:%M} UTC: {report.leads} lead(s) replayed, "
        f"{len(report.skipped)} skipped",
        f"  current   {cur.rules_version}{f'  ({current_label})' if current_label else ''}",
        f"  proposed  {new.rules_version}{f'  ({proposed_label})' if proposed_label else ''}",
        "  recorded  what the ledger says happened (with sales' actions, which the replays leave out:",
        "            a replayed lead that reaches SQL stays there, waiting for its rep)",
        "",
        _row("", "current", "proposed", "change", "recorded"),
    ]
    for title, counts in (
        ("stage", [c.by_stage for c in (cur, new, rec)]),
        ("temperature", [c.by_temperature for c in (cur, new, rec)]),
        ("tier", [c.by_tier for c in (cur, new, rec)]),
    ):
        lines.append(title)
        for name in dict.fromkeys(name for column in counts for name in column):
            a, b, r = (column.get(name, 0) for column in counts)
            lines.append(_row(f"  {name}", str(a), str(b), _delta(b - a), str(r)))
    lines.append(
        _row(
            "handed to sales",
            str(cur.handed_to_sales),
            str(new.handed_to_sales),
            _delta(new.handed_to_sales - cur.handed_to_sales),
            str(rec.handed_to_sales),
        )
    )
    lines.append(
        _row(
            "handoffs nobody could take",
            str(cur.unassigned_handoffs or 0),
            str(new.unassigned_handoffs or 0),
            _delta((new.unassigned_handoffs or 0) - (cur.unassigned_handoffs or 0)),
            "-",
        )
    )
    lines.append("SLA load per rep (handoffs / SLA hours)")
    zero = SlaLoad(handoffs=0, sla_hours=0.0)
    for rep in dict.fromkeys([*cur.sla_load_by_rep, *new.sla_load_by_rep, *rec.sla_load_by_rep]):
        was, will, had = (c.sla_load_by_rep.get(rep, zero) for c in (cur, new, rec))
        lines.append(_row(f"  {rep}", _load(was), _load(will), _delta(will.handoffs - was.handoffs), _load(had)))
    lines.append(_row("leads with an outcome", str(cur.outcomes), str(new.outcomes), "", str(rec.outcomes)))
    if cur.auc is None and new.auc is None:
        lines.append("ROC AUC: needs won and lost outcomes in the ledger")
    else:
        change = f"{new.auc - cur.auc:+.4f}" if new.auc is not None and cur.auc is not None else ""
        change = "" if change in ("+0.0000", "-0.0000") else change
        lines.append(_row("ROC AUC of the score", _auc(cur.auc), _auc(new.auc), change, _auc(rec.auc)))
    if cur.conversion_by_tier or new.conversion_by_tier or rec.conversion_by_tier:
        lines.append("converted, per tier (at the outcome)")
        names = list(dict.fromkeys([*cur.conversion_by_tier, *new.conversion_by_tier, *rec.conversion_by_tier]))
        for name in names:
            a_rate, b_rate, r_rate = (c.conversion_by_tier.get(name) for c in (cur, new, rec))
            lines.append(_row(f"  {name}", _rate(a_rate), _rate(b_rate), "", _rate(r_rate)))
    if report.skipped:
        lines.append("")
        lines.append("skipped leads:")
        lines.extend(f"  {s.lead_id}: {s.reason}" for s in report.skipped)
    return "\n".join(lines)


def _row(label: str, *cells: str) -> str:
    return (f"{label:<{_LABEL}}" + "".join(f"{cell:>{_CELL}}" for cell in cells)).rstrip()


def _delta(value: int) -> str:
    return f"{value:+d}" if value else ""


def _load(load: SlaLoad) -> str:
    return f"{load.handoffs} / {load.sla_hours:g}h"


def _auc(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"
