"""Where the activities keep their data and how they reach the world, read once at worker start.

- `LEADFLOW_DATA_DIR`: ledger, outbox and published rules (default `.data`);
- `LEADFLOW_RULES`: the rules file used until one is published (default `rules/default.yaml`);
- `LEADFLOW_WEBHOOK_URL`: optional, notifications are also POSTed here;
- `LEADFLOW_WEBHOOK_SECRET`: required with a webhook URL, the HMAC-SHA256 signing key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from domain.errors import LeadflowError

__all__ = ["Settings", "SettingsError"]


class SettingsError(LeadflowError):
    """The configuration cannot work (e.g. a webhook URL without a secret)."""


@dataclass(frozen=True)
class Settings:
    """The activities' configuration. Build it with `from_env()`, or directly in tests."""

    data_dir: Path = Path(".data")
    rules_path: Path = Path("rules/default.yaml")
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)  # never printed
    webhook_timeout: float = 10.0  # seconds, for connect, read and write alike

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        object.__setattr__(self, "rules_path", Path(self.rules_path))
        if self.webhook_url is not None:
            if not self.webhook_url.startswith(("http://", "https://")):
                raise SettingsError("LEADFLOW_WEBHOOK_URL must start with http:// or https://")
            if not self.webhook_secret:
                raise SettingsError(
                    "LEADFLOW_WEBHOOK_SECRET must be set when LEADFLOW_WEBHOOK_URL is set: "
                    "every webhook call is signed with it"
                )
        if self.webhook_timeout <= 0:
            raise SettingsError("the webhook timeout must be positive")

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        data_dir: Path | str | None = None,
        rules_path: Path | str | None = None,
    ) -> Settings:
        """Read the environment (`os.environ` by default); explicit arguments (CLI flags) win."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        return cls(
            data_dir=Path(data_dir if data_dir is not None else get("LEADFLOW_DATA_DIR") or ".data"),
            rules_path=Path(rules_path if rules_path is not None else get("LEADFLOW_RULES") or "rules/default.yaml"),
            webhook_url=get("LEADFLOW_WEBHOOK_URL"),
            webhook_secret=get("LEADFLOW_WEBHOOK_SECRET"),
        )

    @property
    def ledger_path(self) -> Path:
        return self.data_dir / "ledger.sqlite3"

    @property
    def outbox_path(self) -> Path:
        return self.data_dir / "outbox.jsonl"

    @property
    def outbox_index_path(self) -> Path:
        """Which notification keys are in the outbox, and which reached the webhook."""
        return self.data_dir / "outbox.sqlite3"

    @property
    def rules_dir(self) -> Path:
        return self.data_dir / "rules"
