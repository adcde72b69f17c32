"""LeadWorkflow on the time-skipping server: every timer path, validator rejections, merging, dedup."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from domain.models import Accept, LeadEvent, LeadIntake
from domain.rules import Rules
from domain.vocabulary import HandoffStatus, Stage, Temperature
from tests.workflows.conftest import StandIns, submit, worker


def intake(now: datetime, **overrides: object) -> LeadIntake:
    data: dict[str, object] = {
        "email": "ada@example.com",
        "name": "Ada Example",
        "phone": "+44 20 7946 0958",
        "country": "India",
        "attributes": {"occupation": "working_professional"},
        "received_at": now,
    }
    data.update(overrides)
    return LeadIntake.model_validate(data)


def event(kind: str, now: datetime, event_id: str | None = None) -> LeadEvent:
    return LeadEvent(event_id=event_id or f"{kind}-{now.timestamp()}", kind=kind, occurred_at=now)  # type: ignore[arg-type]


async def test_missed_deadlines_escalate_reassign_then_return_to_marketing(
    env: WorkflowEnvironment, stand_ins: StandIns, task_queue: str, default_rules: Rules
) -> None:
    async with worker(env.client, task_queue, stand_ins):
        now = await env.get_current_time()
        handle, view = await submit(env.client, task_queue, intake(now))
        view = await handle.execute_update("add_event", event("quote_requested", now), result_type=type(view))
        assert view.stage is Stage.SQL and view.temperature is Temperature.HOT
        assert view.handoff_status is HandoffStatus.PENDING and view.handoff_attempt == 1
        first_rep = view.assigned_rep
        sla = default_rules.handoff.sla_for(view.temperature, view.tier)
        grace = default_rules.handoff.escalate_after

        await env.sleep(sla + timedelta(seconds=1))
        view = await handle.query("view", result_type=type(view))
        assert view.handoff_status is HandoffStatus.OVERDUE
        assert "handoff_overdue" in stand_ins.topics()

        await env.sleep(grace + timedelta(seconds=1))
        view = await handle.query("view", result_type=type(view))
        assert view.handoff_status is HandoffStatus.PENDING and view.handoff_attempt == 2
        assert view.assigned_rep != first_rep
        assert "handoff_escalated" in stand_ins.topics()
        assert stand_ins.assignments[-1].exclude == [first_rep]

        for _ in range(default_rules.handoff.max_attempts):
            await env.sleep(sla + grace + timedelta(seconds=2))
        view = await handle.query("view", result_type=type(view))
        assert view.stage is Stage.MQL
        assert view.handoff_status is HandoffStatus.EXPIRED
        assert view.returned_to_marketing
        assert "returned_to_marketing" in stand_ins.topics()
        assert [t.trigger for t in view.timeline if t.machine == "lifecycle"][-1] == "return_to_marketing"
        try:
            await handle.execute_update("accept", Accept(rep=first_rep or "r-01"), result_type=type(view))
            raise AssertionError("accept after return to marketing must be rejected")
        except WorkflowUpdateFailedError as exc:
            assert "accept" in str(exc.cause)

