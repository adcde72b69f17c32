"""What changes between two rules files, in the words a process owner reads.

`diff_rules(old, new)` compares behaviour, not text: comments, layout, key order, the order of
criteria, signals or reasons, and the case of text values (fit compares text case-insensitively)
make no difference, and a rule that has no effect either way (an event worth 0 points, a tier SLA
longer than every temperature SLA, a recycle delay without a recycle transition) is not reported.
Pure: two validated `Rules` in, a list of `RuleChange` out, grouped by section in file order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.durations import format_duration
from domain.models import Scalar
from domain.rules import TRIGGER_DESTINATIONS, EventPoints, FitCriterion, Rep, Rules
from domain.vocabulary import TIER_ORDER, EventKind, Stage, Temperature, Tier

__all__ = ["SECTIONS", "RuleChange", "Section", "diff_rules", "render_diff"]

Section = Literal["fit", "engagement", "temperature", "lifecycle", "handoff", "outcome", "feedback", "reasons", "team"]
SECTIONS: tuple[Section, ...] = (
    "fit",
    "engagement",
    "temperature",
    "lifecycle",
    "handoff",
    "outcome",
    "feedback",
    "reasons",
    "team",
)
NO_DIFFERENCES = "no behavioural differences"


class RuleChange(BaseModel):
    """One behavioural difference: its section, where in the file (`path`), and what changes (`text`)."""

    model_config = ConfigDict(frozen=True)

    section: Section
    path: str
    text: str

    def __str__(self) -> str:
        return f"{self.section}: {self.text}"


def diff_rules(old: Rules, new: Rules) -> list[RuleChange]:
    """Every behavioural difference from `old` to `new`; empty when both behave the same."""
    parts: tuple[tuple[Section, Callable[[Rules, Rules], Iterable[tuple[str, str]]]], ...] = (
        ("fit", _fit),
        ("engagement", _engagement),
        ("temperature", _temperature),
        ("lifecycle", _lifecycle),
        ("handoff", _handoff),
        ("outcome", _outcome),
        ("feedback", _feedback),
        ("reasons", _reasons),
        ("team", _team),
    )
    return [
        RuleChange(section=section, path=path, text=text) for section, part in parts for path, text in part(old, new)
    ]


def render_diff(changes: Sequence[RuleChange]) -> str:
    """One line per change, `section: what changes`; or `no behavioural differences`."""
    return "\n".join(str(c) for c in changes) if changes else NO_DIFFERENCES


# --- words ---------------------------------------------------------------------------------

Found = Iterator[tuple[str, str]]  # (path in the file, the change in words)


def _n(value: float) -> str:
    return f"{value:g}"


def _pts(value: float) -> str:
    return f"{value:+g}"


def _d(value: timedelta) -> str:
    """A duration as rules files write it: whole days as days (`7d`, `90d`), else `4h`, `1h30m`."""
    if value % timedelta(days=1) == timedelta(0):
        return f"{value.days}d"
    return format_duration(value)


def _value(value: Scalar | None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _n(value) if isinstance(value, float) else str(value)


def _listing(items: Iterable[str], empty: str = "none") -> str:
    text = ", ".join(items)
    return text or empty


def _way(higher: bool, up: str, down: str) -> str:
    """` (stricter)` when the new value is higher, else ` (looser)`: what the change means."""
    return f" ({up})" if higher else f" ({down})"


# --- fit -----------------------------------------------------------------------------------


def _norm(value: Scalar) -> tuple[str, Scalar]:
    """A fit value as matching sees it: text trimmed and case-folded (`domain.scoring._same`)."""
    return ("text", value.strip().casefold()) if isinstance(value, str) else ("value", value)


def _values(c: FitCriterion) -> list[Scalar]:
    if isinstance(c.value, list):
        return list(c.value)
    return [] if c.value is None else [c.value]


def _condition_key(c: FitCriterion) -> tuple[object, ...]:
    """Equal keys ⇔ the criterion holds for the same leads (`equals x` is `one_of [x]`)."""
    if c.op in ("equals", "one_of"):
        return ("in", c.field, frozenset(_norm(v) for v in _values(c)))
    if c.op == "range":
        return ("range", c.field, c.min, c.max)
    return (c.op, c.field)


def _condition(c: FitCriterion) -> str:
    if c.op in ("equals", "one_of"):
        values = [_value(v) for v in _values(c)]
        return f"{c.field} is {values[0]}" if len(values) == 1 else f"{c.field} is one of {', '.join(values)}"
    if c.op == "range":
        if c.min is not None and c.max is not None:
            return f"{c.field} is between {_n(c.min)} and {_n(c.max)}"
        return f"{c.field} is at least {_n(c.min)}" if c.min is not None else f"{c.field} is at most {_n(c.max or 0)}"
    return f"{c.field} is given" if c.op == "present" else f"{c.field} is missing"


def _pair_criteria(
    old: Sequence[FitCriterion], new: Sequence[FitCriterion]
) -> tuple[list[tuple[FitCriterion, FitCriterion]], list[FitCriterion], list[FitCriterion]]:
    """(pairs, removed, added): paired by name (in order, for repeated names), then leftovers with
    the same condition are the same criterion renamed."""
    pairs: list[tuple[FitCriterion, FitCriterion]] = []
    left_old = list(old)
    added: list[FitCriterion] = []
    for criterion in new:
        match = next((o for o in left_old if o.name == criterion.name), None)
        if match is None:
            added.append(criterion)
        else:
            left_old.remove(match)
            pairs.append((match, criterion))
    still_added: list[FitCriterion] = []
    for criterion in added:
        match = next((o for o in left_old if _condition_key(o) == _condition_key(criterion)), None)
        if match is None:
            still_added.append(criterion)
        else:
            left_old.remove(match)
            pairs.append((match, criterion))
    order = {id(c): i for i, c in enumerate(new)}
    pairs.sort(key=lambda pair: order[id(pair[1])])
    return pairs, left_old, still_added


def _fit(old: Rules, new: Rules) -> Found:
    for level in ("high", "medium"):
        before, after = getattr(old.fit.tiers, level), getattr(new.fit.tiers, level)
        if before != after:
            way = _way(after > before, "stricter", "looser")
            yield f"fit.tiers.{level}", f"{level} tier from {_n(before)} → {_n(after)} fit points{way}"
    pairs, removed, added = _pair_criteria(old.fit.criteria, new.fit.criteria)
    for before, after in pairs:
        where = f"fit.criteria[{after.name}]"
        if before.name != after.name:
            yield where, f'criterion "{before.name}" renamed "{after.name}"'
        if before.points != after.points:
            yield where, f'"{after.name}" {_n(before.points)} → {_n(after.points)} points'
        if _condition_key(before) != _condition_key(after):
            yield from _condition_change(where, before, after)
    for criterion in removed:
        yield (
            f"fit.criteria[{criterion.name}]",
            f'criterion "{criterion.name}" removed (was {_pts(criterion.points)} points when {_condition(criterion)})',
        )
    for criterion in added:
        yield (
            f"fit.criteria[{criterion.name}]",
            f'new criterion "{criterion.name}": {_pts(criterion.points)} points when {_condition(criterion)}',
        )


def _condition_change(where: str, before: FitCriterion, after: FitCriterion) -> Found:
    sets = ("equals", "one_of")
    if before.field == after.field and before.op in sets and after.op in sets:
        old_values = {_norm(v): v for v in _values(before)}
        new_values = {_norm(v): v for v in _values(after)}
        more = [_value(v) for k, v in new_values.items() if k not in old_values]
        fewer = [_value(v) for k, v in old_values.items() if k not in new_values]
        if more:
            yield where, f'"{after.name}" now also matches {", ".join(more)}'
        if fewer:
            yield where, f'"{after.name}" no longer matches {", ".join(fewer)}'
        return
    yield where, f'"{after.name}" now holds when {_condition(after)} (was: {_condition(before)})'


# --- engagement ----------------------------------------------------------------------------


def _scoring(entry: EventPoints | None) -> EventPoints | None:
    """An event kind worth 0 points behaves as an unlisted one."""
    return entry if entry is not None and entry.points != 0 else None


def _cap(entry: EventPoints) -> str:
    return f", at most {_n(entry.daily_cap)} a day" if entry.daily_cap is not None and entry.points > 0 else ""


def _engagement(old: Rules, new: Rules) -> Found:
    before_life, after_life = old.engagement.half_life, new.engagement.half_life
    if before_life != after_life:
        way = _way(after_life > before_life, "fades slower", "fades faster")
        yield "engagement.half_life", f"points halve every {_d(before_life)} → {_d(after_life)}{way}"
    for kind in EventKind:
        before = _scoring(old.engagement.events.get(kind))
        after = _scoring(new.engagement.events.get(kind))
        where = f"engagement.events.{kind.value}"
        if before is None and after is None:
            continue
        if before is None and after is not None:
            if after.points < 0:
                note = " (a penalty: never fades, no cap)"
            else:
                note = f" (at most {_n(after.daily_cap)} a day)" if after.daily_cap is not None else ""
            yield where, f"{kind.value} now scores {_pts(after.points)} points{note}"
        elif after is None and before is not None:
            yield where, f"{kind.value} no longer scores (was {_pts(before.points)} points)"
        elif before is not None and after is not None:
            if before.points != after.points:
                note = ""
                if after.points < 0 <= before.points:
                    note = " (now a penalty: never fades, no cap)"
                elif before.points < 0 <= after.points:
                    note = f" (no longer a penalty{_cap(after)})"
                yield where, f"{kind.value} {_pts(before.points)} → {_pts(after.points)} points per event{note}"
            if before.points > 0 and after.points > 0 and before.daily_cap != after.daily_cap:
                old_cap = f"{_n(before.daily_cap)} points" if before.daily_cap is not None else "no cap"
                new_cap = f"{_n(after.daily_cap)} points" if after.daily_cap is not None else "no cap"
                yield where + ".daily_cap", f"daily cap for {kind.value} {old_cap} → {new_cap}"


# --- temperature ---------------------------------------------------------------------------


def _signals(where: str, what: str, before: Iterable[EventKind], after: Iterable[EventKind]) -> Found:
    old_set, new_set = set(before), set(after)
    for kind in EventKind:
        if kind in new_set and kind not in old_set:
            yield where, f"{kind.value} becomes {what}"
        elif kind in old_set and kind not in new_set:
            yield where, f"{kind.value} is no longer {what}"


def _temperature(old: Rules, new: Rules) -> Found:
    o, n = old.temperature, new.temperature
    for level in ("warm", "hot"):
        before, after = getattr(o.thresholds, level), getattr(n.thresholds, level)
        if before != after:
            way = _way(after > before, "stricter", "looser")
            yield f"temperature.thresholds.{level}", f"{level} from score {_n(before)} → {_n(after)}{way}"
    yield from _signals("temperature.warm_signals", "a warm signal", o.warm_signals, n.warm_signals)
    yield from _signals("temperature.hot_signals", "a hot signal", o.hot_signals, n.hot_signals)
    for level in ("warm", "hot"):
        before_window, after_window = getattr(o.signal_window, level), getattr(n.signal_window, level)
        if before_window != after_window:
            way = _way(after_window > before_window, "longer", "shorter")
            yield (
                f"temperature.signal_window.{level}",
                f"a {level} signal keeps the lead {level} for {_d(before_window)} → {_d(after_window)}{way}",
            )


# --- lifecycle -----------------------------------------------------------------------------


def _recycle_after(rules: Rules, stage: Stage) -> timedelta | None:
    """How long until a lost / disqualified lead is recycled; None when it never is."""
    lc = rules.lifecycle
    wait = lc.recycle.lost_after if stage is Stage.LOST else lc.recycle.disqualified_after
    return wait if (stage, "recycle") in lc.allowed() else None


def _lifecycle(old: Rules, new: Rules) -> Found:
    o, n = old.lifecycle, new.lifecycle
    if o.mql.min_score != n.mql.min_score:
        way = _way(n.mql.min_score > o.mql.min_score, "stricter", "looser")
        yield "lifecycle.mql.min_score", f"MQL at score {_n(o.mql.min_score)} → {_n(n.mql.min_score)}{way}"
    yield from _signals("lifecycle.mql.signals", "an MQL signal", o.mql.signals, n.mql.signals)
    if o.sql.min_score != n.sql.min_score:
        way = _way(n.sql.min_score > o.sql.min_score, "stricter", "looser")
        yield "lifecycle.sql.min_score", f"SQL at score {_n(o.sql.min_score)} → {_n(n.sql.min_score)}{way}"
    if o.sql.min_tier != n.sql.min_tier:
        rank = TIER_ORDER.index
        way = " (stricter)" if rank(n.sql.min_tier) > rank(o.sql.min_tier) else " (looser)"
        yield "lifecycle.sql.min_tier", f"SQL needs at least tier {o.sql.min_tier.value} → {n.sql.min_tier.value}{way}"
    yield from _signals("lifecycle.sql.signals", "an SQL signal", o.sql.signals, n.sql.signals)
    if o.referral_fast_track != n.referral_fast_track:
        state = "on (referral / partner leads" if n.referral_fast_track else "off (referral / partner leads no longer"
        yield "lifecycle.referral_fast_track", f"referral fast track switched {state} skip to SQL)"
    for stage, key in ((Stage.LOST, "lost_after"), (Stage.DISQUALIFIED, "disqualified_after")):
        before, after = _recycle_after(old, stage), _recycle_after(new, stage)
        where = f"lifecycle.recycle.{key}"
        if before == after:
            continue
        if after is None and before is not None:
            yield where, f"{stage.value} leads are no longer recycled (was after {_d(before)})"
        elif before is None and after is not None:
            yield where, f"{stage.value} leads now return to nurture after {_d(after)}"
        elif before is not None and after is not None:
            way = _way(after > before, "later", "sooner")
            yield where, f"{stage.value} leads return to nurture after {_d(before)} → {_d(after)}{way}"
    yield from _moves(o.allowed(), n.allowed())


def _moves(old: dict[tuple[Stage, str], Stage], new: dict[tuple[Stage, str], Stage]) -> Found:
    stages = list(Stage)
    for trigger in TRIGGER_DESTINATIONS:
        changed = sorted(
            (src for (src, t) in new if t == trigger and (src, t) in old and old[(src, t)] != new[(src, t)]),
            key=stages.index,
        )
        for src in changed:
            before, after = old[(src, trigger)].value, new[(src, trigger)].value
            yield "lifecycle.transitions", f"{trigger} from {src.value} now leads to {after} (was {before})"
        for table, other, text in ((new, old, "now allowed from"), (old, new, "no longer allowed from")):
            by_dest: dict[Stage, list[Stage]] = {}
            for (src, t), dest in table.items():
                if t == trigger and (src, t) not in other:
                    by_dest.setdefault(dest, []).append(src)
            for dest in sorted(by_dest, key=stages.index):
                sources = ", ".join(s.value for s in sorted(by_dest[dest], key=stages.index))
                yield "lifecycle.transitions", f"{trigger} {text} {sources} (→ {dest.value})"


# --- handoff, outcome, feedback ------------------------------------------------------------


def _handoff(old: Rules, new: Rules) -> Found:
    o, n = old.handoff, new.handoff
    # An SLA entry is reported only where it changes the SLA some lead gets (the shorter entry applies).
    for temperature in Temperature:
        before, after = o.sla.by_temperature[temperature], n.sla.by_temperature[temperature]
        if before != after and any(o.sla_for(temperature, t) != n.sla_for(temperature, t) for t in Tier):
            way = _way(after > before, "longer", "shorter")
            yield (
                f"handoff.sla.by_temperature.{temperature.value}",
                f"SLA for {temperature.value} leads {_d(before)} → {_d(after)}{way}",
            )
    for tier in reversed(TIER_ORDER):
        old_tier, new_tier = o.sla.by_tier.get(tier), n.sla.by_tier.get(tier)
        if old_tier == new_tier or all(o.sla_for(t, tier) == n.sla_for(t, tier) for t in Temperature):
            continue
        where = f"handoff.sla.by_tier.{tier.value}"
        if old_tier is None and new_tier is not None:
            yield where, f"{tier.value}-tier leads now get at most {_d(new_tier)} (the shorter SLA applies)"
        elif new_tier is None and old_tier is not None:
            yield where, f"{tier.value}-tier leads no longer have their own SLA (was at most {_d(old_tier)})"
        elif old_tier is not None and new_tier is not None:
            way = _way(new_tier > old_tier, "longer", "shorter")
            yield where, f"SLA for {tier.value}-tier leads at most {_d(old_tier)} → {_d(new_tier)}{way}"
    if o.escalate_after != n.escalate_after:
        way = _way(n.escalate_after > o.escalate_after, "later", "sooner")
        yield (
            "handoff.escalate_after",
            f"escalate {_d(o.escalate_after)} → {_d(n.escalate_after)} after a missed deadline{way}",
        )
    if o.max_attempts != n.max_attempts:
        way = _way(n.max_attempts > o.max_attempts, "more", "fewer")
        yield (
            "handoff.max_attempts",
            f"at most {o.max_attempts} → {n.max_attempts} attempts before a lead returns to marketing{way}",
        )
    if o.escalation_target != n.escalation_target:
        yield "handoff.escalation_target", f"escalations go to {o.escalation_target} → {n.escalation_target}"


def _outcome(old: Rules, new: Rules) -> Found:
    o, n = old.outcome, new.outcome
    if o.remind_every != n.remind_every:
        way = _way(n.remind_every > o.remind_every, "less often", "more often")
        yield (
            "outcome.remind_every",
            f"remind the rep to record won / lost every {_d(o.remind_every)} → {_d(n.remind_every)}{way}",
        )
    if o.max_reminders != n.max_reminders:
        way = _way(n.max_reminders > o.max_reminders, "more", "fewer")
        yield "outcome.max_reminders", f"at most {o.max_reminders} → {n.max_reminders} outcome reminders{way}"


def _feedback(old: Rules, new: Rules) -> Found:
    o, n = old.feedback, new.feedback
    for verdict in ("won", "lost", "rejected"):
        if verdict in n.ask_on and verdict not in o.ask_on:
            yield "feedback.ask_on", f"now asked after {verdict} leads"
        elif verdict in o.ask_on and verdict not in n.ask_on:
            yield "feedback.ask_on", f"no longer asked after {verdict} leads"
    if o.deadline != n.deadline:
        way = _way(n.deadline > o.deadline, "longer", "shorter")
        yield "feedback.deadline", f"deadline {_d(o.deadline)} → {_d(n.deadline)}{way}"
    if o.reminders != n.reminders:
        before = _listing(_d(r) for r in o.reminders)
        after = _listing(_d(r) for r in n.reminders)
        yield "feedback.reminders", f"reminders after {before} → {after}"


# --- reasons -------------------------------------------------------------------------------

_THEN = {"nurture": "sends the lead back to nurture", "disqualify": "disqualifies the lead"}


def _reasons(old: Rules, new: Rules) -> Found:
    for kind in ("reject", "lost", "disqualify", "feedback"):
        before: dict[str, str] = {}
        after: dict[str, str] = {}
        then_before: dict[str, str] = {}
        then_after: dict[str, str] = {}
        if kind == "reject":
            before = {code: r.label for code, r in old.reasons.reject.items()}
            after = {code: r.label for code, r in new.reasons.reject.items()}
            then_before = {code: r.then for code, r in old.reasons.reject.items()}
            then_after = {code: r.then for code, r in new.reasons.reject.items()}
        else:
            before, after = dict(getattr(old.reasons, kind)), dict(getattr(new.reasons, kind))
        for code, label in after.items():
            where = f"reasons.{kind}.{code}"
            if code not in before:
                then = f" ({_THEN[then_after[code]]})" if then_after.get(code) == "disqualify" else ""
                yield where, f'new {kind} reason {code}: "{label}"{then}'
                continue
            if before[code] != label:
                yield where, f'{kind} reason {code} relabelled "{before[code]}" → "{label}"'
            if then_before.get(code) != then_after.get(code):
                yield (
                    where + ".then",
                    f"{kind} reason {code} now {_THEN[then_after[code]]} (was: {_THEN[then_before[code]]})",
                )
        for code, label in before.items():
            if code not in after:
                yield f"reasons.{kind}.{code}", f'{kind} reason {code} removed (was "{label}")'


# --- team ----------------------------------------------------------------------------------


def _places(rep: Rep) -> dict[str, str]:
    return {t.strip().casefold(): ("every country" if t.strip() == "*" else t.strip()) for t in rep.territories}


def _describe_rep(rep: Rep) -> str:
    segments = ", ".join(t.value for t in reversed(TIER_ORDER) if t in rep.segments)
    state = "" if rep.active else "; inactive"
    return f"covers {_listing(_places(rep).values())}; takes {segments}-tier leads; capacity {rep.capacity}{state}"


def _team(old: Rules, new: Rules) -> Found:
    before = {r.id: r for r in old.team.reps}
    after = {r.id: r for r in new.team.reps}
    for rep in new.team.reps:
        where = f"team.reps[{rep.id}]"
        was = before.get(rep.id)
        if was is None:
            yield where, f"new rep {rep.id} ({_describe_rep(rep)})"
            continue
        if was.active != rep.active:
            yield where, f"{rep.id} {'activated' if rep.active else 'deactivated'}"
        if was.capacity != rep.capacity:
            way = _way(rep.capacity > was.capacity, "more", "fewer")
            yield where, f"{rep.id} capacity {was.capacity} → {rep.capacity} open handoffs{way}"
        old_places, new_places = _places(was), _places(rep)
        more = [name for key, name in new_places.items() if key not in old_places]
        fewer = [name for key, name in old_places.items() if key not in new_places]
        if more:
            yield where, f"{rep.id} now also covers {', '.join(more)}"
        if fewer:
            yield where, f"{rep.id} no longer covers {', '.join(fewer)}"
        tiers = list(reversed(TIER_ORDER))
        for tier in (t for t in tiers if t in rep.segments and t not in was.segments):
            yield where, f"{rep.id} now also takes {tier.value}-tier leads"
        for tier in (t for t in tiers if t in was.segments and t not in rep.segments):
            yield where, f"{rep.id} no longer takes {tier.value}-tier leads"
    for rep in old.team.reps:
        if rep.id not in after:
            yield f"team.reps[{rep.id}]", f"{rep.id} removed" + ("" if rep.active else " (was inactive)")
    # Reps tied on territory, segment and load take turns in file order.
    old_turns = [r.id for r in old.team.reps if r.active and r.id in after and after[r.id].active]
    new_turns = [r.id for r in new.team.reps if r.active and r.id in before and before[r.id].active]
    if old_turns != new_turns:
        yield "team.reps", f"order in which tied reps take turns {', '.join(old_turns)} → {', '.join(new_turns)}"
