"""Ops and process owners against a real dev server: stuck handoffs, reassign, show, publish."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from activities.rules_store import RulesStore
from tests.conftest import DEFAULT_RULES, ROOT
from tests.integration.conftest import Engine

pytestmark = pytest.mark.integration


@dataclass
class FastLane:
    """A second worker on the session's server with SLAs in seconds, on its own task queue."""

    engine: Engine
    task_queue: str
    data_dir: Path

    def cli(self, *args: str, expect: int | None = 0) -> subprocess.CompletedProcess[str]:
        env = {**self.engine.env(), "LEADFLOW_TASK_QUEUE": self.task_queue, "LEADFLOW_DATA_DIR": str(self.data_dir)}
        done = subprocess.run(
            [sys.executable, str(ROOT / "starter.py"), *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if expect is not None:
            assert done.returncode == expect, (args, done.stdout, done.stderr)
        return done

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json").stdout)


def fast_rules(path: Path, **handoff: object) -> Path:
    yaml = YAML()
    data = yaml.load(DEFAULT_RULES.read_text())
    data["name"] = "fast"
    data["handoff"]["sla"]["by_temperature"] = {"new": "4s", "cold": "4s", "warm": "4s", "hot": "4s"}
    data["handoff"]["sla"]["by_tier"] = {}
    data["handoff"].update(handoff)
    with path.open("w") as out:
        yaml.dump(data, out)
    return path


@pytest.fixture(scope="module")
def fast_lane(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastLane]:
    data_dir = tmp_path_factory.mktemp("fast")
    rules = fast_rules(data_dir / "fast.yaml", escalate_after="6s", max_attempts=3)
    task_queue = f"fast-{uuid.uuid4().hex[:8]}"
    log = (data_dir / "worker.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, str(ROOT / "worker.py"), "--address", engine.server.address, "--task-queue", task_queue,
         "--data-dir", str(data_dir), "--rules", str(rules)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy(),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "worker running" not in (data_dir / "worker.log").read_text(errors="replace"):
            assert worker.poll() is None and time.monotonic() < deadline, (data_dir / "worker.log").read_text()
            time.sleep(0.2)
        yield FastLane(engine=engine, task_queue=task_queue, data_dir=data_dir)
    finally:
        worker.send_signal(2)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()


def wait_for(check: Callable[[], bool], seconds: float = 40) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.5)


def test_stuck_handoffs_oldest_first_then_reassigned_and_shown(fast_lane: FastLane) -> None:
    empty = fast_lane.cli("stuck")
    assert "No stuck handoffs" in empty.stdout
    assert fast_lane.cli_json("stuck") == []

    hot = ["--country", "India", "--attr", "occupation=working_professional"]
    first = fast_lane.cli_json("submit", "--email", "stuck-one@example.org", *hot)["lead_id"]
    fast_lane.cli("event", first, "quote_requested")
    time.sleep(1.5)
    second = fast_lane.cli_json("submit", "--email", "stuck-two@example.org", *hot)["lead_id"]
    fast_lane.cli("event", second, "quote_requested")
    accepted = fast_lane.cli_json("submit", "--email", "taken@example.org", *hot)["lead_id"]
    view = fast_lane.cli_json("event", accepted, "quote_requested")
    fast_lane.cli("accept", accepted, "--rep", view["assigned_rep"])

    def both_stuck() -> bool:
        stuck = fast_lane.cli_json("stuck")
        return {s["lead_id"] for s in stuck} >= {first, second}

    wait_for(both_stuck)
    stuck = fast_lane.cli_json("stuck")
    assert isinstance(stuck, list)
    mine = [s for s in stuck if s["lead_id"] in (first, second, accepted)]
    assert [s["lead_id"] for s in mine] == [first, second], "oldest deadline first; the accepted lead is not stuck"
    for item in mine:
        assert item["status"] in ("overdue", "escalated") and item["stage"] == "sql"
        assert item["rep"] and item["deadline"] and item["overdue_seconds"] >= 0
        assert item["attempt"] >= 1 and item["max_attempts"] == 3
        assert set(item) >= {"lead_id", "stage", "temperature", "tier", "rep", "deadline", "overdue_seconds"}
    table = fast_lane.cli("stuck").stdout
    assert first in table and "of 3" in table

    rep = mine[0]["rep"]
    other = "r-03" if rep != "r-03" else "r-04"
    moved = fast_lane.cli_json("reassign", first, "--to", other, "--by", "ops-test")
    assert moved["assigned_rep"] == other and moved["handoff_status"] == "pending"
    shown = fast_lane.cli("show", first).stdout
    assert "reassigned to" in shown and "handoff overdue" in shown and "notified" in shown
    journal = fast_lane.cli_json("show", first)["journal"]
    assert {row["kind"] for row in journal} >= {"transition", "handoff", "notification", "event", "intake"}
    assert fast_lane.cli("reassign", first, "--to", "r-05", expect=1).stderr.startswith("error:")


def test_publish_refuses_an_invalid_file_and_switches_running_leads(fast_lane: FastLane, tmp_path: Path) -> None:
    store = RulesStore(fast_lane.data_dir / "rules", DEFAULT_RULES)
    before = store.current_version()
    broken = tmp_path / "broken.yaml"
    broken.write_text(DEFAULT_RULES.read_text().replace("escalate_after: 30m", "escalate_after: soon"))
    refused = fast_lane.cli("rules", "publish", str(broken), expect=2)
    assert "escalate_after" in refused.stderr and "Traceback" not in refused.stderr
    assert store.current_version() == before, "an invalid file changes nothing"

    fast_lane.cli_json("submit", "--email", "publish-me@example.org")
    old_version = fast_lane.cli_json("show", "publish-me@example.org")["rules_version"]
    proposed = fast_rules(tmp_path / "next.yaml", escalate_after="7s", max_attempts=3)
    published = fast_lane.cli_json("rules", "publish", str(proposed))
    assert published["version"] != old_version and published["signalled"] >= 1
    assert store.current_version() == published["version"]

    def switched() -> bool:
        view = fast_lane.cli_json("show", "publish-me@example.org")
        return bool(view["rules_version"] == published["version"])

    wait_for(switched, seconds=30)
    fast_lane.cli_json("submit", "--email", "after-publish@example.org")
    fresh = fast_lane.cli_json("show", "after-publish@example.org")
    assert fresh["rules_version"] == published["version"]
    timeline = fast_lane.cli_json("show", "publish-me@example.org")["timeline"]
    assert {t["rules_version"] for t in timeline} == {old_version}, "earlier transitions keep their version"
    again = fast_lane.cli("rules", "publish", str(proposed))
    assert "already the published version" in again.stdout
