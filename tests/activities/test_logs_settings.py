"""Logging configuration (JSON for structlog and stdlib alike, activity context bound) and settings."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from activities.logs import bind_activity_context, configure_logging
from activities.settings import Settings, SettingsError
from tests.activities.helpers import activity_env


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """Logging rendered into a string; the process' logging restored afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    out = io.StringIO()
    try:
        yield out
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_structlog_and_stdlib_records_render_as_json(stream: io.StringIO) -> None:
    configure_logging("INFO", json=True, stream=stream, force=True)
    structlog.get_logger("leadflow.test").info("rules loaded", version="r-0123456789ab")
    logging.getLogger("temporalio.worker").warning("worker %s started", "w-1")
    logging.getLogger("temporalio.worker").debug("below the level")
    ours, theirs = lines(stream)
    assert {k: ours[k] for k in ("event", "version", "level", "logger")} == {
        "event": "rules loaded",
        "version": "r-0123456789ab",
        "level": "info",
        "logger": "leadflow.test",
    }
    assert {k: theirs[k] for k in ("event", "level", "logger")} == {
        "event": "worker w-1 started",
        "level": "warning",
        "logger": "temporalio.worker",
    }
    assert "timestamp" in ours and "timestamp" in theirs


def test_exceptions_render_as_structured_tracebacks(stream: io.StringIO) -> None:
    configure_logging(json=True, stream=stream, force=True)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("temporalio.activity").exception("activity failed")
    (record,) = lines(stream)
    assert record["event"] == "activity failed"
    assert record["exception"][0]["exc_type"] == "ValueError"


def test_a_non_terminal_stream_gets_json_and_a_console_renderer_is_not_json(stream: io.StringIO) -> None:
    configure_logging(stream=stream, force=True)  # json=None: StringIO is no terminal
    structlog.get_logger().info("hello")
    assert lines(stream)[0]["event"] == "hello"
    pretty = io.StringIO()
    configure_logging(json=False, stream=pretty, force=True)
    structlog.get_logger().info("hello")
    assert "hello" in pretty.getvalue()
    with pytest.raises(json.JSONDecodeError):
        json.loads(pretty.getvalue())


def test_configured_once_unless_forced(stream: io.StringIO) -> None:
    configure_logging(json=True, stream=stream, force=True)
    other = io.StringIO()
    configure_logging(json=True, stream=other)  # ignored: already configured
    structlog.get_logger().info("once")
    assert [r["event"] for r in lines(stream)] == ["once"]
    assert other.getvalue() == ""
    assert len([h for h in logging.getLogger().handlers if h.get_name() == "leadflow"]) == 1


def test_noisy_loggers_are_quieted(stream: io.StringIO) -> None:
    configure_logging("DEBUG", json=True, stream=stream, force=True)
    logging.getLogger("httpx").info('HTTP Request: POST https://hooks.example/?token=secret "HTTP/1.1 200 OK"')
    logging.getLogger("transitions.core").info("Executed callback")
    assert stream.getvalue() == ""


async def test_activity_context_is_bound_inside_and_cleared_after(stream: io.StringIO) -> None:
    configure_logging(json=True, stream=stream, force=True)
    log = structlog.get_logger("leadflow.activities")

    async def work() -> None:
        with bind_activity_context(lead_id="lead-0123abcd"):
            log.info("inside")
            logging.getLogger("temporalio.activity").info("stdlib inside")
        log.info("after")

    await activity_env("notify", attempt=3, workflow_id="lead-0123abcd").run(work)
    inside, stdlib_inside, after = lines(stream)
    for record in (inside, stdlib_inside):
        assert {k: record[k] for k in ("workflow_id", "activity_type", "attempt", "lead_id")} == {
            "workflow_id": "lead-0123abcd",
            "activity_type": "notify",
            "attempt": 3,
            "lead_id": "lead-0123abcd",
        }
    assert not {"workflow_id", "activity_type", "attempt", "lead_id"} & after.keys()


def test_outside_an_activity_only_the_extra_fields_are_bound() -> None:
    with bind_activity_context(lead_id="lead-1"):
        assert structlog.contextvars.get_contextvars() == {"lead_id": "lead-1"}
    assert structlog.contextvars.get_contextvars() == {}


# --- settings ---------------------------------------------------------------------------------


def test_settings_defaults_and_paths() -> None:
    settings = Settings.from_env({})
    assert settings.data_dir == Path(".data")
    assert settings.rules_path == Path("rules/default.yaml")
    assert settings.webhook_url is None
    assert settings.ledger_path == Path(".data/ledger.sqlite3")
    assert settings.outbox_path == Path(".data/outbox.jsonl")
    assert settings.rules_dir == Path(".data/rules")


def test_settings_from_the_environment_and_flags() -> None:
    env = {
        "LEADFLOW_DATA_DIR": "/srv/leadflow",
        "LEADFLOW_RULES": "rules/demo.yaml",
        "LEADFLOW_WEBHOOK_URL": "https://hooks.example/leadflow",
        "LEADFLOW_WEBHOOK_SECRET": "s3cret-value",
    }
    settings = Settings.from_env(env)
    assert settings.ledger_path == Path("/srv/leadflow/ledger.sqlite3")
    assert settings.rules_path == Path("rules/demo.yaml")
    assert settings.webhook_url == "https://hooks.example/leadflow"
    assert "s3cret-value" not in repr(settings)
    flagged = Settings.from_env(env, data_dir="/tmp/x", rules_path="r.yaml")
    assert (flagged.data_dir, flagged.rules_path) == (Path("/tmp/x"), Path("r.yaml"))


def test_a_webhook_needs_a_secret() -> None:
    with pytest.raises(SettingsError, match="LEADFLOW_WEBHOOK_SECRET"):
        Settings.from_env({"LEADFLOW_WEBHOOK_URL": "https://hooks.example/", "LEADFLOW_WEBHOOK_SECRET": " "})
    with pytest.raises(SettingsError, match="http"):
        Settings(webhook_url="ftp://hooks.example/", webhook_secret="x")
