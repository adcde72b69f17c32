"""`starter.py import` on a real dev server and worker: a slice of the real leads, twice, and a bad file."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from temporalio.client import Client

from domain.xeducation import sales_plan_of
from leadclient.leads import Connection, show
from tests.conftest import DEFAULT_RULES, ROOT, SHARED_DATA
from tests.integration.conftest import Engine

pytestmark = pytest.mark.integration

SLICE = 40  # ~10 s at the dev server's pace on two cores (about 4 leads/s, six updates per lead)


def first_rows(path: Path, n: int) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        return [row for _, row in zip(range(n), reader, strict=False)]


async def test_a_slice_of_the_real_leads_ends_as_in_the_data(engine: Engine, client: Client) -> None:
    rows = first_rows(SHARED_DATA, SLICE)
    summary = engine.cli_json("import", str(SHARED_DATA), "--limit", str(SLICE), "--concurrency", "8")

    assert (summary["rows"], summary["imported"], summary["skipped"]) == (SLICE, SLICE, 0)
    assert summary["malformed"] == [] and summary["failed"] == [] and summary["aborted"] is None
    for counts in ("by_stage", "by_temperature", "by_tier", "sales_actions"):
        assert sum(summary[counts].values()) == SLICE, counts
    converted = {row["Prospect ID"] for row in rows if row["Converted"] == "1"}
    assert summary["customers"] == summary["converted_in_csv"] == summary["by_stage"]["customer"] == len(converted)
    assert summary["not_as_in_csv"] == []

    plans = [sales_plan_of(row) for row in rows]
    assert summary["sales_actions"] == {
        verdict: sum(1 for p in plans if (p.verdict if p else "not_contacted") == verdict)
        for verdict in ("won", "lost", "rejected", "not_contacted")
    }
    rejected = Counter(p.reason for p in plans if p is not None and p.verdict == "rejected")
    lost = Counter(p.reason for p in plans if p is not None and p.verdict == "lost")
    assert summary["rejections_by_reason"] == dict(rejected) and summary["lost_by_reason"] == dict(lost)
    assert summary["rated"] == sum(1 for p in plans if p is not None and p.rating is not None)

    # Each lead, asked through the client library: a customer exactly when the CSV says converted.
    conn = Connection(client=client, task_queue=engine.task_queue, id_secret=engine.env()["LEADFLOW_ID_SECRET"])
    stages: Counter[str] = Counter()
    tiers: Counter[str] = Counter()
    for row, sales in zip(rows, plans, strict=True):
        view = await show(conn, f"external:{row['Prospect ID']}")
        stages[view.stage.value] += 1
        tiers[view.tier.value] += 1
        assert (view.stage.value == "customer") == (row["Prospect ID"] in converted), row["Prospect ID"]
        if sales is None:
            assert view.stage.value in ("new", "mql", "sql"), view.stage
        elif sales.verdict == "rejected":
            assert view.stage.value == "mql" and view.handoff_status.value == "rejected"
        elif sales.verdict == "lost":
            assert view.stage.value == "lost" and view.outcome is not None
        assert row["Prospect ID"] not in view.lead_id
    assert {k: v for k, v in summary["by_stage"].items() if v} == dict(stages)
    assert {k: v for k, v in summary["by_tier"].items() if v} == dict(tiers)

    again = engine.cli_json("import", str(SHARED_DATA), "--limit", str(SLICE))
    assert (again["imported"], again["already_imported"], again["skipped"]) == (0, SLICE, SLICE)
    assert sum(again["by_stage"].values()) == 0 and again["customers"] == 0

    text = engine.cli("import", str(SHARED_DATA), "--limit", "3").stdout
    assert "imported 0 of 3 row(s)" in text and "already imported 3" in text


async def test_malformed_rows_are_reported_by_line_and_the_rest_imported(engine: Engine, tmp_path: Path) -> None:
    with SHARED_DATA.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [fields for i, fields in enumerate(reader) if 100 <= i < 105]  # not in the other test's slice
    visits, activity = header.index("TotalVisits"), header.index("Last Activity")
    rows[1][visits] = "twelve"  # line 3: a bad number
    rows[2][activity] = "Sent a carrier pigeon"  # line 4: an unknown Last Activity
    rows[3] = rows[3][:10]  # line 5: a short row
    path = tmp_path / "leads.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])

    done = engine.cli("import", str(path), "--json")
    summary = json.loads(done.stdout)
    assert (summary["rows"], summary["imported"], summary["skipped"]) == (5, 2, 3)
    assert [p["line"] for p in summary["malformed"]] == [3, 4, 5]
    problems = {p["line"]: p["error"] for p in summary["malformed"]}
    assert "TotalVisits" in problems[3] and "not a number" in problems[3]
    assert "Last Activity" in problems[4]
    assert "fields" in problems[5]
    for line in (3, 4, 5):
        assert f"{path}:{line}: " in done.stderr
    assert summary["failed"] == [] and sum(summary["by_stage"].values()) == 2

    missing = engine.cli("import", str(tmp_path / "nope.csv"), expect=2)
    assert missing.stdout == "" and missing.stderr.strip().count("\n") == 0 and "no such file" in missing.stderr
    headerless = tmp_path / "other.csv"
    headerless.write_text("name,email\nAda,ada@example.com\n", encoding="utf-8")
    refused = engine.cli("import", str(headerless), expect=2)
    assert "Prospect ID" in refused.stderr and refused.stdout == ""


def test_a_lead_nobody_is_free_to_take_is_reassigned_and_worked(engine: Engine, tmp_path: Path) -> None:
    # A worker of its own whose team is one rep with room for one lead, already taken by a blocker.
    default = DEFAULT_RULES.read_text(encoding="utf-8")
    rules = tmp_path / "solo.yaml"
    rules.write_text(default[: default.index("\nteam:")] + "\nteam:\n  reps:\n    - {id: solo, capacity: 1}\n")
    queue = f"it-solo-{uuid.uuid4().hex[:8]}"
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [
                *(sys.executable, str(ROOT / "worker.py"), "--address", engine.server.address, "--task-queue", queue),
                *("--data-dir", str(tmp_path / "data"), "--rules", str(rules)),
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "worker running" not in log_path.read_text(errors="replace"):
            assert worker.poll() is None and time.monotonic() < deadline, log_path.read_text()[-2000:]
            time.sleep(0.2)
        on_queue = ("--task-queue", queue)
        engine.cli("submit", "--external-id", f"blocker-{queue}", "--attr", "lead_origin=lead_add_form", *on_queue)
        blocker = engine.cli_json("event", f"external:blocker-{queue}", "quote_requested", *on_queue)
        assert (blocker["stage"], blocker["assigned_rep"]) == ("sql", "solo")

        with SHARED_DATA.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            converted = header.index("Converted")
            row = next(fields for i, fields in enumerate(reader) if i >= 300 and fields[converted] == "1")
        path = tmp_path / "one.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([header, row])
        summary = engine.cli_json("import", str(path), "--rep", "solo", *on_queue)
        assert (summary["imported"], summary["reassigned"], summary["customers"]) == (1, 1, 1), summary
        assert summary["failed"] == [] and summary["not_as_in_csv"] == []
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
