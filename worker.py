"""The leadflow worker: connects to Temporal, registers the lead workflow and activities, runs.

    python worker.py [--address HOST:PORT] [--namespace NS] [--task-queue Q] [--data-dir DIR] [--rules PATH]

Every flag has an environment variable (Temporal's own names where they exist); flags win.
Stops gracefully on SIGINT / SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from datetime import timedelta

import structlog
from temporalio.worker import Worker

from activities.lead_activities import LeadActivities
from activities.logs import configure_logging
from activities.settings import Settings, SettingsError
from domain.errors import LeadflowError
from leadclient.connect import connect, connect_config, exit_now
from workflows.lead import LeadWorkflow
from workflows.search_attributes import SearchAttributesNotPermitted, ensure_search_attributes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="worker.py", description="Run a leadflow worker.")
    parser.add_argument(
        "--address",
        help="Temporal frontend host:port (default: Temporal's client config — TEMPORAL_ADDRESS, profile — "
        "else localhost:7233; TLS and TEMPORAL_API_KEY come from there too)",
    )
    parser.add_argument(
        "--namespace",
        help="Temporal namespace (default: TEMPORAL_NAMESPACE / profile, else 'default')",
    )
    parser.add_argument(
        "--task-queue",
        default=os.environ.get("LEADFLOW_TASK_QUEUE", "leadflow"),
        help="task queue to poll (env LEADFLOW_TASK_QUEUE; default 'leadflow')",
    )
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("LEADFLOW_DATA_DIR", ".data"),
        help="ledger, outbox and published rules live here (env LEADFLOW_DATA_DIR; default .data)",
    )
    parser.add_argument(
        "--rules",
        default=os.environ.get("LEADFLOW_RULES", "rules/default.yaml"),
        help="rules file used until one is published (env LEADFLOW_RULES; default rules/default.yaml)",
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("LEADFLOW_LOG_LEVEL", "INFO"),
        help="log level (env LEADFLOW_LOG_LEVEL; default INFO)",
    )
    return parser


async def run(args: argparse.Namespace, stop: asyncio.Event) -> int:
    """Connect, make sure the search attributes exist, and poll until `stop` is set."""
    log = structlog.get_logger("leadflow.worker")
    settings = Settings.from_env(data_dir=args.data_dir, rules_path=args.rules)
    config = connect_config(args.address, args.namespace)
    try:
        client = await connect(args.address, args.namespace)
    except Exception as exc:  # the SDK raises plain RuntimeErrors for connection failures
        log.error("cannot connect to Temporal", address=config["target_host"], error=str(exc))
        return 1
    try:
        added = await ensure_search_attributes(client, client.namespace)
    except SearchAttributesNotPermitted as exc:
        log.error("search attributes missing", error=str(exc))
        return 1
    if added:
        log.info("registered search attributes", added=added)
    async with LeadActivities(settings) as lead_activities:
        try:
            rules = lead_activities.rules.current()  # a broken rules file stops the worker here, not each lead
        except LeadflowError as exc:
            log.error("rules unusable", error=str(exc))
            return 2
        # Activities are async (their blocking parts run in threads), so no executor is needed.
        worker = Worker(
            client,
            task_queue=args.task_queue,
            workflows=[LeadWorkflow],
            activities=lead_activities.activities,
            graceful_shutdown_timeout=timedelta(seconds=10),
        )
        async with worker:
            log.info(
                "worker running",
                address=config["target_host"],
                namespace=client.namespace,
                task_queue=args.task_queue,
                data_dir=str(settings.data_dir),
                rules_version=rules.version,
            )
            await stop.wait()
            log.info("worker stopping")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    stop = asyncio.Event()

    async def serve() -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await run(args, stop)

    try:
        return asyncio.run(serve())
    except SettingsError as exc:
        structlog.get_logger("leadflow.worker").error("bad configuration", error=str(exc))
        return 2


if __name__ == "__main__":
    exit_now(main())  # the worker has shut down by now; skip interpreter teardown (see exit_now)
