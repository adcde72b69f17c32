"""Typed inputs and outputs of the activities: the contract between the workflow and the world."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from domain.rules import Team
from domain.state import LedgerEntry, Notification


class LoadRulesInput(BaseModel):
    """`version=None`: the currently published rules. Otherwise exactly that version."""

    model_config = ConfigDict(frozen=True)
    version: str | None = None


class AssignRepInput(BaseModel):
    """Choose a rep for one handoff attempt. Same (lead_id, request) → same answer.

    `request` is a sequence number of the lead's, unique over its whole life (a recycled lead's next
    handoff starts again at attempt 1, so the attempt alone is not a key)."""

    model_config = ConfigDict(frozen=True)
    lead_id: str
    request: int
    attempt: int
    exclude: list[str] = Field(default_factory=list)
    country: str | None = None
    tier: str
    team: Team


class AssignRepResult(BaseModel):
    model_config = ConfigDict(frozen=True)
    rep: str | None
    reason: str = ""


class NotifyInput(BaseModel):
    model_config = ConfigDict(frozen=True)
    notification: Notification


class RecordInput(BaseModel):
    """Ledger rows to append; each is idempotent per (lead_id, seq)."""

    model_config = ConfigDict(frozen=True)
    entries: list[LedgerEntry]
