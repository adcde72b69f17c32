"""leadflow's command line: `python starter.py COMMAND ...`.

`rules` (check, diagram, backtest) works on files alone and needs no Temporal. Reading files
happens here, never in `domain/`. Each command group adds itself in `build_parser()`; a handler
takes the parsed arguments and returns the exit code: 0 done, 2 bad input (one line per problem
on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from domain.backtest import (
    REFERENCE_TIME,
    LeadResult,
    SkippedRow,
    render_text,
    replay,
    summarise,
)
from domain.diagram import MACHINES, markdown, mermaid, mermaid_all
from domain.errors import RulesError
from domain.rules import Rules
from domain.rules_file import parse_rules
from domain.xeducation import ID_COLUMN, SCORING_COLUMNS

EXIT_OK = 0
EXIT_BAD_INPUT = 2

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
    return parser


def _add_rules_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rules = commands.add_parser(
        "rules",
        help="check, diagram or back-test a rules file (no Temporal needed)",
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

    backtest = actions.add_parser(
        "backtest",
        help="re-score historical leads with a rules file and report stages, tiers and ROC AUC",
    )
    backtest.add_argument("path", help="the rules file, e.g. rules/default.yaml")
    backtest.add_argument(
        "--data",
        required=True,
        metavar="CSV",
        help="leads in the X Education CSV format (see docs/rules.md)",
    )
    backtest.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    backtest.add_argument(
        "--workers",
        type=int,
        default=min(os.cpu_count() or 1, 8),
        help="processes to replay leads in (default: one per core, at most 8)",
    )
    backtest.set_defaults(handler=_rules_backtest)


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


def _rules_backtest(args: argparse.Namespace) -> int:
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
    rows: Rows = []
    bad: list[SkippedRow] = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if not header or not any(h.strip() for h in header):
                raise CliError(f"{path}: is empty; expected a header line with the X Education columns")
            header = [h.strip() for h in header]
            _check_header(path, header)
            while True:
                line = reader.line_num + 1
                try:
                    fields = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    bad.append(SkippedRow(line=line, error=f"not valid CSV: {exc}"))
                    continue
                if not fields:
                    continue  # a blank line
                if len(fields) != len(header):
                    bad.append(SkippedRow(line=line, error=f"has {len(fields)} fields; the header has {len(header)}"))
                    continue
                rows.append((line, dict(zip(header, fields, strict=True))))
    except OSError as exc:
        raise CliError(f"{path}: cannot read the data file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise CliError(f"{path}: is not UTF-8 text (byte {exc.start} of a read block): {exc.reason}") from None
    return rows, bad


def _check_header(path: str, header: list[str]) -> None:
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise CliError(f"{path}:1: column(s) named twice: {', '.join(duplicates)}")
    if ID_COLUMN not in header:
        raise CliError(f"{path}:1: no {ID_COLUMN!r} column; is this a leads file in the X Education format?")
    absent = sorted(SCORING_COLUMNS - set(header))
    if absent:
        print(f"{path}:1: note: column(s) absent, read as empty: {', '.join(absent)}", file=sys.stderr)


def replay_in_parallel(rules: Rules, rows: Rows, workers: int) -> tuple[list[LeadResult], list[SkippedRow]]:
    """`domain.backtest.replay` over chunks of rows in `workers` processes (in-process when 1)."""
    if workers <= 1 or len(rows) < 400:
        return replay(rules, rows, REFERENCE_TIME)
    size = -(-len(rows) // (workers * 4))
    chunks = [rows[i : i + size] for i in range(0, len(rows), size)]
    results: list[LeadResult] = []
    skipped: list[SkippedRow] = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for chunk_results, chunk_skipped in pool.map(_replay_chunk, [rules] * len(chunks), chunks):
            results += chunk_results
            skipped += chunk_skipped
    return results, skipped


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


if __name__ == "__main__":
    sys.exit(main())
