"""leadflow's command line: `python starter.py COMMAND ...`.

`rules` (check, diagram, backtest) works on files alone and needs no Temporal. Reading files
happens here, never in `domain/`. Each command group adds itself in `build_parser()`; a handler
takes the parsed arguments and returns the exit code: 0 done, 2 bad input (one line per problem
on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import threading
import uuid
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from temporalio.client import (
    Client,
)

from activities.ledger import Ledger
from activities.rules_store import RulesStore
from domain.backtest import (
    REFERENCE_TIME,
    LeadResult,
    SkippedRow,
    render_text,
    replay,
    summarise,
)
from domain.diagram import MACHINES, markdown, mermaid, mermaid_all
from domain.errors import LeadflowError, RulesError
from domain.models import (
    HandToSales,
    LeadEvent,
    RecordOutcome,
    SubmitFeedback,
    describe_validation_error,
)
from domain.rules import Rules
from domain.rules_diff import diff_rules, render_diff
from domain.rules_file import parse_rules
from domain.state import LeadView
from domain.vocabulary import EventKind, Outcome, Source
from domain.xeducation import SCORING_COLUMNS
from leadclient.connect import exit_now
from leadclient.csvfile import LeadsFileError
from leadclient.csvfile import read_leads_csv as leads_file
from leadclient.importer import active_reps, load_import, render_import_summary, run_import
from leadclient.leads import (
    BadInput,
    Connection,
    StarterError,
    accept,
    build_request,
    disqualify,
    hand_to_sales,
    parse_intake,
    reassign,
    record_event,
    record_outcome,
    reject,
    show,
    submit_feedback,
    submit_lead,
)
from leadclient.ledger_backtest import compare, render_ledger_text
from leadclient.ops import publish_rules, stuck_handoffs
from reporting.html import render_report_html
from reporting.report import build_report, render_report_text

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # as a shell reports SIGINT

Handler = Callable[[argparse.Namespace], int]
Rows = list[tuple[int, dict[str, str]]]


class CliError(Exception):
    """A problem to report as one or more lines on stderr, then exit 2."""

    def __init__(self, *lines: str) -> None:
        self.lines = lines
        super().__init__("\n".join(lines))


# --- the parser ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The whole command line. Command groups add their subparsers here."""
    parser = argparse.ArgumentParser(
        prog="starter.py",
        description="leadflow: submit and follow leads; check, diagram and back-test rules files.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_rules_commands(commands)
    _add_lead_commands(commands)
    _add_report_command(commands)
    _add_import_command(commands)
    return parser


def _add_rules_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rules = commands.add_parser(
        "rules",
        help="check, diff, diagram or back-test a rules file (no Temporal needed); publish it",
        description="Work on a rules file, as process owners do, before publishing it.",
    )
    actions = rules.add_subparsers(dest="rules_command", required=True, metavar="ACTION")

    check = actions.add_parser("check", help="validate a rules file: `ok <version>` or one line per problem")
    check.add_argument("path", help="the rules file, e.g. rules/default.yaml")
    check.set_defaults(handler=_rules_check)

    diagram = actions.add_parser("diagram", help="print the state machines as mermaid text")
    diagram.add_argument("path", help="the rules file, e.g. rules/default.yaml")
    diagram.add_argument("--machine", choices=[*MACHINES, "all"], default="all", help="one machine (default: all)")
    diagram.add_argument("--markdown", action="store_true", help="the docs page (docs/state-machine.md)")
    diagram.set_defaults(handler=_rules_diagram)

    diff = actions.add_parser("diff", help="what changes from one rules file to another, in words")
    diff.add_argument("old", help="the rules file as it is, e.g. rules/default.yaml")
    diff.add_argument("new", help="the changed rules file")
    diff.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    diff.set_defaults(handler=_rules_diff)

    backtest = actions.add_parser(
        "backtest",
        help="re-decide historical leads with a rules file: stages, tiers, SLA load, ROC AUC",
        description="Replay leads from a CSV (--data), or the ledger's leads under the published and the "
        "given rules side by side (--ledger).",
    )
    backtest.add_argument("path", help="the rules file, e.g. rules/default.yaml")
    history = backtest.add_mutually_exclusive_group(required=True)
    history.add_argument(
        "--data",
        metavar="CSV",
        help="leads in the X Education CSV format (see docs/rules.md)",
    )
    history.add_argument(
        "--ledger",
        action="store_true",
        help="the leads in <data-dir>/ledger.sqlite3, compared with the published rules (see docs/rules.md)",
    )
    backtest.add_argument(
        "--data-dir",
        default=os.environ.get("LEADFLOW_DATA_DIR", ".data"),
        help="with --ledger: the workers' data directory (env LEADFLOW_DATA_DIR; default .data)",
    )
    backtest.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    backtest.add_argument(
        "--workers",
        type=int,
        default=min(os.cpu_count() or 1, 8),
        help="processes to replay leads in (default: one per core, at most 8)",
    )
    backtest.set_defaults(handler=_rules_backtest)

    publish = actions.add_parser(
        "publish",
        parents=[_connection_options()],
        help="validate and publish a rules file: new leads use it at once, running leads switch",
    )
    publish.add_argument("path", help="the rules file, e.g. rules/default.yaml")
    publish.add_argument(
        "--data-dir",
        default=os.environ.get("LEADFLOW_DATA_DIR", ".data"),
        help="the workers' data directory, where published rules are stored (env LEADFLOW_DATA_DIR)",
    )
    publish.set_defaults(handler=_async(_rules_publish))


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed usage or help
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except CliError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        return EXIT_BAD_INPUT


# --- rules ---------------------------------------------------------------------------------


def _rules_check(args: argparse.Namespace) -> int:
    rules = load_rules(args.path)
    print(f"ok {rules.version}")
    return EXIT_OK


def _rules_diagram(args: argparse.Namespace) -> int:
    rules = load_rules(args.path)
    if args.markdown:
        sys.stdout.write(markdown(rules, args.path))
    elif args.machine == "all":
        sys.stdout.write(mermaid_all(rules))
    else:
        print(mermaid(rules, args.machine))
    return EXIT_OK


def _rules_diff(args: argparse.Namespace) -> int:
    problems: list[str] = []
    loaded: list[Rules] = []
    for path in (args.old, args.new):
        try:
            loaded.append(load_rules(path))
        except CliError as exc:
            problems += exc.lines
    if problems:
        raise CliError(*problems)
    old, new = loaded
    changes = diff_rules(old, new)
    if args.json:
        body = [c.model_dump(mode="json") | {"line": str(c)} for c in changes]
        print(json.dumps({"old": old.version, "new": new.version, "changes": body}))
    else:
        print(render_diff(changes))
    return EXIT_OK


def _rules_backtest(args: argparse.Namespace) -> int:
    if args.ledger:
        return _rules_backtest_ledger(args)
    rules = load_rules(args.path)
    rows, bad_rows = read_leads_csv(args.data)
    results, skipped = replay_in_parallel(rules, rows, max(1, args.workers))
    skipped = [*bad_rows, *skipped]
    for row in sorted(skipped, key=lambda s: s.line):
        print(f"{args.data}:{row.line}: {row.error} (row skipped)", file=sys.stderr)
    report = summarise(rules.version, results, skipped)
    if args.json:
        print(json.dumps(report.model_dump(mode="json")))
    else:
        print(render_text(report, list_skipped=False))
    return EXIT_OK


def _rules_backtest_ledger(args: argparse.Namespace) -> int:
    """The ledger's leads re-decided under the published rules and under PATH (`leadclient.ledger_backtest`)."""
    proposed = load_rules(args.path)
    ledger_path = Path(args.data_dir) / "ledger.sqlite3"
    if not ledger_path.exists():
        raise CliError(f"{ledger_path}: no ledger here (is --data-dir / LEADFLOW_DATA_DIR right?)")
    store = RulesStore(Path(args.data_dir) / "rules", Path(os.environ.get("LEADFLOW_RULES", "rules/default.yaml")))
    try:
        current = store.current()
    except (RulesError, OSError) as exc:
        raise CliError(f"the published rules cannot be read: {exc}") from None

    def recorded_rules(version: str) -> Rules | None:
        try:
            return store.get(version)
        except (LeadflowError, OSError):
            return None

    entries = Ledger(ledger_path).all_entries()
    report = compare(entries, current, proposed, datetime.now(UTC), recorded_rules=recorded_rules, workers=args.workers)
    if args.json:
        print(report.model_dump_json())
    else:
        published = "published" if store.current_version() else f"{store.default_path}, nothing published"
        print(render_ledger_text(report, published, args.path))
    return EXIT_OK


def load_rules(path: str) -> Rules:
    """Read and validate a rules file; `CliError` with one line per problem."""
    text = _read_text(path, "rules file")
    try:
        return parse_rules(text, path)
    except RulesError as exc:
        raise CliError(*(str(p) for p in exc.problems)) from None


# --- back-testing --------------------------------------------------------------------------


def read_leads_csv(path: str) -> tuple[Rows, list[SkippedRow]]:
    """(line, row) for each data row, and the rows that are not even CSV-shaped, by line."""
    try:
        found = leads_file(path, SCORING_COLUMNS)
    except LeadsFileError as exc:
        raise CliError(str(exc)) from None
    return found.rows, [SkippedRow(line=line, error=error) for line, error in found.malformed]


def replay_in_parallel(rules: Rules, rows: Rows, workers: int) -> tuple[list[LeadResult], list[SkippedRow]]:
    """`domain.backtest.replay` over chunks of rows in `workers` processes (in-process when 1)."""
    if workers <= 1 or len(rows) < 400 or not _can_fork():
        return replay(rules, rows, REFERENCE_TIME)
    size = -(-len(rows) // (workers * 4))
    chunks = [rows[i : i + size] for i in range(0, len(rows), size)]
    results: list[LeadResult] = []
    skipped: list[SkippedRow] = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
        for chunk_results, chunk_skipped in pool.map(_replay_chunk, [rules] * len(chunks), chunks):
            results += chunk_results
            skipped += chunk_skipped
    return results, skipped


def _can_fork() -> bool:
    """Fork is cheap and needs no importable `__main__` (spawn re-runs the caller's script), but it
    is unsafe once the process runs other threads: then the caller replays in-process."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _replay_chunk(rules: Rules, rows: Rows) -> tuple[list[LeadResult], list[SkippedRow]]:
    return replay(rules, rows, REFERENCE_TIME)


# --- helpers -------------------------------------------------------------------------------


def _read_text(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise CliError(f"{path}: is a directory, not a {what}") from None
    except UnicodeDecodeError as exc:
        raise CliError(f"{path}: is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except OSError as exc:
        raise CliError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None


# --- lead commands (need a running Temporal and worker) --------------------------------------

Connect = Callable[[], Awaitable[Connection]]
AsyncHandler = Callable[[argparse.Namespace, Connect], Awaitable[int]]


def _connection_options() -> argparse.ArgumentParser:
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument("--address", help="Temporal host:port (env TEMPORAL_ADDRESS; default localhost:7233)")
    connection.add_argument("--namespace", help="Temporal namespace (env TEMPORAL_NAMESPACE; default 'default')")
    connection.add_argument("--task-queue", help="the workers' task queue (env LEADFLOW_TASK_QUEUE; default leadflow)")
    connection.add_argument("--json", action="store_true", help="print one JSON object")
    return connection


def _add_lead_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    connection = _connection_options()
    lead_help = "lead id (lead-…), e-mail, phone (+…) or external:ID"

    submit = commands.add_parser("submit", parents=[connection], help="submit a lead (a repeat merges)")
    submit.add_argument("--email")
    submit.add_argument("--phone", help="with country code, e.g. +44 20 7946 0958")
    submit.add_argument("--external-id")
    submit.add_argument("--name")
    submit.add_argument("--company")
    submit.add_argument("--source", help=f"one of: {', '.join(s.value for s in Source)}")
    submit.add_argument("--referrer")
    submit.add_argument("--country")
    submit.add_argument("--city")
    submit.add_argument("--do-not-email", action="store_true")
    submit.add_argument("--do-not-call", action="store_true")
    submit.add_argument("--attr", action="append", default=[], metavar="KEY=VALUE", help="profile attribute")
    submit.set_defaults(handler=_async(_submit))

    event = commands.add_parser("event", parents=[connection], help="report something the lead did")
    event.add_argument("lead", help=lead_help)
    event.add_argument("kind", help=f"one of: {', '.join(k.value for k in EventKind)}")
    event.add_argument("--id", dest="event_id", help="event id for deduplication (default: a new one)")
    event.add_argument("--at", help="when it happened, ISO 8601 with zone (default: now)")
    event.add_argument("--prop", action="append", default=[], metavar="KEY=VALUE")
    event.set_defaults(handler=_async(_event))

    accept_cmd = commands.add_parser("accept", parents=[connection], help="a rep accepts the lead")
    accept_cmd.add_argument("lead", help=lead_help)
    accept_cmd.add_argument("--rep", required=True)
    accept_cmd.set_defaults(handler=_async(_accept))

    reject_cmd = commands.add_parser("reject", parents=[connection], help="a rep rejects the lead")
    reject_cmd.add_argument("lead", help=lead_help)
    reject_cmd.add_argument("--rep", required=True)
    reject_cmd.add_argument("--reason", required=True, help="a reject reason code from the rules")
    reject_cmd.add_argument("--note", default="")
    reject_cmd.set_defaults(handler=_async(_reject))

    outcome = commands.add_parser("outcome", parents=[connection], help="record won or lost")
    outcome.add_argument("lead", help=lead_help)
    verdict = outcome.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--won", action="store_true")
    verdict.add_argument("--lost", action="store_true")
    outcome.add_argument("--reason", help="a lost reason code from the rules (required with --lost)")
    outcome.add_argument("--note", default="")
    outcome.set_defaults(handler=_async(_outcome))

    feedback = commands.add_parser("feedback", parents=[connection], help="rate the lead's quality (1-5)")
    feedback.add_argument("lead", help=lead_help)
    feedback.add_argument("--rating", type=int, required=True)
    feedback.add_argument("--reason", action="append", default=[], help="a reason code (repeatable)")
    feedback.add_argument("--note", default="")
    feedback.set_defaults(handler=_async(_feedback))

    reassign_cmd = commands.add_parser("reassign", parents=[connection], help="ops: give the handoff to a rep")
    reassign_cmd.add_argument("lead", help=lead_help)
    reassign_cmd.add_argument("--to", required=True)
    reassign_cmd.add_argument("--by", default=os.environ.get("USER", "ops"))
    reassign_cmd.set_defaults(handler=_async(_reassign))

    disqualify_cmd = commands.add_parser("disqualify", parents=[connection], help="ops: disqualify the lead")
    disqualify_cmd.add_argument("lead", help=lead_help)
    disqualify_cmd.add_argument("--reason", required=True)
    disqualify_cmd.add_argument("--by", default=os.environ.get("USER", "ops"))
    disqualify_cmd.set_defaults(handler=_async(_disqualify))

    qualify = commands.add_parser("qualify", parents=[connection], help="sales/ops: hand the lead to sales now")
    qualify.add_argument("lead", help=lead_help)
    qualify.add_argument("--by", default=os.environ.get("USER", "ops"))
    qualify.add_argument("--reason", default="", help="why (kept in the timeline)")
    qualify.set_defaults(handler=_async(_qualify))

    show_cmd = commands.add_parser("show", parents=[connection], help="the lead's standing and timeline")
    show_cmd.add_argument("lead", help=lead_help)
    show_cmd.add_argument(
        "--data-dir",
        default=os.environ.get("LEADFLOW_DATA_DIR", ".data"),
        help="the workers' data directory: the ledger adds handoffs, notifications and feedback to the timeline",
    )
    show_cmd.set_defaults(handler=_async(_show))

    stuck = commands.add_parser(
        "stuck", parents=[connection], help="ops: every overdue or escalated handoff, oldest first"
    )
    stuck.set_defaults(handler=_async(_stuck))


def _async(handler: AsyncHandler) -> Handler:
    """Lead commands are async: they get a connection (or the one a test hands in)."""

    def run(args: argparse.Namespace) -> int:
        return asyncio.run(_with_connection(handler, args))

    run.async_handler = handler  # type: ignore[attr-defined]
    return run


async def _with_connection(handler: AsyncHandler, args: argparse.Namespace, client: Client | None = None) -> int:
    """Handlers validate their input first and connect only when it is good (`connect()`)."""

    async def connect() -> Connection:
        return await Connection.from_env(args.address, args.namespace, args.task_queue, client=client)

    try:
        return await handler(args, connect)
    except StarterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT if isinstance(exc, BadInput) else EXIT_FAILED


async def amain(argv: Sequence[str], client: Client | None = None) -> int:
    """`main` for callers that already run an event loop (tests hand in their own client)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    handler = getattr(args.handler, "async_handler", None)
    if handler is None:
        return main(argv)
    return await _with_connection(handler, args, client)


def _key_values(pairs: Sequence[str], what: str) -> dict[str, str | int | float | bool]:
    values: dict[str, str | int | float | bool] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"{what} {pair!r} is not KEY=VALUE")
        values[key.strip()] = _scalar(raw.strip())
    return values


def _scalar(raw: str) -> str | int | float | bool:
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw


def _print_view(view: LeadView, as_json: bool, extra: dict[str, Any] | None = None) -> int:
    if as_json:
        data = view.model_dump(mode="json")
        print(json.dumps({**data, **(extra or {})}, sort_keys=False))
        return EXIT_OK
    deadline = f"{view.handoff_deadline:%Y-%m-%d %H:%M:%S} UTC" if view.handoff_deadline else "-"
    print(f"{view.lead_id}  {view.stage.value} / {view.temperature.value} / {view.tier.value}  score {view.score:g}")
    print(f"  {view.waiting_for}")
    print(
        f"  rep {view.assigned_rep or '-'}  handoff {view.handoff_status.value}"
        f" (attempt {view.handoff_attempt} of {view.handoff_max_attempts})  deadline {deadline}"
    )
    print(f"  source {view.source}  events {view.events}  duplicates {view.duplicates}  rules {view.rules_version}")
    return EXIT_OK


async def _submit(args: argparse.Namespace, connect: Connect) -> int:
    data: dict[str, Any] = {
        key: value
        for key, value in {
            "email": args.email,
            "phone": args.phone,
            "external_id": args.external_id,
            "name": args.name,
            "company": args.company,
            "source": args.source,
            "referrer": args.referrer,
            "country": args.country,
            "city": args.city,
        }.items()
        if value is not None
    }
    data["consent"] = {"do_not_email": args.do_not_email, "do_not_call": args.do_not_call}
    data["attributes"] = _key_values(args.attr, "--attr")
    intake = parse_intake(data)
    view = await submit_lead(await connect(), intake)
    if args.json:
        keys = ("lead_id", "stage", "temperature", "tier", "score", "duplicate")
        print(json.dumps({k: v for k, v in view.model_dump(mode="json").items() if k in keys}))
        return EXIT_OK
    print(("merged into " if view.duplicate else "submitted ") + view.lead_id)
    return _print_view(view, False)


async def _event(args: argparse.Namespace, connect: Connect) -> int:
    now = datetime.now(UTC)
    payload = {
        "event_id": args.event_id or f"cli-{uuid.uuid4().hex}",
        "kind": args.kind,
        "occurred_at": args.at or now,
        "properties": _key_values(args.prop, "--prop"),
    }
    try:
        event = LeadEvent.model_validate(payload, context={"now": now})
    except ValidationError as exc:
        raise BadInput(f"invalid event: {describe_validation_error(exc)}") from None
    conn = await connect()
    view = await record_event(conn, conn.lead_id(args.lead), event)
    assert view is not None
    return _print_view(view, args.json)


async def _accept(args: argparse.Namespace, connect: Connect) -> int:
    conn = await connect()
    return _print_view(await accept(conn, args.lead, args.rep), args.json)


async def _reject(args: argparse.Namespace, connect: Connect) -> int:
    conn = await connect()
    return _print_view(await reject(conn, args.lead, args.rep, args.reason, args.note), args.json)


async def _outcome(args: argparse.Namespace, connect: Connect) -> int:
    verdict = Outcome.WON if args.won else Outcome.LOST
    build_request(RecordOutcome, outcome=verdict, reason=args.reason, note=args.note)  # bad input stops here
    conn = await connect()
    return _print_view(await record_outcome(conn, args.lead, verdict, args.reason, args.note), args.json)


async def _feedback(args: argparse.Namespace, connect: Connect) -> int:
    build_request(SubmitFeedback, rating=args.rating, reasons=args.reason, note=args.note)  # bad input stops here
    conn = await connect()
    return _print_view(await submit_feedback(conn, args.lead, args.rating, args.reason, args.note), args.json)


async def _reassign(args: argparse.Namespace, connect: Connect) -> int:
    conn = await connect()
    return _print_view(await reassign(conn, args.lead, args.to, args.by), args.json)


async def _disqualify(args: argparse.Namespace, connect: Connect) -> int:
    conn = await connect()
    return _print_view(await disqualify(conn, args.lead, args.reason, args.by), args.json)


async def _qualify(args: argparse.Namespace, connect: Connect) -> int:
    build_request(HandToSales, by=args.by, reason=args.reason)  # bad input stops here
    conn = await connect()
    return _print_view(await hand_to_sales(conn, args.lead, args.by, args.reason), args.json)


async def _show(args: argparse.Namespace, connect: Connect) -> int:
    conn = await connect()
    view = await show(conn, args.lead)
    journal = _journal(Path(args.data_dir) / "ledger.sqlite3", view.lead_id)
    if args.json:
        return _print_view(view, True, {"journal": journal} if journal is not None else None)
    _print_view(view, False)
    if journal is None:
        print("  timeline (transitions; the ledger with handoffs and notifications is not readable here):")
        for t in view.timeline:
            when = f"{t.at:%Y-%m-%d %H:%M:%S}"
            print(f"    {when}  {t.machine:11} {t.source:>10} → {t.dest:<12} {t.reason}  [{t.rules_version}]")
    else:
        print("  timeline:")
        for row in journal:
            print(f"    {row['at'][:19].replace('T', ' ')}  {row['kind']:12} {row['text']}  [{row['rules_version']}]")
    print("  score:")
    for line in view.explanation:
        print(f"    {line.points:+7.2f}  {line.kind:10} {line.name}")
    return EXIT_OK


def _journal(ledger_path: Path, lead_id: str) -> list[dict[str, Any]] | None:
    """The lead's ledger as readable lines: transitions, handoffs, notifications, outcome, feedback."""
    if not ledger_path.exists():
        return None
    rows = []
    for entry in Ledger(ledger_path).entries(lead_id):
        d = entry.data
        if entry.kind == "transition":
            text = f"{d['machine']}: {d['source']} → {d['dest']} ({d['trigger']}) — {d['reason']}"
        elif entry.kind == "handoff":
            text = f"handoff {d.get('status')}: rep {d.get('rep') or '-'}, attempt {d.get('attempt')}"
            text += f", reason {d['reason']}" if d.get("reason") else ""
        elif entry.kind == "notification":
            text = f"notified {d.get('to')}: {d.get('topic')}"
        elif entry.kind == "outcome":
            text = f"outcome {d.get('outcome')}" + (f" ({d['reason']})" if d.get("reason") else "")
        elif entry.kind == "feedback":
            text = "feedback missed" if d.get("missed") else f"feedback {d.get('rating')}/5 {d.get('reasons') or ''}"
        elif entry.kind == "event":
            text = f"event {d.get('kind')}"
        elif entry.kind == "intake":
            text = "intake (duplicate submission merged)" if d.get("duplicate") else f"intake from {d.get('source')}"
        else:
            text = entry.kind
        rows.append(
            {
                "seq": entry.seq,
                "at": entry.at.isoformat(),
                "kind": entry.kind,
                "text": text,
                "rules_version": entry.rules_version,
            }
        )
    return rows


# --- the sales–marketing review report (from the ledger; no Temporal needed) --------------------


def _add_report_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = commands.add_parser(
        "report",
        help="sales–marketing review: funnel, speed to lead, quality by source, recycled leads",
        description="Read the ledger and report for the review meeting: a terminal table, or HTML with charts.",
    )
    report.add_argument("--since", help="only what happened on or after this date (YYYY-MM-DD, UTC)")
    report.add_argument("--html", metavar="PATH", help="also write an HTML page with charts here")
    report.add_argument("--json", action="store_true", help="print the report as one JSON object")
    report.add_argument(
        "--data-dir",
        default=os.environ.get("LEADFLOW_DATA_DIR", ".data"),
        help="where the ledger is (env LEADFLOW_DATA_DIR; default .data)",
    )
    report.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    since: datetime | None = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since)
        except ValueError:
            raise CliError(f"--since {args.since!r} is not a date (try 2026-01-31)") from None
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
    ledger_path = Path(args.data_dir) / "ledger.sqlite3"
    if not ledger_path.exists():
        raise CliError(f"{ledger_path}: no ledger here (is --data-dir / LEADFLOW_DATA_DIR right?)")
    entries = Ledger(ledger_path).all_entries(since)
    summary = build_report(entries, since=since, now=datetime.now(UTC))
    if args.json:
        print(summary.model_dump_json())
    else:
        print(render_report_text(summary))
    if args.html:
        Path(args.html).write_text(render_report_html(summary), encoding="utf-8")
        print(f"wrote {args.html}", file=sys.stderr)
    return EXIT_OK


# --- real-data replay (needs a running Temporal and worker) ------------------------------------


def _add_import_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    replay = commands.add_parser(
        "import",
        parents=[_connection_options()],
        help="replay leads from an X Education CSV through the running engine (see docs/import.md)",
        description="Intake, engagement events and what sales did (Tags, Converted, Lead Quality), lead by lead. "
        "Idempotent: leads imported before are skipped.",
    )
    replay.add_argument("csv", help="leads in the X Education CSV format, e.g. ../shared/data/x-education-leads.csv")
    replay.add_argument("--limit", type=int, help="only the first N data rows")
    replay.add_argument("--concurrency", type=int, default=8, help="leads in flight at once (default 8)")
    replay.add_argument(
        "--rep",
        action="append",
        default=[],
        help="a rep for leads nobody was free to take (repeatable; default: the active reps of $LEADFLOW_RULES "
        "or rules/default.yaml)",
    )
    replay.add_argument("--no-progress", action="store_true", help="no progress bar (it shows only on a terminal)")
    replay.set_defaults(handler=_async(_import))


async def _import(args: argparse.Namespace, connect: Connect) -> int:
    if args.concurrency < 1:
        raise BadInput(f"--concurrency must be at least 1, not {args.concurrency}")
    source = load_import(args.csv, args.limit)  # the file is checked before connecting
    reps = args.rep or active_reps(os.environ.get("LEADFLOW_RULES", "rules/default.yaml"))
    summary = await run_import(await connect(), source, args.concurrency, not args.no_progress, reps)
    print(summary.model_dump_json() if args.json else render_import_summary(summary))
    return EXIT_OK if summary.ok else EXIT_FAILED


# --- ops and publishing ----------------------------------------------------------------------


async def _stuck(args: argparse.Namespace, connect: Connect) -> int:
    leads = await stuck_handoffs(await connect())
    if args.json:
        print(json.dumps([lead.model_dump(mode="json") for lead in leads]))
        return EXIT_OK
    if not leads:
        print("No stuck handoffs: every handed-off lead is within its deadline or accepted.")
        return EXIT_OK
    header = f"{'lead':30} {'status':9} {'stage':6} {'temp':5} {'tier':6} {'rep':8} {'deadline (UTC)':16} "
    print(header + f"{'overdue':>9} attempt")
    for lead in leads:
        deadline = f"{lead.deadline:%Y-%m-%d %H:%M}" if lead.deadline else "-"
        overdue = _duration_text(lead.overdue_seconds) if lead.overdue_seconds is not None else "-"
        attempt = f"{lead.attempt} of {lead.max_attempts}" if lead.max_attempts else str(lead.attempt)
        print(
            f"{lead.lead_id:30} {lead.status:9} {lead.stage:6} {lead.temperature:5} {lead.tier:6} "
            f"{lead.rep or '-':8} {deadline:16} {overdue:>9} {attempt}"
        )
    return EXIT_OK


def _duration_text(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes}m" if minutes else f"{int(seconds)}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    return f"{hours // 24}d{hours % 24:02d}h"


async def _rules_publish(args: argparse.Namespace, connect: Connect) -> int:
    path = Path(args.path)
    store = RulesStore(Path(args.data_dir) / "rules", Path(os.environ.get("LEADFLOW_RULES", "rules/default.yaml")))
    load_rules(args.path)  # validate first: an invalid file changes nothing and reaches no server
    result = await publish_rules(await connect(), path, store)
    if args.json:
        print(result.model_dump_json())
    elif result.previous_version == result.version:
        print(f"{result.version} is already the published version; nothing to do")
    else:
        print(f"published {result.version} ({result.name}); was {result.previous_version or 'the default file'}")
        print(f"told {result.signalled} running lead(s) to switch at their next decision")
    return EXIT_OK


if __name__ == "__main__":
    exit_now(main())
