"""The lead's whole state in one serialisable object, and the read-only view people get of it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.models import LeadEvent, LeadIntake, Scalar, SubmitFeedback
from domain.scoring import Contribution
from domain.vocabulary import HandoffStatus, Outcome, Stage, Temperature, Tier

MachineName = Literal["lifecycle", "temperature", "handoff"]
TIMELINE_KEPT = 200  # transitions kept in the state (and the view); the ledger keeps them all
SEEN_EVENT_IDS_KEPT = 2000


class TransitionRecord(BaseModel):
    """One fired trigger: which machine, from where to where, why, when, under which rules."""

    model_config = ConfigDict(frozen=True)

    seq: int
    machine: MachineName
    source: str
    dest: str
    trigger: str
    reason: str
    at: datetime
    rules_version: str


class HandoffState(BaseModel):
    """The current (or last) handoff to sales."""

    status: HandoffStatus = HandoffStatus.NONE
    rep: str | None = None
    attempt: int = 0
    max_attempts: int = 0
    deadline: datetime | None = None
    tried_reps: list[str] = Field(default_factory=list)
    started_at: datetime | None = None


class LeadState(BaseModel):
    """Everything a lead's workflow knows. Carried whole across continue-as-new."""

    lead_id: str
    intake: LeadIntake
    rules_version: str
    created_at: datetime
    updated_at: datetime
    stage: Stage = Stage.NEW
    temperature: Temperature = Temperature.NEW
    tier: Tier = Tier.LOW
    score: float = 0.0
    fit: float = 0.0
    engagement: float = 0.0
    explanation: list[Contribution] = Field(default_factory=list)
    events: list[LeadEvent] = Field(default_factory=list)
    seen_event_ids: list[str] = Field(default_factory=list)
    nurture_since: datetime | None = None
    handoff: HandoffState = Field(default_factory=HandoffState)
    returned_to_marketing: bool = False
    outcome: Outcome | None = None
    outcome_reason: str | None = None
    outcome_reminders_sent: int = 0
    feedback_requested_at: datetime | None = None
    feedback_reminders_sent: int = 0
    feedback: list[SubmitFeedback] = Field(default_factory=list)
    disqualify_reason: str | None = None
    duplicates: int = 0
    timers: dict[str, datetime] = Field(default_factory=dict)
    timeline: list[TransitionRecord] = Field(default_factory=list)
    seq: int = 0
    completed: bool = False

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def working_copy(self) -> LeadState:
        """A copy that `decide` may change: new containers and a new handoff; the frozen models in
        them (intake, events, timeline records, explanation lines, feedback) are shared, not copied.
        A deep copy of a lead with thousands of events cost ~80 % of a decision."""
        return self.model_copy(
            update={
                "events": list(self.events),
                "seen_event_ids": list(self.seen_event_ids),
                "handoff": self.handoff.model_copy(update={"tried_reps": list(self.handoff.tried_reps)}),
                "feedback": list(self.feedback),
                "timers": dict(self.timers),
                "timeline": list(self.timeline),
                "explanation": list(self.explanation),
            }
        )


class LeadView(BaseModel):
    """What `view` / `show` return: the lead's standing and its timeline. No personal data."""

    lead_id: str
    stage: Stage
    temperature: Temperature
    tier: Tier
    score: float
    fit: float
    engagement: float
    source: str
    assigned_rep: str | None
    handoff_status: HandoffStatus
    handoff_deadline: datetime | None
    handoff_attempt: int
    handoff_max_attempts: int
    returned_to_marketing: bool
    rules_version: str
    duplicate: bool = False
    duplicates: int
    events: int
    outcome: Outcome | None
    waiting_for: str
    completed: bool
    explanation: list[Contribution]
    timeline: list[TransitionRecord]


class LedgerEntry(BaseModel):
    """One append-only ledger row. `(lead_id, seq)` is unique, so recording it twice is harmless."""

    model_config = ConfigDict(frozen=True)

    lead_id: str
    seq: int
    kind: Literal["intake", "event", "transition", "handoff", "notification", "outcome", "feedback", "score"]
    at: datetime
    rules_version: str
    data: dict[str, Any] = Field(default_factory=dict)


class Notification(BaseModel):
    """A message to a person or team. `key` is its idempotency key. No personal data in it."""

    model_config = ConfigDict(frozen=True)

    key: str
    lead_id: str
    to: str
    topic: Literal[
        "lead_assigned",
        "handoff_overdue",
        "handoff_escalated",
        "returned_to_marketing",
        "lead_accepted",
        "lead_rejected",
        "outcome_reminder",
        "outcome_overdue",
        "feedback_requested",
        "feedback_reminder",
        "feedback_received",
        "feedback_missed",
        "lead_won",
        "lead_lost",
        "lead_disqualified",
    ]
    text: str
    at: datetime
    data: dict[str, Scalar | None] = Field(default_factory=dict)
