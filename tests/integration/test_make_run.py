"""`make run`'s demo, played out once: every stage, an overdue handoff, an escalation, feedback."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from activities.ledger import Ledger
from demo.devserver import free_port
from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def test_the_demo_shows_every_stage_within_minutes(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "demo", "--once", "--data-dir", str(data_dir), "--port", str(free_port())],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=420,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    seen: dict[str, int] = {}
    for line in done.stdout.splitlines():
        for stage, count in re.findall(r"(\w+): (\d+)", line):
            seen[stage] = max(seen.get(stage, 0), int(count))
    for stage in ("new", "mql", "sql", "accepted", "customer", "lost", "disqualified"):
        assert seen.get(stage, 0) > 0, (stage, done.stdout[-2000:])
    assert "Stuck handoffs" in done.stdout and "outbox" in done.stdout

    rows = Ledger(data_dir / "ledger.sqlite3").all_entries()
    statuses = {row.data.get("status") for row in rows if row.kind == "handoff"}
    assert {"pending", "overdue", "escalated", "accepted", "rejected", "expired"} <= statuses
    assert any(row.kind == "feedback" and row.data.get("rating") for row in rows)
    assert any(row.kind == "transition" and row.data.get("trigger") == "return_to_marketing" for row in rows)
    log = (data_dir / "worker.log").read_text()
    assert '"level": "error"' not in log
    assert "example.com" not in log and "Demo Lead" not in log
