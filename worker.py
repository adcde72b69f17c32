"""The leadflow worker: connects to Temporal, registers the lead workflow and activities, runs.

    python worker.py [--address HOST:PORT] [--namespace NS] [--task-queue Q] [--data-dir DIR] [--rules PATH]

Every flag has an environment variable (Temporal's own names where they exist); flags win.
Stops gracefully on SIGINT / SIGTERM.
"""

from __future__ import annotations

import argparse
import os


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="worker.py", description="Run a leadflow worker.")
    parser.add_argument(
        "--address",
        default=os.environ.get("TEMPORAL_ADDRESS", "localhost:7233"),
        help="Temporal frontend host:port (env TEMPORAL_ADDRESS; default localhost:7233)",
    )
    parser.add_argument(
        "--namespace",
        default=os.environ.get("TEMPORAL_NAMESPACE", "default"),
        help="Temporal namespace (env TEMPORAL_NAMESPACE; default 'default')",
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
    return parser
