"""The webhook channel against a real HTTP receiver on 127.0.0.1: signing, retries, idempotency."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError

from activities.lead_activities import LeadActivities
from activities.notify import verify_signature
from activities.settings import Settings
from activities.types import NotifyInput
from tests.activities.helpers import DEFAULT_RULES, activity_env, notification

SECRET = "test-secret-0123456789"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A webhook receiver. `delivered` counts the 2xx answers given per `Idempotency-Key`."""

    url: str = ""
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # then 200 for ever
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)
    delivered: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(state.delay)
            with state.lock:
                state.requests.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
                status, headers = state.answers.pop(0) if state.answers else (200, {})
                if 200 <= status < 300:
                    key = self.headers["Idempotency-Key"]
                    state.delivered[key] = state.delivered.get(key, 0) + 1
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/leadflow"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def webhook_settings(tmp_path: Path, url: str, timeout: float = 5.0) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        rules_path=DEFAULT_RULES,
        webhook_url=url,
        webhook_secret=SECRET,
        webhook_timeout=timeout,
    )


@pytest.fixture
async def hooked(tmp_path: Path, receiver: Receiver) -> AsyncIterator[LeadActivities]:
    async with LeadActivities(webhook_settings(tmp_path, receiver.url)) as activities:
        yield activities


async def notify(acts: LeadActivities, key: str, attempt: int) -> None:
    await activity_env("notify", attempt).run(acts.notify, NotifyInput(notification=notification(key)))


async def test_two_503s_then_delivered_exactly_once(hooked: LeadActivities, receiver: Receiver) -> None:
    receiver.answers = [(503, {}), (503, {})]
    for attempt in (1, 2):
        with pytest.raises(ApplicationError) as failed:
            await notify(hooked, "lead-ww:5", attempt)
        assert not failed.value.non_retryable  # Temporal retries with backoff
        assert failed.value.type == "WebhookUnavailable"
    await notify(hooked, "lead-ww:5", 3)
    await notify(hooked, "lead-ww:5", 4)  # the activity retried after success: no new call

    assert len(receiver.requests) == 3
    assert receiver.delivered == {"lead-ww:5": 1}
    assert {r.headers["idempotency-key"] for r in receiver.requests} == {"lead-ww:5"}
    assert len({r.body for r in receiver.requests}) == 1  # the same body every time
    assert [n["key"] for n in hooked.outbox.read()] == ["lead-ww:5"]  # the outbox once
    assert hooked.outbox.webhook_delivered("lead-ww:5")


async def test_the_signature_verifies_with_the_secret(hooked: LeadActivities, receiver: Receiver) -> None:
    await notify(hooked, "lead-ww:6", 1)
    (request,) = receiver.requests
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-leadflow-signature"] == expected
    assert verify_signature(request.body, SECRET, request.headers["x-leadflow-signature"])
    assert not verify_signature(request.body, "another-secret", request.headers["x-leadflow-signature"])
    assert request.headers["content-type"] == "application/json"
    assert abs(int(request.headers["x-leadflow-timestamp"]) - time.time()) < 60
    body = json.loads(request.body)
    assert (body["key"], body["topic"], body["to"]) == ("lead-ww:6", "lead_assigned", "r-01")


async def test_a_400_is_not_retryable(hooked: LeadActivities, receiver: Receiver) -> None:
    receiver.answers = [(400, {})]
    with pytest.raises(ApplicationError) as failed:
        await notify(hooked, "lead-ww:7", 1)
    assert failed.value.non_retryable
    assert failed.value.type == "WebhookRejected"
    assert receiver.delivered == {}
    assert not hooked.outbox.webhook_delivered("lead-ww:7")
    assert [n["key"] for n in hooked.outbox.read()] == ["lead-ww:7"]  # the outbox channel still has it


@pytest.mark.parametrize("status", [408, 429, 500, 502])
async def test_throttling_and_server_errors_are_retryable(
    hooked: LeadActivities, receiver: Receiver, status: int
) -> None:
    receiver.answers = [(status, {"Retry-After": "7"})]
    with pytest.raises(ApplicationError) as failed:
        await notify(hooked, f"lead-ww:{status}", 1)
    assert not failed.value.non_retryable
    assert failed.value.next_retry_delay == timedelta(seconds=7)
    await notify(hooked, f"lead-ww:{status}", 2)
    assert receiver.delivered == {f"lead-ww:{status}": 1}


async def test_a_timeout_is_retryable(tmp_path: Path, receiver: Receiver) -> None:
    receiver.delay = 0.5
    async with LeadActivities(webhook_settings(tmp_path, receiver.url, timeout=0.1)) as acts:
        with pytest.raises(ApplicationError) as failed:
            await notify(acts, "lead-ww:8", 1)
    assert not failed.value.non_retryable
    assert failed.value.type == "WebhookTimeout"


async def test_an_unreachable_receiver_is_retryable(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with LeadActivities(webhook_settings(tmp_path, f"http://127.0.0.1:{port}/")) as acts:
        with pytest.raises(ApplicationError) as failed:
            await notify(acts, "lead-ww:9", 1)
    assert not failed.value.non_retryable
    assert failed.value.type == "WebhookUnreachable"
