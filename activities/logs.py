"""Logging for the worker process: structlog for our code, the same rendering for stdlib records.

`configure_logging()` runs once at process start: pretty console output on a terminal, one JSON
object per line otherwise. Temporal's own records (stdlib `logging`) go through the same processors,
so a log collector sees one format. Activities wrap their work in `bind_activity_context()` so every
line carries the workflow id, activity type and attempt. Never pass intake data (names, emails,
phone numbers) to a logger: logs are not encrypted.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import structlog
from structlog.typing import Processor
from temporalio import activity

__all__ = ["bind_activity_context", "configure_logging"]

_HANDLER_NAME = "leadflow"
_configured = False

# Loggers that say too much: `transitions` logs every transition at INFO, knows nothing of replay, and
# warns at every decision that the lead's three machines cannot all bind the generic `trigger` helper
# to their shared model (we fire through `machine.events`); httpx logs every request's full URL, and a
# webhook URL may carry a token.
_QUIET = {"transitions": logging.ERROR, "httpx": logging.WARNING, "httpcore": logging.WARNING}


def configure_logging(
    level: str | int = "INFO",
    json: bool | None = None,
    *,
    stream: TextIO | None = None,
    force: bool = False,
) -> None:
    """Configure structlog and stdlib logging once per process.

    `json=None` picks JSON unless `stream` (stderr by default) is a terminal. Later calls do nothing
    unless `force=True` (tests use it to render into their own stream).
    """
    global _configured
    if _configured and not force:
        return
    out = stream if stream is not None else sys.stderr
    as_json = json if json is not None else not _isatty(out)
    numeric = logging.getLevelNamesMapping()[level.upper()] if isinstance(level, str) else level

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),  # Temporal's records carry `temporal_activity` / `temporal_workflow`
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: `structlog.testing.capture_logs()` must be able to swap the processors.
        cache_logger_on_first_use=False,
    )
    renderer: list[Processor] = (
        [structlog.processors.dict_tracebacks, structlog.processors.JSONRenderer()]
        if as_json
        else [structlog.dev.ConsoleRenderer()]
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
    )
    handler = logging.StreamHandler(out)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name, quiet_level in _QUIET.items():
        logging.getLogger(name).setLevel(max(numeric, quiet_level))

    _configured = True


@contextmanager
def bind_activity_context(**extra: Any) -> Iterator[None]:
    """Bind the running activity's workflow id, activity type and attempt (plus `extra`) to every
    log line inside the block; restored afterwards. Outside an activity only `extra` is bound."""
    fields: dict[str, Any] = {}
    if activity.in_activity():
        info = activity.info()
        fields = {
            "workflow_id": info.workflow_id,
            "activity_type": info.activity_type,
            "activity_id": info.activity_id,
            "attempt": info.attempt,
        }
    with structlog.contextvars.bound_contextvars(**fields, **extra):
        yield


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real file
        return False
