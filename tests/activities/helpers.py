"""Plain helpers shared by the activity tests (fixtures live in conftest.py)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

from temporalio.testing import ActivityEnvironment

from domain.state import Notification

REPO = Path(__file__).resolve().parents[2]
DEFAULT_RULES = REPO / "rules" / "default.yaml"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def activity_env(activity_type: str, attempt: int = 1, workflow_id: str = "lead-0123abcd") -> ActivityEnvironment:
    """An activity context as the worker would give it: type, attempt and workflow id set."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, activity_type=activity_type, attempt=attempt, workflow_id=workflow_id)
    return env


def notification(key: str = "lead-0123abcd:7", topic: str = "lead_assigned") -> Notification:
    return Notification.model_validate(
        {
            "key": key,
            "lead_id": key.split(":")[0],
            "to": "r-01",
            "topic": topic,
            "text": f"New hot high-tier lead {key.split(':')[0]} (score 71): please accept.",
            "at": T0,
            "data": {"stage": "sql", "score": 71.0, "rep": "r-01"},
        }
    )
