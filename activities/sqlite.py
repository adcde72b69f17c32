"""SQLite as the activities use it: one connection per call, explicit write transactions.

Shared by the ledger and the outbox index, which several worker processes on one host write at once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path


@contextmanager
def connect(path: Path, busy_timeout: float, *pragmas: str) -> Iterator[sqlite3.Connection]:
    """A connection in autocommit mode (`isolation_level=None`): writes open `write()` themselves."""
    with closing(sqlite3.connect(path, isolation_level=None, timeout=busy_timeout)) as db:
        db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        for pragma in pragmas:
            db.execute(f"PRAGMA {pragma}")
        yield db


@contextmanager
def write(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """`BEGIN IMMEDIATE` … `COMMIT`, rolled back on any error: writers queue instead of deadlocking."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
