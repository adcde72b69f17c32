"""All business logic in one function: `decide(state, input, rules, now) → Decision(state, effects)`.

The workflow feeds it every input (intake, events, timers, activity results, sales and ops actions)
and executes the effects it returns (record, notify, assign a rep, complete). Timers live in
`state.timers` (name → due time); the workflow sleeps until the earliest. `decide` never mutates
its argument, reads no clock and does no I/O, so `validate` can dry-run it for update validators.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from domain.durations import format_duration
from domain.errors import InvalidRequest, InvalidTransition
from domain.machines import LeadMachines, MachineModel
from domain.messages import (
    AssignRep,
    CancelTimer,
    Complete,
    Decision,
    Effect,
    EventReceived,
    Input,
    IntakeReceived,
    Notify,
    Record,
    RepAssigned,
    RulesChanged,
    StartTimer,
    TimerFired,
)
from domain.models import (
    MAX_FUTURE_SKEW,
    Accept,
    Disqualify,
    HandToSales,
    LeadEvent,
    Reassign,
    RecordOutcome,
    Reject,
    SubmitFeedback,
    describe_validation_error,
)
from domain.rules import Rules
from domain.scoring import Score, score
from domain.state import (
    SEEN_EVENT_IDS_KEPT,
    TIMELINE_KEPT,
    LeadState,
    LedgerEntry,
    MachineName,
    Notification,
    TransitionRecord,
)
from domain.vocabulary import TIER_ORDER, HandoffStatus, Outcome, Source, Stage, Temperature

# The inputs and effects live in domain/messages.py; they are re-exported here for callers.
__all__ = [
    "DECAY",
    "EVENTS_KEPT",
    "FEEDBACK",
    "FEEDBACK_REMINDER",
    "HANDOFF",
    "MARKETING",
    "OUTCOME_REMINDER",
    "RECYCLE",
    "AssignRep",
    "CancelTimer",
    "Complete",
    "Decision",
    "Effect",
    "EventReceived",
    "Input",
    "IntakeReceived",
    "Notify",
    "Record",
    "RepAssigned",
    "RulesChanged",
    "StartTimer",
    "TimerFired",
    "decide",
    "validate",
]

# Timer names
HANDOFF, DECAY, OUTCOME_REMINDER, FEEDBACK, FEEDBACK_REMINDER, RECYCLE = (
    "handoff",
    "decay",
    "outcome_reminder",
    "feedback",
    "feedback_reminder",
    "recycle",
)
MARKETING = "marketing"
EVENTS_KEPT = 2000  # events kept in the state (~0.2 MB as JSON at most)


def decide(state: LeadState | None, item: Input, rules: Rules, now: datetime) -> Decision:
    """Apply one input to the lead. Raises `InvalidTransition` / `InvalidRequest` when not allowed."""
    if state is None:
        if not isinstance(item, IntakeReceived):
            raise InvalidRequest("the lead does not exist yet: submit it first")
        fresh = LeadState(
            lead_id=item.lead_id,
            intake=item.intake,
            rules_version=rules.version,
            created_at=now,
            updated_at=now,
            seq=item.seq_base,
        )
        run = _Run(fresh, rules, now)
        run.intake_first()
    else:
        run = _Run(state.working_copy(), rules, now)
        run.apply(item)
    run.state.updated_at = now
    return Decision(state=run.state, effects=run.effects)


def validate(state: LeadState | None, item: Input, rules: Rules, now: datetime) -> None:
    """Raise what `decide` would raise, changing nothing (update validators call this)."""
    decide(state, item, rules, now)


class _Run:
    """One decision in progress: the state being changed and the effects collected."""

    def __init__(self, state: LeadState, rules: Rules, now: datetime) -> None:
        self.state = state
        self.rules = rules
        self.now = now
        self.effects: list[Effect] = []
        self.model = MachineModel(state.stage, state.temperature, state.handoff.status)
        self.machines = LeadMachines(rules.lifecycle, self.model)

    # --- dispatch ----------------------------------------------------------------------------

    def apply(self, item: Input) -> None:
        if self.state.completed and not isinstance(item, (IntakeReceived, RulesChanged)):
            raise InvalidRequest("the lead's workflow has completed; nothing more can change it")
        handlers: dict[type[Any], Any] = {
            IntakeReceived: self.intake_again,
            EventReceived: self.event,
            TimerFired: self.timer,
            RepAssigned: self.assigned,
            RulesChanged: self.rules_changed,
            Accept: self.accept,
            Reject: self.reject,
            RecordOutcome: self.outcome,
            SubmitFeedback: self.feedback,
            Reassign: self.reassign,
            Disqualify: self.disqualify,
            HandToSales: self.hand_to_sales,
        }
        handlers[type(item)](item)

    # --- intake and events -------------------------------------------------------------------

    def intake_first(self) -> None:
        s = self.state
        first = score(s.intake, s.events, self.rules, self.now)  # before the intake row: it carries the tier
        s.score, s.fit, s.engagement, s.tier = first.total, first.fit, first.engagement, first.tier
        self.record(
            "intake",
            {
                "source": s.intake.source.value,
                "identity_kind": s.intake.identity().split(":")[0],
                "profile": s.intake.scoring_profile(),
            },
        )
        self.rescore(reason="first scoring at intake", result=first)
        fast_track = (
            self.rules.lifecycle.referral_fast_track
            and s.intake.source in (Source.REFERRAL, Source.PARTNER)
            and self.tier_ok()
        )
        if fast_track and self.machines.may("lifecycle", "qualify"):
            self.qualify("referral fast track: referral / partner lead of a good enough tier")
        else:
            self.advance()

    def intake_again(self, item: IntakeReceived) -> None:
        s = self.state
        if s.completed:
            raise InvalidRequest("the lead's workflow has completed; submit starts a new run")
        try:
            s.intake = s.intake.merged_with(item.intake)
        except ValidationError as exc:  # each part is valid, the two together may not be (too many attributes)
            raise InvalidRequest(f"merged with the earlier submission: {describe_validation_error(exc)}") from None
        s.duplicates += 1
        self.record("intake", {"duplicate": True, "duplicates": s.duplicates})
        self.rescore(reason="intake updated by a duplicate submission")
        self.advance()

    def event(self, item: EventReceived) -> None:
        s = self.state
        event = item.event
        if event.event_id in s.seen_event_ids:
            return  # reported twice: harmless
        if event.occurred_at > self.now + MAX_FUTURE_SKEW:
            raise InvalidRequest(
                f"occurred_at: is in the future ({event.occurred_at.isoformat()} > now {self.now.isoformat()})"
            )
        if event.occurred_at > self.now:  # the sender's clock is a little ahead (the models allow it): it is now
            event = event.model_copy(update={"occurred_at": self.now})
        s.seen_event_ids = [*s.seen_event_ids, event.event_id][-SEEN_EVENT_IDS_KEPT:]
        s.events.append(event)
        s.events.sort(key=lambda e: (e.occurred_at, e.event_id))
        self._forget_old_events()
        self.record(
            "event",
            {
                "event_id": event.event_id,
                "kind": event.kind.value,
                "occurred_at": event.occurred_at.isoformat(),
                "properties": dict(event.properties),
            },
        )
        if s.stage in (Stage.CUSTOMER, Stage.LOST, Stage.DISQUALIFIED):
            return  # recorded; a closed lead's stage does not move on engagement
        self.rescore(reason=f"event {event.kind.value}")
        self.advance(trigger_event=event)

    def rules_changed(self, item: RulesChanged) -> None:
        if item.version != self.rules.version:
            raise InvalidRequest(f"rules {item.version} were announced but {self.rules.version} were loaded")
        if self.state.rules_version == item.version:
            return
        self.record("score", {"rules_changed": {"from": self.state.rules_version, "to": item.version}})
        self.state.rules_version = item.version
        if self.state.completed or self.state.stage in (
            Stage.CUSTOMER,
            Stage.LOST,
            Stage.DISQUALIFIED,
        ):
            return
        # Re-score under the new rules; moves only forward (advance never moves a lead back).
        self.rescore(reason="rules changed", allow_cooling=False)
        self.advance()

    # --- scoring and the marketing stages -----------------------------------------------------

    def rescore(self, reason: str, allow_cooling: bool = True, result: Score | None = None) -> None:
        """Score the lead now (or take `result`, already computed for this moment) and follow it."""
        s = self.state
        result = result or score(s.intake, s.events, self.rules, self.now)
        s.score, s.fit, s.engagement, s.tier = (
            result.total,
            result.fit,
            result.engagement,
            result.tier,
        )
        s.explanation = result.explanation
        target = result.temperature
        current = s.temperature
        order = [Temperature.NEW, Temperature.COLD, Temperature.WARM, Temperature.HOT]
        if target != current and (allow_cooling or order.index(target) > order.index(current)):
            trigger = {
                Temperature.COLD: "first_score" if current is Temperature.NEW else "cool_to_cold",
                Temperature.WARM: "warm_up" if order.index(current) < 2 else "cool_to_warm",
                Temperature.HOT: "heat_up",
            }[target]
            why = f"{reason}: score {result.total:g}"
            self.fire("temperature", trigger, why)
        closed = s.stage in (Stage.CUSTOMER, Stage.LOST, Stage.DISQUALIFIED)
        if result.next_change_at is not None and not closed:
            self.set_timer(DECAY, result.next_change_at)
        else:
            self.cancel_timer(DECAY)

    def tier_ok(self) -> bool:
        return TIER_ORDER.index(self.state.tier) >= TIER_ORDER.index(self.rules.lifecycle.sql.min_tier)

    def advance(self, trigger_event: LeadEvent | None = None) -> None:
        """Move forward through the marketing stages when score or signals say so. Never back."""
        s, lc = self.state, self.rules.lifecycle
        if s.stage not in (Stage.NEW, Stage.MQL):
            return
        fresh = [e for e in s.events if s.nurture_since is None or e.occurred_at >= s.nurture_since]
        if self.tier_ok() and self.machines.may("lifecycle", "qualify"):
            signal = next((e for e in reversed(fresh) if e.kind in lc.sql.signals), None)
            if signal is not None:
                self.qualify(f"sales-ready signal {signal.kind.value}")
                return
            if s.score >= lc.sql.min_score and fresh:
                self.qualify(f"score {s.score:g} >= SQL threshold {lc.sql.min_score:g}")
                return
        if s.stage is Stage.NEW and self.machines.may("lifecycle", "nurture"):
            signal = next((e for e in reversed(s.events) if e.kind in lc.mql.signals), None)
            if signal is not None:
                self.fire("lifecycle", "nurture", f"marketing signal {signal.kind.value}")
            elif s.score >= lc.mql.min_score:
                self.fire(
                    "lifecycle",
                    "nurture",
                    f"score {s.score:g} >= MQL threshold {lc.mql.min_score:g}",
                )

    # --- the handoff --------------------------------------------------------------------------

    def qualify(self, reason: str) -> None:
        s = self.state
        self.fire("lifecycle", "qualify", reason)
        s.returned_to_marketing = False
        s.handoff.attempt = 0
        s.handoff.tried_reps = []
        s.handoff.rep = None
        s.handoff.deadline = None
        s.handoff.max_attempts = self.rules.handoff.max_attempts
        s.handoff.started_at = self.now
        self.request_rep()

    def request_rep(self) -> None:
        s = self.state
        s.handoff.attempt += 1
        self.effects.append(
            AssignRep(
                lead_id=s.lead_id,
                request=s.next_seq(),
                attempt=s.handoff.attempt,
                exclude=list(s.handoff.tried_reps),
                country=s.intake.country,
                tier=s.tier.value,
            )
        )

    def assigned(self, item: RepAssigned) -> None:
        s = self.state
        if s.stage is not Stage.SQL or item.attempt != s.handoff.attempt:
            return  # a late answer for an attempt that is over
        if s.handoff.status is HandoffStatus.PENDING and s.handoff.rep == item.rep:
            return  # the same answer delivered twice: already assigned
        if item.rep is None:
            self.fire("handoff", "escalate", f"no active rep with capacity for attempt {item.attempt}")
            s.handoff.rep = None
            s.handoff.deadline = s.handoff.deadline or self.now  # stuck since the missed deadline, or now
            self.set_timer(HANDOFF, self.now + self.rules.handoff.escalate_after)
            self.notify(
                self.rules.handoff.escalation_target,
                "handoff_escalated",
                f"Lead {s.lead_id}: no rep is free to take it (attempt {item.attempt} of {s.handoff.max_attempts}).",
            )
            return
        self.give_to(item.rep, f"assigned to {item.rep} (attempt {item.attempt} of {s.handoff.max_attempts})")

    def give_to(self, rep: str, reason: str) -> None:
        s = self.state
        sla = self.rules.handoff.sla_for(s.temperature, s.tier)
        self.fire("handoff", "assign", reason)
        s.handoff.rep = rep
        s.handoff.tried_reps = [*s.handoff.tried_reps, rep]
        s.handoff.deadline = self.now + sla
        self.set_timer(HANDOFF, s.handoff.deadline)
        self.record(
            "handoff",
            {
                "rep": rep,
                "attempt": s.handoff.attempt,
                "deadline": s.handoff.deadline.isoformat(),
                "status": "pending",
            },
        )
        self.notify(
            rep,
            "lead_assigned",
            f"New {s.temperature.value} {s.tier.value}-tier lead {s.lead_id} (score {s.score:g}): "
            f"please accept or reject by {s.handoff.deadline:%Y-%m-%d %H:%M} UTC.",
        )

    def handoff_timer(self) -> None:
        s, h = self.state, self.state.handoff
        if s.stage is not Stage.SQL:
            return
        if h.status is HandoffStatus.PENDING:
            self.fire(
                "handoff",
                "sla_missed",
                f"{h.rep} did not accept by {h.deadline:%Y-%m-%d %H:%M} UTC",
            )
            # the deadline stays the one that was missed (ops see how long overdue); the timer moves on
            self.set_timer(HANDOFF, self.now + self.rules.handoff.escalate_after)
            self.record("handoff", {"rep": h.rep, "attempt": h.attempt, "status": "overdue"})
            self.notify(
                h.rep or MARKETING,
                "handoff_overdue",
                f"Lead {s.lead_id} is overdue: accept or reject it now.",
            )
            return
        if h.status is HandoffStatus.OVERDUE:
            self.fire(
                "handoff",
                "escalate",
                f"still not accepted {format_duration(self.rules.handoff.escalate_after)} after the deadline",
            )
            self.record("handoff", {"rep": h.rep, "attempt": h.attempt, "status": "escalated"})
            self.notify(
                self.rules.handoff.escalation_target,
                "handoff_escalated",
                f"Lead {s.lead_id} was not accepted by {h.rep} (attempt {h.attempt} of {h.max_attempts}).",
            )
        # escalated (just now, or earlier because nobody was free): next attempt, or give up
        if h.attempt < h.max_attempts:
            self.request_rep()
        else:
            self.return_to_marketing(f"no rep accepted after {h.attempt} attempt(s)")

    def return_to_marketing(self, reason: str) -> None:
        s = self.state
        self.fire("handoff", "expire", reason)
        self.fire("lifecycle", "return_to_marketing", reason)
        s.returned_to_marketing = True
        s.nurture_since = self.now
        s.handoff.deadline = None
        self.cancel_timer(HANDOFF)
        self.record("handoff", {"rep": s.handoff.rep, "attempt": s.handoff.attempt, "status": "expired"})
        self.notify(MARKETING, "returned_to_marketing", f"Lead {s.lead_id} returned to marketing: {reason}.")

    def _check_rep(self, rep: str) -> None:
        s = self.state
        if s.stage is not Stage.SQL:
            raise InvalidTransition("lifecycle", "accept/reject", s.stage.value, self.machines.allowed("lifecycle"))
        if s.handoff.rep is None:
            raise InvalidRequest("no rep holds this lead right now; ops can reassign it")
        if rep != s.handoff.rep:
            raise InvalidRequest(f"the lead is assigned to {s.handoff.rep}, not {rep}")

    def accept(self, item: Accept) -> None:
        s = self.state
        self._check_rep(item.rep)
        self.fire("handoff", "rep_accepted", f"accepted by {item.rep}")
        self.fire("lifecycle", "accept", f"accepted by {item.rep}")
        s.handoff.deadline = None
        self.cancel_timer(HANDOFF)
        self.record("handoff", {"rep": item.rep, "attempt": s.handoff.attempt, "status": "accepted"})
        self.notify(MARKETING, "lead_accepted", f"Lead {s.lead_id} accepted by {item.rep}.")
        s.outcome_reminders_sent = 0
        self.set_timer(OUTCOME_REMINDER, self.now + self.rules.outcome.remind_every)

    def reject(self, item: Reject) -> None:
        s = self.state
        self._check_rep(item.rep)
        reason = self.rules.reject_reason(item.reason)
        if reason is None:
            raise InvalidRequest(
                f"unknown reject reason {item.reason!r}; use one of {', '.join(self.rules.reasons.reject)}"
            )
        self.fire("handoff", "rep_rejected", f"rejected by {item.rep}: {item.reason}")
        s.handoff.deadline = None
        self.cancel_timer(HANDOFF)
        self.record(
            "handoff",
            {
                "rep": item.rep,
                "attempt": s.handoff.attempt,
                "status": "rejected",
                "reason": item.reason,
                "note": item.note,
            },
        )
        self.notify(MARKETING, "lead_rejected", f"Lead {s.lead_id} rejected by {item.rep}: {reason.label}.")
        if reason.then == "disqualify":
            self.fire("lifecycle", "disqualify", f"rejected by {item.rep}: {item.reason}")
            s.disqualify_reason = item.reason
            self.cancel_timer(DECAY)
        else:
            self.fire("lifecycle", "reject", f"rejected by {item.rep}: {item.reason}")
            s.nurture_since = self.now
        if "rejected" in self.rules.feedback.ask_on:
            self.ask_feedback(item.rep)
        else:
            self.after_verdict()

    # --- outcome and feedback -----------------------------------------------------------------

    def outcome(self, item: RecordOutcome) -> None:
        s = self.state
        if item.outcome is Outcome.LOST and item.reason not in self.rules.reasons.lost:
            raise InvalidRequest(
                f"unknown lost reason {item.reason!r}; use one of {', '.join(self.rules.reasons.lost)}"
            )
        trigger = "win" if item.outcome is Outcome.WON else "lose"
        if not self.machines.may("lifecycle", trigger):
            raise InvalidTransition("lifecycle", trigger, s.stage.value, self.machines.allowed("lifecycle"))
        self.fire(
            "lifecycle",
            trigger,
            f"{item.outcome.value}" + (f": {item.reason}" if item.reason else ""),
        )
        s.outcome, s.outcome_reason = item.outcome, item.reason
        self.cancel_timer(OUTCOME_REMINDER)
        self.cancel_timer(DECAY)
        self.record(
            "outcome",
            {
                "outcome": item.outcome.value,
                "reason": item.reason,
                "note": item.note,
                "rep": s.handoff.rep,
            },
        )
        topic: Literal["lead_won", "lead_lost"] = "lead_won" if item.outcome is Outcome.WON else "lead_lost"
        self.notify(
            MARKETING,
            topic,
            f"Lead {s.lead_id} {item.outcome.value}" + (f" ({item.reason})." if item.reason else "."),
        )
        if item.outcome.value in self.rules.feedback.ask_on and s.handoff.rep:
            self.ask_feedback(s.handoff.rep)
        else:
            self.after_verdict()

    def ask_feedback(self, rep: str) -> None:
        s = self.state
        s.feedback_requested_at = self.now
        s.feedback_reminders_sent = 0
        self.set_timer(FEEDBACK, self.now + self.rules.feedback.deadline)
        if self.rules.feedback.reminders:
            self.set_timer(FEEDBACK_REMINDER, self.now + self.rules.feedback.reminders[0])
        self.notify(
            rep,
            "feedback_requested",
            f"How good was lead {s.lead_id}? Rate it 1-5 by {self.now + self.rules.feedback.deadline:%Y-%m-%d} UTC.",
        )

    def feedback(self, item: SubmitFeedback) -> None:
        s = self.state
        if s.feedback_requested_at is None:
            raise InvalidRequest("no feedback is asked for this lead now")
        known = set(self.rules.reasons.feedback) | set(self.rules.reasons.reject) | set(self.rules.reasons.lost)
        unknown = [r for r in item.reasons if r not in known]
        if unknown:
            raise InvalidRequest(
                f"unknown feedback reason(s) {', '.join(unknown)}; use one of {', '.join(sorted(known))}"
            )
        s.feedback.append(item)
        s.feedback_requested_at = None
        self.cancel_timer(FEEDBACK)
        self.cancel_timer(FEEDBACK_REMINDER)
        self.record(
            "feedback",
            {
                "rating": item.rating,
                "reasons": list(item.reasons),
                "note": item.note,
                "rep": s.handoff.rep,
                "source": s.intake.source.value,
            },
        )
        self.notify(
            MARKETING,
            "feedback_received",
            f"Feedback on lead {s.lead_id}: rated {item.rating}/5.",
            {"rating": item.rating},
        )
        self.after_verdict()

    def feedback_timer(self, name: str) -> None:
        s = self.state
        if s.feedback_requested_at is None:
            return
        rep = s.handoff.rep or MARKETING
        if name == FEEDBACK_REMINDER:
            s.feedback_reminders_sent += 1
            self.notify(rep, "feedback_reminder", f"Reminder: rate lead {s.lead_id} (1-5).")
            later = self.rules.feedback.reminders[s.feedback_reminders_sent :]
            if later:
                self.set_timer(FEEDBACK_REMINDER, s.feedback_requested_at + later[0])
            return
        s.feedback_requested_at = None
        self.cancel_timer(FEEDBACK_REMINDER)
        self.record("feedback", {"missed": True, "rep": rep, "source": s.intake.source.value})
        self.notify(MARKETING, "feedback_missed", f"No feedback on lead {s.lead_id} by the deadline.")
        self.after_verdict()

    def outcome_timer(self) -> None:
        s = self.state
        if s.stage is not Stage.ACCEPTED:
            return
        if s.outcome_reminders_sent < self.rules.outcome.max_reminders:
            s.outcome_reminders_sent += 1
            self.notify(
                s.handoff.rep or MARKETING,
                "outcome_reminder",
                f"Lead {s.lead_id}: record won or lost (reminder {s.outcome_reminders_sent}).",
            )
            self.set_timer(OUTCOME_REMINDER, self.now + self.rules.outcome.remind_every)
        else:
            self.notify(
                self.rules.handoff.escalation_target,
                "outcome_overdue",
                f"Lead {s.lead_id}: no outcome after {s.outcome_reminders_sent} reminders.",
            )

    def after_verdict(self) -> None:
        """Once sales is done with the lead: schedule recycling, complete, or go on nurturing."""
        s = self.state
        recycle = self.rules.lifecycle.recycle
        wait = {Stage.LOST: recycle.lost_after, Stage.DISQUALIFIED: recycle.disqualified_after}.get(s.stage)
        if wait is not None and self.machines.may("lifecycle", "recycle"):
            self.set_timer(RECYCLE, self.now + wait)
        elif s.stage in (Stage.CUSTOMER, Stage.LOST, Stage.DISQUALIFIED):
            self.complete(f"lead is {s.stage.value}")

    # --- ops ----------------------------------------------------------------------------------

    def reassign(self, item: Reassign) -> None:
        s = self.state
        if s.stage is not Stage.SQL or s.handoff.status not in (
            HandoffStatus.PENDING,
            HandoffStatus.OVERDUE,
            HandoffStatus.ESCALATED,
        ):
            raise InvalidRequest(
                f"only an open handoff can be reassigned (stage {s.stage.value}, handoff {s.handoff.status.value})"
            )
        rep = self.rules.team.get(item.to)
        if rep is None or not rep.active:
            active = ", ".join(r.id for r in self.rules.team.reps if r.active)
            raise InvalidRequest(f"{item.to!r} is not an active rep; active: {active}")
        if item.to == s.handoff.rep:
            raise InvalidRequest(f"the lead is already assigned to {item.to}")
        s.handoff.attempt += 1
        s.handoff.max_attempts = max(s.handoff.max_attempts, s.handoff.attempt)
        self.give_to(item.to, f"reassigned to {item.to} by {item.by}")

    def hand_to_sales(self, item: HandToSales) -> None:
        if not self.machines.may("lifecycle", "qualify"):
            raise InvalidTransition("lifecycle", "qualify", self.state.stage.value, self.machines.allowed("lifecycle"))
        self.qualify(f"handed to sales by {item.by}" + (f": {item.reason}" if item.reason else ""))

    def disqualify(self, item: Disqualify) -> None:
        s = self.state
        if item.reason not in self.rules.reasons.disqualify:
            raise InvalidRequest(
                f"unknown disqualify reason {item.reason!r}; use one of {', '.join(self.rules.reasons.disqualify)}"
            )
        self.fire("lifecycle", "disqualify", f"disqualified by {item.by}: {item.reason}")
        s.disqualify_reason = item.reason
        if s.handoff.status in (
            HandoffStatus.PENDING,
            HandoffStatus.OVERDUE,
            HandoffStatus.ESCALATED,
        ):
            self.fire("handoff", "withdraw", "lead disqualified")
        for name in (HANDOFF, DECAY, OUTCOME_REMINDER):
            self.cancel_timer(name)
        self.notify(MARKETING, "lead_disqualified", f"Lead {s.lead_id} disqualified: {item.reason}.")
        self.after_verdict()

    # --- timers -------------------------------------------------------------------------------

    def timer(self, item: TimerFired) -> None:
        s = self.state
        due = s.timers.get(item.name)
        if due is None or due > self.now:
            return  # cancelled or moved: a stale wake-up
        del s.timers[item.name]
        if item.name == HANDOFF:
            self.handoff_timer()
        elif item.name == DECAY:
            self.rescore(reason="engagement decayed")
        elif item.name == OUTCOME_REMINDER:
            self.outcome_timer()
        elif item.name in (FEEDBACK, FEEDBACK_REMINDER):
            self.feedback_timer(item.name)
        elif item.name == RECYCLE:
            self.fire("lifecycle", "recycle", f"recycled to nurture after being {s.stage.value}")
            s.nurture_since = self.now
            s.outcome = None
            s.outcome_reason = None
            s.handoff.status = s.handoff.status  # the last handoff stays on record
            self.rescore(reason="recycled")

    def set_timer(self, name: str, at: datetime) -> None:
        if self.state.timers.get(name) != at:
            self.state.timers[name] = at
            self.effects.append(StartTimer(name=name, at=at))

    def cancel_timer(self, name: str) -> None:
        if self.state.timers.pop(name, None) is not None:
            self.effects.append(CancelTimer(name=name))

    def complete(self, reason: str) -> None:
        s = self.state
        s.timers.clear()
        s.completed = True
        self.effects.append(Complete(reason=reason))

    # --- recording ----------------------------------------------------------------------------

    def fire(self, machine: MachineName, trigger: str, reason: str) -> None:
        before, after = self.machines.fire(machine, trigger)
        s = self.state
        s.stage, s.temperature, s.handoff.status = (
            self.model.stage,
            self.model.temperature,
            self.model.handoff,
        )
        record = TransitionRecord(
            seq=s.next_seq(),
            machine=machine,
            source=before.value,
            dest=after.value,
            trigger=trigger,
            reason=reason,
            at=self.now,
            rules_version=self.rules.version,
        )
        s.timeline = [*s.timeline, record][-TIMELINE_KEPT:]
        self.effects.append(
            Record(
                entry=LedgerEntry(
                    lead_id=s.lead_id,
                    seq=record.seq,
                    kind="transition",
                    at=self.now,
                    rules_version=self.rules.version,
                    data=record.model_dump(mode="json", exclude={"seq", "at", "rules_version"}),
                )
            )
        )

    def record(self, kind: Any, data: dict[str, Any]) -> None:
        s = self.state
        context = {
            "stage": s.stage.value,
            "temperature": s.temperature.value,
            "tier": s.tier.value,
            "score": s.score,
            "source": s.intake.source.value,
        }
        self.effects.append(
            Record(
                entry=LedgerEntry(
                    lead_id=s.lead_id,
                    seq=s.next_seq(),
                    kind=kind,
                    at=self.now,
                    rules_version=self.rules.version,
                    data={**context, **data},
                )
            )
        )

    def notify(self, to: str, topic: Any, text: str, data: dict[str, Any] | None = None) -> None:
        s = self.state
        seq = s.next_seq()
        note = Notification(
            key=f"{s.lead_id}:{seq}",
            lead_id=s.lead_id,
            to=to,
            topic=topic,
            text=text,
            at=self.now,
            data={
                "stage": s.stage.value,
                "temperature": s.temperature.value,
                "tier": s.tier.value,
                "score": s.score,
                "rep": s.handoff.rep,
                **(data or {}),
            },
        )
        self.effects.append(Notify(notification=note))
        self.effects.append(
            Record(
                entry=LedgerEntry(
                    lead_id=s.lead_id,
                    seq=seq,
                    kind="notification",
                    at=self.now,
                    rules_version=self.rules.version,
                    data=note.model_dump(mode="json", exclude={"at", "lead_id"}),
                )
            )
        )

    def _forget_old_events(self) -> None:
        """Keep the events that can still matter: 12 half-lives (< 0.03 % left), signal windows, and
        penalties, which never decay."""
        s, rules = self.state, self.rules
        window = rules.temperature.signal_window
        keep = max(rules.engagement.half_life * 12, window.warm, window.hot)
        penalties = {kind for kind, entry in rules.engagement.events.items() if entry.points < 0}
        s.events = [e for e in s.events if e.kind in penalties or self.now - e.occurred_at <= keep]
        if len(s.events) > EVENTS_KEPT:
            # The state travels whole through continue-as-new, and payloads have a size limit: keep the
            # newest events. Older ones have mostly decayed and are still in the ledger.
            s.events = s.events[-EVENTS_KEPT:]
