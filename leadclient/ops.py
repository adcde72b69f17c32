"""Ops and process owners' side of the client: stuck handoffs, publishing rules.

Stuck handoffs come from a visibility query on the search attributes, so they list every lead
of every worker without asking any workflow. Publishing stores the rules version (the workers read
it for new leads at once) and tells running leads with one batch signal over a visibility query.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel
from temporalio.api.batch.v1 import BatchOperationSignal
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import BatchOperationState
from temporalio.api.workflowservice.v1 import DescribeBatchOperationRequest, StartBatchOperationRequest
from temporalio.service import RPCError

from activities.rules_store import RulesStore
from domain.decide import RulesChanged
from domain.rules import Rules
from leadclient.leads import Connection, StarterError
from workflows import search_attributes as sa

__all__ = ["RUNNING_LEADS", "STUCK_QUERY", "PublishResult", "StuckLead", "publish_rules", "stuck_handoffs"]

# A closed run keeps its last search attributes, so every view asks for running leads only (a lead
# that continued as new would otherwise show twice, the old run with stale values).
RUNNING_LEADS = 'WorkflowType = "LeadWorkflow" AND ExecutionStatus = "Running"'
STUCK_QUERY = f'{RUNNING_LEADS} AND HandoffStatus IN ("overdue", "escalated")'
HOT_NOT_ACCEPTED_QUERY = f'{RUNNING_LEADS} AND LeadTemperature = "hot" AND LeadStage = "sql"'
RETURNED_QUERY = f"{RUNNING_LEADS} AND ReturnedToMarketing = true"
# The views ops paste into the Web UI or save (docs/ops.md); `make run` prints them.
VIEWS = {
    "Stuck handoffs": STUCK_QUERY,
    "Hot leads not yet accepted": HOT_NOT_ACCEPTED_QUERY,
    "Leads returned to marketing": RETURNED_QUERY,
}


class StuckLead(BaseModel):
    """A handoff nobody accepted in time. `overdue_seconds` counts from the missed deadline."""

    lead_id: str
    stage: str
    temperature: str
    tier: str
    status: str
    rep: str | None
    deadline: datetime | None
    overdue_seconds: float | None
    attempt: int
    max_attempts: int | None


class PublishResult(BaseModel):
    version: str
    name: str
    previous_version: str | None
    signalled: int
    batch_job_id: str | None


async def stuck_handoffs(conn: Connection, now: datetime | None = None) -> list[StuckLead]:
    """Every lead whose handoff is overdue or escalated, oldest deadline first."""
    now = now or datetime.now(UTC)
    stuck: list[StuckLead] = []
    try:
        async for execution in conn.client.list_workflows(STUCK_QUERY):
            attrs = execution.typed_search_attributes
            deadline = attrs.get(sa.HANDOFF_DEADLINE)
            stuck.append(
                StuckLead(
                    lead_id=execution.id,
                    stage=attrs.get(sa.STAGE) or "?",
                    temperature=attrs.get(sa.TEMPERATURE) or "?",
                    tier=attrs.get(sa.TIER) or "?",
                    status=attrs.get(sa.HANDOFF_STATUS) or "?",
                    rep=attrs.get(sa.ASSIGNED_REP),
                    deadline=deadline,
                    overdue_seconds=max(0.0, (now - deadline).total_seconds()) if deadline else None,
                    attempt=attrs.get(sa.HANDOFF_ATTEMPT) or 0,
                    max_attempts=attrs.get(sa.HANDOFF_MAX_ATTEMPTS),
                )
            )
    except RPCError as exc:
        raise StarterError(f"the visibility query failed: {exc.message}") from None
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(stuck, key=lambda s: (s.deadline or far, s.lead_id))


async def publish_rules(
    conn: Connection, path: Path, store: RulesStore, wait: timedelta | None = None
) -> PublishResult:
    """Validate and store `path` as the current rules, then tell every running lead to switch.

    An invalid file raises `RulesError` and changes nothing. New leads use the new version at once
    (the workers read the store); running leads switch at their next decision, never moving back.
    """
    previous = store.current_version()
    rules: Rules = store.publish(path)
    if previous == rules.version:
        return PublishResult(
            version=rules.version, name=rules.name, previous_version=previous, signalled=0, batch_job_id=None
        )
    job_id = f"publish-{rules.version}-{uuid.uuid4().hex[:8]}"
    payloads = await conn.client.data_converter.encode([RulesChanged(version=rules.version)])
    try:
        await conn.client.workflow_service.start_batch_operation(
            StartBatchOperationRequest(
                namespace=conn.client.namespace,
                visibility_query=RUNNING_LEADS,
                job_id=job_id,
                reason=f"rules {rules.version} published",
                signal_operation=BatchOperationSignal(
                    signal="rules_published", input=Payloads(payloads=payloads), identity="leadflow-publish"
                ),
            )
        )
    except RPCError as exc:
        raise StarterError(
            f"rules {rules.version} are stored (new leads use them) but running leads were not told: {exc.message}"
        ) from None
    signalled = await _wait_for_batch(conn, job_id, wait or timedelta(minutes=2))
    return PublishResult(
        version=rules.version, name=rules.name, previous_version=previous, signalled=signalled, batch_job_id=job_id
    )


async def _wait_for_batch(conn: Connection, job_id: str, wait: timedelta) -> int:
    deadline = asyncio.get_running_loop().time() + wait.total_seconds()
    while True:
        described = await conn.client.workflow_service.describe_batch_operation(
            DescribeBatchOperationRequest(namespace=conn.client.namespace, job_id=job_id)
        )
        if described.state == BatchOperationState.BATCH_OPERATION_STATE_COMPLETED:
            return described.complete_operation_count
        if described.state == BatchOperationState.BATCH_OPERATION_STATE_FAILED:
            raise StarterError(f"the batch signal {job_id} failed after {described.complete_operation_count} leads")
        if asyncio.get_running_loop().time() > deadline:
            raise StarterError(f"the batch signal {job_id} is still running; check it with `temporal batch describe`")
        await asyncio.sleep(0.5)
