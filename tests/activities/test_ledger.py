"""The ledger: idempotent appends, ordering, time queries, rep load, one assignment per attempt."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

from activities.ledger import Ledger
from domain.state import LedgerEntry
from tests.activities.helpers import T0


def entry(lead: str, seq: int, kind: str = "event", minutes: int = 0, **data: Any) -> LedgerEntry:
    return LedgerEntry.model_validate(
        {
            "lead_id": lead,
            "seq": seq,
            "kind": kind,
            "at": T0 + timedelta(minutes=minutes),
            "rules_version": "r-000000000001",
            "data": data,
        }
    )


def handoff(lead: str, seq: int, rep: str | None, attempt: int, status: str) -> LedgerEntry:
    return entry(lead, seq, "handoff", rep=rep, attempt=attempt, status=status)


def transition(lead: str, seq: int, machine: str, trigger: str) -> LedgerEntry:
    return entry(lead, seq, "transition", machine=machine, trigger=trigger, source="x", dest="y", reason="test")


def test_append_is_idempotent_per_lead_and_seq(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    first = [entry("lead-a", 1), entry("lead-a", 2), entry("lead-b", 1)]
    assert ledger.append(first) == 3
    assert ledger.append(first) == 0
    assert ledger.append([*first, entry("lead-a", 3)]) == 1
    assert ledger.append([]) == 0
    assert [e.seq for e in ledger.entries("lead-a")] == [1, 2, 3]


def test_first_write_wins_for_a_seq(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    ledger.append([entry("lead-a", 1, note="first")])
    ledger.append([entry("lead-a", 1, note="second")])
    assert [e.data for e in ledger.entries("lead-a")] == [{"note": "first"}]


def test_entries_come_back_in_seq_order_and_intact(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    written = [entry("lead-a", seq, minutes=seq, n=seq, nested={"k": [1, 2]}) for seq in (5, 1, 3, 2, 4)]
    ledger.append(written)
    got = ledger.entries("lead-a")
    assert [e.seq for e in got] == [1, 2, 3, 4, 5]
    assert got == sorted(written, key=lambda e: e.seq)  # kind, time (tz-aware), version and data survive
    assert ledger.entries("lead-unknown") == []


def test_all_entries_since_a_time_in_time_order(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    ledger.append([entry("lead-b", 1, minutes=10), entry("lead-a", 1, minutes=0), entry("lead-a", 2, minutes=20)])
    assert [(e.lead_id, e.seq) for e in ledger.all_entries()] == [("lead-a", 1), ("lead-b", 1), ("lead-a", 2)]
    since = ledger.all_entries(since=T0 + timedelta(minutes=10))
    assert [(e.lead_id, e.seq) for e in since] == [("lead-b", 1), ("lead-a", 2)]


def test_the_database_is_in_wal_mode(tmp_path: Path) -> None:
    Ledger(tmp_path / "ledger.sqlite3")
    with sqlite3.connect(tmp_path / "ledger.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_concurrent_writers_write_each_entry_once(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    batch = [entry(f"lead-{n % 5}", n) for n in range(60)]
    results: list[int] = []
    lock = threading.Lock()

    def write() -> None:
        written = Ledger(path).append(batch)  # each thread its own Ledger, as separate workers would
        with lock:
            results.append(written)

    threads = [threading.Thread(target=write) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 60
    assert len(Ledger(path).all_entries()) == 60


# --- rep load ---------------------------------------------------------------------------------


def test_pending_and_overdue_handoffs_count_for_their_rep(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    ledger.append(
        [
            transition("lead-a", 1, "lifecycle", "qualify"),
            transition("lead-a", 2, "handoff", "assign"),
            handoff("lead-a", 3, "r-01", 1, "pending"),
            transition("lead-b", 1, "handoff", "assign"),
            handoff("lead-b", 2, "r-01", 1, "pending"),
            transition("lead-b", 3, "handoff", "sla_missed"),
            handoff("lead-b", 4, "r-01", 1, "overdue"),
            handoff("lead-c", 1, "r-02", 1, "pending"),
        ]
    )
    assert ledger.rep_load() == {"r-01": 2, "r-02": 1}


def test_a_verdict_or_leaving_sql_closes_the_handoff(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    ledger.append(
        [
            # accepted: the rep works it now, no longer waiting for a verdict
            handoff("lead-a", 1, "r-01", 1, "pending"),
            transition("lead-a", 2, "handoff", "rep_accepted"),
            transition("lead-a", 3, "lifecycle", "accept"),
            handoff("lead-a", 4, "r-01", 1, "accepted"),
            # rejected
            handoff("lead-b", 1, "r-01", 1, "pending"),
            handoff("lead-b", 2, "r-01", 1, "rejected"),
            # returned to marketing after the last attempt
            handoff("lead-c", 1, "r-01", 3, "escalated"),
            transition("lead-c", 2, "handoff", "expire"),
            handoff("lead-c", 3, "r-01", 3, "expired"),
            # disqualified by ops while pending: no handoff entry, but the transitions close it
            handoff("lead-d", 1, "r-01", 1, "pending"),
            transition("lead-d", 2, "lifecycle", "disqualify"),
            transition("lead-d", 3, "handoff", "withdraw"),
            # the handoff machine's `accept` transition is recorded but its entry is not yet
            handoff("lead-e", 1, "r-01", 1, "pending"),
            transition("lead-e", 2, "handoff", "rep_accepted"),
        ]
    )
    assert ledger.rep_load() == {}


def test_escalated_counts_until_reassigned_or_nobody_is_free(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    ledger.append(
        [
            handoff("lead-a", 1, "r-01", 1, "pending"),
            transition("lead-a", 2, "handoff", "sla_missed"),
            handoff("lead-a", 3, "r-01", 1, "overdue"),
            transition("lead-a", 4, "handoff", "escalate"),
            handoff("lead-a", 5, "r-01", 1, "escalated"),
        ]
    )
    assert ledger.rep_load() == {"r-01": 1}  # still theirs until someone else gets it
    ledger.append([transition("lead-a", 6, "handoff", "assign"), handoff("lead-a", 7, "r-02", 2, "pending")])
    assert ledger.rep_load() == {"r-02": 1}
    ledger.append(
        [
            handoff("lead-b", 1, "r-03", 1, "escalated"),
            transition("lead-b", 2, "handoff", "escalate"),  # next attempt: nobody free, r-03 let go
        ]
    )
    assert ledger.rep_load() == {"r-02": 1}


def test_an_assignment_counts_until_its_handoff_is_recorded(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3", in_flight=timedelta(minutes=10))
    ledger.assign_once("lead-a", 1, lambda load, turn: ("r-01", "test"), now=T0)
    ledger.assign_once("lead-b", 1, lambda load, turn: (None, "nobody"), now=T0)
    assert ledger.rep_load(now=T0 + timedelta(minutes=1)) == {"r-01": 1}
    assert ledger.rep_load(now=T0 + timedelta(minutes=11)) == {}  # the lead dropped the answer
    # the handoff entry that follows the request (seq 1) has a larger sequence number
    ledger.append([handoff("lead-a", 2, "r-01", 1, "pending")])
    assert ledger.rep_load(now=T0 + timedelta(minutes=1)) == {"r-01": 1}  # counted once, not twice


def test_assign_once_chooses_once_per_lead_and_attempt(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    calls: list[tuple[dict[str, int], int]] = []

    def choose(load: Any, turn: int) -> tuple[str | None, str]:
        calls.append((dict(load), turn))
        return f"r-0{len(calls)}", "because"

    first = ledger.assign_once("lead-a", 1, choose, now=T0)
    again = ledger.assign_once("lead-a", 1, choose, now=T0 + timedelta(minutes=5))
    second = ledger.assign_once("lead-a", 2, choose, now=T0)
    assert first == again
    assert (first.rep, second.rep) == ("r-01", "r-02")
    assert calls == [({}, 0), ({"r-01": 1}, 1)]  # the second saw the first's load and the next turn
    assert ledger.assignment("lead-a", 2) == second
    assert ledger.assignment("lead-a", 3) is None
