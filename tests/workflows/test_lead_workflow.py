"""LeadWorkflow on the time-skipping server: every timer path, validator rejections, merging, dedup."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from domain.decide import RulesChanged
from domain.models import Accept, Disqualify, LeadEvent, LeadIntake, Reassign, RecordOutcome, Reject, SubmitFeedback
from domain.rules import Rules
from domain.state import LeadView
from domain.vocabulary import HandoffStatus, Outcome, Stage, Temperature
from tests.workflows.conftest import StandIns, eventually, submit, worker
from workflows.lead import LeadWorkflow


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
    return LeadEvent(event_id=event_id or f"{kind}-{now.timestamp()}", kind=kind, occurred_at=now)


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
        await eventually(lambda: "handoff_overdue" in stand_ins.topics())

        await env.sleep(grace + timedelta(seconds=1))
        view = await handle.query("view", result_type=type(view))
        assert view.handoff_status is HandoffStatus.PENDING and view.handoff_attempt == 2
        assert view.assigned_rep != first_rep
        await eventually(lambda: "handoff_escalated" in stand_ins.topics())
        assert stand_ins.assignments[-1].exclude == [first_rep]

        for _ in range(default_rules.handoff.max_attempts):
            await env.sleep(sla + grace + timedelta(seconds=2))
        view = await handle.query("view", result_type=type(view))
        assert view.stage is Stage.MQL
        assert view.handoff_status is HandoffStatus.EXPIRED
        assert view.returned_to_marketing
        await eventually(lambda: "returned_to_marketing" in stand_ins.topics())
        assert [t.trigger for t in view.timeline if t.machine == "lifecycle"][-1] == "return_to_marketing"
        try:
            await handle.execute_update("accept", Accept(rep=first_rep or "r-01"), result_type=type(view))
            raise AssertionError("accept after return to marketing must be rejected")
        except WorkflowUpdateFailedError as exc:
            assert "accept" in str(exc.cause)


async def accepted_updates(handle: WorkflowHandle[LeadWorkflow, LeadView]) -> int:
    history = await handle.fetch_history()
    return sum(1 for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)


async def accepted_lead(
    env: WorkflowEnvironment, task_queue: str, **intake_overrides: object
) -> tuple[WorkflowHandle[LeadWorkflow, LeadView], LeadView]:
    now = await env.get_current_time()
    handle, view = await submit(env.client, task_queue, intake(now, **intake_overrides))
    view = await handle.execute_update(LeadWorkflow.add_event, event("quote_requested", now))
    assert view.stage is Stage.SQL and view.assigned_rep
    view = await handle.execute_update(LeadWorkflow.accept, Accept(rep=view.assigned_rep))
    assert view.stage is Stage.ACCEPTED and view.handoff_status is HandoffStatus.ACCEPTED
    return handle, view


async def test_won_lead_with_feedback_completes(env: WorkflowEnvironment, stand_ins: StandIns, task_queue: str) -> None:
    async with worker(env.client, task_queue, stand_ins):
        handle, view = await accepted_lead(env, task_queue)
        view = await handle.execute_update(LeadWorkflow.record_outcome, RecordOutcome(outcome=Outcome.WON))
        assert view.stage is Stage.CUSTOMER and not view.completed
        await eventually(lambda: "feedback_requested" in stand_ins.topics())
        view = await handle.execute_update(
            LeadWorkflow.submit_feedback, SubmitFeedback(rating=5, reasons=["good_fit"], note="great")
        )
        final = await handle.result()
        assert final.completed and final.stage is Stage.CUSTOMER
        await eventually(lambda: "feedback_received" in stand_ins.topics())
        kinds = {e.kind for e in stand_ins.entries if e.lead_id == final.lead_id}
        assert {"intake", "event", "transition", "handoff", "outcome", "feedback", "notification"} <= kinds
        seqs = [e.seq for e in stand_ins.entries if e.lead_id == final.lead_id]
        assert len(seqs) == len(set(seqs)), "every ledger row has its own sequence number"


async def test_outcome_reminders_then_escalation(
    env: WorkflowEnvironment, stand_ins: StandIns, task_queue: str, default_rules: Rules
) -> None:
    async with worker(env.client, task_queue, stand_ins):
        handle, _ = await accepted_lead(env, task_queue)
        every = default_rules.outcome.remind_every
        for _ in range(default_rules.outcome.max_reminders + 1):
            await env.sleep(every + timedelta(seconds=1))
        await handle.query(LeadWorkflow.view)
        await eventually(lambda: "outcome_overdue" in stand_ins.topics())
        assert stand_ins.topics().count("outcome_reminder") == default_rules.outcome.max_reminders


async def test_feedback_reminders_and_deadline_then_recycle(
    env: WorkflowEnvironment, stand_ins: StandIns, task_queue: str, default_rules: Rules
) -> None:
    async with worker(env.client, task_queue, stand_ins):
        handle, _ = await accepted_lead(env, task_queue)
        view = await handle.execute_update(
            LeadWorkflow.record_outcome, RecordOutcome(outcome=Outcome.LOST, reason="price")
        )
        assert view.stage is Stage.LOST
        await env.sleep(default_rules.feedback.deadline + timedelta(seconds=1))
        view = await handle.query(LeadWorkflow.view)
        await eventually(lambda: "feedback_missed" in stand_ins.topics())
        assert stand_ins.topics().count("feedback_reminder") == len(default_rules.feedback.reminders)
        assert default_rules.lifecycle.recycle.lost_after is not None
        await env.sleep(default_rules.lifecycle.recycle.lost_after)
        view = await handle.query(LeadWorkflow.view)
        assert view.stage is Stage.MQL
        assert [t.trigger for t in view.timeline if t.machine == "lifecycle"][-1] == "recycle"


async def test_decay_cools_hot_to_warm_to_cold(
    env: WorkflowEnvironment, stand_ins: StandIns, task_queue: str, default_rules: Rules
) -> None:
    async with worker(env.client, task_queue, stand_ins):
        now = await env.get_current_time()
        # a student from nowhere in particular: hot on a signal, but below the SQL tier
        handle, view = await submit(
            env.client, task_queue, intake(now, country=None, attributes={"occupation": "student"})
        )
        for i in range(3):
            await handle.signal(LeadWorkflow.event, event("webinar_attended", now, f"w{i}"))
        view = await handle.execute_update(LeadWorkflow.add_event, event("call_connected", now))
        assert view.temperature is Temperature.HOT
        if view.stage is Stage.SQL:
            raise AssertionError("this test needs a lead below the SQL tier; adjust the intake")
        await env.sleep(timedelta(days=120))
        view = await handle.query(LeadWorkflow.view)
        temps = [(t.source, t.dest) for t in view.timeline if t.machine == "temperature"]
        assert ("hot", "warm") in temps and temps[-1][1] == "cold", temps
        assert view.temperature is Temperature.COLD


async def test_no_free_rep_escalates_and_retries(
    env: WorkflowEnvironment, stand_ins: StandIns, task_queue: str, default_rules: Rules
) -> None:
    stand_ins.no_rep = True
    async with worker(env.client, task_queue, stand_ins):
        now = await env.get_current_time()
        handle, _ = await submit(env.client, task_queue, intake(now))
        view = await handle.execute_update(LeadWorkflow.add_event, event("trial_started", now))
        assert view.stage is Stage.SQL and view.handoff_status is HandoffStatus.ESCALATED
        assert (
            view.assigned_rep is None and "no rep" in view.waiting_for.lower()
        ) or "escalated" in view.waiting_for.lower()
        stand_ins.no_rep = False
        await env.sleep(default_rules.handoff.escalate_after + timedelta(seconds=1))
        view = await handle.query(LeadWorkflow.view)
        assert view.handoff_status is HandoffStatus.PENDING and view.handoff_attempt == 2


async def test_validators_reject_what_the_lead_does_not_allow(
    env: WorkflowEnvironment, stand_ins: StandIns, task_queue: str
) -> None:
    async with worker(env.client, task_queue, stand_ins):
        now = await env.get_current_time()
        handle, view = await submit(env.client, task_queue, intake(now))
        accepted_before = await accepted_updates(handle)
        rejections = [
            (LeadWorkflow.accept, Accept(rep="r-01"), "cannot 'accept/reject' from 'mql'"),
            (LeadWorkflow.record_outcome, RecordOutcome(outcome=Outcome.WON), "cannot 'win'"),
            (LeadWorkflow.submit_feedback, SubmitFeedback(rating=3), "no feedback is asked"),
            (LeadWorkflow.reassign, Reassign(to="r-02"), "only an open handoff"),
            (LeadWorkflow.disqualify, Disqualify(reason="not_a_reason"), "unknown disqualify reason"),
            (LeadWorkflow.add_event, event("page_viewed", now + timedelta(days=2)), "in the future"),
        ]
        for update, arg, expected in rejections:
            with pytest.raises(WorkflowUpdateFailedError) as caught:
                await handle.execute_update(update, arg)  # type: ignore[call-overload]
            assert expected in str(caught.value.cause), (update, str(caught.value.cause))
        assert await accepted_updates(handle) == accepted_before, "validators reject before the update is accepted"

        view = await handle.execute_update(LeadWorkflow.add_event, event("quote_requested", now))
        rep = view.assigned_rep
        assert rep is not None
        other = "r-04" if rep != "r-04" else "r-03"
        for update, arg, expected in [
            (LeadWorkflow.accept, Accept(rep=other), f"assigned to {rep}"),
            (LeadWorkflow.reject, Reject(rep=rep, reason="bored"), "unknown reject reason"),
            (LeadWorkflow.reassign, Reassign(to="r-05"), "not an active rep"),
            (LeadWorkflow.reassign, Reassign(to=rep), "already assigned"),
        ]:
            with pytest.raises(WorkflowUpdateFailedError) as caught:
                await handle.execute_update(update, arg)  # type: ignore[call-overload]
            assert expected in str(caught.value.cause), (update, str(caught.value.cause))

        view = await handle.execute_update(LeadWorkflow.reassign, Reassign(to=other, by="ops-anna"))
        assert view.assigned_rep == other
        view = await handle.execute_update(LeadWorkflow.reject, Reject(rep=other, reason="spam"))
        assert view.stage is Stage.DISQUALIFIED


async def test_duplicate_intake_merges_and_events_dedup(
    env: WorkflowEnvironment, stand_ins: StandIns, task_queue: str
) -> None:
    async with worker(env.client, task_queue, stand_ins):
        now = await env.get_current_time()
        handle, first = await submit(env.client, task_queue, intake(now))
        assert not first.duplicate
        _, second = await submit(
            env.client, task_queue, intake(now, company="Example Ltd", attributes={"budget": 5000}), first.lead_id
        )
        assert second.duplicate and second.duplicates == 1 and second.lead_id == first.lead_id
        assert second.fit > first.fit, "the second submission's budget adds fit points"

        same = event("page_viewed", now, "evt-1")
        await handle.signal(LeadWorkflow.event, same)
        await handle.signal(LeadWorkflow.event, same)
        view = await handle.execute_update(LeadWorkflow.add_event, same)
        assert view.events == 1
        assert sum(1 for e in stand_ins.entries if e.kind == "event") == 1


async def test_a_failing_notification_receiver_does_not_hold_up_the_lead(
    env: WorkflowEnvironment, stand_ins: StandIns, task_queue: str
) -> None:
    stand_ins.notify_failures = 2
    async with worker(env.client, task_queue, stand_ins):
        _, view = await accepted_lead(env, task_queue)
        assert view.stage is Stage.ACCEPTED
        await env.sleep(timedelta(minutes=5))
        await eventually(lambda: stand_ins.notify_calls >= 3)
        keys = [n.key for n in stand_ins.notifications]
        assert len(keys) == len(set(keys))
        await eventually(lambda: "lead_assigned" in stand_ins.topics())


async def test_published_rules_switch_running_leads(
    env: WorkflowEnvironment, stand_ins: StandIns, task_queue: str, default_rules: Rules
) -> None:
    newer = default_rules.model_copy(update={"version": "r-000000000001"})
    stand_ins.rules_versions[newer.version] = newer
    async with worker(env.client, task_queue, stand_ins):
        now = await env.get_current_time()
        handle, view = await submit(env.client, task_queue, intake(now))
        assert view.rules_version == default_rules.version
        await handle.signal(LeadWorkflow.rules_published, RulesChanged(version=newer.version))
        view = await handle.execute_update(LeadWorkflow.add_event, event("quote_requested", now))
        assert view.rules_version == newer.version
        versions = {t.rules_version for t in view.timeline}
        assert versions == {default_rules.version, newer.version}, "each transition keeps the version that decided it"


async def test_a_recycled_lead_gets_a_fresh_assignment_for_its_next_handoff(
    env: WorkflowEnvironment, stand_ins: StandIns, task_queue: str, default_rules: Rules
) -> None:
    async with worker(env.client, task_queue, stand_ins):
        handle, _ = await accepted_lead(env, task_queue)
        await handle.execute_update(LeadWorkflow.record_outcome, RecordOutcome(outcome=Outcome.LOST, reason="price"))
        await handle.execute_update(LeadWorkflow.submit_feedback, SubmitFeedback(rating=2))
        assert default_rules.lifecycle.recycle.lost_after is not None
        await env.sleep(default_rules.lifecycle.recycle.lost_after + timedelta(seconds=1))
        now = await env.get_current_time()
        view = await handle.execute_update(LeadWorkflow.add_event, event("trial_started", now))
        assert view.stage is Stage.SQL and view.handoff_attempt == 1
        first, second = stand_ins.assignments[0], stand_ins.assignments[-1]
        assert (first.attempt, second.attempt) == (1, 1)
        assert second.request > first.request, "each handoff request has its own key"
