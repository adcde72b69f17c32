"""LeadWorkflow on the dev server: continue-as-new, rejections that leave no trace, replay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from domain.models import Accept, RecordOutcome, SubmitFeedback
from domain.state import LeadView
from domain.vocabulary import Outcome, Stage
from tests.workflows.conftest import StandIns, submit, worker
from tests.workflows.test_lead_workflow import event, intake
from workflows.lead import LeadWorkflow


async def test_continue_as_new_keeps_everything(
    dev_env: WorkflowEnvironment, stand_ins: StandIns, task_queue: str
) -> None:
    async with worker(dev_env.client, task_queue, stand_ins):
        now = await dev_env.get_current_time()
        handle, first = await submit(dev_env.client, task_queue, intake(now), max_inputs_per_run=3)
        first_run = handle.result_run_id
        for i in range(6):
            await handle.execute_update(LeadWorkflow.add_event, event("page_viewed", now, f"p{i}"))
        view = await handle.execute_update(LeadWorkflow.add_event, event("quote_requested", now))
        assert view.stage is Stage.SQL
        first_history = await dev_env.client.get_workflow_handle(first.lead_id, run_id=first_run).fetch_history()
        assert first_history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        latest = dev_env.client.get_workflow_handle_for(LeadWorkflow.run, first.lead_id)
        view = await latest.query(LeadWorkflow.view)
        assert view.events == 7 and view.stage is Stage.SQL and view.assigned_rep
        assert [t.seq for t in view.timeline] == sorted(t.seq for t in view.timeline)
        view = await latest.execute_update(LeadWorkflow.accept, Accept(rep=view.assigned_rep))
        assert view.stage is Stage.ACCEPTED


async def test_rejected_updates_leave_no_history(
    dev_env: WorkflowEnvironment, stand_ins: StandIns, task_queue: str
) -> None:
    async with worker(dev_env.client, task_queue, stand_ins):
        now = await dev_env.get_current_time()
        handle, _ = await submit(dev_env.client, task_queue, intake(now))
        before = len((await handle.fetch_history()).events)
        for update, arg in [
            (LeadWorkflow.accept, Accept(rep="r-01")),
            (LeadWorkflow.record_outcome, RecordOutcome(outcome=Outcome.WON)),
            (LeadWorkflow.submit_feedback, SubmitFeedback(rating=3)),
            (LeadWorkflow.add_event, event("page_viewed", now + timedelta(days=2))),
        ]:
            with pytest.raises(WorkflowUpdateFailedError):
                await handle.execute_update(update, arg)  # type: ignore[call-overload]
        assert len((await handle.fetch_history()).events) == before


async def full_life(dev_env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle[LeadWorkflow, LeadView]:
    now = await dev_env.get_current_time()
    handle, _ = await submit(dev_env.client, task_queue, intake(now))
    await handle.signal(LeadWorkflow.event, event("webinar_attended", now, "w1"))
    view = await handle.execute_update(LeadWorkflow.add_event, event("quote_requested", now))
    assert view.assigned_rep
    await handle.execute_update(LeadWorkflow.accept, Accept(rep=view.assigned_rep))
    await handle.execute_update(LeadWorkflow.record_outcome, RecordOutcome(outcome=Outcome.WON))
    await handle.execute_update(LeadWorkflow.submit_feedback, SubmitFeedback(rating=4, reasons=["good_fit"]))
    final = await handle.result()
    assert final.stage is Stage.CUSTOMER and final.completed
    return handle


async def test_histories_replay_without_nondeterminism(
    dev_env: WorkflowEnvironment, stand_ins: StandIns, task_queue: str
) -> None:
    async with worker(dev_env.client, task_queue, stand_ins):
        handles = [await full_life(dev_env, task_queue)]
    # and once more with no workflow cache: every task replays the whole history so far
    async with worker(dev_env.client, task_queue, stand_ins, max_cached_workflows=0):
        handles.append(await full_life(dev_env, task_queue))
    replayer = Replayer(workflows=[LeadWorkflow], data_converter=pydantic_data_converter)
    for handle in handles:
        result = await replayer.replay_workflow(await handle.fetch_history())
        assert result.replay_failure is None
