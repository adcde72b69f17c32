"""The README shows what the code does: the two commands, the ops views, the search attributes."""

from __future__ import annotations

from leadclient.ops import VIEWS
from tests.conftest import ROOT
from workflows.search_attributes import SEARCH_ATTRIBUTES

README = (ROOT / "README.md").read_text()


def test_the_readme_starts_with_make_run_and_make_test() -> None:
    first_block = README.split("```")[1]
    assert "make run" in first_block and "make test" in first_block


def test_the_readme_shows_the_ops_views_exactly_as_the_code_runs_them() -> None:
    for name, query in VIEWS.items():
        assert f"| {name} | `{query}` |" in README, name


def test_every_search_attribute_is_documented_for_ops() -> None:
    ops = (ROOT / "docs" / "ops.md").read_text()
    for name in SEARCH_ATTRIBUTES:
        assert name in ops, name
