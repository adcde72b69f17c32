"""The messages `decide` speaks: its inputs (what happened) and its effects (what to do).

Every input and effect is one typed, frozen pydantic model with a `kind`, so the workflow can carry
them in history and tests can compare them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.models import (
    Accept,
    Disqualify,
    HandToSales,
    LeadEvent,
    LeadIntake,
    Reassign,
    RecordOutcome,
    Reject,
    SubmitFeedback,
)
from domain.state import LeadState, LedgerEntry, Notification

# --- inputs ---------------------------------------------------------------------------------


class IntakeReceived(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["intake"] = "intake"
    lead_id: str
    intake: LeadIntake
    # Where a new lead's sequence numbers start: a run started after an earlier run of the same
    # lead completed must not reuse its numbers (ledger rows are unique per lead and number).
    seq_base: int = Field(default=0, ge=0)


class EventReceived(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["event"] = "event"
    event: LeadEvent


class TimerFired(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["timer"] = "timer"
    name: str


class RepAssigned(BaseModel):
    """The result of the assign-rep activity: a rep, or None when nobody can take the lead."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["assigned"] = "assigned"
    attempt: int
    rep: str | None


class RulesChanged(BaseModel):
    """A new rules version is published; the lead decides with it from now on."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["rules_changed"] = "rules_changed"
    version: str


Input = (
    IntakeReceived
    | EventReceived
    | TimerFired
    | RepAssigned
    | RulesChanged
    | Accept
    | Reject
    | RecordOutcome
    | SubmitFeedback
    | Reassign
    | Disqualify
    | HandToSales
)

# --- effects --------------------------------------------------------------------------------


class Record(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["record"] = "record"
    entry: LedgerEntry


class Notify(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["notify"] = "notify"
    notification: Notification


class AssignRep(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["assign_rep"] = "assign_rep"
    lead_id: str
    request: int  # a sequence number of the lead's: the key that makes assigning idempotent
    attempt: int
    exclude: list[str]
    country: str | None
    tier: str


class StartTimer(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["start_timer"] = "start_timer"
    name: str
    at: datetime


class CancelTimer(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["cancel_timer"] = "cancel_timer"
    name: str


class Complete(BaseModel):
    model_config = ConfigDict(frozen=True)
    kind: Literal["complete"] = "complete"
    reason: str


Effect = Record | Notify | AssignRep | StartTimer | CancelTimer | Complete


class Decision(BaseModel):
    state: LeadState
    effects: list[Effect]
