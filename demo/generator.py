"""Seeded demo leads and what happens to them, so `make run` shows every stage within minutes.

Deterministic for a given seed; needs no files outside the repository.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Plan = Literal["win", "lose", "ignore", "reject", "spam", "reassign", "nurture", "quiet", "disqualify", "pending"]

# How many leads follow each plan; the order is the order they are fed in.
PLANS: list[tuple[Plan, int]] = [
    ("win", 4),  # accepted, won, rated → completed customers
    ("lose", 3),  # accepted, lost, rated → lost (recycled to nurture later)
    ("ignore", 3),  # nobody accepts: overdue → escalated → reassigned → returned to marketing
    ("reject", 2),  # rejected with a reason → back to nurture
    ("spam", 1),  # rejected as spam → disqualified
    ("reassign", 1),  # ops move it to another rep, who accepts
    ("pending", 2),  # accepted and waiting for the outcome
    ("disqualify", 1),  # ops disqualify it while nurturing
    ("nurture", 6),  # marketing engagement only: MQL, warm or cold
    ("quiet", 3),  # submitted, nothing more: stays new
]

_OCCUPATIONS = ["working_professional", "unemployed", "student", "businessman", "other"]
_COUNTRIES = ["India", "India", "India", "United Arab Emirates", "Singapore", "United States", None]
_SOURCES = ["organic_search", "paid_search", "direct", "chat", "web_form", "social", "referral"]
_NURTURE_EVENTS = ["page_viewed", "email_opened", "article_read", "content_downloaded", "webinar_registered"]
_HOT_EVENTS = ["quote_requested", "contact_requested", "trial_started"]


@dataclass
class DemoLead:
    number: int
    plan: Plan
    intake: dict[str, Any]
    events: list[str] = field(default_factory=list)


def demo_leads(seed: int = 7) -> list[DemoLead]:
    """The demo's leads, each with a plan for what sales and ops will do with it."""
    rng = random.Random(seed)
    leads: list[DemoLead] = []
    number = 0
    for plan, count in PLANS:
        for _ in range(count):
            number += 1
            qualified = plan in ("win", "lose", "ignore", "reject", "spam", "reassign", "pending")
            occupation = "working_professional" if qualified else rng.choice(_OCCUPATIONS[1:])
            intake: dict[str, Any] = {
                "email": f"demo-{number:03d}@example.com",
                "name": f"Demo Lead {number:03d}",
                "country": "India" if qualified else rng.choice(_COUNTRIES),
                "source": rng.choice(_SOURCES[:-1]),
                "attributes": {"occupation": occupation, "motivation": "better_career_prospects"},
            }
            if plan == "quiet":
                intake["attributes"] = {"occupation": "student"}
                intake["country"] = None
                intake["source"] = "chat"
            events: list[str] = []
            if plan == "nurture":
                events = rng.sample(_NURTURE_EVENTS, k=rng.randint(1, 4))
            elif qualified:
                events = [rng.choice(_NURTURE_EVENTS), rng.choice(_HOT_EVENTS)]
            elif plan == "disqualify":
                events = ["page_viewed"]
            leads.append(DemoLead(number=number, plan=plan, intake=intake, events=events))
    return leads


def event_payload(lead: DemoLead, index: int, kind: str, now: datetime) -> dict[str, Any]:
    return {"event_id": f"demo-{lead.number:03d}-{index}", "kind": kind, "occurred_at": now}
