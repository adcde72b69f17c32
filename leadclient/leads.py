"""The client side of leadflow: what a backend imports to submit leads and act on them.

Each function validates its input before it touches Temporal; errors are `StarterError` (or its
`BadInput`) with one sentence for a person. `starter.py` is the command line over this library.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain.errors import LeadflowError
from domain.identity import lead_id_for, resolve_lead
from domain.models import (
    Accept,
    Disqualify,
    HandToSales,
    LeadEvent,
    LeadIntake,
    Reassign,
    RecordOutcome,
    Reject,
    SubmitFeedback,
    describe_validation_error,
)
from domain.state import LeadView
from domain.vocabulary import Outcome
from leadclient.connect import connect as temporal_connect
from leadclient.connect import connect_config
from workflows.lead import IngestRequest, LeadInput, LeadWorkflow

__all__ = [
    "BadInput",
    "Connection",
    "StarterError",
    "accept",
    "build_request",
    "disqualify",
    "hand_to_sales",
    "parse_intake",
    "reassign",
    "record_event",
    "record_outcome",
    "reject",
    "show",
    "submit_feedback",
    "submit_lead",
]


DEV_SECRET = "leadflow-dev-secret"  # used only when LEADFLOW_ID_SECRET is unset (local runs)


class StarterError(LeadflowError):
    """A request the client could not carry out; the message is meant for a person."""


class BadInput(StarterError):
    """The request itself is malformed (caught before Temporal is asked anything)."""


@dataclass(frozen=True)
class Connection:
    """Where the leads live and how their ids are keyed. Build with `Connection.from_env()`."""

    client: Client
    task_queue: str = "leadflow"
    id_secret: str = DEV_SECRET

    @staticmethod
    async def from_env(
        address: str | None = None,
        namespace: str | None = None,
        task_queue: str | None = None,
        client: Client | None = None,
    ) -> Connection:
        """Connect as Temporal's client configuration says (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
        TEMPORAL_API_KEY, TLS, profiles; see `leadclient.connect`); arguments win."""
        if client is None:
            where = connect_config(address, namespace)["target_host"]
            try:
                client = await temporal_connect(address, namespace)
            except Exception as exc:
                raise StarterError(f"cannot reach Temporal at {where}: {exc}") from None
        return Connection(
            client=client,
            task_queue=task_queue or os.environ.get("LEADFLOW_TASK_QUEUE", "leadflow"),
            id_secret=os.environ.get("LEADFLOW_ID_SECRET") or DEV_SECRET,
        )

    def lead_id(self, reference: str) -> str:
        """A lead id from a lead id, an e-mail, a phone (`+…`) or `external:ID`."""
        try:
            return resolve_lead(reference, self.id_secret)
        except ValueError as exc:
            raise BadInput(str(exc)) from None

    def handle(self, reference: str) -> WorkflowHandle[LeadWorkflow, LeadView]:
        return self.client.get_workflow_handle_for(LeadWorkflow.run, self.lead_id(reference))


def parse_intake(data: Mapping[str, Any], now: datetime | None = None) -> LeadIntake:
    """Validate a payload at the edge: a bad one raises `StarterError` naming every bad field."""
    now = now or datetime.now(UTC)
    payload = {"received_at": now, **data}
    try:
        return LeadIntake.model_validate(payload, context={"now": now})
    except ValidationError as exc:
        raise BadInput(f"invalid lead: {describe_validation_error(exc)}") from None


async def submit_lead(conn: Connection, intake: LeadIntake) -> LeadView:
    """Start the lead's workflow, or merge into the running one (reported as `duplicate`).

    After a lead's workflow has completed, a new submission starts a new run, linked to the old
    one through its input (`previous_run_id`) and visible in the Web UI.
    """
    lead_id = lead_id_for(intake, conn.id_secret)
    previous: str | None = None
    try:
        described = await conn.client.get_workflow_handle(lead_id).describe()
        if described.status != WorkflowExecutionStatus.RUNNING:
            previous = described.run_id
    except RPCError as exc:
        if exc.status is not RPCStatusCode.NOT_FOUND:
            raise StarterError(f"cannot look up {lead_id}: {exc.message}") from None
    # A new run numbers its ledger rows on from a time-based base, past every row of earlier runs.
    seq_base = int(datetime.now(UTC).timestamp() * 1000) * 1000 if previous else 0
    start = WithStartWorkflowOperation(
        LeadWorkflow.run,
        LeadInput(lead_id=lead_id, previous_run_id=previous, seq_base=seq_base),
        id=lead_id,
        task_queue=conn.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary=f"Lead {lead_id}" + (f" (again; previous run {previous})" if previous else ""),
        memo={"previous_run_id": previous} if previous else None,
    )
    return await _call(
        conn.client.execute_update_with_start_workflow(
            LeadWorkflow.ingest, IngestRequest(intake=intake), start_workflow_operation=start
        ),
        lead_id,
    )


async def record_event(conn: Connection, lead: str, event: LeadEvent, wait: bool = True) -> LeadView | None:
    """Report what the lead did. `wait=False` sends a signal and returns at once."""
    handle = conn.handle(lead)
    if not wait:
        await _call(handle.signal(LeadWorkflow.event, event), handle.id)
        return None
    return await _call(handle.execute_update(LeadWorkflow.add_event, event), handle.id)


async def accept(conn: Connection, lead: str, rep: str) -> LeadView:
    handle = conn.handle(lead)
    return await _call(handle.execute_update(LeadWorkflow.accept, Accept(rep=rep)), handle.id)


async def reject(conn: Connection, lead: str, rep: str, reason: str, note: str = "") -> LeadView:
    handle = conn.handle(lead)
    return await _call(handle.execute_update(LeadWorkflow.reject, Reject(rep=rep, reason=reason, note=note)), handle.id)


async def record_outcome(
    conn: Connection, lead: str, outcome: Outcome, reason: str | None = None, note: str = ""
) -> LeadView:
    handle = conn.handle(lead)
    request = build_request(RecordOutcome, outcome=outcome, reason=reason, note=note)
    return await _call(handle.execute_update(LeadWorkflow.record_outcome, request), handle.id)


async def submit_feedback(
    conn: Connection, lead: str, rating: int, reasons: Sequence[str] = (), note: str = ""
) -> LeadView:
    handle = conn.handle(lead)
    request = build_request(SubmitFeedback, rating=rating, reasons=list(reasons), note=note)
    return await _call(handle.execute_update(LeadWorkflow.submit_feedback, request), handle.id)


async def reassign(conn: Connection, lead: str, to: str, by: str = "ops") -> LeadView:
    handle = conn.handle(lead)
    return await _call(handle.execute_update(LeadWorkflow.reassign, build_request(Reassign, to=to, by=by)), handle.id)


async def disqualify(conn: Connection, lead: str, reason: str, by: str = "ops") -> LeadView:
    handle = conn.handle(lead)
    request = build_request(Disqualify, reason=reason, by=by)
    return await _call(handle.execute_update(LeadWorkflow.disqualify, request), handle.id)


async def hand_to_sales(conn: Connection, lead: str, by: str = "ops", reason: str = "") -> LeadView:
    """Qualify the lead by hand: it goes to SQL now and a rep is assigned."""
    handle = conn.handle(lead)
    request = build_request(HandToSales, by=by, reason=reason)
    return await _call(handle.execute_update(LeadWorkflow.hand_to_sales, request), handle.id)


async def show(conn: Connection, lead: str) -> LeadView:
    handle = conn.handle(lead)
    return await _call(handle.query(LeadWorkflow.view), handle.id)


_Model = TypeVar("_Model", bound=BaseModel)
_T = TypeVar("_T")


def build_request(model: type[_Model], **data: Any) -> _Model:
    """Validate a request model at the edge; a bad one raises `BadInput` naming the fields."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadInput(describe_validation_error(exc)) from None


async def _call(request: Awaitable[_T], lead_id: str) -> _T:
    """Turn Temporal's errors into one sentence for a person."""
    try:
        return await request
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
        raise StarterError(f"{lead_id}: {message}") from None
    except WorkflowQueryFailedError as exc:
        raise StarterError(f"{lead_id}: {exc.message}") from None
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            raise StarterError(f"no lead {lead_id} (or it is not running)") from None
        raise StarterError(f"{lead_id}: Temporal said {exc.status.name}: {exc.message}") from None
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        raise StarterError(f"{lead_id}: no answer in time; is a worker running?") from None
