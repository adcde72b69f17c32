"""What people see of a lead: the view (no personal data) and one sentence on what it waits for."""

from __future__ import annotations

from domain.state import LeadState, LeadView
from domain.vocabulary import HandoffStatus, Stage


def view_of(state: LeadState, duplicate: bool = False) -> LeadView:
    h = state.handoff
    return LeadView(
        lead_id=state.lead_id,
        stage=state.stage,
        temperature=state.temperature,
        tier=state.tier,
        score=state.score,
        fit=state.fit,
        engagement=state.engagement,
        source=state.intake.source.value,
        assigned_rep=h.rep,
        handoff_status=h.status,
        handoff_deadline=h.deadline,
        handoff_attempt=h.attempt,
        handoff_max_attempts=h.max_attempts,
        returned_to_marketing=state.returned_to_marketing,
        rules_version=state.rules_version,
        duplicate=duplicate,
        duplicates=state.duplicates,
        events=len(state.events),
        outcome=state.outcome,
        waiting_for=waiting_for(state),
        completed=state.completed,
        explanation=state.explanation,
        timeline=state.timeline,
    )


def waiting_for(state: LeadState) -> str:
    """One sentence for ops: what the lead waits for now. No personal data."""
    h = state.handoff
    at = f"{h.deadline:%Y-%m-%d %H:%M} UTC" if h.deadline else "?"
    attempt = f"attempt {h.attempt} of {h.max_attempts}"
    if state.completed:
        return f"Done: the lead is {state.stage.value}."
    if state.stage is Stage.SQL:
        if h.status is HandoffStatus.PENDING:
            return f"Waiting for rep {h.rep} to accept until {at}, {attempt}."
        next_step = state.timers.get("handoff")
        then = f"{next_step:%Y-%m-%d %H:%M} UTC" if next_step else "?"
        if h.status is HandoffStatus.OVERDUE:
            return f"Overdue since {at}: rep {h.rep} has not accepted; escalating at {then}, {attempt}."
        if h.status is HandoffStatus.ESCALATED:
            return f"Escalated: waiting for a rep to take it (next try {then}), {attempt}."
        return "Handing off to sales: choosing a rep."
    if state.feedback_requested_at is not None and "feedback" in state.timers:
        return f"Waiting for rep {h.rep} to rate the lead until {state.timers['feedback']:%Y-%m-%d %H:%M} UTC."
    if state.stage is Stage.ACCEPTED:
        return f"Accepted by {h.rep}: waiting for won or lost."
    if "recycle" in state.timers:
        return f"Closed as {state.stage.value}: back to nurture on {state.timers['recycle']:%Y-%m-%d}."
    flag = " (returned to marketing)" if state.returned_to_marketing else ""
    if state.stage in (Stage.NEW, Stage.MQL):
        return f"Nurturing{flag}: {state.temperature.value}, score {state.score:g}; waiting for engagement."
    return f"The lead is {state.stage.value}."
