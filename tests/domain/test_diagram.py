"""Mermaid diagrams of the three machines, and the docs page that must not go stale."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.diagram import REGENERATE, markdown, mermaid, mermaid_all
from domain.machines import HANDOFF_TRANSITIONS, TEMPERATURE_TRANSITIONS
from domain.rules import Rules
from domain.rules_file import parse_rules

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RULES = ROOT / "rules" / "default.yaml"
DOCS_PAGE = ROOT / "docs" / "state-machine.md"


@pytest.fixture(scope="module")
def rules() -> Rules:
    return parse_rules(DEFAULT_RULES.read_text(encoding="utf-8"), "rules/default.yaml")


def test_docs_page_is_up_to_date(rules: Rules) -> None:
    expected = markdown(rules, "rules/default.yaml")
    actual = DOCS_PAGE.read_text(encoding="utf-8") if DOCS_PAGE.exists() else "(missing)"
    assert actual == expected, (
        f"docs/state-machine.md is stale. Regenerate it from the repository root with:\n    {REGENERATE}"
    )


def test_lifecycle_diagram_draws_every_transition_of_the_rules(rules: Rules) -> None:
    text = mermaid(rules, "lifecycle")
    assert text.startswith("---\ntitle: Lifecycle stage (from the rules file)\n---\nstateDiagram-v2")
    for transition in rules.lifecycle.transitions:
        for source in transition.sources():
            edge = f"{source.value} --> {transition.dest.value}: "
            line = next((line for line in text.splitlines() if line.strip().startswith(edge)), None)
            assert line is not None, edge
            assert transition.trigger in line
    assert "[*] --> new" in text
    assert "s_active" not in text  # no state is drawn as current


def test_lifecycle_diagram_follows_the_rules_file(rules: Rules) -> None:
    kept = [t for t in rules.lifecycle.transitions if t.trigger != "recycle"]
    changed = rules.model_copy(update={"lifecycle": rules.lifecycle.model_copy(update={"transitions": kept})})
    assert "lost --> mql: recycle" in mermaid(rules, "lifecycle")
    assert "lost --> mql" not in mermaid(changed, "lifecycle")


@pytest.mark.parametrize(
    ("machine", "table", "initial"),
    [("temperature", TEMPERATURE_TRANSITIONS, "new"), ("handoff", HANDOFF_TRANSITIONS, "none")],
)
def test_fixed_machines_draw_their_tables(
    rules: Rules, machine: str, table: list[dict[str, object]], initial: str
) -> None:
    text = mermaid(rules, machine)  # type: ignore[arg-type]
    for transition in table:
        assert f": {transition['trigger']}" in text or f"| {transition['trigger']}" in text
    assert f"[*] --> {initial}" in text


def test_all_three_and_the_page(rules: Rules) -> None:
    text = mermaid_all(rules)
    assert text.count("stateDiagram-v2") == 3
    page = markdown(rules, "rules/default.yaml")
    assert page.count("```mermaid") == 3
    assert REGENERATE in page
