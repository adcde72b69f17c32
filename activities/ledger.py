"""The ledger: an append-only SQLite record of everything that happened to every lead.

One row per `LedgerEntry`, keyed by `(lead_id, seq)`: appending the same entry again (an activity
retry, a replayed workflow) writes nothing. A second table keeps the answer `assign_rep` gave for
each `(lead_id, attempt)`, so a retried assignment returns the same rep.

WAL mode and a busy timeout make one file safe for several worker processes on one machine; every
write runs in a `BEGIN IMMEDIATE` transaction so writers queue instead of failing on lock upgrades.
Calls block: activities run them with `asyncio.to_thread`. Each call opens its own connection, so a
`Ledger` may be shared by threads.

**Open handoffs (rep load).** `decide` records a `handoff` entry (`data`: rep, attempt, status) when a
rep is given a lead (`pending`) and each time that handoff moves (`overdue`, `escalated`, `accepted`,
`rejected`, `expired`). A rep holds an open handoff for a lead when

- the lead's latest `handoff` entry (highest seq) names the rep with status `pending`, `overdue` or
  `escalated` (the rep may still accept until someone else is assigned), and
- no later entry of that lead closes it: an `outcome`, any `lifecycle` transition (the lead left
  SQL: accepted, rejected, returned to marketing, disqualified), or a `handoff` transition that takes
  the lead away (`escalate` with nobody free, `withdraw`, `expire`, `rep_accepted`, `rep_rejected`).

So accepted leads no longer count: load measures leads waiting for a rep's verdict. On top of the
ledger, an assignment made in the last `in_flight` window whose `handoff` entry is not recorded yet
counts for its rep too, so a burst of simultaneous handoffs cannot push a rep over capacity.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from activities import sqlite
from domain.state import LedgerEntry

__all__ = ["Assignment", "Chooser", "Ledger"]

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    lead_id       TEXT    NOT NULL,
    seq           INTEGER NOT NULL,
    kind          TEXT    NOT NULL,
    at            TEXT    NOT NULL,  -- ISO 8601, UTC, microseconds: sorts as text
    rules_version TEXT    NOT NULL,
    data          TEXT    NOT NULL,  -- JSON object
    recorded_at   TEXT    NOT NULL,
    PRIMARY KEY (lead_id, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_by_kind ON entries (kind, lead_id, seq);
CREATE INDEX IF NOT EXISTS entries_by_time ON entries (at);
CREATE TABLE IF NOT EXISTS assignments (
    lead_id     TEXT    NOT NULL,
    request     INTEGER NOT NULL,   -- the lead's sequence number of the AssignRep request
    rep         TEXT,               -- NULL: nobody could take the lead
    reason      TEXT    NOT NULL,
    turn        INTEGER NOT NULL,
    assigned_at TEXT    NOT NULL,
    PRIMARY KEY (lead_id, request)
);
CREATE INDEX IF NOT EXISTS assignments_by_time ON assignments (assigned_at);
"""

_OPEN_STATUSES = ("pending", "overdue", "escalated")
_CLOSING_HANDOFF_TRIGGERS = ("escalate", "withdraw", "expire", "rep_accepted", "rep_rejected")
_OPEN_SQL = ", ".join(f"'{s}'" for s in _OPEN_STATUSES)
_CLOSING_SQL = ", ".join(f"'{t}'" for t in _CLOSING_HANDOFF_TRIGGERS)
_OPEN_HANDOFFS = f"""
WITH latest AS (
    SELECT lead_id, MAX(seq) AS seq FROM entries WHERE kind = 'handoff' GROUP BY lead_id
)
SELECT json_extract(h.data, '$.rep') AS rep, COUNT(*)
FROM entries h JOIN latest USING (lead_id, seq)
WHERE json_extract(h.data, '$.status') IN ({_OPEN_SQL})
  AND json_extract(h.data, '$.rep') IS NOT NULL
  AND NOT EXISTS (
    SELECT 1 FROM entries c
    WHERE c.lead_id = h.lead_id AND c.seq > h.seq
      AND (c.kind = 'outcome'
           OR (c.kind = 'transition' AND (
                json_extract(c.data, '$.machine') = 'lifecycle'
                OR (json_extract(c.data, '$.machine') = 'handoff'
                    AND json_extract(c.data, '$.trigger') IN ({_CLOSING_SQL})))))
  )
GROUP BY rep
"""
_IN_FLIGHT = """
SELECT a.rep, COUNT(*)
FROM assignments a
WHERE a.rep IS NOT NULL AND a.assigned_at >= ?
  AND NOT EXISTS (
    SELECT 1 FROM entries e
    WHERE e.lead_id = a.lead_id AND e.kind = 'handoff' AND e.seq > a.request
  )
GROUP BY a.rep
"""


@dataclass(frozen=True)
class Assignment:
    """The answer `assign_rep` gave for one handoff attempt, kept so retries get it again."""

    lead_id: str
    request: int
    rep: str | None
    reason: str
    turn: int
    assigned_at: datetime


# (current rep load, round-robin turn) → (rep or None, reason)
Chooser = Callable[[Mapping[str, int], int], tuple[str | None, str]]


class Ledger:
    """The append-only ledger in one SQLite file (created with its directory on first use)."""

    def __init__(
        self,
        path: Path | str,
        *,
        busy_timeout: timedelta = timedelta(seconds=10),
        in_flight: timedelta = timedelta(minutes=10),
    ) -> None:
        self.path = Path(path)
        self._busy_ms = int(busy_timeout.total_seconds() * 1000)
        self._in_flight = in_flight
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")  # persistent: stored in the file
            if db.execute("PRAGMA user_version").fetchone()[0] < _SCHEMA_VERSION:
                db.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version={_SCHEMA_VERSION}; COMMIT;")

    # --- writing -----------------------------------------------------------------------------

    def append(self, entries: Iterable[LedgerEntry]) -> int:
        """Append entries; one already present (same lead_id, seq) is left as it was. Returns rows written."""
        now = _iso(datetime.now(UTC))
        rows = [
            (
                e.lead_id,
                e.seq,
                e.kind,
                _iso(e.at),
                e.rules_version,
                json.dumps(e.model_dump(mode="json")["data"], sort_keys=True, separators=(",", ":")),
                now,
            )
            for e in entries
        ]
        if not rows:
            return 0
        with self._write() as db:
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            return db.total_changes - before

    def assign_once(self, lead_id: str, request: int, choose: Chooser, now: datetime | None = None) -> Assignment:
        """The stored assignment for (lead_id, request), or a new one from `choose(load, turn)`, stored.

        `request` is the sequence number the lead gave its AssignRep request; the handoff entry that
        follows has a larger one, which is how an assignment stops counting as in flight.

        Load, turn and the insert happen in one write transaction, so concurrent workers queue and
        each sees the assignments made before it.
        """
        when = now or datetime.now(UTC)
        with self._write() as db:
            found = self._assignment(db, lead_id, request)
            if found is not None:
                return found
            load = self._rep_load(db, when)
            turn = db.execute("SELECT COUNT(*) FROM assignments WHERE rep IS NOT NULL").fetchone()[0]
            rep, reason = choose(load, turn)
            db.execute(
                "INSERT INTO assignments VALUES (?, ?, ?, ?, ?, ?)",
                (lead_id, request, rep, reason, turn, _iso(when)),
            )
            return Assignment(lead_id, request, rep, reason, turn, when.astimezone(UTC))

    # --- reading -----------------------------------------------------------------------------

    def entries(self, lead_id: str) -> list[LedgerEntry]:
        """One lead's entries in sequence order."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT lead_id, seq, kind, at, rules_version, data FROM entries WHERE lead_id = ? ORDER BY seq",
                (lead_id,),
            ).fetchall()
        return [_entry(row) for row in rows]

    def all_entries(self, since: datetime | None = None) -> list[LedgerEntry]:
        """Every entry (at or after `since`), ordered by time, then lead and sequence."""
        query = "SELECT lead_id, seq, kind, at, rules_version, data FROM entries"
        params: tuple[Any, ...] = ()
        if since is not None:
            query += " WHERE at >= ?"
            params = (_iso(since),)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY at, lead_id, seq", params).fetchall()
        return [_entry(row) for row in rows]

    def rep_load(self, now: datetime | None = None) -> dict[str, int]:
        """Open handoffs per rep (see the module docstring). Reps with none are absent."""
        with self._connect() as db:
            return self._rep_load(db, now or datetime.now(UTC))

    def assignment(self, lead_id: str, request: int) -> Assignment | None:
        with self._connect() as db:
            return self._assignment(db, lead_id, request)

    # --- internals ---------------------------------------------------------------------------

    def _rep_load(self, db: sqlite3.Connection, now: datetime) -> dict[str, int]:
        load: dict[str, int] = {}
        for rep, count in db.execute(_OPEN_HANDOFFS):
            load[rep] = load.get(rep, 0) + count
        for rep, count in db.execute(_IN_FLIGHT, (_iso(now - self._in_flight),)):
            load[rep] = load.get(rep, 0) + count
        return load

    @staticmethod
    def _assignment(db: sqlite3.Connection, lead_id: str, request: int) -> Assignment | None:
        row = db.execute(
            "SELECT rep, reason, turn, assigned_at FROM assignments WHERE lead_id = ? AND request = ?",
            (lead_id, request),
        ).fetchone()
        if row is None:
            return None
        rep, reason, turn, assigned_at = row
        return Assignment(lead_id, request, rep, reason, turn, datetime.fromisoformat(assigned_at))

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # synchronous=NORMAL: durable enough in WAL mode, much faster
        with sqlite.connect(self.path, self._busy_ms / 1000, "synchronous=NORMAL") as db:
            yield db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db, sqlite.write(db):
            yield db


def _iso(at: datetime) -> str:
    """UTC, fixed width, so text order is time order. A naive time is taken as UTC."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _entry(row: tuple[Any, ...]) -> LedgerEntry:
    lead_id, seq, kind, at, rules_version, data = row
    return LedgerEntry(
        lead_id=lead_id,
        seq=seq,
        kind=kind,
        at=datetime.fromisoformat(at),
        rules_version=rules_version,
        data=json.loads(data),
    )
