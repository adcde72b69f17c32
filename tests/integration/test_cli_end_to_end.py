"""The CLI against a real dev server and worker: a lead from submission to completion."""

from __future__ import annotations

import json

import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from activities.ledger import Ledger
from tests.integration.conftest import Engine, eventually

pytestmark = pytest.mark.integration


async def found_by(client: Client, lead_id: str, query: str) -> bool:
    count = await client.count_workflows(f'WorkflowId = "{lead_id}" AND {query}')
    return count.count > 0


async def test_a_lead_from_submission_to_completion(engine: Engine, client: Client) -> None:
    submitted = engine.cli_json(
        "submit", "--email", "Grace.Hopper@Example.com", "--name", "Grace Hopper", "--phone", "+1 212 555 0100",
        "--country", "India", "--source", "web_form", "--attr", "occupation=working_professional",
    )  # fmt: skip
    assert set(submitted) == {"lead_id", "stage", "temperature", "tier", "score", "duplicate"}
    lead_id = submitted["lead_id"]
    assert lead_id.startswith("lead-") and submitted["duplicate"] is False
    assert "grace" not in lead_id.lower()
    await eventually(lambda: found_by(client, lead_id, f'LeadStage = "{submitted["stage"]}"'))

    again = engine.cli_json("submit", "--email", "grace.hopper@example.com", "--attr", "budget=5000")
    assert again["lead_id"] == lead_id and again["duplicate"] is True

    engine.cli("event", "grace.hopper@example.com", "webinar_attended")
    shown = engine.cli_json("event", lead_id, "quote_requested")
    assert shown["stage"] == "sql" and shown["handoff_status"] == "pending"
    rep = shown["assigned_rep"]
    assert rep and shown["handoff_deadline"]
    await eventually(lambda: found_by(client, lead_id, f'LeadStage = "sql" AND AssignedRep = "{rep}"'))
    await eventually(lambda: found_by(client, lead_id, 'HandoffStatus = "pending" AND LeadTemperature = "hot"'))

    assert engine.cli_json("accept", lead_id, "--rep", rep)["stage"] == "accepted"
    await eventually(lambda: found_by(client, lead_id, 'LeadStage = "accepted" AND HandoffStatus = "accepted"'))
    assert engine.cli_json("outcome", lead_id, "--won")["stage"] == "customer"
    await eventually(lambda: found_by(client, lead_id, 'LeadStage = "customer"'))
    final = engine.cli_json("feedback", lead_id, "--rating", "4", "--reason", "good_fit", "--note", "keen")
    assert final["completed"] is True

    handle = client.get_workflow_handle(lead_id)
    await eventually(lambda: _closed(client, lead_id))
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED

    show = engine.cli_json("show", "grace.hopper@example.com")
    for key in ("lead_id", "stage", "temperature", "tier", "score", "assigned_rep", "handoff_status",
                "handoff_deadline", "rules_version", "timeline"):  # fmt: skip
        assert key in show
    triggers = [t["trigger"] for t in show["timeline"] if t["machine"] == "lifecycle"]
    assert triggers == ["nurture", "qualify", "accept", "win"] or triggers == ["qualify", "accept", "win"]
    text = engine.cli("show", lead_id).stdout
    assert "customer" in text and "timeline" in text

    rows = Ledger(engine.data_dir / "ledger.sqlite3").entries(lead_id)
    kinds = [row.kind for row in rows]
    for kind in ("intake", "event", "transition", "handoff", "notification", "outcome", "feedback"):
        assert kind in kinds, kind
    assert [row.seq for row in rows] == sorted({row.seq for row in rows})
    ledger_text = json.dumps([row.model_dump(mode="json") for row in rows]).lower()
    for personal in ("grace", "hopper", "hopper@", "212 555", "2125550100"):  # the e-mail domain may stay
        assert personal not in ledger_text
    outbox = (engine.data_dir / "outbox.jsonl").read_text().lower()
    assert lead_id in outbox and "grace" not in outbox
    worker_log = (engine.data_dir / "worker.log").read_text().lower()
    assert "grace" not in worker_log and "example.com" not in worker_log


async def _closed(client: Client, lead_id: str) -> bool:
    return (await client.get_workflow_handle(lead_id).describe()).status != WorkflowExecutionStatus.RUNNING


async def test_cli_errors_are_one_line_without_traceback(engine: Engine) -> None:
    bad = engine.cli("submit", "--email", "not-an-email", expect=2)
    assert bad.stderr.strip().count("\n") == 0 and "email" in bad.stderr and "Traceback" not in bad.stderr
    assert "Traceback" not in engine.cli("submit", "--phone", "020 7946 0958", expect=2).stderr
    submitted = engine.cli_json("submit", "--email", "errors@example.org", "--attr", "occupation=student")
    wrong = engine.cli("accept", submitted["lead_id"], "--rep", "r-01", expect=1)
    assert "cannot" in wrong.stderr and "Traceback" not in wrong.stderr and wrong.stderr.count("\n") == 1
    unknown = engine.cli("show", "nobody@example.org", expect=1)
    assert "no lead" in unknown.stderr
    assert engine.cli("event", submitted["lead_id"], "teleported", expect=2).stderr.startswith("error: invalid event")
    assert engine.cli("outcome", submitted["lead_id"], "--lost", expect=2).returncode == 2


async def test_a_submission_after_completion_starts_a_new_linked_run(engine: Engine, client: Client) -> None:
    first = engine.cli_json("submit", "--email", "twice@example.org")
    engine.cli("disqualify", first["lead_id"], "--reason", "test")
    handle = client.get_workflow_handle(first["lead_id"])
    await eventually(lambda: _closed(client, first["lead_id"]))
    old_run = (await handle.describe()).run_id
    again = engine.cli_json("submit", "--email", "twice@example.org")
    assert again["lead_id"] == first["lead_id"] and again["duplicate"] is False
    described = await client.get_workflow_handle(first["lead_id"]).describe()
    assert described.run_id != old_run and described.status == WorkflowExecutionStatus.RUNNING
    assert await described.memo_value("previous_run_id") == old_run
    intakes = [
        row for row in Ledger(engine.data_dir / "ledger.sqlite3").entries(first["lead_id"]) if row.kind == "intake"
    ]
    assert len(intakes) == 2, "the new run's rows do not collide with the old run's"
