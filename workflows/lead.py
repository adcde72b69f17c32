"""`LeadWorkflow`: one durable workflow per lead, executing `domain.decide`'s decisions.

Every input — intake, events, timers, activity results, sales and ops actions — goes through one
path: `_apply` runs `decide` under a lock, then carries out the effects (ledger, notifications,
rep assignment) and mirrors the lead into search attributes and the current-details sentence.
Timers are the lead's `state.timers`; the main loop sleeps until the earliest one.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, Field, ValidationError

    from activities.types import AssignRepInput, AssignRepResult, LoadRulesInput, NotifyInput, RecordInput
    from domain.decide import (
        AssignRep,
        Complete,
        EventReceived,
        Input,
        IntakeReceived,
        Notify,
        Record,
        RepAssigned,
        RulesChanged,
        TimerFired,
        decide,
        validate,
    )
    from domain.errors import InvalidRequest, InvalidTransition, LeadflowError
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
    from domain.rules import Rules
    from domain.state import LeadState, LeadView
    from domain.view import view_of, waiting_for
    from workflows import search_attributes as sa

# A run continues as new after this many inputs even if the server does not suggest it yet.
MAX_INPUTS_PER_RUN = 1000
EARLY_EVENTS_KEPT = 100

RECORD_OPTIONS: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)),
}
NOTIFY_OPTIONS: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=2),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=10),
        maximum_attempts=20,
        non_retryable_error_types=["WebhookRejected"],
    ),
}
ASSIGN_OPTIONS: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)),
}
RULES_OPTIONS: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        maximum_interval=timedelta(minutes=1),
        non_retryable_error_types=["RulesError", "UnknownRulesVersion"],
    ),
}


class LeadInput(BaseModel):
    """Start (or continue-as-new) input. A fresh lead has only its id; a continued one its state."""

    lead_id: str
    state: LeadState | None = None
    rules: Rules | None = None
    previous_run_id: str | None = None
    early_events: list[LeadEvent] = Field(default_factory=list)
    max_inputs_per_run: int = Field(default=MAX_INPUTS_PER_RUN, ge=1)
    seq_base: int = Field(default=0, ge=0)  # a new run after a completed one numbers on from here


class IngestRequest(BaseModel):
    """The `ingest` update: a (possibly repeated) submission of the lead."""

    intake: LeadIntake


@workflow.defn
class LeadWorkflow:
    @workflow.init
    def __init__(self, input: LeadInput) -> None:
        self._lead_id = input.lead_id
        self._state: LeadState | None = input.state
        self._rules: Rules | None = input.rules
        self._early_events: list[LeadEvent] = list(input.early_events)
        self._lock = asyncio.Lock()
        self._wake = False
        self._inputs = 0
        self._notifications: set[asyncio.Task[None]] = set()
        self._upserted: dict[str, Any] = {}
        self._max_inputs = input.max_inputs_per_run
        self._seq_base = input.seq_base

    @workflow.run
    async def run(self, input: LeadInput) -> LeadView:
        if self._state is None:
            await workflow.wait_condition(lambda: self._state is not None, timeout_summary="waiting for intake")
        while True:
            state = self._state
            assert state is not None
            if state.completed:
                break
            if self._inputs >= self._max_inputs or workflow.info().is_continue_as_new_suggested():
                await self._drain()
                workflow.continue_as_new(
                    LeadInput(
                        lead_id=self._lead_id,
                        state=self._state,
                        rules=self._rules,
                        early_events=self._early_events,
                        max_inputs_per_run=self._max_inputs,
                    )
                )
            self._wake = False
            due = min(state.timers.items(), key=lambda kv: (kv[1], kv[0]), default=None)
            if due is None:
                await workflow.wait_condition(lambda: self._wake)
                continue
            name, at = due
            delay = at - workflow.now()
            if delay > timedelta(0):
                try:
                    await workflow.wait_condition(lambda: self._wake, timeout=delay, timeout_summary=f"{name} timer")
                    continue  # something changed: recompute the earliest timer
                except TimeoutError:
                    pass
            async with self._lock:
                await self._apply_quietly(TimerFired(name=name))
        await self._drain()
        assert self._state is not None
        return view_of(self._state)

    # --- messages -----------------------------------------------------------------------------

    @workflow.update
    async def ingest(self, request: IngestRequest) -> LeadView:
        """Submit the lead (with update-with-start); a repeat submission merges as a duplicate."""
        async with self._lock:
            if self._rules is None:
                self._rules = await self._load_rules(None)
            duplicate = self._state is not None
            await self._apply(IntakeReceived(lead_id=self._lead_id, intake=request.intake, seq_base=self._seq_base))
            early, self._early_events = self._early_events, []
            for event in early:
                await self._apply_quietly(EventReceived(event=event))
            assert self._state is not None
            return view_of(self._state, duplicate=duplicate)

    @ingest.validator
    def _check_ingest(self, request: IngestRequest) -> None:
        self._revalidate(request.intake)
        if self._state is not None and self._state.completed:
            raise _rejection(InvalidRequest("the lead has completed; submit again to start a new run"))

    @workflow.signal
    async def event(self, event: LeadEvent) -> None:
        """Something the lead did (fire-and-forget; duplicates by event_id are ignored)."""
        if self._state is None:
            self._early_events = [*self._early_events, event][-EARLY_EVENTS_KEPT:]
            return
        async with self._lock:
            await self._apply_quietly(EventReceived(event=event))

    @workflow.update
    async def add_event(self, event: LeadEvent) -> LeadView:
        """Like the `event` signal, but answers with the lead's view after the event."""
        return await self._act(EventReceived(event=event))

    @add_event.validator
    def _check_add_event(self, event: LeadEvent) -> None:
        self._revalidate(event)
        self._check(EventReceived(event=event))

    @workflow.update
    async def accept(self, request: Accept) -> LeadView:
        return await self._act(request)

    @accept.validator
    def _check_accept(self, request: Accept) -> None:
        self._check(request)

    @workflow.update
    async def reject(self, request: Reject) -> LeadView:
        return await self._act(request)

    @reject.validator
    def _check_reject(self, request: Reject) -> None:
        self._check(request)

    @workflow.update
    async def record_outcome(self, request: RecordOutcome) -> LeadView:
        return await self._act(request)

    @record_outcome.validator
    def _check_outcome(self, request: RecordOutcome) -> None:
        self._check(request)

    @workflow.update
    async def submit_feedback(self, request: SubmitFeedback) -> LeadView:
        return await self._act(request)

    @submit_feedback.validator
    def _check_feedback(self, request: SubmitFeedback) -> None:
        self._check(request)

    @workflow.update
    async def reassign(self, request: Reassign) -> LeadView:
        return await self._act(request)

    @reassign.validator
    def _check_reassign(self, request: Reassign) -> None:
        self._check(request)

    @workflow.update
    async def disqualify(self, request: Disqualify) -> LeadView:
        return await self._act(request)

    @disqualify.validator
    def _check_disqualify(self, request: Disqualify) -> None:
        self._check(request)

    @workflow.update
    async def hand_to_sales(self, request: HandToSales) -> LeadView:
        """Sales or ops qualify the lead by hand: it goes to SQL and a rep is assigned."""
        return await self._act(request)

    @hand_to_sales.validator
    def _check_hand_to_sales(self, request: HandToSales) -> None:
        self._check(request)

    @workflow.signal
    async def rules_published(self, change: RulesChanged) -> None:
        """A new rules version is published: load it and decide with it from now on."""
        if self._state is None or self._state.completed:
            return
        async with self._lock:
            if self._rules is not None and self._rules.version == change.version:
                return
            try:
                rules = await self._load_rules(change.version)
            except Exception as exc:  # an unknown version must not break the lead
                workflow.logger.warning("could not load rules %s: %s", change.version, exc)
                return
            previous = self._rules
            self._rules = rules
            try:
                await self._apply(change)
            except ApplicationError as exc:
                self._rules = previous
                workflow.logger.warning("rules %s not applied: %s", change.version, exc)

    @workflow.query
    def view(self) -> LeadView:
        if self._state is None:
            raise ApplicationError("the lead has not been submitted yet", type="NotFound")
        return view_of(self._state)

    # --- the one path every input takes -------------------------------------------------------

    async def _act(self, item: Input) -> LeadView:
        async with self._lock:
            await self._apply(item)
            assert self._state is not None
            return view_of(self._state)

    def _check(self, item: Input) -> None:
        if self._state is None or self._rules is None:
            raise _rejection(InvalidRequest("the lead has not been submitted yet"))
        try:
            validate(self._state, item, self._rules, workflow.now())
        except LeadflowError as exc:
            raise _rejection(exc) from None

    def _revalidate(self, model: LeadIntake | LeadEvent) -> None:
        """Checks that need the clock (times in the future), against the workflow's own now."""
        try:
            type(model).model_validate(model.model_dump(), context={"now": workflow.now()})
        except ValidationError as exc:
            raise ApplicationError(describe_validation_error(exc), type="InvalidRequest", non_retryable=True) from None

    async def _apply_quietly(self, item: Input) -> None:
        """For inputs nobody waits on (timers, signals): a refusal is logged, not raised."""
        try:
            await self._apply(item)
        except ApplicationError as exc:
            workflow.logger.warning("input %s refused: %s", item.kind, exc.message)

    async def _apply(self, item: Input) -> None:
        """Decide, then carry out the effects. Activity results feed back in as further inputs."""
        assert self._rules is not None
        queue: list[Input] = [item]
        while queue:
            current = queue.pop(0)
            try:
                decision = decide(self._state, current, self._rules, workflow.now())
            except LeadflowError as exc:
                raise _rejection(exc) from None
            self._state = decision.state
            self._inputs += 1
            self._wake = True
            entries = [e.entry for e in decision.effects if isinstance(e, Record)]
            if entries:
                await workflow.execute_activity(
                    "record", RecordInput(entries=entries), result_type=int, **RECORD_OPTIONS
                )
            for effect in decision.effects:
                if isinstance(effect, Notify):
                    self._send(NotifyInput(notification=effect.notification))
                elif isinstance(effect, AssignRep):
                    queue.append(await self._assign(effect))
                elif isinstance(effect, Complete):
                    workflow.logger.info("lead complete: %s", effect.reason)
        self._mirror()

    async def _assign(self, effect: AssignRep) -> RepAssigned:
        assert self._rules is not None
        result = await workflow.execute_activity(
            "assign_rep",
            AssignRepInput(
                lead_id=effect.lead_id,
                request=effect.request,
                attempt=effect.attempt,
                exclude=effect.exclude,
                country=effect.country,
                tier=effect.tier,
                team=self._rules.team,
            ),
            result_type=AssignRepResult,
            **ASSIGN_OPTIONS,
        )
        return RepAssigned(attempt=effect.attempt, rep=result.rep)

    def _send(self, request: NotifyInput) -> None:
        """Notifications go out in the background: a slow receiver never holds up the lead."""

        async def deliver() -> None:
            try:
                await workflow.execute_activity("notify", request, **NOTIFY_OPTIONS)
            except Exception as exc:  # gave up after the retries: the ledger still has it
                workflow.logger.warning("notification %s not delivered: %s", request.notification.key, exc)

        task = asyncio.create_task(deliver())
        self._notifications.add(task)
        task.add_done_callback(self._notifications.discard)

    async def _load_rules(self, version: str | None) -> Rules:
        rules: Rules = await workflow.execute_activity(
            "load_rules", LoadRulesInput(version=version), result_type=Rules, **RULES_OPTIONS
        )
        return rules

    async def _drain(self) -> None:
        """Before completing or continuing as new: every handler and notification has finished."""
        await workflow.wait_condition(lambda: workflow.all_handlers_finished() and not self._notifications)

    def _mirror(self) -> None:
        """Search attributes and the current-details sentence follow the state. No PII in either."""
        state = self._state
        assert state is not None
        h = state.handoff
        values: dict[str, Any] = {
            sa.STAGE.name: state.stage.value,
            sa.TEMPERATURE.name: state.temperature.value,
            sa.TIER.name: state.tier.value,
            sa.SCORE.name: float(state.score),
            sa.SOURCE.name: state.intake.source.value,
            sa.ASSIGNED_REP.name: h.rep,
            sa.HANDOFF_STATUS.name: h.status.value,
            sa.HANDOFF_DEADLINE.name: h.deadline,
            sa.HANDOFF_ATTEMPT.name: h.attempt,
            sa.HANDOFF_MAX_ATTEMPTS.name: h.max_attempts,
            sa.RETURNED_TO_MARKETING.name: state.returned_to_marketing,
            sa.RULES_VERSION.name: state.rules_version,
        }
        updates: list[SearchAttributeUpdate[Any]] = []
        for key in sa.ALL:
            value = values[key.name]
            if self._upserted.get(key.name, _UNSET) == value:
                continue
            updates.append(key.value_unset() if value is None else key.value_set(value))
            self._upserted[key.name] = value
        if updates:
            workflow.upsert_search_attributes(updates)
        workflow.set_current_details(waiting_for(state))


_UNSET = object()


def _rejection(exc: LeadflowError) -> ApplicationError:
    kind = "InvalidTransition" if isinstance(exc, InvalidTransition) else "InvalidRequest"
    return ApplicationError(str(exc), type=kind, non_retryable=True)
