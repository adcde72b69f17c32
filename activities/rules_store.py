"""Rules versions on disk: the published one, and every one a lead may still be pinned to.

    <dir>/<version>.yaml   the original text of every version ever loaded or published
    <dir>/current          the published version's id (absent: the default file is current)
    <dir>/published.jsonl  one line per publication: version, published_at, source

Versions are content hashes (`domain.rules_file.rules_version`), so a version file never changes
once written. Every write is a temporary file renamed into place: readers never see half a file.
Blocking; the activities call it with `asyncio.to_thread`.
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from domain.errors import LeadflowError, RuleProblem, RulesError
from domain.rules import Rules
from domain.rules_file import parse_rules

__all__ = ["RulesStore", "RulesVersion", "UnknownRulesVersion"]

_VERSION = re.compile(r"^r-[0-9a-f]{12}$")
_CURRENT = "current"
_HISTORY = "published.jsonl"


class UnknownRulesVersion(LeadflowError):
    """A rules version that was never stored here (or is not a version id at all)."""

    def __init__(self, version: str, known: list[str]) -> None:
        self.version = version
        shown = ", ".join(known[-5:]) if known else "none"
        super().__init__(f"unknown rules version {version!r}; stored versions (latest 5): {shown}")


class RulesVersion(NamedTuple):
    version: str
    published_at: datetime | None  # None: loaded from the default file, never published


class RulesStore:
    """The rules versions in `directory`; `default_path` is current until something is published."""

    def __init__(self, directory: Path | str, default_path: Path | str) -> None:
        self.dir = Path(directory)
        self.default_path = Path(default_path)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._cache: dict[str, Rules] = {}
        self._default: tuple[str, Rules] | None = None  # (text, rules) of the default file last read

    def current(self) -> Rules:
        """The published rules, or else the default file's (stored, so leads can pin its version)."""
        published = self.current_version()
        if published is not None:
            return self.get(published)
        return self._load_default()

    def current_version(self) -> str | None:
        """The published version's id, or None when nothing was published."""
        try:
            return (self.dir / _CURRENT).read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    def get(self, version: str) -> Rules:
        """Exactly the given version. Raises `UnknownRulesVersion` when it was never stored here."""
        with self._lock:
            cached = self._cache.get(version)
        if cached is not None:
            return cached
        if not _VERSION.match(version):
            raise UnknownRulesVersion(version, self._stored())
        path = self.dir / f"{version}.yaml"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            # Not stored yet, but perhaps it is the default file's (a fresh data directory).
            default = self._load_default()
            if default.version == version:
                return default
            raise UnknownRulesVersion(version, self._stored()) from None
        rules = parse_rules(text, str(path))
        if rules.version != version:
            problem = f"stored as {version} but its content is {rules.version}: was it edited by hand?"
            raise RulesError([RuleProblem(str(path), None, "", problem)])
        with self._lock:
            self._cache[version] = rules
        return rules

    def publish(self, path: Path | str) -> Rules:
        """Validate the file and make it current. An invalid file raises `RulesError` and changes nothing."""
        source = Path(path)
        try:
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RulesError([RuleProblem(str(source), None, "", f"cannot read the file: {exc}")]) from None
        rules = parse_rules(text, str(source))
        self._store(rules, text)
        _write_atomically(self.dir / _CURRENT, rules.version + "\n")
        record = {"version": rules.version, "published_at": datetime.now(UTC).isoformat(), "source": str(source)}
        with open(self.dir / _HISTORY, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        return rules

    def versions(self) -> list[RulesVersion]:
        """Every stored version with its latest publication time, oldest publication first."""
        published: dict[str, datetime] = {}
        try:
            with open(self.dir / _HISTORY, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        record = json.loads(line)
                        published[record["version"]] = datetime.fromisoformat(record["published_at"])
        except FileNotFoundError:
            pass
        listing = [RulesVersion(v, published.get(v)) for v in self._stored()]
        epoch = datetime.min.replace(tzinfo=UTC)
        return sorted(listing, key=lambda item: (item.published_at or epoch, item.version))

    # --- internals ---------------------------------------------------------------------------

    def _load_default(self) -> Rules:
        text = self.default_path.read_text(encoding="utf-8")
        with self._lock:
            if self._default is not None and self._default[0] == text:
                return self._default[1]
        rules = parse_rules(text, str(self.default_path))
        self._store(rules, text)
        with self._lock:
            self._default = (text, rules)
        return rules

    def _store(self, rules: Rules, text: str) -> None:
        target = self.dir / f"{rules.version}.yaml"
        if not target.exists():  # the same version has the same content: the first text stays
            _write_atomically(target, text)
        with self._lock:
            self._cache[rules.version] = rules

    def _stored(self) -> list[str]:
        return sorted(p.stem for p in self.dir.glob("r-*.yaml") if _VERSION.match(p.stem))


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
