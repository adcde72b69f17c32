"""The lead's three state machines as mermaid state diagrams, and the docs page that shows them.

Drawn by `transitions`' own `GraphMachine(graph_engine="mermaid")` from the same tables the engine
runs (`domain.machines`), so the picture cannot drift from the code. Pure: text in, text out.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from transitions.extensions import GraphMachine

from domain.machines import HANDOFF_TRANSITIONS, TEMPERATURE_TRANSITIONS, lifecycle_table
from domain.rules import Rules
from domain.vocabulary import HandoffStatus, Stage, Temperature

MachineName = Literal["lifecycle", "temperature", "handoff"]
MACHINES: tuple[MachineName, ...] = ("lifecycle", "temperature", "handoff")
TITLES: dict[MachineName, str] = {
    "lifecycle": "Lifecycle stage (from the rules file)",
    "temperature": "Temperature",
    "handoff": "Handoff to sales",
}
REGENERATE = ".venv/bin/python starter.py rules diagram rules/default.yaml --markdown > docs/state-machine.md"

_ABOUT: dict[MachineName, str] = {
    "lifecycle": (
        "Who owns the lead. Which moves exist is the `lifecycle.transitions` table of the rules file; the\n"
        "engine fires `nurture` and `qualify` on score and signals, `accept` / `reject` on sales' verdict,\n"
        "`return_to_marketing` when no rep accepted in time, `win` / `lose` on the outcome, `disqualify`\n"
        "on ops' or sales' call and `recycle` on the recycling timer."
    ),
    "temperature": (
        "Interest. Re-evaluated at every score: by the score thresholds, or at once on a warm / hot signal\n"
        "(which counts for its window). Cools down as engagement decays."
    ),
    "handoff": (
        "The acceptance deadline of a lead in SQL. `sla_missed` when the rep did not accept in time,\n"
        "`escalate` to the escalation target, then `assign` the next rep; `expire` after the last attempt\n"
        "(the lead returns to marketing); `withdraw` when the lead leaves SQL some other way."
    ),
}


def mermaid(rules: Rules, machine: MachineName) -> str:
    """One machine as a mermaid `stateDiagram-v2`, titled."""
    if machine == "lifecycle":
        return _draw(TITLES[machine], Stage, lifecycle_table(rules.lifecycle), Stage.NEW)
    if machine == "temperature":
        return _draw(TITLES[machine], Temperature, TEMPERATURE_TRANSITIONS, Temperature.NEW)
    return _draw(TITLES[machine], HandoffStatus, HANDOFF_TRANSITIONS, HandoffStatus.NONE)


def mermaid_all(rules: Rules) -> str:
    """The three diagrams, one after the other, separated by a blank line."""
    return "\n\n".join(mermaid(rules, m) for m in MACHINES) + "\n"


def markdown(rules: Rules, source: str) -> str:
    """The `docs/state-machine.md` page for a rules file."""
    parts = [
        "# State machines",
        "",
        f"Generated from `{source}`: do not edit by hand. After changing the lifecycle table, regenerate with",
        "",
        f"    {REGENERATE}",
        "",
        "(`tests/domain/test_diagram.py` fails while this page is stale.) Each lead carries three machines;",
        "the engine (`domain/decide.py`) fires their triggers and records every transition.",
    ]
    for machine in MACHINES:
        parts += ["", f"## {TITLES[machine]}", "", _ABOUT[machine], "", "```mermaid", mermaid(rules, machine), "```"]
    return "\n".join(parts) + "\n"


def _draw(title: str, states: type[StrEnum], table: list[dict[str, Any]], initial: StrEnum) -> str:
    """Draw with state values (`mql`, not `MQL`) as names, as the rest of leadflow spells them."""
    plain = [
        {
            "trigger": t["trigger"],
            "source": [_value(s) for s in t["source"]] if isinstance(t["source"], list) else _value(t["source"]),
            "dest": _value(t["dest"]),
        }
        for t in table
    ]
    machine = GraphMachine(
        model=_Blank(),
        states=[s.value for s in states],
        transitions=plain,
        initial=initial.value,
        auto_transitions=False,
        graph_engine="mermaid",
        title=f"title: {title}",  # transitions writes the title as-is into mermaid's front matter
        show_conditions=False,
    )
    text = machine.get_combined_graph().draw(None) or ""
    # Drop transitions' colour classes: they only mark the state the drawing machine sits in (the
    # initial one), which a docs page has no use for, and leave plain mermaid that any renderer reads.
    lines = [line.rstrip() for line in text.splitlines() if not line.lstrip().startswith(("classDef ", "Class "))]
    return "\n".join(lines)


def _value(state: Any) -> str:
    return str(state.value) if isinstance(state, StrEnum) else str(state)


class _Blank:
    """The model the drawing machine binds its triggers to (never fired)."""
