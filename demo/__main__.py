"""`make run`: dev server + worker + demo leads, until Ctrl-C.

    python -m demo [--data-dir .data/demo] [--port 7233] [--ui-port 8233] [--seed 7] [--once]

Starts `temporal server start-dev` (SQLite under the data directory, WAL pragmas, every custom
search attribute) and `worker.py` with the demo rules (short SLAs), feeds seeded demo leads and plays
sales and ops, so within about two minutes the Web UI shows leads in every stage — an overdue
handoff, an escalation, a completed lead with feedback among them. Ctrl-C stops everything.
`--once` waits until the demo has played out, prints the stage counts and stops (used by a test).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from demo import devserver
from demo.generator import DemoLead, demo_leads, event_payload
from domain.models import LeadEvent
from domain.vocabulary import Outcome, Stage
from leadclient import leads as api
from leadclient.connect import exit_now
from leadclient.ops import VIEWS  # the demo plays a backend, sales and ops through the client library

ROOT = Path(__file__).resolve().parent.parent
DEMO_RULES = ROOT / "rules" / "demo.yaml"
QUERIES = VIEWS  # the same views docs/ops.md and the README show


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".data" / "demo")
    parser.add_argument("--port", type=int, default=7233)
    parser.add_argument("--ui-port", type=int, default=8233)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--once", action="store_true", help="play the demo out, print the counts, stop")
    parser.add_argument("--keep", action="store_true", help="keep the previous demo's data")
    args = parser.parse_args(argv)

    if not args.keep and args.data_dir.exists():
        shutil.rmtree(args.data_dir)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    say(f"leadflow demo — data under {args.data_dir}")
    server = devserver.start(args.data_dir, port=args.port, ui_port=args.ui_port, headless=args.once)
    say(f"Temporal dev server on {server.address} (pid {server.process.pid}), Web UI {server.ui_url or 'off'}")
    worker = start_worker(args.data_dir, server.address)
    say(f"worker started (pid {worker.pid}), log {args.data_dir / 'worker.log'}")
    stop = asyncio.Event()
    try:
        return asyncio.run(play(args, server, stop))
    except KeyboardInterrupt:
        return 0
    finally:
        say("stopping worker and server…")
        stop_process(worker)
        server.stop()
        say("stopped.")


def start_worker(data_dir: Path, address: str) -> subprocess.Popen[bytes]:
    log = (data_dir / "worker.log").open("ab")
    env = {**os.environ, "LEADFLOW_LOG_LEVEL": os.environ.get("LEADFLOW_LOG_LEVEL", "INFO")}
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "worker.py"),
            "--address",
            address,
            "--data-dir",
            str(data_dir),
            "--rules",
            str(DEMO_RULES),
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    log.close()
    return process


def stop_process(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


async def play(args: argparse.Namespace, server: devserver.DevServer, stop: asyncio.Event) -> int:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    conn = await connect(server.address)
    leads = demo_leads(args.seed)
    ids = await feed(conn, leads)
    say(f"fed {len(leads)} demo leads; sales and ops are now playing their part.")
    where_to_look(server, args.data_dir)
    started = time.monotonic()
    sales_done = asyncio.create_task(play_sales(conn, leads, ids))
    while not stop.is_set():
        counts = await stage_counts(conn)
        say(
            "  "
            + "  ".join(f"{stage}: {n}" for stage, n in counts.items())
            + f"   (t+{time.monotonic() - started:.0f}s)"
        )
        if args.once and sales_done.done() and counts.get("customer") and await stuck_seen(conn):
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=10)
    sales_done.cancel()
    return 0


async def connect(address: str) -> api.Connection:
    deadline = time.monotonic() + 60
    while True:
        try:
            conn = await api.Connection.from_env(address=address, namespace="default")
            await conn.client.count_workflows("")
            return conn
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


async def feed(conn: api.Connection, leads: list[DemoLead]) -> dict[int, str]:
    ids: dict[int, str] = {}
    for lead in leads:
        now = datetime.now(UTC)
        view = await api.submit_lead(conn, api.parse_intake(lead.intake, now))
        ids[lead.number] = view.lead_id
        for index, kind in enumerate(lead.events):
            event = LeadEvent.model_validate(event_payload(lead, index, kind, datetime.now(UTC)))
            await api.record_event(conn, view.lead_id, event)
    return ids


async def play_sales(conn: api.Connection, leads: list[DemoLead], ids: dict[int, str]) -> None:
    """What sales and ops do, a few seconds apart, so the timeline reads like a day's work."""
    for lead in leads:
        lead_id = ids[lead.number]
        view = await api.show(conn, lead_id)
        rep = view.assigned_rep
        try:
            if lead.plan in ("win", "lose", "pending") and rep and view.stage is Stage.SQL:
                await api.accept(conn, lead_id, rep)
                if lead.plan == "win":
                    await api.record_outcome(conn, lead_id, Outcome.WON)
                    await api.submit_feedback(conn, lead_id, 5, ["good_fit", "ready_to_buy"])
                elif lead.plan == "lose":
                    await api.record_outcome(conn, lead_id, Outcome.LOST, "price")
                    await api.submit_feedback(conn, lead_id, 3, ["low_intent"])
            elif lead.plan == "reject" and rep:
                await api.reject(conn, lead_id, rep, "wrong_timing", "call again next quarter")
            elif lead.plan == "spam" and rep:
                await api.reject(conn, lead_id, rep, "spam")
            elif lead.plan == "reassign" and rep:
                other = next(r for r in ("r-03", "r-04", "r-01") if r != rep)
                await api.reassign(conn, lead_id, other, by="ops-demo")
                await api.accept(conn, lead_id, other)
            elif lead.plan == "disqualify":
                await api.disqualify(conn, lead_id, "test", by="ops-demo")
        except api.StarterError as exc:
            say(f"  demo: {lead.plan} on {lead_id}: {exc}")
        await asyncio.sleep(0.5)


async def stage_counts(conn: api.Connection) -> dict[str, int]:
    counts: dict[str, int] = {}
    for stage in Stage:
        result = await conn.client.count_workflows(f'LeadStage = "{stage.value}"')
        counts[stage.value] = result.count
    return counts


async def stuck_seen(conn: api.Connection) -> bool:
    returned = await conn.client.count_workflows('WorkflowType = "LeadWorkflow" AND ReturnedToMarketing = true')
    return returned.count > 0


def where_to_look(server: devserver.DevServer, data_dir: Path) -> None:
    if server.ui_url:
        say(f"\nWeb UI: {server.ui_url}/namespaces/default/workflows")
    say("Paste a query into the UI's search box (or `temporal workflow list --query '…'`):")
    for name, query in QUERIES.items():
        say(f"  {name + ':':30} {query}")
    say(f"Notifications (outbox): {data_dir / 'outbox.jsonl'}   Ledger: {data_dir / 'ledger.sqlite3'}")
    say(f"A lead from the CLI: TEMPORAL_ADDRESS={server.address} python leads.py show demo-001@example.com")
    say("Ctrl-C stops everything.\n")


def say(text: str) -> None:
    print(text, flush=True)


if __name__ == "__main__":
    exit_now(main())
