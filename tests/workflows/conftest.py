"""The time-skipping test server (started once per session) and stand-in activities."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.types import AssignRepInput, AssignRepResult, LoadRulesInput, NotifyInput, RecordInput
from domain.models import LeadIntake
from domain.rules import Rules
from domain.state import LeadView, LedgerEntry, Notification
from tests.conftest import binary
from workflows.lead import IngestRequest, LeadInput, LeadWorkflow
from workflows.search_attributes import ensure_search_attributes


@pytest_asyncio.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server per test: leftover timers of another test's workflows would stall time."""
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(binary("temporal-test-server")),
        data_converter=pydantic_data_converter,
    )
    await ensure_search_attributes(environment.client, environment.client.namespace)
    yield environment
    await environment.shutdown()


@pytest_asyncio.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The dev server (real time, real visibility), for what the time-skipping server does not do
    faithfully: continue-as-new under updates, update rejections leaving no history."""
    from workflows.search_attributes import SEARCH_ATTRIBUTES

    args: list[str] = []
    for name, kind in SEARCH_ATTRIBUTES.items():
        args += ["--search-attribute", f"{name}={kind}"]
    environment = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(binary("temporal")),
        data_converter=pydantic_data_converter,
        dev_server_extra_args=args,
        ui=False,
    )
    yield environment
    await environment.shutdown()


@dataclass
class StandIns:
    """Stand-in activities registered under the real names; they remember what they were asked."""

    rules: Rules
    entries: list[LedgerEntry] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    assignments: list[AssignRepInput] = field(default_factory=list)
    rules_versions: dict[str, Rules] = field(default_factory=dict)
    no_rep: bool = False
    notify_failures: int = 0  # the first N notify calls fail, as a flaky receiver would
    notify_calls: int = 0

    def activities(self) -> Sequence[Callable[..., Any]]:
        @activity.defn(name="load_rules")
        async def load_rules(request: LoadRulesInput) -> Rules:
            if request.version is None or request.version == self.rules.version:
                return self.rules
            return self.rules_versions[request.version]

        @activity.defn(name="assign_rep")
        async def assign_rep(request: AssignRepInput) -> AssignRepResult:
            self.assignments.append(request)
            if self.no_rep:
                return AssignRepResult(rep=None, reason="nobody free")
            free = [r.id for r in request.team.reps if r.active and r.id not in request.exclude]
            return AssignRepResult(rep=free[0] if free else None)

        @activity.defn(name="notify")
        async def notify(request: NotifyInput) -> None:
            self.notify_calls += 1
            if self.notify_calls <= self.notify_failures:
                raise RuntimeError("receiver unavailable")
            self.notifications.append(request.notification)

        @activity.defn(name="record")
        async def record(request: RecordInput) -> int:
            known = {(e.lead_id, e.seq) for e in self.entries}
            fresh = [e for e in request.entries if (e.lead_id, e.seq) not in known]
            self.entries.extend(fresh)
            return len(fresh)

        return [load_rules, assign_rep, notify, record]

    def topics(self) -> list[str]:
        return [n.topic for n in self.notifications]


async def eventually(check: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait (in real time) until `check()` holds: background notifications land a moment later."""
    import asyncio

    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    assert check(), "condition not reached in time"


@pytest.fixture
def stand_ins(default_rules: Rules) -> StandIns:
    return StandIns(rules=default_rules)


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4()}"


def worker(client: Client, task_queue: str, stand_ins: StandIns, **kwargs: Any) -> Worker:
    return Worker(client, task_queue=task_queue, workflows=[LeadWorkflow], activities=stand_ins.activities(), **kwargs)


async def submit(
    client: Client, task_queue: str, intake: LeadIntake, lead_id: str | None = None, **start_input: Any
) -> tuple[WorkflowHandle[LeadWorkflow, LeadView], LeadView]:
    """Update-with-start, as starter.py does it."""
    from temporalio.client import WithStartWorkflowOperation

    lead_id = lead_id or f"lead-{uuid.uuid4().hex[:24]}"
    start = WithStartWorkflowOperation(
        LeadWorkflow.run,
        LeadInput(lead_id=lead_id, **start_input),
        id=lead_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    view = await client.execute_update_with_start_workflow(
        LeadWorkflow.ingest, IngestRequest(intake=intake), start_workflow_operation=start
    )
    return await start.workflow_handle(), view
