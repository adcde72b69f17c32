"""The notify activity without a webhook: a log line and the outbox, each once per key."""

from __future__ import annotations

import json
from pathlib import Path

from structlog.testing import capture_logs

from activities.lead_activities import LeadActivities
from activities.notify import Outbox
from activities.settings import Settings
from activities.types import NotifyInput
from tests.activities.helpers import activity_env, notification


async def test_notify_appends_each_key_once_across_retries(acts: LeadActivities, settings: Settings) -> None:
    first, second = notification("lead-aa:3"), notification("lead-aa:4", topic="handoff_overdue")
    for attempt in (1, 2, 3):  # as Temporal would retry
        await activity_env("notify", attempt).run(acts.notify, NotifyInput(notification=first))
    await activity_env("notify").run(acts.notify, NotifyInput(notification=second))

    lines = settings.outbox_path.read_text().splitlines()
    assert [json.loads(line)["key"] for line in lines] == ["lead-aa:3", "lead-aa:4"]
    written = json.loads(lines[0])
    assert written["topic"] == "lead_assigned"
    assert written["to"] == "r-01"
    assert written["data"]["score"] == 71.0
    assert "written_at" in written


async def test_notify_logs_one_structured_line_without_personal_data(acts: LeadActivities) -> None:
    note = notification("lead-bb:9")
    with capture_logs() as logs:
        await activity_env("notify").run(acts.notify, NotifyInput(notification=note))
        await activity_env("notify", attempt=2).run(acts.notify, NotifyInput(notification=note))
    sent = [e for e in logs if e["event"] == "notification"]
    assert len(sent) == 1
    assert {k: sent[0][k] for k in ("key", "lead_id", "to", "topic", "log_level")} == {
        "key": "lead-bb:9",
        "lead_id": "lead-bb",
        "to": "r-01",
        "topic": "lead_assigned",
        "log_level": "info",
    }
    assert [e["event"] for e in logs][1] == "notification already in the outbox"
    assert not any("@" in str(value) for entry in logs for value in entry.values())


def test_a_line_left_by_a_crashed_attempt_is_replaced(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.jsonl", tmp_path / "outbox.sqlite3")
    assert outbox.append_once(notification("lead-cc:1"))
    # An attempt wrote its line, then died before its index row committed.
    with open(outbox.path, "ab") as f:
        f.write(b'{"key":"lead-cc:2","half written')
    assert outbox.append_once(notification("lead-cc:2"))
    assert [n["key"] for n in outbox.read()] == ["lead-cc:1", "lead-cc:2"]


def test_a_lost_index_is_rebuilt_from_the_outbox(tmp_path: Path) -> None:
    path, index = tmp_path / "outbox.jsonl", tmp_path / "outbox.sqlite3"
    outbox = Outbox(path, index)
    outbox.append_once(notification("lead-dd:1"))
    outbox.append_once(notification("lead-dd:2"))
    for leftover in tmp_path.glob("outbox.sqlite3*"):
        leftover.unlink()
    with open(path, "ab") as f:
        f.write(b'{"key":"torn')  # a torn last line is cut off
    again = Outbox(path, index)
    assert not again.append_once(notification("lead-dd:2"))
    assert again.append_once(notification("lead-dd:3"))
    assert [n["key"] for n in again.read()] == ["lead-dd:1", "lead-dd:2", "lead-dd:3"]


def test_two_outboxes_on_one_file_share_the_index(tmp_path: Path) -> None:
    path, index = tmp_path / "outbox.jsonl", tmp_path / "outbox.sqlite3"
    worker_a, worker_b = Outbox(path, index), Outbox(path, index)  # two worker processes
    assert worker_a.append_once(notification("lead-ee:1"))
    assert not worker_b.append_once(notification("lead-ee:1"))
    assert worker_b.append_once(notification("lead-ee:2"))
    assert [n["key"] for n in worker_a.read()] == ["lead-ee:1", "lead-ee:2"]
