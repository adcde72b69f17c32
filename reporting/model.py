"""The sales–marketing review report as data: what `build_report` returns and the renderers read.

Every number is a count, a ratio in 0..1 (`None` when its denominator is zero) or a duration in
seconds, so `--json` is plain and stable. No personal data: lead ids, names, e-mails and the
reps' free-text notes are never copied into a report.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

__all__ = [
    "FUNNEL_STAGES",
    "Funnel",
    "ReasonCount",
    "RecycleFlow",
    "Recycled",
    "RepSpeed",
    "Report",
    "SourceQuality",
    "SpeedToLead",
    "StageCount",
    "TierFunnel",
]

FUNNEL_STAGES = ("new", "mql", "sql", "accepted", "customer")
"""The main path through the lifecycle, in order. Lost and disqualified are exits, counted apart."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class ReasonCount(_Frozen):
    reason: str
    count: int


class StageCount(_Frozen):
    stage: str
    reached: int
    """Leads that were in this stage, or a later one of the main path, at some time in the period."""
    entered: int
    """Leads that moved into this stage during the period (`new`: leads taken in during the period)."""
    conversion: float | None
    """`reached` / the previous stage's `reached`; `None` for `new` or when the previous is 0."""


class Funnel(_Frozen):
    leads: int
    stages: list[StageCount]
    lost: int
    """Leads that moved to lost during the period."""
    disqualified: int
    """Leads that moved to disqualified during the period."""
    overall_conversion: float | None
    """Leads that reached customer / leads."""


class TierFunnel(Funnel):
    tier: str
    """The tier when the lead entered SQL in the period, else its latest tier (`unknown`: none recorded)."""


class RepSpeed(_Frozen):
    rep: str
    """A rep id, or `all` for the total over every rep."""
    accepted: int
    """Handoffs the rep accepted during the period."""
    measured: int
    """Acceptances whose SQL entry is in the period too, so their speed is known."""
    p50_seconds: float | None
    p90_seconds: float | None
    attempts: int
    """Handoff attempts given to the rep that have an entry in the period."""
    open: int
    """Attempts still pending with their deadline ahead of the report's end: not yet judged."""
    breached: int
    """Attempts that went overdue, were accepted after their deadline, or are pending past it."""
    breach_rate: float | None
    """`breached` / (`attempts` - `open`)."""


class SpeedToLead(_Frozen):
    reps: list[RepSpeed]
    total: RepSpeed


class SourceQuality(_Frozen):
    source: str
    leads: int
    """Leads from this source in the report."""
    ratings: int
    average_rating: float | None
    rating_counts: dict[int, int]
    """Rating (1..5) → how many times sales gave it; every rating is present."""
    feedback_reasons: list[ReasonCount]
    feedback_missed: int
    """Feedback asked for and not given by its deadline."""
    rejected: int
    reject_reasons: list[ReasonCount]
    won: int
    lost: int
    lost_reasons: list[ReasonCount]


class RecycleFlow(_Frozen):
    flow: str
    """`returned_to_marketing`, `recycled` or `rejected_to_nurture`."""
    count: int
    """Times it happened in the period."""
    leads: int
    """Distinct leads it happened to."""
    reasons: list[ReasonCount]


class Recycled(_Frozen):
    leads: int
    """Distinct leads that went back to marketing by any of the flows."""
    flows: list[RecycleFlow]


class Report(_Frozen):
    since: datetime | None
    """Start of the period (inclusive); `None`: from the first entry of the ledger."""
    until: datetime
    """End of the period: when the report was made."""
    entries: int
    """Ledger entries in the period."""
    leads: int
    """Leads with an entry in the period that shows their stage."""
    funnel: Funnel
    funnel_by_tier: list[TierFunnel]
    speed_to_lead: SpeedToLead
    quality_by_source: list[SourceQuality]
    recycled: Recycled
