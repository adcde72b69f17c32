"""Drive leads through `domain.decide` and keep the ledger entries it records, as the workflow does.

A `Life` is one lead: every input goes through the real `decide` with the real rules; the timers
it sets fire in order before any later input (so a missed SLA goes overdue on its own); the rep
for each handoff attempt is whoever the test names.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.decide import AssignRep, EventReceived, Input, IntakeReceived, Record, RepAssigned, TimerFired, decide
from domain.models import Accept, LeadEvent, LeadIntake, RecordOutcome, Reject, SubmitFeedback
from domain.rules import Rules
from domain.state import LeadState, LedgerEntry
from domain.vocabulary import EventKind, Outcome


class Life:
    """One lead's life through `decide`; `entries` is what the ledger would hold."""

    def __init__(self, rules: Rules, lead_id: str, at: datetime, **intake: Any) -> None:
        self.rules = rules
        self.lead_id = lead_id
        self.entries: list[LedgerEntry] = []
        self.state: LeadState | None = None
        self.asked: AssignRep | None = None
        self._events = 0
        fields: dict[str, Any] = {"external_id": lead_id, "received_at": at, **intake}
        self._send(IntakeReceived(lead_id=lead_id, intake=LeadIntake.model_validate(fields, context={"now": at})), at)

    @property
    def now(self) -> datetime:
        assert self.state is not None
        return self.state.updated_at

    def send(self, item: Input, at: datetime) -> None:
        """Fire every timer due before `at`, then apply `item` at `at`."""
        self.run_until(at, inclusive=False)
        self._send(item, at)

    def run_until(self, at: datetime, inclusive: bool = True) -> None:
        """Fire the due timers, earliest first, up to `at`."""
        while True:
            assert self.state is not None
            due = sorted((when, name) for name, when in self.state.timers.items())
            if not due or due[0][0] > at or (due[0][0] == at and not inclusive):
                return
            when, name = due[0]
            self._send(TimerFired(name=name), when)

    def event(self, kind: str, at: datetime) -> None:
        self._events += 1
        self.send(
            EventReceived(
                event=LeadEvent(event_id=f"{self.lead_id}-e{self._events}", kind=EventKind(kind), occurred_at=at)
            ),
            at,
        )

    def assign(self, rep: str | None, at: datetime) -> None:
        """Answer the pending rep request (the assign-rep activity's result)."""
        assert self.asked is not None, "no rep was asked for"
        attempt = self.asked.attempt
        self.asked = None
        self.send(RepAssigned(attempt=attempt, rep=rep), at)

    def accept(self, rep: str, at: datetime) -> None:
        self.send(Accept(rep=rep), at)

    def reject(self, rep: str, reason: str, at: datetime, note: str = "") -> None:
        self.send(Reject(rep=rep, reason=reason, note=note), at)

    def outcome(self, outcome: str, at: datetime, reason: str | None = None) -> None:
        self.send(RecordOutcome(outcome=Outcome(outcome), reason=reason), at)

    def feedback(self, rating: int, at: datetime, *reasons: str, note: str = "") -> None:
        self.send(SubmitFeedback(rating=rating, reasons=list(reasons), note=note), at)

    def _send(self, item: Input, at: datetime) -> None:
        decision = decide(self.state, item, self.rules, at)
        self.state = decision.state
        for effect in decision.effects:
            if isinstance(effect, Record):
                self.entries.append(effect.entry)
            elif isinstance(effect, AssignRep):
                self.asked = effect
