"""The ops view in a real browser: the Temporal Web UI lists a stuck handoff, not an accepted one.

A dev server with its Web UI and a worker whose rules give a hot lead 5 s to be accepted (and 10
minutes before escalation, so it stays overdue while we look). Two hot leads are handed to sales;
one is accepted at once, the other goes overdue. Headless Chromium then opens the UI with the
stuck-handoff query from `docs/ops.md` and must list the overdue lead and not the accepted one.
The screenshots are kept under `test-artifacts/`; with LEADFLOW_UPDATE_DOCS_IMG=1 they also
replace the pictures in `docs/img/`.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from ruamel.yaml import YAML

from demo import devserver
from domain.models import LeadEvent
from domain.state import LeadView
from domain.vocabulary import HandoffStatus, Stage
from leadclient import leads as api
from leadclient.ops import RUNNING_LEADS, STUCK_QUERY
from tests.conftest import ROOT
from tests.integration import browser
from tests.integration.conftest import Engine, eventually, wait_for_worker

ARTIFACTS = ROOT / "test-artifacts"
DOCS_IMG = ROOT / "docs" / "img"
OPS_DOC = ROOT / "docs" / "ops.md"
# The columns ops want on the workflow list (the UI keeps them per browser, in localStorage).
OPS_COLUMNS = [
    "Workflow ID",
    "HandoffStatus",
    "AssignedRep",
    "HandoffDeadline",
    "HandoffAttempt",
    "LeadTemperature",
    "LeadTier",
]


@dataclass
class WebUI:
    """A dev server with the Web UI, a worker on its own task queue, and a client connection."""

    engine: Engine
    url: str

    def list_url(self, query: str) -> str:
        """The UI's workflow list filtered by a visibility query (what ops bookmark)."""
        return f"{self.url}/namespaces/default/workflows?query={quote(query, safe='')}"

    async def connect(self) -> api.Connection:
        return await api.Connection.from_env(
            address=self.engine.server.address, namespace="default", task_queue=self.engine.task_queue
        )


@pytest.fixture
def web_ui(tmp_path: Path) -> Iterator[WebUI]:
    browser.chromium_path()  # installs Debian's chromium first if it is missing
    rules = _quick_rules(ROOT / "rules" / "demo.yaml", tmp_path / "rules.yaml")
    server = devserver.start(tmp_path / "server")
    worker: subprocess.Popen[bytes] | None = None
    try:
        task_queue = f"web-ui-{uuid.uuid4().hex[:8]}"
        with (tmp_path / "worker.log").open("wb") as log:
            worker = subprocess.Popen(
                [
                    *(sys.executable, str(ROOT / "worker.py"), "--address", server.address),
                    *("--task-queue", task_queue, "--data-dir", str(tmp_path), "--rules", str(rules)),
                ],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "LEADFLOW_LOG_LEVEL": "INFO"},
            )
        engine = Engine(server=server, data_dir=tmp_path, task_queue=task_queue, worker=worker)
        wait_for_worker(engine)
        assert server.ui_url is not None
        yield WebUI(engine=engine, url=server.ui_url)
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGINT)
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=5)
        server.stop()


def _quick_rules(source: Path, target: Path) -> Path:
    """The demo rules with every acceptance SLA cut to 5 s and escalation pushed 10 minutes out."""
    yaml = YAML()
    rules = yaml.load(source.read_text())
    sla = rules["handoff"]["sla"]
    for table in sla.values():
        for key in table:
            table[key] = "5s"
    rules["handoff"]["escalate_after"] = "10m"
    with target.open("w") as out:
        yaml.dump(rules, out)
    return target


async def _hot_lead(conn: api.Connection, n: int) -> LeadView:
    """A working professional in India who asks for a quote: hot, high tier, handed to sales."""
    intake = api.parse_intake(
        {
            "email": f"web-ui-{n}@example.com",
            "country": "India",
            "source": "web_form",
            "attributes": {"occupation": "working_professional"},
        }
    )
    lead = await api.submit_lead(conn, intake)
    event = LeadEvent(event_id=f"web-ui-quote-{n}", kind="quote_requested", occurred_at=datetime.now(UTC))
    view = await api.record_event(conn, lead.lead_id, event)
    assert view is not None and view.stage is Stage.SQL and view.handoff_status is HandoffStatus.PENDING, view
    assert view.assigned_rep
    return view


async def _found(conn: api.Connection, lead_id: str, query: str) -> bool:
    return (await conn.client.count_workflows(f'WorkflowId = "{lead_id}" AND {query}')).count > 0


@pytest.mark.integration
async def test_the_web_ui_lists_the_stuck_handoff_and_not_the_accepted_one(web_ui: WebUI) -> None:
    conn = await web_ui.connect()
    accepted = await _hot_lead(conn, 1)
    assert accepted.assigned_rep
    await api.accept(conn, accepted.lead_id, accepted.assigned_rep)
    stuck = await _hot_lead(conn, 2)
    await eventually(lambda: _found(conn, accepted.lead_id, 'HandoffStatus = "accepted"'), seconds=20)
    await eventually(lambda: _found(conn, stuck.lead_id, 'HandoffStatus = "overdue"'), seconds=30)
    run_id = (await conn.handle(stuck.lead_id).describe()).run_id
    waiting_for = (await api.show(conn, stuck.lead_id)).waiting_for  # the lead's current details
    assert "overdue" in waiting_for.lower(), waiting_for

    def look() -> tuple[str, str, str]:
        with browser.open_page(web_ui.list_url(STUCK_QUERY), timeout=60) as page:
            page.wait_for_text([stuck.lead_id])
            page.evaluate(
                "localStorage.setItem('namespace-workflow-table-columns', "
                f"{json.dumps(json.dumps({'default': [{'label': c} for c in OPS_COLUMNS]}))})"
            )
            page.goto(web_ui.list_url(STUCK_QUERY))
            stuck_list = page.wait_for_text([stuck.lead_id, "HandoffStatus", "overdue"])
            page.screenshot(ARTIFACTS / "web-ui-stuck-handoffs.png")
            # the control: both leads are running, so the unfiltered list shows both
            page.goto(web_ui.list_url(RUNNING_LEADS))
            all_list = page.wait_for_text([stuck.lead_id, accepted.lead_id])
            page.goto(f"{web_ui.url}/namespaces/default/workflows/{stuck.lead_id}/{run_id}/user-metadata")
            details = page.wait_for_text(["Current Details", waiting_for])
            page.screenshot(ARTIFACTS / "web-ui-lead-details.png")
            return stuck_list, all_list, details

    stuck_list, all_list, details = await asyncio.to_thread(look)
    print(f"\nscreenshots: {ARTIFACTS / 'web-ui-stuck-handoffs.png'}, {ARTIFACTS / 'web-ui-lead-details.png'}")

    assert stuck.lead_id in stuck_list
    assert accepted.lead_id not in stuck_list, stuck_list
    assert accepted.lead_id in all_list
    assert waiting_for in details
    if os.environ.get("LEADFLOW_UPDATE_DOCS_IMG"):
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copy(ARTIFACTS / "web-ui-stuck-handoffs.png", DOCS_IMG / "stuck-handoffs.png")
        shutil.copy(ARTIFACTS / "web-ui-lead-details.png", DOCS_IMG / "lead-details.png")


def test_the_ops_guide_shows_the_query_the_browser_test_runs() -> None:
    assert STUCK_QUERY in OPS_DOC.read_text()
    assert (DOCS_IMG / "stuck-handoffs.png").exists()
