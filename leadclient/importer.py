"""Replay leads from a CSV in the X Education format through the running engine (`starter.py import`).

Per row: submit the intake (identity: the Prospect ID as external id), send its engagement as events
(ids `<Prospect ID>:<suffix>`, so sending them again is harmless), then — where the data says what
sales did — the sales actions, which `domain.xeducation.sales_plan_of` reads from the data.

Sales contacted the lead when `Tags` is filled or `Converted = 1`. Then the import hands the lead
to sales (as "import", citing the data) unless scoring already put it in SQL, and the assigned rep:

    Converted = 1 (whatever the tag)                               accept, won
    Ringing, switched off, Busy, invalid number, wrong number
      given, number not provided                                   reject not_reachable
    Already a student, Diploma holder (Not Eligible), Lateral
      student, Recognition issue (DEC approval), University
      not recognized                                               reject not_a_fit
    Not doing further education, opp hangup                        reject not_interested
    Graduation in progress                                         reject wrong_timing
    Will revert after reading the email, Still Thinking, In
      confusion whether part time or DLP, Closed by Horizzon,
      any tag not in this table                                    accept, lost no_decision
    Interested in other courses, Interested  in full time MBA      accept, lost other_course
    Lost to EINS, in touch with EINS, Lost to Others               accept, lost competitor
    Interested in Next batch, Shall take in the next coming month  accept, lost timing
    Want to take admission but has financial problems              accept, lost price
    no Tags and Converted not 1                                    nothing: sales never saw the lead

The table is `domain.xeducation.TAG_SALES_ACTIONS`. After the verdict, sales rates the lead when
`Lead Quality` is known (High in Relevance 5 … Worst 1), with the tag's reason
(`domain.xeducation.TAG_REASONS`; on a win only `ready_to_buy`); without it no rating is given and
the engine's feedback deadline passes as it would in life. When no rep is free at the handoff
(escalated, nobody assigned), the import reassigns the lead to an active rep: one it has seen
assigned during this run, else one of `reps`. `docs/import.md` explains each choice.

Idempotent: a lead whose workflow exists already (describe finds it) is skipped and counted as
`already_imported`. Up to `concurrency` leads are in flight at once. Nothing identifying but the
Prospect ID reaches Temporal; messages name lead ids (keyed hashes) and line numbers only.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel
from temporalio.service import RPCError, RPCStatusCode
from tqdm import tqdm

from domain.errors import LeadflowError
from domain.identity import lead_id_for
from domain.rules_file import parse_rules
from domain.state import LeadView
from domain.vocabulary import TIER_ORDER, Outcome, Stage, Temperature
from domain.xeducation import (
    FEEDBACK_COLUMNS,
    ID_COLUMN,
    OUTCOME_COLUMN,
    SCORING_COLUMNS,
    MappedLead,
    SalesPlan,
    map_row,
    outcome_of,
    sales_plan_of,
)
from leadclient.csvfile import LeadsFileError, read_leads_csv
from leadclient.leads import (
    BadInput,
    Connection,
    StarterError,
    accept,
    hand_to_sales,
    reassign,
    record_event,
    record_outcome,
    reject,
    submit_feedback,
    submit_lead,
)

__all__ = [
    "IMPORTED_BY",
    "ImportFile",
    "ImportFileError",
    "ImportSummary",
    "RowProblem",
    "active_reps",
    "import_csv",
    "load_import",
    "render_import_summary",
    "run_import",
]

IMPORTED_BY = "import"  # who the timeline says handed the lead to sales / reassigned it
RECEIVED_BEFORE_START = timedelta(hours=1)  # intake time: the events follow a minute apart, all in the past
ABORT_AFTER_FAILURES = 10  # this many leads failing in a row stop the import (engine down, worker gone)


class ImportFileError(BadInput):
    """The file cannot be imported at all (missing, unreadable, not CSV, no Prospect ID column)."""


class RowProblem(BaseModel):
    """A row that was not imported (or not as the data says), by its line in the file."""

    line: int
    error: str


class ImportSummary(BaseModel):
    """What one import did. `imported + skipped == rows`; counts per stage etc. are imported leads' final views."""

    file: str
    rows: int
    imported: int
    skipped: int
    already_imported: int
    malformed: list[RowProblem]
    failed: list[RowProblem]
    by_stage: dict[str, int]
    by_temperature: dict[str, int]
    by_tier: dict[str, int]
    conversion_by_tier: dict[str, float]
    customers: int
    converted_in_csv: int
    not_as_in_csv: list[RowProblem]
    sales_actions: dict[str, int]
    handed_to_sales: int
    reassigned: int
    rated: int
    rejections_by_reason: dict[str, int]
    lost_by_reason: dict[str, int]
    aborted: str | None = None
    seconds: float
    leads_per_second: float

    @property
    def ok(self) -> bool:
        """Every row was imported, already there, or malformed (reported); nothing failed."""
        return not self.failed and self.aborted is None and not self.not_as_in_csv


@dataclass(frozen=True)
class ImportRow:
    """One good row: the lead as the engine sees it and what sales did with it."""

    line: int
    lead: MappedLead
    converted: bool
    plan: SalesPlan | None


@dataclass(frozen=True)
class ImportFile:
    """A checked file: its good rows and its malformed ones. No Temporal needed to build it."""

    path: str
    rows: list[ImportRow]
    malformed: list[RowProblem]

    @property
    def count(self) -> int:
        return len(self.rows) + len(self.malformed)


# --- reading the file (before connecting) ------------------------------------------------------


def load_import(path: str | Path, limit: int | None = None, received_at: datetime | None = None) -> ImportFile:
    """Read and map the first `limit` data rows. File problems raise `ImportFileError`; a bad row is
    listed in `malformed` (by line) and reported on stderr, and the others are kept."""
    if limit is not None and limit < 1:
        raise ImportFileError(f"--limit must be at least 1, not {limit}")
    received_at = received_at or datetime.now(UTC) - RECEIVED_BEFORE_START
    rows: list[ImportRow] = []
    malformed: list[RowProblem] = []
    first_line: dict[str, int] = {}
    try:
        leads_file = read_leads_csv(str(path), SCORING_COLUMNS | {OUTCOME_COLUMN, *FEEDBACK_COLUMNS}, limit)
    except LeadsFileError as exc:
        raise ImportFileError(str(exc)) from None
    malformed.extend(RowProblem(line=line, error=error) for line, error in leads_file.malformed)
    for line, cells in leads_file.rows:
        try:
            lead = map_row(cells, received_at)
            converted = outcome_of(cells) is True
            plan = sales_plan_of(cells)
        except LeadflowError as exc:
            malformed.append(RowProblem(line=line, error=str(exc)))
            continue
        prospect = lead.intake.external_id or ""
        if prospect in first_line:
            malformed.append(RowProblem(line=line, error=f"{ID_COLUMN} repeats line {first_line[prospect]}"))
            continue
        first_line[prospect] = line
        rows.append(ImportRow(line=line, lead=lead, converted=converted, plan=plan))
    malformed.sort(key=lambda p: p.line)
    for problem in malformed:
        print(f"{path}:{problem.line}: {problem.error} (row skipped)", file=sys.stderr)
    return ImportFile(path=str(path), rows=rows, malformed=malformed)


def active_reps(rules_path: str | Path) -> list[str]:
    """The active reps of a rules file, or none when it cannot be read (a fallback, never an error)."""
    try:
        rules = parse_rules(Path(rules_path).read_text(encoding="utf-8"), str(rules_path))
    except (OSError, UnicodeDecodeError, LeadflowError):
        return []
    return [rep.id for rep in rules.team.reps if rep.active]


# --- replaying -------------------------------------------------------------------------------


async def import_csv(
    conn: Connection,
    path: str | Path,
    limit: int | None = None,
    concurrency: int = 8,
    progress: bool = True,
    reps: Sequence[str] = (),
) -> ImportSummary:
    """Read the file, then replay its leads through the engine (see the module docstring)."""
    return await run_import(conn, load_import(path, limit), concurrency, progress, reps)


async def run_import(
    conn: Connection,
    source: ImportFile,
    concurrency: int = 8,
    progress: bool = True,
    reps: Sequence[str] = (),
) -> ImportSummary:
    """Replay a loaded file with at most `concurrency` leads in flight. The progress bar goes to
    stderr, and only when it is a terminal (`progress=False` turns it off)."""
    if concurrency < 1:
        raise BadInput(f"concurrency must be at least 1, not {concurrency}")
    started = time.monotonic()
    run = _Run(conn, source.path, list(reps))
    gate = asyncio.Semaphore(concurrency)
    with tqdm(
        total=len(source.rows),
        desc="import",
        unit="lead",
        file=sys.stderr,
        disable=not progress or not sys.stderr.isatty(),
        dynamic_ncols=True,
    ) as bar:

        async def one(row: ImportRow) -> None:
            async with gate:
                if run.aborted is None:
                    in_flight.add(row.line)
                    await run.lead(row)
                    in_flight.discard(row.line)
            bar.update(1)
            if run.failed:
                bar.set_postfix(failed=len(run.failed), refresh=False)

        in_flight: set[int] = set()
        try:
            await asyncio.gather(*(one(row) for row in source.rows))
        except asyncio.CancelledError:  # Ctrl-C: say which leads may be half-replayed, then stop
            if in_flight:
                lines = ", ".join(str(line) for line in sorted(in_flight))
                print(f"{source.path}: interrupted; the leads of line(s) {lines} may be half-replayed", file=sys.stderr)
            raise
    return run.summary(source, time.monotonic() - started)


@dataclass
class _Done:
    line: int
    view: LeadView
    converted: bool
    plan: SalesPlan | None


@dataclass
class _Run:
    """One import in progress: the leads done so far and what the import learned on the way."""

    conn: Connection
    path: str
    reps: list[str]
    done: list[_Done] = field(default_factory=list)
    already: int = 0
    failed: list[RowProblem] = field(default_factory=list)
    failures_in_a_row: int = 0
    aborted: str | None = None
    handed: int = 0
    reassigned: int = 0
    rated: int = 0
    seen_reps: dict[str, None] = field(default_factory=dict)  # insertion-ordered set
    turn: int = 0

    async def lead(self, row: ImportRow) -> None:
        lead_id = lead_id_for(row.lead.intake, self.conn.id_secret)
        try:
            if await self._exists(lead_id):
                self.already += 1
            else:
                view = await self._replay(lead_id, row)
                self.done.append(_Done(row.line, view, row.converted, row.plan))
            self.failures_in_a_row = 0
        except StarterError as exc:
            self.failed.append(RowProblem(line=row.line, error=str(exc)))
            tqdm.write(f"{self.path}:{row.line}: {exc} (lead not completed)", file=sys.stderr)
            self.failures_in_a_row += 1
            if self.failures_in_a_row >= ABORT_AFTER_FAILURES and self.aborted is None:
                self.aborted = f"stopped after {ABORT_AFTER_FAILURES} leads failed in a row; last: {exc}"

    async def _exists(self, lead_id: str) -> bool:
        try:
            await self.conn.client.get_workflow_handle(lead_id).describe()
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                return False
            raise StarterError(f"{lead_id}: cannot look it up: {exc.message}") from None
        return True

    async def _replay(self, lead_id: str, row: ImportRow) -> LeadView:
        view = await submit_lead(self.conn, row.lead.intake)
        events = row.lead.events
        # Signals do not wait for the worker; the last event is an update, which the workflow runs
        # after the signals before it (one lock, first come first served): its view has them all.
        for event in events[:-1]:
            await record_event(self.conn, lead_id, event, wait=False)
        if events:
            answer = await record_event(self.conn, lead_id, events[-1])
            assert answer is not None
            view = answer
        if row.plan is not None:
            view = await self._sales(lead_id, view, row.plan)
        return view

    async def _sales(self, lead_id: str, view: LeadView, plan: SalesPlan) -> LeadView:
        note = f"replayed from the data: {plan.evidence}"
        if view.stage in (Stage.NEW, Stage.MQL):
            view = await hand_to_sales(self.conn, lead_id, by=IMPORTED_BY, reason=note)
            self.handed += 1
        if view.stage is not Stage.SQL:
            raise StarterError(f"{lead_id}: expected it with sales (sql) before the sales actions; it is {view.stage}")
        if view.assigned_rep is None:
            view = await self._reassign(lead_id)
        rep = view.assigned_rep
        assert rep is not None
        self.seen_reps[rep] = None
        if plan.verdict == "rejected":
            assert plan.reason is not None
            view = await reject(self.conn, lead_id, rep, plan.reason, note)
        else:
            view = await accept(self.conn, lead_id, rep)
            outcome = Outcome.WON if plan.verdict == "won" else Outcome.LOST
            view = await record_outcome(self.conn, lead_id, outcome, plan.reason, note)
        if plan.rating is not None:
            view = await submit_feedback(self.conn, lead_id, plan.rating, plan.feedback_reasons, note)
            self.rated += 1
        return view

    async def _reassign(self, lead_id: str) -> LeadView:
        """Nobody was free: give the lead to a rep seen working this run, else one of `reps`, in turn."""
        candidates = list(dict.fromkeys([*self.seen_reps, *self.reps]))
        if not candidates:
            raise StarterError(f"{lead_id}: no rep was free and the import knows no active rep; name one with --rep")
        self.turn += 1
        problem: StarterError | None = None
        for i in range(len(candidates)):
            rep = candidates[(self.turn + i) % len(candidates)]
            try:
                view = await reassign(self.conn, lead_id, rep, by=IMPORTED_BY)
            except StarterError as exc:  # e.g. the rep is not active under the published rules
                problem = exc
                continue
            self.reassigned += 1
            return view
        assert problem is not None
        raise problem

    def summary(self, source: ImportFile, seconds: float) -> ImportSummary:
        done = self.done
        by_tier = Counter(d.view.tier.value for d in done)
        customers_by_tier = Counter(d.view.tier.value for d in done if d.view.stage is Stage.CUSTOMER)
        verdicts: Counter[str] = Counter(d.plan.verdict if d.plan else "not_contacted" for d in done)
        mismatched = [
            RowProblem(line=d.line, error=f"{d.view.lead_id}: Converted = {int(d.converted)} but it is {d.view.stage}")
            for d in done
            if (d.view.stage is Stage.CUSTOMER) != d.converted
        ]
        for problem in mismatched:
            print(f"{self.path}:{problem.line}: {problem.error}", file=sys.stderr)
        return ImportSummary(
            file=source.path,
            rows=source.count,
            imported=len(done),
            skipped=source.count - len(done),  # already imported, malformed, failed, or not reached after an abort
            already_imported=self.already,
            malformed=source.malformed,
            failed=sorted(self.failed, key=lambda p: p.line),
            by_stage=_counts([d.view.stage.value for d in done], [s.value for s in Stage]),
            by_temperature=_counts([d.view.temperature.value for d in done], [t.value for t in Temperature]),
            by_tier=_counts([d.view.tier.value for d in done], [t.value for t in TIER_ORDER]),
            conversion_by_tier={
                t.value: round(customers_by_tier[t.value] / by_tier[t.value], 4) for t in TIER_ORDER if by_tier[t.value]
            },
            customers=sum(1 for d in done if d.view.stage is Stage.CUSTOMER),
            converted_in_csv=sum(1 for d in done if d.converted),
            not_as_in_csv=sorted(mismatched, key=lambda p: p.line),
            sales_actions=_counts(list(verdicts.elements()), ["won", "lost", "rejected", "not_contacted"]),
            handed_to_sales=self.handed,
            reassigned=self.reassigned,
            rated=self.rated,
            rejections_by_reason=_by_reason(done, "rejected"),
            lost_by_reason=_by_reason(done, "lost"),
            aborted=self.aborted,
            seconds=round(seconds, 2),
            leads_per_second=round(len(done) / seconds, 2) if seconds > 0 else 0.0,
        )


def _counts(values: list[str], order: list[str]) -> dict[str, int]:
    counted = Counter(values)
    return {key: counted[key] for key in order}


def _by_reason(done: list[_Done], verdict: Literal["lost", "rejected"]) -> dict[str, int]:
    counted = Counter(d.plan.reason or "?" for d in done if d.plan is not None and d.plan.verdict == verdict)
    return dict(counted.most_common())


# --- the report --------------------------------------------------------------------------------


def render_import_summary(summary: ImportSummary) -> str:
    """The summary for a terminal: counts, conversion per tier, sales' verdicts, problems by line."""
    s = summary
    lines = [
        f"imported {s.imported} of {s.rows} row(s) from {s.file} in {s.seconds:g} s ({s.leads_per_second:g} leads/s)",
        f"skipped {s.skipped}: already imported {s.already_imported}, malformed {len(s.malformed)},"
        f" failed {len(s.failed)}",
        f"customers {s.customers}; Converted = 1 in the CSV {s.converted_in_csv}"
        + ("" if not s.not_as_in_csv else f"; {len(s.not_as_in_csv)} lead(s) NOT as in the CSV"),
        "",
        "stage        " + _row(s.by_stage),
        "temperature  " + _row(s.by_temperature),
        "tier         " + _row(s.by_tier),
        "conversion   "
        + ("  ".join(f"{tier} {share:.0%}" for tier, share in s.conversion_by_tier.items()) or "-  (no lead imported)"),
        "",
        "sales        " + _row(s.sales_actions),
        f"by import    handed to sales {s.handed_to_sales}  reassigned {s.reassigned}  rated {s.rated}",
        "rejected     " + (_row(s.rejections_by_reason) or "-"),
        "lost         " + (_row(s.lost_by_reason) or "-"),
    ]
    for title, problems in (
        ("malformed rows", s.malformed),
        ("failed", s.failed),
        ("not as in the CSV", s.not_as_in_csv),
    ):
        if problems:
            lines += ["", f"{title}:"] + [f"  line {p.line}: {p.error}" for p in problems]
    if s.aborted:
        lines += ["", f"aborted: {s.aborted}"]
    return "\n".join(lines)


def _row(counts: dict[str, int]) -> str:
    return "  ".join(f"{key} {value}" for key, value in counts.items())
