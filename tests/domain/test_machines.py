"""The three state machines, table-driven: every trigger from every state, allowed or refused."""

from __future__ import annotations

from enum import StrEnum

import pytest

from domain.errors import InvalidTransition
from domain.machines import HANDOFF_TRANSITIONS, TEMPERATURE_TRANSITIONS, LeadMachines, MachineModel
from domain.rules import TRIGGER_DESTINATIONS, Rules
from domain.vocabulary import HandoffStatus, Stage, Temperature

from .conftest import make_rules

H, S, T = HandoffStatus, Stage, Temperature

# The default rules' lifecycle table: state → {trigger: destination}.
LIFECYCLE = {
    S.NEW: {"nurture": S.MQL, "qualify": S.SQL, "disqualify": S.DISQUALIFIED},
    S.MQL: {"qualify": S.SQL, "disqualify": S.DISQUALIFIED},
    S.SQL: {"accept": S.ACCEPTED, "reject": S.MQL, "return_to_marketing": S.MQL, "disqualify": S.DISQUALIFIED},
    S.ACCEPTED: {"win": S.CUSTOMER, "lose": S.LOST, "disqualify": S.DISQUALIFIED},
    S.CUSTOMER: {},
    S.LOST: {"recycle": S.MQL},
    S.DISQUALIFIED: {},
}
TEMPERATURE = {
    T.NEW: {"first_score": T.COLD, "warm_up": T.WARM, "heat_up": T.HOT},
    T.COLD: {"warm_up": T.WARM, "heat_up": T.HOT},
    T.WARM: {"heat_up": T.HOT, "cool_to_cold": T.COLD},
    T.HOT: {"cool_to_warm": T.WARM, "cool_to_cold": T.COLD},
}
_START = {"assign": H.PENDING, "escalate": H.ESCALATED}
_OPEN = {
    **_START,
    "rep_accepted": H.ACCEPTED,
    "rep_rejected": H.REJECTED,
    "expire": H.EXPIRED,
    "withdraw": H.NONE,
}
HANDOFF = {
    H.NONE: _START,
    H.PENDING: {**_OPEN, "sla_missed": H.OVERDUE},
    H.OVERDUE: _OPEN,
    H.ESCALATED: _OPEN,
    # a closed handoff: only a new one may start (after the lead is qualified again)
    H.ACCEPTED: _START,
    H.REJECTED: _START,
    H.EXPIRED: _START,
}

ALL_LIFECYCLE_TRIGGERS = sorted(TRIGGER_DESTINATIONS)
ALL_TEMPERATURE_TRIGGERS = sorted({t["trigger"] for t in TEMPERATURE_TRANSITIONS})
ALL_HANDOFF_TRIGGERS = sorted({t["trigger"] for t in HANDOFF_TRANSITIONS})


def machines_at(
    rules: Rules, stage: Stage = S.NEW, temp: Temperature = T.NEW, handoff: HandoffStatus = H.NONE
) -> LeadMachines:
    return LeadMachines(rules.lifecycle, MachineModel(stage, temp, handoff))


def cases(table: dict[StrEnum, dict[str, StrEnum]], triggers: list[str]) -> list[tuple[StrEnum, str, StrEnum | None]]:
    return [(state, trigger, table[state].get(trigger)) for state in table for trigger in triggers]


def test_the_tables_cover_every_state() -> None:
    assert set(LIFECYCLE) == set(Stage)
    assert set(TEMPERATURE) == set(Temperature)
    assert set(HANDOFF) == set(HandoffStatus)


@pytest.mark.parametrize(("state", "trigger", "dest"), cases(LIFECYCLE, ALL_LIFECYCLE_TRIGGERS))  # type: ignore[arg-type]
def test_lifecycle_with_the_default_table(default_rules: Rules, state: Stage, trigger: str, dest: Stage | None) -> None:
    m = machines_at(default_rules, stage=state)
    assert m.may("lifecycle", trigger) is (dest is not None)
    if dest is None:
        with pytest.raises(InvalidTransition) as err:
            m.fire("lifecycle", trigger)
        assert err.value.allowed == tuple(sorted(LIFECYCLE[state]))
        assert m.model.stage is state  # nothing moved
    else:
        assert m.fire("lifecycle", trigger) == (state, dest)
        assert m.model.stage is dest


@pytest.mark.parametrize(("state", "trigger", "dest"), cases(TEMPERATURE, ALL_TEMPERATURE_TRIGGERS))  # type: ignore[arg-type]
def test_temperature_machine(rules: Rules, state: Temperature, trigger: str, dest: Temperature | None) -> None:
    m = machines_at(rules, temp=state)
    assert m.may("temperature", trigger) is (dest is not None)
    if dest is None:
        with pytest.raises(InvalidTransition):
            m.fire("temperature", trigger)
        assert m.model.temperature is state
    else:
        assert m.fire("temperature", trigger) == (state, dest)
        assert m.model.temperature is dest


@pytest.mark.parametrize(("state", "trigger", "dest"), cases(HANDOFF, ALL_HANDOFF_TRIGGERS))  # type: ignore[arg-type]
def test_handoff_machine(rules: Rules, state: HandoffStatus, trigger: str, dest: HandoffStatus | None) -> None:
    m = machines_at(rules, handoff=state)
    assert m.may("handoff", trigger) is (dest is not None)
    if dest is None:
        with pytest.raises(InvalidTransition):
            m.fire("handoff", trigger)
        assert m.model.handoff is state
    else:
        assert m.fire("handoff", trigger) == (state, dest)
        assert m.model.handoff is dest


@pytest.mark.parametrize(
    ("machine", "table"),
    [("lifecycle", LIFECYCLE), ("temperature", TEMPERATURE), ("handoff", HANDOFF)],
)
def test_allowed_lists_the_triggers_of_each_state(
    default_rules: Rules, machine: str, table: dict[StrEnum, dict[str, StrEnum]]
) -> None:
    for state, expected in table.items():
        kwargs = {{"lifecycle": "stage", "temperature": "temp", "handoff": "handoff"}[machine]: state}
        m = machines_at(default_rules, **kwargs)  # type: ignore[arg-type]
        assert m.allowed(machine) == sorted(expected), state


def test_invalid_transition_names_machine_trigger_state_and_allowed_triggers(default_rules: Rules) -> None:
    m = machines_at(default_rules, stage=S.MQL)
    with pytest.raises(InvalidTransition) as err:
        m.fire("lifecycle", "win")
    assert str(err.value) == "lifecycle: cannot 'win' from 'mql'; allowed from 'mql': disqualify, qualify"
    assert (err.value.machine, err.value.trigger, err.value.state) == ("lifecycle", "win", "mql")
    assert err.value.allowed == ("disqualify", "qualify")


def test_invalid_transition_from_a_state_with_no_way_out_says_none(default_rules: Rules) -> None:
    m = machines_at(default_rules, stage=S.CUSTOMER)
    with pytest.raises(InvalidTransition, match=r"cannot 'recycle' from 'customer'; allowed from 'customer': none$"):
        m.fire("lifecycle", "recycle")


def test_unknown_trigger_is_an_invalid_transition(default_rules: Rules) -> None:
    m = machines_at(default_rules, temp=T.WARM)
    with pytest.raises(InvalidTransition) as err:
        m.fire("temperature", "explode")
    assert err.value.allowed == ("cool_to_cold", "heat_up")
    assert "cannot 'explode' from 'warm'" in str(err.value)


def test_lifecycle_table_comes_from_the_rules() -> None:
    rules = make_rules(
        {
            "lifecycle.transitions": [
                {"trigger": "nurture", "source": "new", "dest": "mql"},
                {"trigger": "qualify", "source": "mql", "dest": "sql"},
                {"trigger": "accept", "source": "sql", "dest": "accepted"},
                {"trigger": "reject", "source": "sql", "dest": "new"},
                {"trigger": "return_to_marketing", "source": "sql", "dest": "new"},
                {"trigger": "win", "source": "accepted", "dest": "customer"},
                {"trigger": "lose", "source": "accepted", "dest": "lost"},
                {"trigger": "disqualify", "source": ["sql"], "dest": "disqualified"},
                {"trigger": "recycle", "source": ["lost", "disqualified"], "dest": "new"},
            ],
            "lifecycle.recycle": {"lost_after": "30d", "disqualified_after": "90d"},
        }
    )
    m = machines_at(rules)
    assert m.allowed("lifecycle") == ["nurture"]  # no qualify straight from new in this table
    assert m.fire("lifecycle", "nurture") == (S.NEW, S.MQL)
    assert m.fire("lifecycle", "qualify") == (S.MQL, S.SQL)
    assert m.fire("lifecycle", "reject") == (S.SQL, S.NEW)
    m = machines_at(rules, stage=S.DISQUALIFIED)
    assert m.fire("lifecycle", "recycle") == (S.DISQUALIFIED, S.NEW)


def test_machines_work_on_their_own_model_only(default_rules: Rules) -> None:
    first = machines_at(default_rules)
    second = machines_at(default_rules)
    first.fire("lifecycle", "nurture")
    first.fire("handoff", "assign")
    assert (first.model.stage, first.model.handoff) == (S.MQL, H.PENDING)
    assert (second.model.stage, second.model.handoff) == (S.NEW, H.NONE)
