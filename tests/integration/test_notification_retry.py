"""Webhook notifications through the real engine: a receiver that fails its first two calls."""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from activities.lead_activities import LeadActivities
from activities.notify import SIGNATURE_HEADER, verify_signature
from activities.settings import Settings
from domain.models import LeadEvent
from domain.vocabulary import Stage
from leadclient import leads
from tests.conftest import DEFAULT_RULES
from tests.integration.conftest import Engine, eventually
from workflows.lead import LeadWorkflow

pytestmark = pytest.mark.integration
SECRET = "webhook-test-secret"


class Receiver:
    """Fails the first `failures` calls with 503; honours Idempotency-Key (a repeat is acknowledged,
    not processed again); checks every signature."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.deliveries: Counter[str] = Counter()
        self.bad_signatures = 0
        self.lock = threading.Lock()


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver(failures=2)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with state.lock:
                state.calls += 1
                if state.calls <= state.failures:
                    self.send_response(503)
                    self.end_headers()
                    return
                if not verify_signature(body, SECRET, self.headers.get(SIGNATURE_HEADER)):
                    state.bad_signatures += 1
                key = self.headers["Idempotency-Key"]
                if key not in state.deliveries:
                    state.deliveries[key] += 1  # processed once; a repeat of the key is only acknowledged
                assert json.loads(body)["key"] == key
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/hooks/leadflow"
    finally:
        server.shutdown()
        thread.join(timeout=5)


async def test_the_lead_proceeds_and_each_notification_is_delivered_once(
    engine: Engine, client: Client, receiver: tuple[Receiver, str], tmp_path: Path
) -> None:
    state, url = receiver
    settings = Settings(data_dir=tmp_path, rules_path=DEFAULT_RULES, webhook_url=url, webhook_secret=SECRET)
    task_queue = f"hooks-{uuid.uuid4().hex[:8]}"
    async with (
        LeadActivities(settings) as acts,
        Worker(client, task_queue=task_queue, workflows=[LeadWorkflow], activities=acts.activities),
    ):
        conn = leads.Connection(client=client, task_queue=task_queue, id_secret="hooks")
        now = datetime.now(UTC)
        intake = leads.parse_intake(
            {"email": "hooks@example.net", "country": "India", "attributes": {"occupation": "working_professional"}}
        )
        await leads.submit_lead(conn, intake)
        event = LeadEvent(event_id="q1", kind="quote_requested", occurred_at=now)
        view = await leads.record_event(conn, "hooks@example.net", event)
        assert view is not None and view.stage is Stage.SQL and view.assigned_rep
        # the lead does not wait for the receiver: the rep accepts while deliveries are still retrying
        view = await leads.accept(conn, "hooks@example.net", view.assigned_rep)
        assert view.stage is Stage.ACCEPTED
        await eventually(lambda: len(state.deliveries) >= 2, seconds=60)

    assert state.calls >= 3, "the first two calls failed and were retried"
    assert state.bad_signatures == 0
    assert set(state.deliveries.values()) == {1}, "one delivery per idempotency key"
    outbox = [json.loads(line) for line in (tmp_path / "outbox.jsonl").read_text().splitlines()]
    keys = [entry["key"] for entry in outbox]
    assert len(keys) == len(set(keys))
    assert set(state.deliveries) <= set(keys)
