"""The activities a lead workflow calls, as methods of one object holding their resources.

    activities = LeadActivities(Settings.from_env())
    Worker(client, task_queue=..., workflows=[...], activities=activities.activities)
    ...
    await activities.close()

All are `async def`: SQLite and file work runs in `asyncio.to_thread`, the webhook uses httpx's async
client, so the worker needs no `activity_executor`. Every one is safe to retry (see each docstring).
Failures that a retry cannot fix raise a non-retryable `ApplicationError` whose `type` says why.

Recommended options in the workflow (`workflow.execute_activity(..., retry_policy=RetryPolicy(...))`):

    load_rules   start_to_close 10 s; retry 1 s × 2 up to 30 s, unlimited attempts
                 (RulesError / UnknownRulesVersion are non-retryable)
    assign_rep   start_to_close 10 s; retry 1 s × 2 up to 30 s, unlimited attempts
    record       start_to_close 10 s; retry 1 s × 2 up to 30 s, unlimited attempts
    notify       start_to_close 30 s (webhook timeout 10 s); retry 1 s × 2 up to 5 min,
                 schedule_to_close 24 h (WebhookRejected is non-retryable)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

import httpx
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.assign import assign
from activities.ledger import Ledger
from activities.logs import bind_activity_context
from activities.notify import Outbox, Webhook, deliver
from activities.rules_store import RulesStore, UnknownRulesVersion
from activities.settings import Settings
from activities.types import AssignRepInput, AssignRepResult, LoadRulesInput, NotifyInput, RecordInput
from domain.errors import RulesError
from domain.rules import Rules

__all__ = ["LeadActivities"]

log = structlog.get_logger(__name__)


class LeadActivities:
    """Opens the ledger, the rules store, the outbox and (when configured) the webhook client."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ledger = Ledger(settings.ledger_path)
        self.rules = RulesStore(settings.rules_dir, settings.rules_path)
        self.outbox = Outbox(settings.outbox_path, settings.outbox_index_path)
        self._http: httpx.AsyncClient | None = None
        self.webhook: Webhook | None = None
        if settings.webhook_url is not None and settings.webhook_secret is not None:
            self._http = httpx.AsyncClient(timeout=settings.webhook_timeout, follow_redirects=False)
            self.webhook = Webhook(settings.webhook_url, settings.webhook_secret, self._http)

    @property
    def activities(self) -> Sequence[Callable[..., Any]]:
        """Everything to register with the worker."""
        return [self.load_rules, self.assign_rep, self.notify, self.record]

    @activity.defn(name="load_rules")
    async def load_rules(self, input: LoadRulesInput) -> Rules:
        """The published rules (`version=None`) or exactly the pinned version. Read-only."""
        with bind_activity_context():
            try:
                if input.version is None:
                    rules = await asyncio.to_thread(self.rules.current)
                else:
                    rules = await asyncio.to_thread(self.rules.get, input.version)
            except UnknownRulesVersion as exc:
                log.error("unknown rules version", version=input.version)
                raise ApplicationError(str(exc), type="UnknownRulesVersion", non_retryable=True) from exc
            except RulesError as exc:
                log.error("rules are invalid", problems=len(exc.problems))
                raise ApplicationError(str(exc), type="RulesError", non_retryable=True) from exc
            log.info("rules loaded", version=rules.version, requested=input.version)
            return rules

    @activity.defn(name="assign_rep")
    async def assign_rep(self, input: AssignRepInput) -> AssignRepResult:
        """Choose a rep for one handoff attempt; a retry of the same (lead_id, request) gets the same answer."""
        with bind_activity_context(lead_id=input.lead_id, handoff_attempt=input.attempt):
            found = await asyncio.to_thread(
                assign,
                self.ledger,
                input.lead_id,
                input.request,
                input.team,
                input.country,
                input.tier,
                input.exclude,
            )
            log.info(
                "rep assigned" if found.rep else "no rep can take the lead",
                rep=found.rep,
                reason=found.reason,
                turn=found.turn,
            )
            return AssignRepResult(rep=found.rep, reason=found.reason)

    @activity.defn(name="notify")
    async def notify(self, input: NotifyInput) -> None:
        """Log, append to the outbox, POST to the webhook: each at most once per notification key."""
        with bind_activity_context(lead_id=input.notification.lead_id):
            await deliver(input.notification, self.outbox, self.webhook)

    @activity.defn(name="record")
    async def record(self, input: RecordInput) -> int:
        """Append ledger entries; ones already there are skipped. Returns how many were new."""
        lead_ids = sorted({e.lead_id for e in input.entries})
        with bind_activity_context(**({"lead_id": lead_ids[0]} if len(lead_ids) == 1 else {})):
            written = await asyncio.to_thread(self.ledger.append, input.entries)
            log.info("recorded", entries=len(input.entries), written=written)
            return written

    async def close(self) -> None:
        """Release the webhook client. SQLite and files need nothing: every call opens its own."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> LeadActivities:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
