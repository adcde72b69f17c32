"""Delivering a `Notification`: a log line, a JSON-lines outbox, and optionally a signed webhook.

Every channel is idempotent by `notification.key`, so the activity can be retried freely:

- the outbox file gets each key once. A small SQLite index beside it holds the keys and the file's
  committed length; an append and its index row commit together under one write lock, and a line
  left behind by a crash between the two is cut off before the next append.
- the webhook gets the same body, signature and `Idempotency-Key` on every attempt; a receiver that
  honours the key never processes a notification twice. Once a 2xx arrives the index says so, and
  later attempts do not call again.

Webhook answers: 2xx delivered; 408, 429 and 5xx, timeouts and connection errors raise a retryable
`ApplicationError` (Temporal retries with the activity's backoff; a `Retry-After` in seconds is
honoured); any other status raises a non-retryable `ApplicationError(type="WebhookRejected")`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import structlog
from temporalio.exceptions import ApplicationError

from activities import sqlite
from domain.state import Notification

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "Outbox",
    "Webhook",
    "deliver",
    "sign",
    "verify_signature",
]

SIGNATURE_HEADER = "X-Leadflow-Signature"
TIMESTAMP_HEADER = "X-Leadflow-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
_RETRYABLE_STATUSES = frozenset({408, 429})
_MAX_RETRY_AFTER = timedelta(hours=1)

log = structlog.get_logger(__name__)


# --- signing -----------------------------------------------------------------------------------


def sign(body: bytes, secret: str) -> str:
    """The `X-Leadflow-Signature` value: `sha256=` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, secret: str, header: str | None) -> bool:
    """What a receiver does: recompute the signature and compare in constant time."""
    return header is not None and hmac.compare_digest(sign(body, secret), header)


# --- the outbox --------------------------------------------------------------------------------


class Outbox:
    """An append-only JSON-lines file of notifications, one line per key. Blocking; thread-safe."""

    def __init__(self, path: Path | str, index_path: Path | str, busy_timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.index_path = Path(index_path)
        self._timeout = busy_timeout
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.index_path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(
                """
                BEGIN IMMEDIATE;
                CREATE TABLE IF NOT EXISTS sent (
                    key                  TEXT PRIMARY KEY,
                    offset               INTEGER NOT NULL,
                    written_at           TEXT    NOT NULL,
                    webhook_status       INTEGER,
                    webhook_delivered_at TEXT
                );
                CREATE TABLE IF NOT EXISTS file (id INTEGER PRIMARY KEY CHECK (id = 1), committed_end INTEGER NOT NULL);
                COMMIT;
                """
            )
        with self._write() as db:
            if db.execute("SELECT 1 FROM file").fetchone() is None:
                self._rebuild_index(db)

    def append_once(self, notification: Notification) -> bool:
        """Append the notification unless its key is already in the outbox. True when written now."""
        with self._write() as db:
            if db.execute("SELECT 1 FROM sent WHERE key = ?", (notification.key,)).fetchone():
                return False
            now = datetime.now(UTC)
            line = json.dumps(
                {**notification.model_dump(mode="json"), "written_at": now.isoformat()},
                separators=(",", ":"),
                ensure_ascii=False,
            )
            committed = db.execute("SELECT committed_end FROM file").fetchone()[0]
            with open(self.path, "ab") as f:
                size = f.seek(0, os.SEEK_END)
                if size > committed:
                    # Written by an attempt that crashed before its index row committed: drop it.
                    f.truncate(committed)
                    size = committed
                # size < committed: someone rotated or truncated the file; carry on from its end.
                f.write(line.encode() + b"\n")
                f.flush()
                os.fsync(f.fileno())
                end = f.tell()
            db.execute(
                "INSERT INTO sent (key, offset, written_at) VALUES (?, ?, ?)",
                (notification.key, size, now.isoformat()),
            )
            db.execute("UPDATE file SET committed_end = ?", (end,))
            return True

    def webhook_delivered(self, key: str) -> bool:
        with self._connect() as db:
            row = db.execute("SELECT webhook_delivered_at FROM sent WHERE key = ?", (key,)).fetchone()
        return row is not None and row[0] is not None

    def mark_webhook_delivered(self, key: str, status: int) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE sent SET webhook_status = ?, webhook_delivered_at = ? "
                "WHERE key = ? AND webhook_delivered_at IS NULL",
                (status, datetime.now(UTC).isoformat(), key),
            )

    def read(self) -> list[dict[str, Any]]:
        """Every line of the outbox, parsed (for tests and tools)."""
        if not self.path.exists():
            return []
        with open(self.path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def _rebuild_index(self, db: sqlite3.Connection) -> None:
        """A fresh index beside an existing outbox: learn its keys; cut a torn last line."""
        end = 0
        if self.path.exists():
            with open(self.path, "r+b") as f:
                offset = 0
                for raw in f:
                    if not raw.endswith(b"\n"):
                        break
                    try:
                        key = json.loads(raw)["key"]
                    except (ValueError, KeyError, TypeError):
                        key = None
                    if isinstance(key, str):
                        db.execute(
                            "INSERT OR IGNORE INTO sent (key, offset, written_at) VALUES (?, ?, ?)",
                            (key, offset, datetime.now(UTC).isoformat()),
                        )
                    offset += len(raw)
                end = offset
                f.truncate(end)
        db.execute("INSERT INTO file (id, committed_end) VALUES (1, ?)", (end,))

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with sqlite.connect(self.index_path, self._timeout) as db:
            yield db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        # the write transaction also serialises the file appends across processes
        with self._connect() as db, sqlite.write(db):
            yield db


# --- the webhook -------------------------------------------------------------------------------


class Webhook:
    """POSTs notifications as signed JSON. Raises `ApplicationError` (retryable or not) on failure."""

    def __init__(self, url: str, secret: str, client: httpx.AsyncClient) -> None:
        self.url = url
        self._secret = secret
        self._client = client

    def request_parts(self, notification: Notification) -> tuple[bytes, dict[str, str]]:
        """The body and headers; identical on every attempt except the timestamp."""
        body = notification.model_dump_json().encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body, self._secret),
            IDEMPOTENCY_HEADER: notification.key,
            TIMESTAMP_HEADER: str(int(time.time())),
        }
        return body, headers

    async def send(self, notification: Notification) -> int:
        """POST once; return the 2xx status, or raise."""
        body, headers = self.request_parts(notification)
        try:
            response = await self._client.post(self.url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise ApplicationError(f"webhook timed out ({type(exc).__name__})", type="WebhookTimeout") from exc
        except httpx.TransportError as exc:
            raise ApplicationError(
                f"webhook unreachable ({type(exc).__name__}: {exc})", type="WebhookUnreachable"
            ) from exc
        status = response.status_code
        if 200 <= status < 300:
            return status
        if status >= 500 or status in _RETRYABLE_STATUSES:
            raise ApplicationError(
                f"webhook answered {status}; will retry",
                type="WebhookUnavailable",
                next_retry_delay=_retry_after(response),
            )
        raise ApplicationError(
            f"webhook refused the notification with {status}; retrying would not help",
            type="WebhookRejected",
            non_retryable=True,
        )


def _retry_after(response: httpx.Response) -> timedelta | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value.isdigit():
        return None  # absent, or an HTTP date: leave it to the retry policy
    return min(timedelta(seconds=int(value)), _MAX_RETRY_AFTER)


# --- all channels --------------------------------------------------------------------------------


async def deliver(notification: Notification, outbox: Outbox, webhook: Webhook | None) -> None:
    """Send through every channel; safe to call again with the same notification."""
    fields = {"key": notification.key, "lead_id": notification.lead_id, "to": notification.to}
    written = await asyncio.to_thread(outbox.append_once, notification)
    if written:
        log.info("notification", topic=notification.topic, text=notification.text, **fields)
    else:
        log.info("notification already in the outbox", **fields)
    if webhook is None:
        return
    if await asyncio.to_thread(outbox.webhook_delivered, notification.key):
        log.info("notification already delivered to the webhook", **fields)
        return
    try:
        status = await webhook.send(notification)
    except ApplicationError as exc:
        log.warning("webhook delivery failed", error=str(exc), retryable=not exc.non_retryable, **fields)
        raise
    await asyncio.to_thread(outbox.mark_webhook_delivered, notification.key, status)
    log.info("notification delivered to the webhook", status=status, **fields)
