"""Fixtures for the activity tests: settings in a temporary data directory, the activities object."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from activities.lead_activities import LeadActivities
from activities.settings import Settings
from tests.activities.helpers import DEFAULT_RULES


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", rules_path=DEFAULT_RULES)


@pytest.fixture
async def acts(settings: Settings) -> AsyncIterator[LeadActivities]:
    async with LeadActivities(settings) as activities:
        yield activities
