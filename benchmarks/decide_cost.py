"""Where should scoring run: inside the workflow (as `decide`), or in a (local) activity?

    python benchmarks/decide_cost.py

Prints figures measured in one run, compared as ratios (the machines here are shared and noisy, so
only ratios within one run mean anything):
  1. the cost of one `decide` (score + machines + effects) for leads with 10 / 100 / 1000 / 2000 events;
  2. the round trip of a no-op local activity and of a no-op activity, measured in a workflow on the
     dev server (what moving scoring out of the workflow would add to every decision, at least).
The choice in `workflows/lead.py`: scoring stays inside `decide`, in the workflow. Measured here
(2 cores, machines shared per rules table): one decision costs ~0.1x a local activity's round trip
at 10 events and ~0.2x at 100; at 1000-2000 events it costs 1.5-3x, still far below a regular
activity's round trip. An activity would not take the work off the decision path (`decide` needs the
score to choose transitions), and it would add history events and latency to every decision; the
2000 events a lead keeps bound the worst case to a few milliseconds. Scoring is deterministic (pure
domain code, time passed in), so it is replay-safe.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from temporalio import activity, workflow  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from demo.devserver import temporal_binary  # noqa: E402
from domain.decide import EventReceived, IntakeReceived, decide  # noqa: E402
from domain.models import LeadEvent, LeadIntake  # noqa: E402
from domain.rules_file import parse_rules  # noqa: E402
from domain.state import LeadState  # noqa: E402

RULES = parse_rules((ROOT / "rules" / "default.yaml").read_text(), "rules/default.yaml")
T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
ROUNDS = 50


def lead_with(events: int) -> tuple[LeadState, datetime]:
    intake = LeadIntake(email="bench@example.com", country="India", received_at=T0)
    state = decide(None, IntakeReceived(lead_id="lead-bench", intake=intake), RULES, T0).state
    now = T0
    for i in range(events):
        now += timedelta(minutes=7)
        kind = ("page_viewed", "email_opened", "article_read")[i % 3]
        event = LeadEvent(event_id=f"e{i}", kind=kind, occurred_at=now)
        state = decide(state, EventReceived(event=event), RULES, now).state
    return state, now


def decide_cost(events: int) -> float:
    """Median seconds for one decision (an event arriving) on a lead that already has `events`."""
    state, now = lead_with(events)
    samples = []
    for i in range(ROUNDS):
        at = now + timedelta(minutes=i + 1)
        event = LeadEvent(event_id=f"x{i}", kind="page_viewed", occurred_at=at)
        start = time.perf_counter()
        decide(state, EventReceived(event=event), RULES, at)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


@activity.defn(name="noop")
async def noop(value: int) -> int:
    return value


@workflow.defn(sandboxed=False)
class RoundTrips:
    @workflow.run
    async def run(self, rounds: int) -> list[float]:
        local, remote = [], []
        for i in range(rounds):
            start = time.perf_counter()
            await workflow.execute_local_activity(noop, i, start_to_close_timeout=timedelta(seconds=10))
            local.append(time.perf_counter() - start)
        for i in range(rounds):
            start = time.perf_counter()
            await workflow.execute_activity(noop, i, start_to_close_timeout=timedelta(seconds=10))
            remote.append(time.perf_counter() - start)
        return [statistics.median(local), statistics.median(remote)]


async def activity_round_trips() -> tuple[float, float]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_binary()), data_converter=pydantic_data_converter, ui=False
    )
    try:
        queue = f"bench-{uuid.uuid4().hex[:6]}"
        async with Worker(env.client, task_queue=queue, workflows=[RoundTrips], activities=[noop]):
            local, remote = await env.client.execute_workflow(
                RoundTrips.run, ROUNDS, id=f"bench-{uuid.uuid4()}", task_queue=queue
            )
        return local, remote
    finally:
        await env.shutdown()


def main() -> None:
    print(f"one decision (median of {ROUNDS}), default rules:")
    costs = {n: decide_cost(n) for n in (10, 100, 1000, 2000)}
    for n, cost in costs.items():
        print(f"  lead with {n:5d} events: {cost * 1e3:8.3f} ms")
    local, remote = asyncio.run(activity_round_trips())
    print(f"round trip, dev server (median of {ROUNDS}):")
    print(f"  local activity {local * 1e3:.3f} ms, activity {remote * 1e3:.3f} ms")
    print("ratios (decision cost / local activity round trip; < 1 means inline is cheaper):")
    for n, cost in costs.items():
        print(f"  {n:5d} events: {cost / local:6.2f}   (vs activity: {cost / remote:6.2f})")


if __name__ == "__main__":
    main()
