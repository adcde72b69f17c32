"""The errors leadflow raises. One base class; one subclass per thing a caller handles differently."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class LeadflowError(Exception):
    """Base of every error leadflow raises on purpose."""


@dataclass(frozen=True)
class RuleProblem:
    """One thing wrong with a rules file, located as precisely as the file allows."""

    source: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class RulesError(LeadflowError):
    """A rules file that cannot be used. Carries every problem found, not just the first."""

    def __init__(self, problems: Sequence[RuleProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class InvalidTransition(LeadflowError):
    """A trigger the lead's current state does not allow. Names the triggers that are allowed."""

    def __init__(self, machine: str, trigger: str, state: str, allowed: Sequence[str]) -> None:
        self.machine = machine
        self.trigger = trigger
        self.state = state
        self.allowed = tuple(sorted(allowed))
        allowed_text = ", ".join(self.allowed) if self.allowed else "none"
        super().__init__(f"{machine}: cannot {trigger!r} from {state!r}; allowed from {state!r}: {allowed_text}")


class InvalidRequest(LeadflowError):
    """A request that is well-formed but not acceptable now (wrong rep, unknown reason, ...)."""
