"""The rules schema: everything process owners change lives here, validated strictly.

A rules file is YAML (see `rules/default.yaml`); `domain.rules_file.parse_rules` reads it with
line numbers. Unknown keys are errors everywhere, so a typo is never silently ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from domain.durations import Duration
from domain.models import RepId, Scalar
from domain.vocabulary import EventKind, Stage, Temperature, Tier


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Points = Annotated[float, Field(ge=-100, le=100)]

# Fields a fit criterion may read from the intake. `attributes.<key>` reads a profile attribute.
INTAKE_FIELDS = (
    "source",
    "country",
    "city",
    "company",
    "referrer",
    "email_domain",
    "do_not_email",
    "do_not_call",
)


# --- fit -----------------------------------------------------------------------------------


class FitCriterion(_Strict):
    """Points for a trait of the lead: `{field: attributes.occupation, op: equals, value: x, points: 20}`."""

    name: Label
    field: Annotated[str, StringConstraints(pattern=r"^(attributes\.[a-z][a-z0-9_]{0,63}|[a-z_]+)$")]
    op: Literal["equals", "one_of", "range", "present", "absent"]
    value: Scalar | list[Scalar] | None = None
    min: float | None = None
    max: float | None = None
    points: Points

    @model_validator(mode="after")
    def _shape(self) -> FitCriterion:
        if not self.field.startswith("attributes.") and self.field not in INTAKE_FIELDS:
            raise ValueError(
                f"field {self.field!r} is unknown; use one of {', '.join(INTAKE_FIELDS)} or attributes.<key>"
            )
        if self.op == "equals" and (self.value is None or isinstance(self.value, list)):
            raise ValueError("op 'equals' needs a single 'value'")
        if self.op == "one_of" and not (isinstance(self.value, list) and self.value):
            raise ValueError("op 'one_of' needs 'value' as a non-empty list")
        if self.op == "range":
            if self.min is None and self.max is None:
                raise ValueError("op 'range' needs 'min', 'max' or both")
            if self.min is not None and self.max is not None and self.min > self.max:
                raise ValueError("'min' is greater than 'max'")
        if self.op in ("present", "absent") and self.value is not None:
            raise ValueError(f"op {self.op!r} takes no 'value'")
        if self.op != "range" and (self.min is not None or self.max is not None):
            raise ValueError("'min' and 'max' belong to op 'range'")
        return self


class TierThresholds(_Strict):
    """Fit points at which a lead is medium or high quality; below `medium` it is low."""

    high: Points
    medium: Points

    @model_validator(mode="after")
    def _order(self) -> TierThresholds:
        if self.medium > self.high:
            raise ValueError("'medium' must not be above 'high'")
        return self


class Fit(_Strict):
    criteria: list[FitCriterion] = Field(max_length=200)
    tiers: TierThresholds


# --- engagement ----------------------------------------------------------------------------


class EventPoints(_Strict):
    """Points per event of one kind; at most `daily_cap` points of that kind count per UTC day.

    Negative points are penalties (an unsubscribe): they do not decay and have no cap.
    """

    points: Points
    daily_cap: Annotated[float, Field(gt=0, le=100)] | None = None


class Engagement(_Strict):
    half_life: Duration
    events: dict[EventKind, EventPoints]


# --- temperature ---------------------------------------------------------------------------


class TemperatureThresholds(_Strict):
    """Total score at which a lead is warm or hot (any scored lead is at least cold)."""

    warm: Points
    hot: Points

    @model_validator(mode="after")
    def _order(self) -> TemperatureThresholds:
        if not 0 < self.warm <= self.hot:
            raise ValueError("thresholds must satisfy 0 < warm <= hot")
        return self


class SignalWindows(_Strict):
    """How long a warm or hot signal keeps the lead warm or hot on its own."""

    warm: Duration
    hot: Duration


class TemperatureRules(_Strict):
    thresholds: TemperatureThresholds
    warm_signals: list[EventKind] = Field(default_factory=list)
    hot_signals: list[EventKind] = Field(default_factory=list)
    signal_window: SignalWindows


# --- lifecycle -----------------------------------------------------------------------------

# The triggers the engine fires. Which of them exist, and between which stages, is the rules' call;
# the destination each may lead to is fixed, because the engine attaches behaviour to it.
TRIGGER_DESTINATIONS: dict[str, frozenset[Stage]] = {
    "nurture": frozenset({Stage.MQL}),
    "qualify": frozenset({Stage.SQL}),
    "accept": frozenset({Stage.ACCEPTED}),
    "reject": frozenset({Stage.MQL, Stage.NEW}),
    "return_to_marketing": frozenset({Stage.MQL, Stage.NEW}),
    "win": frozenset({Stage.CUSTOMER}),
    "lose": frozenset({Stage.LOST}),
    "disqualify": frozenset({Stage.DISQUALIFIED}),
    "recycle": frozenset({Stage.MQL, Stage.NEW}),
}
# Transitions the engine cannot work without: the SQL handoff and the outcome of an accepted lead.
REQUIRED_TRANSITIONS: tuple[tuple[str, Stage], ...] = (
    ("accept", Stage.SQL),
    ("reject", Stage.SQL),
    ("return_to_marketing", Stage.SQL),
    ("win", Stage.ACCEPTED),
    ("lose", Stage.ACCEPTED),
)
# Stages where a lead may rest for good. `customer` must: nothing leaves it.
FINAL_STAGES = frozenset({Stage.CUSTOMER, Stage.LOST, Stage.DISQUALIFIED})
TERMINAL_STAGES = frozenset({Stage.CUSTOMER})


class LifecycleTransition(_Strict):
    trigger: str
    source: Stage | list[Stage]
    dest: Stage

    def sources(self) -> list[Stage]:
        return self.source if isinstance(self.source, list) else [self.source]


class StageGate(_Strict):
    """A stage is reached at `min_score`, or at once on one of `signals`."""

    min_score: Points
    signals: list[EventKind] = Field(default_factory=list)


class SqlGate(StageGate):
    min_tier: Tier = Tier.LOW


class Recycle(_Strict):
    """When a lost or disqualified lead goes back to nurture (only where a `recycle` transition exists)."""

    lost_after: Duration | None = None
    disqualified_after: Duration | None = None


class Lifecycle(_Strict):
    mql: StageGate
    sql: SqlGate
    referral_fast_track: bool = True
    recycle: Recycle = Recycle()
    transitions: list[LifecycleTransition] = Field(min_length=1, max_length=100)

    def allowed(self) -> dict[tuple[Stage, str], Stage]:
        """(source, trigger) → destination."""
        return {(src, t.trigger): t.dest for t in self.transitions for src in t.sources()}


# --- handoff, outcome, feedback ------------------------------------------------------------


class SlaTable(_Strict):
    """Time a rep has to accept. Per temperature; a per-tier entry, where given and shorter, wins."""

    by_temperature: dict[Temperature, Duration]
    by_tier: dict[Tier, Duration] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _complete(self) -> SlaTable:
        missing = [t.value for t in Temperature if t not in self.by_temperature]
        if missing:
            raise ValueError(f"by_temperature needs an entry for {', '.join(missing)}")
        return self


class Handoff(_Strict):
    sla: SlaTable
    escalate_after: Duration
    max_attempts: Annotated[int, Field(ge=1, le=10)]
    escalation_target: Annotated[str, StringConstraints(min_length=1, max_length=64)]

    def sla_for(self, temperature: Temperature, tier: Tier) -> timedelta:
        by_temp = self.sla.by_temperature[temperature]
        by_tier = self.sla.by_tier.get(tier)
        return min(by_temp, by_tier) if by_tier is not None else by_temp


class OutcomeRules(_Strict):
    remind_every: Duration
    max_reminders: Annotated[int, Field(ge=0, le=52)]


class FeedbackRules(_Strict):
    ask_on: list[Literal["won", "lost", "rejected"]]
    deadline: Duration
    reminders: list[Duration] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _within(self) -> FeedbackRules:
        late = [r for r in self.reminders if r >= self.deadline]
        if late:
            raise ValueError("every reminder must come before the deadline")
        return self


class RejectReason(_Strict):
    label: Label
    then: Literal["nurture", "disqualify"] = "nurture"


class Reasons(_Strict):
    reject: dict[Code, RejectReason] = Field(min_length=1)
    lost: dict[Code, Label] = Field(min_length=1)
    disqualify: dict[Code, Label] = Field(min_length=1)
    feedback: dict[Code, Label] = Field(default_factory=dict)


# --- the sales team ------------------------------------------------------------------------


class Rep(_Strict):
    """A sales rep as routing sees them. `territories` are countries (or `*`); `segments` are tiers."""

    id: RepId
    territories: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=lambda: ["*"]
    )
    segments: list[Tier] = Field(default_factory=lambda: list(Tier))
    capacity: Annotated[int, Field(ge=1, le=10_000)]
    active: bool = True


class Team(_Strict):
    reps: list[Rep] = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _unique(self) -> Team:
        seen: set[str] = set()
        for rep in self.reps:
            if rep.id in seen:
                raise ValueError(f"rep id {rep.id!r} appears twice")
            seen.add(rep.id)
        if not any(rep.active for rep in self.reps):
            raise ValueError("no rep is active: every handoff would stall")
        return self

    def get(self, rep_id: str) -> Rep | None:
        return next((r for r in self.reps if r.id == rep_id), None)


# --- the whole file ------------------------------------------------------------------------


class Rules(_Strict):
    """One published rules file. `version` is a hash of its content, set by the loader."""

    name: Label
    version: str = ""
    fit: Fit
    engagement: Engagement
    temperature: TemperatureRules
    lifecycle: Lifecycle
    handoff: Handoff
    outcome: OutcomeRules
    feedback: FeedbackRules
    reasons: Reasons
    team: Team

    def reject_reason(self, code: str) -> RejectReason | None:
        return self.reasons.reject.get(code)


def lifecycle_problems(lifecycle: Lifecycle, reasons: Reasons) -> Iterable[tuple[str, str]]:
    """(field path, message) for each way the lifecycle would strand a lead or confuse the engine."""
    for index, t in enumerate(lifecycle.transitions):
        where = f"lifecycle.transitions.{index}"
        if t.trigger not in TRIGGER_DESTINATIONS:
            yield (
                f"{where}.trigger",
                f"unknown trigger {t.trigger!r}; known: {', '.join(TRIGGER_DESTINATIONS)}",
            )
            continue
        allowed_dest = TRIGGER_DESTINATIONS[t.trigger]
        if t.dest not in allowed_dest:
            yield (
                f"{where}.dest",
                (f"trigger {t.trigger!r} may lead only to {', '.join(sorted(allowed_dest))}, not {t.dest.value!r}"),
            )
        for src in t.sources():
            if src in TERMINAL_STAGES:
                yield f"{where}.source", f"{src.value!r} is terminal: nothing may leave it"
            if src == t.dest:
                yield f"{where}.source", f"{src.value!r} leads to itself"
    table = lifecycle.allowed()
    seen: dict[tuple[Stage, str], int] = {}
    for index, t in enumerate(lifecycle.transitions):
        for src in t.sources():
            if (src, t.trigger) in seen:
                yield (
                    f"lifecycle.transitions.{index}",
                    (
                        f"trigger {t.trigger!r} from {src.value!r} is defined twice "
                        f"(also in transition {seen[(src, t.trigger)]})"
                    ),
                )
            seen.setdefault((src, t.trigger), index)
    for trigger, src in REQUIRED_TRANSITIONS:
        if (src, trigger) not in table:
            yield (
                "lifecycle.transitions",
                f"the engine needs trigger {trigger!r} from {src.value!r}",
            )
    # Every stage reachable from `new`, every non-final stage with a way out.
    reachable = {Stage.NEW}
    frontier = [Stage.NEW]
    while frontier:
        here = frontier.pop()
        for (src, _), dest in table.items():
            if src == here and dest not in reachable:
                reachable.add(dest)
                frontier.append(dest)
    for stage in Stage:
        if stage not in reachable:
            yield "lifecycle.transitions", f"stage {stage.value!r} cannot be reached from 'new'"
        if stage not in FINAL_STAGES and not any(src == stage for src, _ in table):
            yield (
                "lifecycle.transitions",
                f"stage {stage.value!r} has no way out: leads would be stranded there",
            )
    if lifecycle.recycle.lost_after and (Stage.LOST, "recycle") not in table:
        yield "lifecycle.recycle.lost_after", "set, but no 'recycle' transition leaves 'lost'"
    if lifecycle.recycle.disqualified_after and (Stage.DISQUALIFIED, "recycle") not in table:
        yield (
            "lifecycle.recycle.disqualified_after",
            "set, but no 'recycle' transition leaves 'disqualified'",
        )
    for code, reason in reasons.reject.items():
        if reason.then == "disqualify" and (Stage.SQL, "disqualify") not in table:
            yield (
                f"reasons.reject.{code}.then",
                "'disqualify', but no 'disqualify' transition leaves 'sql'",
            )
