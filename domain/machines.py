"""The lead's three state machines, built with `transitions` on one model object.

- lifecycle (`stage`): its transition table comes from the rules file;
- temperature (`temperature`) and handoff (`handoff`): fixed tables, because the engine attaches
  behaviour (deadlines, escalation) to their states.

Guards are pure; the machines never read a clock or do I/O. Firing a trigger that the current state
does not allow raises `InvalidTransition`, naming the triggers that are allowed.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from transitions import Machine, MachineError

from domain.errors import InvalidTransition
from domain.rules import Lifecycle
from domain.vocabulary import HandoffStatus, Stage, Temperature

# It logs every transition at INFO, knowing nothing of replay.
logging.getLogger("transitions").setLevel(logging.ERROR)

TEMPERATURE_TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "first_score", "source": Temperature.NEW, "dest": Temperature.COLD},
    {"trigger": "warm_up", "source": [Temperature.NEW, Temperature.COLD], "dest": Temperature.WARM},
    {
        "trigger": "heat_up",
        "source": [Temperature.NEW, Temperature.COLD, Temperature.WARM],
        "dest": Temperature.HOT,
    },
    {"trigger": "cool_to_warm", "source": Temperature.HOT, "dest": Temperature.WARM},
    {
        "trigger": "cool_to_cold",
        "source": [Temperature.HOT, Temperature.WARM],
        "dest": Temperature.COLD,
    },
]

_OPEN = [HandoffStatus.PENDING, HandoffStatus.OVERDUE, HandoffStatus.ESCALATED]
# Where a new handoff may start: never handed off, or the last handoff is over. `accepted` is over
# too once the lead was lost or disqualified and then recycled back to nurture.
_CLOSED = [HandoffStatus.NONE, HandoffStatus.REJECTED, HandoffStatus.EXPIRED, HandoffStatus.ACCEPTED]
HANDOFF_TRANSITIONS: list[dict[str, Any]] = [
    # a rep is assigned (first attempt, reassignment after escalation, or an ops override)
    {
        "trigger": "assign",
        "source": [*_CLOSED, *_OPEN],
        "dest": HandoffStatus.PENDING,
    },
    {"trigger": "sla_missed", "source": HandoffStatus.PENDING, "dest": HandoffStatus.OVERDUE},
    # escalated: the escalation target is told; also where a handoff waits when no rep is free
    {
        "trigger": "escalate",
        "source": [*_CLOSED, *_OPEN],
        "dest": HandoffStatus.ESCALATED,
    },
    {"trigger": "rep_accepted", "source": _OPEN, "dest": HandoffStatus.ACCEPTED},
    {"trigger": "rep_rejected", "source": _OPEN, "dest": HandoffStatus.REJECTED},
    {"trigger": "expire", "source": _OPEN, "dest": HandoffStatus.EXPIRED},
    # the lead left SQL some other way (disqualified by ops): the handoff is closed, not accepted
    {"trigger": "withdraw", "source": _OPEN, "dest": HandoffStatus.NONE},
]


@dataclass
class MachineModel:
    """The object the three machines act on: one attribute per machine."""

    stage: Stage
    temperature: Temperature
    handoff: HandoffStatus


class LeadMachines:
    """The three machines, acting on one lead model (one `model_attribute` each).

    The `transitions` machines themselves hold no lead: they are built once per lifecycle table and
    shared (building them cost more than half of a decision), and fire on this model through
    `machine.events[...].trigger(model)`, which keeps no state between calls (`queued=False`).
    """

    def __init__(self, lifecycle: Lifecycle, model: MachineModel) -> None:
        self.model = model
        self._machines = _shared_machines(_table_key(lifecycle))

    def state(self, machine: str) -> StrEnum:
        value: StrEnum = getattr(self.model, _ATTRIBUTE[machine])
        return value

    def allowed(self, machine: str) -> list[str]:
        """Triggers the machine allows from its current state."""
        return sorted(self._machines[machine].get_triggers(self.state(machine).name))

    def may(self, machine: str, trigger: str) -> bool:
        return trigger in self.allowed(machine)

    def fire(self, machine: str, trigger: str) -> tuple[StrEnum, StrEnum]:
        """Fire `trigger`; returns (from, to). Raises `InvalidTransition` when not allowed now."""
        m = self._machines[machine]
        before = self.state(machine)
        event = m.events.get(trigger)
        if event is None:
            raise InvalidTransition(machine, trigger, before.value, self.allowed(machine))
        try:
            event.trigger(self.model)
        except MachineError:
            raise InvalidTransition(machine, trigger, before.value, self.allowed(machine)) from None
        return before, self.state(machine)


_ATTRIBUTE = {"lifecycle": "stage", "temperature": "temperature", "handoff": "handoff"}


def lifecycle_table(lifecycle: Lifecycle) -> list[dict[str, Any]]:
    """The rules' lifecycle transitions as a `transitions` table."""
    return [
        {"trigger": t.trigger, "source": [Stage(s) for s in t.sources()], "dest": Stage(t.dest)}
        for t in lifecycle.transitions
    ]


TableKey = tuple[tuple[str, tuple[str, ...], str], ...]


def _table_key(lifecycle: Lifecycle) -> TableKey:
    return tuple((t.trigger, tuple(s.value for s in t.sources()), t.dest.value) for t in lifecycle.transitions)


@functools.lru_cache(maxsize=32)
def _shared_machines(key: TableKey) -> dict[str, Machine]:
    lifecycle = [{"trigger": t, "source": [Stage(s) for s in sources], "dest": Stage(d)} for t, sources, d in key]
    return {
        "lifecycle": _machine("stage", Stage, lifecycle),
        "temperature": _machine("temperature", Temperature, TEMPERATURE_TRANSITIONS),
        "handoff": _machine("handoff", HandoffStatus, HANDOFF_TRANSITIONS),
    }


def _machine(attribute: str, states: type[StrEnum], table: list[dict[str, Any]]) -> Machine:
    return Machine(
        model=None,
        states=states,
        transitions=table,
        initial=next(iter(states)),
        model_attribute=attribute,
        auto_transitions=False,
        ignore_invalid_triggers=False,
    )
