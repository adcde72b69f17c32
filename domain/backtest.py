"""Back-testing a rules file on historical leads: re-score each one with the real engine.

Each row goes through `domain.decide.decide` exactly as a live lead would (the intake, then one
event at a time), so stage, temperature and tier come from the engine, not a re-implementation.
When the rows carry outcomes, the report adds the ROC AUC of the total score and the conversion
rate per tier. Pure: the caller reads the file and hands in (line number, row) pairs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, ValidationError

from domain.decide import EventReceived, IntakeReceived, decide
from domain.errors import LeadflowError
from domain.models import describe_validation_error
from domain.rules import Rules
from domain.vocabulary import TIER_ORDER, Stage, Temperature, Tier
from domain.xeducation import map_row, outcome_of

# The moment every replayed lead arrives. Fixed, so a back-test is reproducible.
REFERENCE_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

Row = Mapping[str, str | None]


class SkippedRow(BaseModel):
    """A row that could not be replayed, with its line in the file and why."""

    model_config = ConfigDict(frozen=True)

    line: int
    error: str


class LeadResult(BaseModel):
    """Where one replayed lead ended up."""

    model_config = ConfigDict(frozen=True)

    line: int
    stage: Stage
    temperature: Temperature
    tier: Tier
    score: float
    converted: bool | None


class BacktestReport(BaseModel):
    """Counts per stage / temperature / tier and, when outcomes are known, how well the score ranks."""

    model_config = ConfigDict(frozen=True)

    rules_version: str
    leads: int
    skipped: list[SkippedRow]
    by_stage: dict[str, int]
    by_temperature: dict[str, int]
    by_tier: dict[str, int]
    outcomes: int
    auc: float | None
    conversion_by_tier: dict[str, float]
    conversion_by_stage: dict[str, float]
    conversion_by_temperature: dict[str, float]


def replay_row(rules: Rules, line: int, row: Row, reference: datetime = REFERENCE_TIME) -> LeadResult:
    """Feed one row through `decide`. Raises `MalformedRow` (or another `LeadflowError`)."""
    mapped = map_row(row, reference)
    converted = outcome_of(row)
    decision = decide(None, IntakeReceived(lead_id=f"backtest-{line}", intake=mapped.intake), rules, reference)
    state = decision.state
    for event in mapped.events:
        state = decide(state, EventReceived(event=event), rules, event.occurred_at).state
    return LeadResult(
        line=line,
        stage=state.stage,
        temperature=state.temperature,
        tier=state.tier,
        score=state.score,
        converted=converted,
    )


def replay(
    rules: Rules, rows: Iterable[tuple[int, Row]], reference: datetime = REFERENCE_TIME
) -> tuple[list[LeadResult], list[SkippedRow]]:
    """Replay every row; a row that cannot be replayed is listed with its line, never dropped."""
    results: list[LeadResult] = []
    skipped: list[SkippedRow] = []
    for line, row in rows:
        try:
            results.append(replay_row(rules, line, row, reference))
        except LeadflowError as exc:
            skipped.append(SkippedRow(line=line, error=str(exc)))
        except ValidationError as exc:
            skipped.append(SkippedRow(line=line, error=describe_validation_error(exc)))
    return results, skipped


def summarise(rules_version: str, results: Sequence[LeadResult], skipped: Sequence[SkippedRow]) -> BacktestReport:
    """The report over replayed leads (which may come from several `replay` calls)."""
    stages = Counter(r.stage for r in results)
    temperatures = Counter(r.temperature for r in results)
    tiers = Counter(r.tier for r in results)
    known = [r for r in results if r.converted is not None]
    auc = roc_auc([r.score for r in known], [bool(r.converted) for r in known])
    return BacktestReport(
        rules_version=rules_version,
        leads=len(results),
        skipped=sorted(skipped, key=lambda s: s.line),
        by_stage={s.value: stages[s] for s in Stage},
        by_temperature={t.value: temperatures[t] for t in Temperature},
        by_tier={t.value: tiers[t] for t in reversed(TIER_ORDER)},
        outcomes=len(known),
        auc=None if auc is None else round(auc, 4),
        conversion_by_tier=_rates(known, "tier", reversed(TIER_ORDER)),
        conversion_by_stage=_rates(known, "stage", Stage),
        conversion_by_temperature=_rates(known, "temperature", Temperature),
    )


def _rates(known: Sequence[LeadResult], attribute: str, values: Iterable[StrEnum]) -> dict[str, float]:
    """Share of converted leads per value of `attribute`, for the values that have leads."""
    rates: dict[str, float] = {}
    for value in values:
        group = [r for r in known if getattr(r, attribute) is value]
        if group:
            rates[value.value] = round(sum(1 for r in group if r.converted) / len(group), 4)
    return rates


def backtest(rules: Rules, rows: Iterable[tuple[int, Row]], reference: datetime = REFERENCE_TIME) -> BacktestReport:
    """Replay the rows under `rules` and report."""
    results, skipped = replay(rules, rows, reference)
    return summarise(rules.version, results, skipped)


def roc_auc(scores: Sequence[float], positives: Sequence[bool]) -> float | None:
    """Exact ROC AUC (Mann-Whitney U with average ranks for ties); None without both classes."""
    n_pos = sum(1 for p in positives if p)
    n_neg = len(positives) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum = 0.0
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        average_rank = (start + end) / 2 + 1  # ranks are 1-based
        rank_sum += average_rank * sum(1 for i in order[start : end + 1] if positives[i])
        start = end + 1
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def render_text(report: BacktestReport, list_skipped: bool = True) -> str:
    """The report for a terminal (`list_skipped=False` when the caller lists them elsewhere)."""
    total = report.leads or 1
    lines = [
        f"rules {report.rules_version}: {report.leads} lead(s) replayed, {len(report.skipped)} row(s) skipped",
        "",
    ]
    for title, counts, rates in (
        ("stage", report.by_stage, report.conversion_by_stage),
        ("temperature", report.by_temperature, report.conversion_by_temperature),
        ("tier", report.by_tier, report.conversion_by_tier),
    ):
        lines.append(f"{title:<15} {'leads':>7}  {'share':>7}  {'converted' if report.outcomes else ''}")
        for name, count in counts.items():
            rate = f"{100 * rates[name]:7.1f} %" if name in rates else ""
            lines.append(f"  {name:<13} {count:>7}  {100 * count / total:5.1f} %  {rate}".rstrip())
        lines.append("")
    if report.auc is None:
        lines.append("no outcomes (Converted) in the data: no ROC AUC, no conversion rates")
    else:
        lines.append(f"ROC AUC of the total score: {report.auc:.4f} ({report.outcomes} lead(s) with an outcome)")
    if report.skipped and list_skipped:
        lines.append("")
        lines.append("skipped rows:")
        lines.extend(f"  line {s.line}: {s.error}" for s in report.skipped)
    return "\n".join(lines)
