"""`decide`: the life of a lead through every path, under the known test rules (see conftest)."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any

import pytest

from domain.decide import (
    AssignRep,
    CancelTimer,
    Complete,
    EventReceived,
    Input,
    IntakeReceived,
    Notify,
    Record,
    RepAssigned,
    RulesChanged,
    StartTimer,
    TimerFired,
    decide,
    validate,
)
from domain.errors import InvalidRequest, InvalidTransition, LeadflowError
from domain.models import (
    Accept,
    Disqualify,
    LeadIntake,
    Reassign,
    RecordOutcome,
    Reject,
    SubmitFeedback,
)
from domain.rules import Rules
from domain.state import LeadState
from domain.vocabulary import HandoffStatus, Outcome, Stage, Temperature, Tier

from .conftest import (
    LEAD_ID,
    T0,
    Lead,
    assign_request,
    event,
    intake,
    make_rules,
    of_type,
    topics,
    transitions_of,
)

H = timedelta(hours=1)
D = timedelta(days=1)


def professional(**fields: Any) -> LeadIntake:
    """Fit 20: a medium-tier lead, MQL at intake (score 20 >= 20)."""
    return intake(attributes={"occupation": "working_professional"}, **fields)


def sql_lead(rules: Rules, rep: str | None = "r-02", lead_intake: LeadIntake | None = None) -> Lead:
    """A medium-tier lead that asked for a quote an hour after intake (hot, SQL) and, unless rep is
    None, was assigned to `rep`."""
    lead = Lead(rules, lead_intake or professional())
    lead.event("quote_requested", T0 + H)
    assert lead.state.stage is Stage.SQL
    if rep is not None:
        lead.send(RepAssigned(attempt=1, rep=rep))
    return lead


def accepted_lead(rules: Rules, rep: str = "r-02") -> Lead:
    lead = sql_lead(rules, rep)
    lead.send(Accept(rep=rep), lead.later(10 * timedelta(minutes=1)))
    return lead


def last_reason(lead: Lead, machine: str) -> str:
    return [t.reason for t in lead.state.timeline if t.machine == machine][-1]


def refused(lead: Lead, item: Input, error: type[LeadflowError] = InvalidRequest) -> str:
    """Send `item`, expecting a refusal that leaves the lead as it was; returns the message."""
    before = lead.state.model_dump()
    with pytest.raises(error) as err:
        lead.send(item)
    assert lead.state.model_dump() == before
    return str(err.value)


# --- intake and the marketing stages ----------------------------------------------------------


def test_intake_scores_and_records_without_personal_data(rules: Rules) -> None:
    lead = Lead(rules)
    s = lead.state
    assert (s.lead_id, s.stage, s.temperature, s.tier, s.score) == (LEAD_ID, Stage.NEW, Temperature.COLD, Tier.LOW, 0)
    assert (s.rules_version, s.created_at, s.updated_at) == (rules.version, T0, T0)
    intake_records = [r.entry for r in of_type(lead.effects, Record) if r.entry.kind == "intake"]
    assert len(intake_records) == 1
    assert intake_records[0].data["source"] == "other"
    assert intake_records[0].data["identity_kind"] == "email"
    assert transitions_of(lead.effects) == [("temperature", "first_score", "new", "cold")]
    assert s.timers == {}  # nothing to decay


def test_decide_needs_an_intake_first(rules: Rules) -> None:
    with pytest.raises(InvalidRequest, match="does not exist yet"):
        decide(None, EventReceived(event=event("page_viewed", T0)), rules, T0)


def test_mql_by_score_at_intake(rules: Rules) -> None:
    lead = Lead(rules, professional())
    assert lead.state.stage is Stage.MQL
    assert (lead.state.score, lead.state.tier) == (20, Tier.MEDIUM)
    assert last_reason(lead, "lifecycle") == "score 20 >= MQL threshold 20"


def test_mql_by_signal(rules: Rules) -> None:
    lead = Lead(rules)
    lead.event("content_downloaded", T0 + H)
    assert lead.state.stage is Stage.MQL
    assert lead.state.score == 8  # below the MQL threshold: the signal did it
    assert last_reason(lead, "lifecycle") == "marketing signal content_downloaded"
    assert ("lifecycle", "nurture", "new", "mql") in transitions_of(lead.effects)


def test_stays_new_below_threshold_and_without_signal(rules: Rules) -> None:
    lead = Lead(rules)
    lead.event("page_viewed", T0 + H)
    lead.event("email_clicked", T0 + 2 * H)
    assert lead.state.stage is Stage.NEW
    assert lead.trail("lifecycle") == []


def test_sql_by_score(rules: Rules) -> None:
    lead = Lead(rules, professional())
    lead.event("order_placed", T0 + H)  # 20 + 40 = 60
    assert lead.state.stage is Stage.SQL
    assert last_reason(lead, "lifecycle") == "score 60 >= SQL threshold 60"
    assert lead.trail("lifecycle") == ["nurture", "qualify"]
    request = assign_request(lead.effects)
    assert (request.lead_id, request.attempt, request.exclude, request.tier) == (LEAD_ID, 1, [], "medium")


def test_sql_by_score_needs_the_minimum_tier(rules: Rules) -> None:
    lead = Lead(rules)  # low tier
    for kind in ("order_placed", "form_submitted", "pricing_page_viewed"):
        lead.event(kind, T0 + H)
    assert lead.state.score == 60 and lead.state.temperature is Temperature.HOT
    assert lead.state.stage is Stage.MQL
    assert of_type(lead.history, AssignRep) == []


def test_sql_by_score_needs_a_fresh_event() -> None:
    rules = make_rules({"lifecycle.sql.min_score": 50})
    lead = Lead(rules, intake(source="sales", attributes={"occupation": "working_professional", "budget": 5000}))
    assert lead.state.score == 55  # above the SQL threshold from fit alone ...
    assert lead.state.stage is Stage.MQL  # ... but nothing happened yet
    lead.event("page_viewed", T0 + H)
    assert lead.current().stage is Stage.SQL
    assert last_reason(lead, "lifecycle") == "score 57 >= SQL threshold 50"


def test_sql_by_signal(rules: Rules) -> None:
    lead = Lead(rules, professional())
    lead.event("trial_started", T0 + H)
    assert lead.state.score == 50  # below the SQL threshold: the signal did it
    assert lead.state.stage is Stage.SQL
    assert last_reason(lead, "lifecycle") == "sales-ready signal trial_started"


def test_sql_signal_needs_the_minimum_tier(rules: Rules) -> None:
    lead = Lead(rules)
    lead.event("quote_requested", T0 + H)
    assert lead.state.stage is Stage.MQL  # by score 30 >= 20, not SQL: low tier
    assert lead.state.temperature is Temperature.HOT


@pytest.mark.parametrize("source", ["referral", "partner"])
def test_referral_fast_track(rules: Rules, source: str) -> None:
    lead = Lead(rules, intake(source=source, country="India"))
    assert lead.state.stage is Stage.SQL
    assert lead.trail("lifecycle") == ["qualify"]
    assert last_reason(lead, "lifecycle").startswith("referral fast track")
    request = assign_request(lead.effects)
    assert (request.attempt, request.country, request.tier) == (1, "India", "high")


def test_referral_fast_track_can_be_switched_off() -> None:
    lead = Lead(make_rules({"lifecycle.referral_fast_track": False}), intake(source="referral"))
    assert lead.state.stage is Stage.MQL


def test_referral_fast_track_needs_the_minimum_tier() -> None:
    rules = make_rules({"fit.criteria.0.points": 5})  # a referral alone is now low tier
    lead = Lead(rules, intake(source="referral"))
    assert lead.state.tier is Tier.LOW
    assert lead.state.stage is Stage.NEW


# --- temperature over time --------------------------------------------------------------------


def test_decay_timer_cools_the_lead_at_the_crossing(rules: Rules) -> None:
    lead = Lead(rules)
    lead.event("order_placed", T0)
    assert lead.state.temperature is Temperature.WARM
    due = lead.state.timers["decay"]
    assert StartTimer(name="decay", at=due) in lead.effects
    lead.send(TimerFired(name="decay"), due - timedelta(seconds=1))  # early: a stale wake-up
    assert lead.state.temperature is Temperature.WARM and lead.state.timers["decay"] == due
    lead.fire("decay")
    assert lead.current().temperature is Temperature.COLD
    assert lead.trail("temperature")[-1] == "cool_to_cold"
    assert last_reason(lead, "temperature").startswith("engagement decayed: score 29.99")


def test_hot_signal_window_ends_by_timer(rules: Rules) -> None:
    lead = Lead(rules)
    lead.event("contact_requested", T0)
    assert lead.state.temperature is Temperature.HOT
    assert lead.state.timers["decay"] == T0 + 2 * D
    lead.fire("decay")
    assert lead.current().temperature is Temperature.COLD  # 25 decayed, and the signal is over
    assert lead.state.stage is Stage.MQL  # stages never move back on decay


def test_penalties_are_remembered_for_good(rules: Rules) -> None:
    lead = Lead(rules, professional())
    lead.event("unsubscribed", T0)
    assert lead.state.score == 0
    lead.event("page_viewed", T0 + 400 * D)  # long after any positive engagement would have been forgotten
    assert lead.state.score == 2  # 20 fit - 20 penalty + 2
    assert [e.kind.value for e in lead.state.events] == ["unsubscribed", "page_viewed"]


def test_old_positive_events_are_forgotten(rules: Rules) -> None:
    lead = Lead(rules)
    lead.event("order_placed", T0)
    lead.event("page_viewed", T0 + 200 * D)
    assert [e.kind.value for e in lead.state.events] == ["page_viewed"]


def test_event_from_a_clock_slightly_ahead_counts_as_now(rules: Rules) -> None:
    lead = Lead(rules, professional())
    now = T0 + H
    lead.send(EventReceived(event=event("quote_requested", now + timedelta(minutes=5))), now)
    s = lead.state
    assert (s.stage, s.temperature, s.score) == (Stage.SQL, Temperature.HOT, 50)
    assert s.events[-1].occurred_at == now
    lead.send(RepAssigned(attempt=1, rep="r-02"))
    assert lead.state.handoff.deadline == now + H  # the hot SLA, not the cold one


def test_event_far_in_the_future_is_refused(rules: Rules) -> None:
    lead = Lead(rules, professional())
    lead.now = T0 + H
    message = refused(lead, EventReceived(event=event("quote_requested", T0 + H + timedelta(minutes=11))))
    assert message.startswith("occurred_at: is in the future (")


# --- the handoff ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lead_intake", "kind", "occurred", "temperature", "tier", "sla"),
    [
        (professional(), "quote_requested", T0 + H, Temperature.HOT, Tier.MEDIUM, H),
        (professional(), "trial_started", T0 + H, Temperature.WARM, Tier.MEDIUM, 4 * H),
        (professional(), "trial_started", T0 - 20 * D, Temperature.COLD, Tier.MEDIUM, D),
        (intake(source="sales"), "trial_started", T0 + H, Temperature.WARM, Tier.HIGH, 2 * H),  # tier is shorter
        (intake(source="sales"), "quote_requested", T0 + H, Temperature.HOT, Tier.HIGH, H),  # temperature is shorter
    ],
)
def test_assignment_starts_the_shorter_sla(
    rules: Rules,
    lead_intake: LeadIntake,
    kind: str,
    occurred: datetime,
    temperature: Temperature,
    tier: Tier,
    sla: timedelta,
) -> None:
    lead = Lead(rules, lead_intake)
    lead.event(kind, occurred)
    assert (lead.state.stage, lead.state.temperature, lead.state.tier) == (Stage.SQL, temperature, tier)
    effects = lead.send(RepAssigned(attempt=1, rep="r-02"), lead.later(timedelta(seconds=5)))
    h = lead.state.handoff
    assert (h.status, h.rep, h.attempt, h.max_attempts, h.tried_reps) == (HandoffStatus.PENDING, "r-02", 1, 3, ["r-02"])
    assert h.deadline == lead.now + sla
    assert StartTimer(name="handoff", at=lead.now + sla) in effects
    assert topics(effects) == [("r-02", "lead_assigned")]
    handoff_records = [r.entry.data for r in of_type(effects, Record) if r.entry.kind == "handoff"]
    assert handoff_records == [
        {
            "stage": "sql",
            "temperature": temperature.value,
            "tier": tier.value,
            "score": lead.state.score,
            "source": lead.state.intake.source.value,
            "rep": "r-02",
            "attempt": 1,
            "deadline": (lead.now + sla).isoformat(),
            "status": "pending",
        }
    ]


def test_missed_deadlines_escalate_reassign_and_finally_return_to_marketing(rules: Rules) -> None:
    lead = sql_lead(rules, "r-02")
    reps = ["r-02", "r-03", "r-01"]
    for attempt, rep in enumerate(reps, start=1):
        if attempt > 1:
            lead.send(RepAssigned(attempt=attempt, rep=rep))
        assert (lead.state.handoff.status, lead.state.handoff.rep) == (HandoffStatus.PENDING, rep)
        deadline = lead.state.handoff.deadline
        assert deadline is not None and lead.state.timers["handoff"] == deadline

        effects = lead.fire("handoff")  # the SLA is missed
        assert lead.state.handoff.status is HandoffStatus.OVERDUE
        assert topics(effects) == [(rep, "handoff_overdue")]
        assert lead.state.timers["handoff"] == deadline + timedelta(minutes=30)

        effects = lead.fire("handoff")  # still nothing 30 minutes later
        if attempt < 3:
            assert lead.current().handoff.status is HandoffStatus.ESCALATED
            assert topics(effects) == [("sales-manager", "handoff_escalated")]
            request = assign_request(effects)
            assert (request.attempt, request.exclude) == (attempt + 1, reps[:attempt])
            assert "handoff" not in lead.state.timers  # waiting for the assignment
    # the third attempt ran out: back to marketing, flagged
    s = lead.state
    assert (s.stage, s.handoff.status, s.returned_to_marketing) == (Stage.MQL, HandoffStatus.EXPIRED, True)
    assert s.nurture_since == lead.now
    assert ("marketing", "returned_to_marketing") in topics(lead.effects)
    assert ("sales-manager", "handoff_escalated") in topics(lead.effects)
    assert of_type(lead.effects, AssignRep) == []
    assert "handoff" not in s.timers and s.handoff.deadline is None
    assert lead.trail("handoff") == ["assign", "sla_missed", "escalate"] * 3 + ["expire"]
    assert lead.trail("lifecycle")[-1] == "return_to_marketing"
    assert last_reason(lead, "lifecycle") == "no rep accepted after 3 attempt(s)"


def returned_lead(rules: Rules) -> Lead:
    lead = sql_lead(rules, rep=None)
    for attempt in (1, 2, 3):
        lead.send(RepAssigned(attempt=attempt, rep=None))  # nobody is free, every time
        lead.fire("handoff")
    assert lead.state.returned_to_marketing
    return lead


def test_no_rep_available_escalates_and_retries(rules: Rules) -> None:
    lead = sql_lead(rules, rep=None)
    effects = lead.send(RepAssigned(attempt=1, rep=None), lead.later(timedelta(seconds=3)))
    h = lead.state.handoff
    assert (h.status, h.rep, h.attempt) == (HandoffStatus.ESCALATED, None, 1)
    assert h.deadline == lead.now, "stuck since now: nobody could take it"
    assert lead.state.timers["handoff"] == lead.now + timedelta(minutes=30), "the next try"
    assert topics(effects) == [("sales-manager", "handoff_escalated")]
    assert "no rep is free" in of_type(effects, Notify)[0].notification.text
    assert refused(lead, Accept(rep="r-02")) == "no rep holds this lead right now; ops can reassign it"

    effects = lead.fire("handoff")
    assert (assign_request(effects).attempt, assign_request(effects).exclude) == (2, [])
    assert lead.send(RepAssigned(attempt=1, rep="r-03")) == []  # a late answer for attempt 1
    assert lead.state.handoff.rep is None
    lead.send(RepAssigned(attempt=2, rep="r-03"))
    assert (lead.current().handoff.status, lead.current().handoff.rep) == (HandoffStatus.PENDING, "r-03")


def test_returned_lead_is_not_requalified_until_a_fresh_event(rules: Rules) -> None:
    lead = returned_lead(rules)
    returned_at = lead.now
    # an old event reported late, a repeat submission, a wake-up: none is fresh engagement
    lead.event("quote_requested", T0 + 2 * H)
    lead.send(IntakeReceived(lead_id=LEAD_ID, intake=professional(company="Acme")), lead.later(H))
    if "decay" in lead.state.timers:
        lead.fire("decay")
    assert lead.state.stage is Stage.MQL and lead.state.returned_to_marketing
    lead.event("quote_requested", lead.later(D))
    s = lead.state
    assert lead.now > returned_at
    assert (s.stage, s.returned_to_marketing, s.handoff.attempt, s.handoff.tried_reps) == (Stage.SQL, False, 1, [])
    assert assign_request(lead.effects).exclude == []


def test_accept_by_the_assigned_rep(rules: Rules) -> None:
    lead = sql_lead(rules, "r-02")
    effects = lead.send(Accept(rep="r-02"), lead.later(timedelta(minutes=10)))
    s = lead.state
    assert (s.stage, s.handoff.status, s.handoff.deadline) == (Stage.ACCEPTED, HandoffStatus.ACCEPTED, None)
    assert CancelTimer(name="handoff") in effects
    assert s.timers["outcome_reminder"] == lead.now + 7 * D
    assert topics(effects) == [("marketing", "lead_accepted")]
    assert transitions_of(effects) == [
        ("handoff", "rep_accepted", "pending", "accepted"),
        ("lifecycle", "accept", "sql", "accepted"),
    ]


def test_accept_while_overdue_or_escalated_still_counts(rules: Rules) -> None:
    lead = sql_lead(rules, "r-02")
    lead.fire("handoff")
    lead.fire("handoff")
    assert lead.state.handoff.status is HandoffStatus.ESCALATED  # attempt 2 is being assigned ...
    lead.send(Accept(rep="r-02"))  # ... but the first rep finally takes it
    assert lead.state.stage is Stage.ACCEPTED
    assert lead.send(RepAssigned(attempt=2, rep="r-03")) == []  # the late assignment is ignored
    assert lead.state.handoff.rep == "r-02"


def test_accept_by_the_wrong_rep_is_refused(rules: Rules) -> None:
    lead = sql_lead(rules, "r-02")
    assert refused(lead, Accept(rep="r-03")) == "the lead is assigned to r-02, not r-03"
    assert refused(lead, Reject(rep="r-03", reason="no_budget")) == "the lead is assigned to r-02, not r-03"


def test_accept_outside_sql_is_an_invalid_transition(rules: Rules) -> None:
    lead = Lead(rules, professional())
    message = refused(lead, Accept(rep="r-02"), InvalidTransition)
    assert message == "lifecycle: cannot 'accept/reject' from 'mql'; allowed from 'mql': disqualify, qualify"


def test_reject_with_an_unknown_reason_is_refused(rules: Rules) -> None:
    lead = sql_lead(rules, "r-02")
    message = refused(lead, Reject(rep="r-02", reason="bored"))
    assert message == "unknown reject reason 'bored'; use one of not_interested, no_budget, spam"


def test_reject_sends_the_lead_back_to_nurture_and_asks_for_feedback(rules: Rules) -> None:
    lead = sql_lead(rules, "r-02")
    effects = lead.send(Reject(rep="r-02", reason="not_interested", note="call in May"), lead.later(H / 2))
    s = lead.state
    assert (s.stage, s.handoff.status, s.nurture_since) == (Stage.MQL, HandoffStatus.REJECTED, lead.now)
    assert transitions_of(effects) == [
        ("handoff", "rep_rejected", "pending", "rejected"),
        ("lifecycle", "reject", "sql", "mql"),
    ]
    assert topics(effects) == [("marketing", "lead_rejected"), ("r-02", "feedback_requested")]
    assert s.timers["feedback"] == lead.now + 7 * D
    assert s.timers["feedback_reminder"] == lead.now + 2 * D
    assert "handoff" not in s.timers
    assert not s.completed
    record = next(r.entry.data for r in of_type(effects, Record) if r.entry.kind == "handoff")
    assert (record["status"], record["reason"], record["note"]) == ("rejected", "not_interested", "call in May")


def test_reject_with_a_disqualifying_reason(rules: Rules) -> None:
    lead = sql_lead(rules, "r-02")
    lead.send(Reject(rep="r-02", reason="spam"))
    assert (lead.state.stage, lead.state.disqualify_reason) == (Stage.DISQUALIFIED, "spam")
    assert lead.trail("lifecycle")[-1] == "disqualify"
    lead.send(SubmitFeedback(rating=1, reasons=["low_intent"]), lead.later(D))
    assert lead.state.completed
    assert of_type(lead.effects, Complete) == [Complete(reason="lead is disqualified")]


def test_reject_without_feedback_completes_a_disqualified_lead_at_once() -> None:
    rules = make_rules({"feedback.ask_on": ["won"]})
    lead = sql_lead(rules, "r-02")
    lead.send(Reject(rep="r-02", reason="spam"))
    assert lead.state.completed and lead.state.timers == {}
    lead = sql_lead(rules, "r-02")
    lead.send(Reject(rep="r-02", reason="no_budget"))
    assert lead.state.stage is Stage.MQL and not lead.state.completed
    assert "feedback" not in lead.state.timers


# --- outcome, feedback, recycling ------------------------------------------------------------


def test_won_lead_becomes_customer_and_completes_after_feedback(rules: Rules) -> None:
    lead = accepted_lead(rules)
    effects = lead.send(RecordOutcome(outcome=Outcome.WON), lead.later(3 * D))
    s = lead.state
    assert (s.stage, s.outcome) == (Stage.CUSTOMER, Outcome.WON)
    assert topics(effects) == [("marketing", "lead_won"), ("r-02", "feedback_requested")]
    assert CancelTimer(name="outcome_reminder") in effects
    assert not s.completed
    effects = lead.send(SubmitFeedback(rating=5, reasons=["good_fit"], note="great"), lead.later(D))
    assert lead.state.completed and lead.state.timers == {}
    assert lead.state.feedback == [SubmitFeedback(rating=5, reasons=["good_fit"], note="great")]
    assert topics(effects) == [("marketing", "feedback_received")]
    assert of_type(effects, Complete) == [Complete(reason="lead is customer")]
    feedback = next(r.entry.data for r in of_type(effects, Record) if r.entry.kind == "feedback")
    assert (feedback["rating"], feedback["reasons"], feedback["rep"]) == (5, ["good_fit"], "r-02")


def test_won_before_acceptance_is_an_invalid_transition(rules: Rules) -> None:
    lead = sql_lead(rules)
    message = refused(lead, RecordOutcome(outcome=Outcome.WON), InvalidTransition)
    assert message.startswith("lifecycle: cannot 'win' from 'sql'; allowed from 'sql': ")


def test_lost_needs_a_known_reason(rules: Rules) -> None:
    lead = accepted_lead(rules)
    message = refused(lead, RecordOutcome(outcome=Outcome.LOST, reason="boring"))
    assert message == "unknown lost reason 'boring'; use one of price, competitor"


def test_lost_lead_is_recycled_to_nurture_and_can_be_handed_off_again(rules: Rules) -> None:
    lead = accepted_lead(rules)
    lead.send(RecordOutcome(outcome=Outcome.LOST, reason="price"), lead.later(2 * D))
    assert (lead.state.stage, lead.state.outcome_reason) == (Stage.LOST, "price")
    assert "recycle" not in lead.state.timers  # first the feedback
    lead.send(SubmitFeedback(rating=3), lead.later(D))
    assert lead.state.timers == {"recycle": lead.now + 30 * D}
    assert not lead.state.completed

    lead.event("page_viewed", lead.later(D))  # recorded, but a lost lead does not move on engagement
    assert lead.state.stage is Stage.LOST and len(lead.state.events) == 2

    lead.fire("recycle")
    s = lead.state
    assert (s.stage, s.outcome, s.outcome_reason, s.nurture_since) == (Stage.MQL, None, None, lead.now)
    assert last_reason(lead, "lifecycle") == "recycled to nurture after being lost"

    # a fresh sign of intent starts a new handoff, though the last one ended accepted
    lead.event("quote_requested", lead.later(D))
    assert lead.current().stage is Stage.SQL
    lead.send(RepAssigned(attempt=1, rep="r-03"))
    assert (lead.state.handoff.status, lead.state.handoff.rep) == (HandoffStatus.PENDING, "r-03")
    lead.send(Accept(rep="r-03"))
    assert lead.current().stage is Stage.ACCEPTED


def test_recycled_lead_with_no_rep_free_escalates(rules: Rules) -> None:
    lead = accepted_lead(rules)
    lead.send(RecordOutcome(outcome=Outcome.LOST, reason="price"))
    lead.send(SubmitFeedback(rating=3))
    lead.fire("recycle")
    lead.event("quote_requested", lead.later(D))
    lead.send(RepAssigned(attempt=1, rep=None))
    assert lead.state.handoff.status is HandoffStatus.ESCALATED


def test_without_feedback_won_completes_and_lost_waits_for_recycling() -> None:
    rules = make_rules({"feedback.ask_on": []})
    won = accepted_lead(rules)
    won.send(RecordOutcome(outcome=Outcome.WON))
    assert won.state.completed
    assert ("r-02", "feedback_requested") not in topics(won.effects)
    lost = accepted_lead(rules)
    lost.send(RecordOutcome(outcome=Outcome.LOST, reason="competitor"))
    assert not lost.state.completed and set(lost.state.timers) == {"recycle"}


def test_feedback_only_when_asked(rules: Rules) -> None:
    assert refused(Lead(rules, professional()), SubmitFeedback(rating=4)) == "no feedback is asked for this lead now"
    lead = accepted_lead(rules)
    assert refused(lead, SubmitFeedback(rating=4)) == "no feedback is asked for this lead now"


def test_feedback_with_unknown_reasons_is_refused(rules: Rules) -> None:
    lead = accepted_lead(rules)
    lead.send(RecordOutcome(outcome=Outcome.WON))
    message = refused(lead, SubmitFeedback(rating=4, reasons=["good_fit", "nice_hat"]))
    assert message.startswith("unknown feedback reason(s) nice_hat; use one of ")
    # reasons from the reject and lost lists are understood too
    lead.send(SubmitFeedback(rating=2, reasons=["no_budget", "price", "low_intent"]))
    assert lead.state.completed


def test_feedback_is_given_once(rules: Rules) -> None:
    lead = sql_lead(rules)
    lead.send(Reject(rep="r-02", reason="no_budget"))
    lead.send(SubmitFeedback(rating=2))
    assert refused(lead, SubmitFeedback(rating=3)) == "no feedback is asked for this lead now"
    assert "feedback" not in lead.state.timers and "feedback_reminder" not in lead.state.timers


def test_feedback_reminders_then_deadline(rules: Rules) -> None:
    lead = accepted_lead(rules)
    asked = lead.later(D)
    lead.send(RecordOutcome(outcome=Outcome.WON), asked)
    assert lead.state.timers == {"feedback": asked + 7 * D, "feedback_reminder": asked + 2 * D}

    assert topics(lead.fire("feedback_reminder")) == [("r-02", "feedback_reminder")]
    assert lead.state.timers["feedback_reminder"] == asked + 5 * D
    assert topics(lead.fire("feedback_reminder")) == [("r-02", "feedback_reminder")]
    assert "feedback_reminder" not in lead.state.timers  # only two reminders
    assert lead.state.feedback_reminders_sent == 2

    effects = lead.fire("feedback")
    assert lead.now == asked + 7 * D
    assert topics(effects) == [("marketing", "feedback_missed")]
    missed = next(r.entry.data for r in of_type(effects, Record) if r.entry.kind == "feedback")
    assert missed["missed"] is True
    assert lead.state.completed
    assert lead.state.feedback == []


def test_outcome_reminders_up_to_the_maximum_then_escalation(rules: Rules) -> None:
    lead = accepted_lead(rules)
    accepted_at = lead.now
    assert topics(lead.fire("outcome_reminder")) == [("r-02", "outcome_reminder")]
    assert lead.state.timers["outcome_reminder"] == accepted_at + 14 * D
    assert topics(lead.fire("outcome_reminder")) == [("r-02", "outcome_reminder")]
    assert lead.state.outcome_reminders_sent == 2
    assert topics(lead.fire("outcome_reminder")) == [("sales-manager", "outcome_overdue")]
    assert "outcome_reminder" not in lead.state.timers
    assert lead.state.stage is Stage.ACCEPTED  # still waiting for won / lost
    lead.send(RecordOutcome(outcome=Outcome.WON), lead.later(D))
    assert lead.current().stage is Stage.CUSTOMER


# --- ops: reassign and disqualify -------------------------------------------------------------


def test_reassign_an_open_handoff(rules: Rules) -> None:
    lead = sql_lead(rules, "r-02")
    effects = lead.send(Reassign(to="r-03", by="ops-ann"), lead.later(timedelta(minutes=20)))
    h = lead.state.handoff
    assert (h.status, h.rep, h.attempt, h.max_attempts, h.tried_reps) == (
        HandoffStatus.PENDING,
        "r-03",
        2,
        3,
        ["r-02", "r-03"],
    )
    assert h.deadline == lead.now + H  # a fresh SLA
    assert topics(effects) == [("r-03", "lead_assigned")]
    assert last_reason(lead, "handoff") == "reassigned to r-03 by ops-ann"
    assert refused(lead, Accept(rep="r-02")) == "the lead is assigned to r-03, not r-02"


def test_reassign_when_nobody_was_free(rules: Rules) -> None:
    lead = sql_lead(rules, rep=None)
    lead.send(RepAssigned(attempt=1, rep=None))
    lead.send(Reassign(to="r-01"))
    assert (lead.state.handoff.status, lead.state.handoff.rep) == (HandoffStatus.PENDING, "r-01")


def test_reassign_past_the_last_attempt_raises_the_limit(rules: Rules) -> None:
    lead = sql_lead(rules, "r-02")
    lead.send(Reassign(to="r-03"))
    lead.send(Reassign(to="r-01"))
    lead.send(Reassign(to="r-02"))
    assert (lead.state.handoff.attempt, lead.state.handoff.max_attempts) == (4, 4)


@pytest.mark.parametrize(
    ("to", "message"),
    [
        ("r-09", "'r-09' is not an active rep; active: r-01, r-02, r-03"),
        ("r-77", "'r-77' is not an active rep; active: r-01, r-02, r-03"),
        ("r-02", "the lead is already assigned to r-02"),
    ],
)
def test_reassign_needs_another_active_rep(rules: Rules, to: str, message: str) -> None:
    assert refused(sql_lead(rules, "r-02"), Reassign(to=to)) == message


def test_reassign_only_an_open_handoff(rules: Rules) -> None:
    message = refused(Lead(rules, professional()), Reassign(to="r-03"))
    assert message == "only an open handoff can be reassigned (stage mql, handoff none)"
    message = refused(accepted_lead(rules), Reassign(to="r-03"))
    assert message == "only an open handoff can be reassigned (stage accepted, handoff accepted)"


def test_disqualify_an_open_handoff(rules: Rules) -> None:
    lead = sql_lead(rules, "r-02")
    effects = lead.send(Disqualify(reason="test", by="ops-ann"), lead.later(H / 4))
    s = lead.state
    assert (s.stage, s.handoff.status, s.disqualify_reason) == (Stage.DISQUALIFIED, HandoffStatus.NONE, "test")
    assert transitions_of(effects) == [
        ("lifecycle", "disqualify", "sql", "disqualified"),
        ("handoff", "withdraw", "pending", "none"),
    ]
    assert topics(effects) == [("marketing", "lead_disqualified")]
    assert s.completed and s.timers == {}
    assert of_type(effects, Complete) == [Complete(reason="lead is disqualified")]


@pytest.mark.parametrize("stage", ["new", "mql", "accepted"])
def test_disqualify_from_every_open_stage(rules: Rules, stage: str) -> None:
    lead = {
        "new": lambda: Lead(rules),
        "mql": lambda: Lead(rules, professional()),
        "accepted": lambda: accepted_lead(rules),
    }[stage]()
    lead.send(Disqualify(reason="spam"))
    assert lead.state.stage is Stage.DISQUALIFIED and lead.state.completed


def test_disqualify_needs_a_known_reason(rules: Rules) -> None:
    message = refused(Lead(rules), Disqualify(reason="ugly"))
    assert message == "unknown disqualify reason 'ugly'; use one of spam, test"


def test_disqualify_a_lost_lead_is_not_a_transition_of_the_table(rules: Rules) -> None:
    lead = accepted_lead(rules)
    lead.send(RecordOutcome(outcome=Outcome.LOST, reason="price"))
    message = refused(lead, Disqualify(reason="spam"), InvalidTransition)
    assert message == "lifecycle: cannot 'disqualify' from 'lost'; allowed from 'lost': recycle"


# --- duplicates, stale wake-ups, completion ---------------------------------------------------


def test_event_reported_twice_counts_once(rules: Rules) -> None:
    lead = Lead(rules)
    lead.event("order_placed", T0 + H, event_id="order-1")
    before = lead.state.model_dump(exclude={"updated_at"})
    assert lead.event("order_placed", T0 + H, event_id="order-1") == []
    assert lead.event("form_submitted", T0 + 2 * H, event_id="order-1") == []  # the id decides
    assert lead.state.model_dump(exclude={"updated_at"}) == before
    assert lead.state.score == 40


def test_repeat_submission_merges_and_rescores(rules: Rules) -> None:
    lead = Lead(rules)
    assert lead.state.stage is Stage.NEW
    effects = lead.send(IntakeReceived(lead_id=LEAD_ID, intake=professional(company="Acme")), lead.later(H))
    s = lead.state
    assert (s.duplicates, s.fit, s.stage) == (1, 23, Stage.MQL)
    assert s.intake.company == "Acme" and s.intake.received_at == T0
    intake_record = next(r.entry.data for r in of_type(effects, Record) if r.entry.kind == "intake")
    assert (intake_record["duplicate"], intake_record["duplicates"]) == (True, 1)


def test_repeat_submission_over_the_bounds_is_refused(rules: Rules) -> None:
    lead = Lead(rules, intake(attributes={f"a{i}": i for i in range(30)}))
    message = refused(lead, IntakeReceived(lead_id=LEAD_ID, intake=intake(attributes={f"b{i}": i for i in range(30)})))
    assert message == "merged with the earlier submission: attributes: has 60 entries; at most 50 are allowed"


@pytest.mark.parametrize("name", ["handoff", "decay", "outcome_reminder", "feedback", "recycle", "nonsense"])
def test_stale_or_unknown_timer_wake_ups_are_ignored(rules: Rules, name: str) -> None:
    lead = sql_lead(rules, "r-02")
    before = lead.state.model_dump(exclude={"updated_at"})
    lead.send(TimerFired(name=name), lead.later(timedelta(minutes=1)))  # before any deadline, or not set
    assert lead.effects == []
    assert lead.state.model_dump(exclude={"updated_at"}) == before


def test_cancelled_timer_wake_up_is_ignored(rules: Rules) -> None:
    lead = accepted_lead(rules)
    assert "handoff" not in lead.state.timers
    before = lead.state.model_dump(exclude={"updated_at"})
    assert lead.send(TimerFired(name="handoff"), lead.later(D)) == []
    assert lead.state.model_dump(exclude={"updated_at"}) == before


def completed_lead(rules: Rules) -> Lead:
    lead = accepted_lead(rules)
    lead.send(RecordOutcome(outcome=Outcome.WON))
    lead.send(SubmitFeedback(rating=5))
    assert lead.state.completed
    return lead


@pytest.mark.parametrize(
    "item",
    [
        EventReceived(event=event("quote_requested", T0 + 10 * D)),
        TimerFired(name="decay"),
        RepAssigned(attempt=1, rep="r-02"),
        Accept(rep="r-02"),
        Reject(rep="r-02", reason="no_budget"),
        RecordOutcome(outcome=Outcome.LOST, reason="price"),
        SubmitFeedback(rating=1),
        Reassign(to="r-03"),
        Disqualify(reason="spam"),
        IntakeReceived(lead_id=LEAD_ID, intake=professional(company="Acme")),
    ],
    ids=lambda item: item.kind,
)
def test_completed_lead_refuses_everything(rules: Rules, item: Input) -> None:
    lead = completed_lead(rules)
    lead.now = T0 + 10 * D
    assert "has completed" in refused(lead, item)


def test_rules_change_to_the_loaded_version_only(rules: Rules) -> None:
    lead = Lead(rules)
    assert lead.send(RulesChanged(version=rules.version)) == []
    assert refused(lead, RulesChanged(version="r-000000000000")).startswith("rules r-000000000000 were announced")


def test_rules_change_rescores_and_moves_forward_only() -> None:
    old = make_rules()
    lead = Lead(old)
    lead.event("order_placed", T0)  # 40: warm, MQL
    assert (lead.state.stage, lead.state.temperature) == (Stage.MQL, Temperature.WARM)
    new = make_rules({"temperature.thresholds": {"warm": 50, "hot": 80}, "lifecycle.mql.min_score": 10})
    lead.rules = new
    effects = lead.send(RulesChanged(version=new.version), lead.later(H))
    assert lead.state.rules_version == new.version
    assert lead.state.temperature is Temperature.WARM  # would be cold under the new thresholds: no cooling here
    score_record = next(r.entry.data for r in of_type(effects, Record) if r.entry.kind == "score")
    assert score_record["rules_changed"] == {"from": old.version, "to": new.version}


# --- what decide promises about itself --------------------------------------------------------


def life_of_a_lead(rules: Rules) -> tuple[LeadIntake, Lead]:
    """Every kind of input once: intake, events, assignment, SLA miss, escalation, reassignment,
    accept, outcome reminder, lost, feedback, recycling, a second handoff, won, feedback."""
    personal = intake(
        email="Ada.Lovelace@Example.com",
        phone="+44 20 7946 0958",
        name="Ada Lovelace",
        company="Analytical Engines",
        city="London",
        attributes={"occupation": "working_professional"},
    )
    lead = Lead(rules, personal)
    lead.event("content_downloaded", T0 + H)
    lead.event("quote_requested", T0 + 2 * H)
    lead.send(RepAssigned(attempt=1, rep="r-02"))
    lead.fire("handoff")
    lead.fire("handoff")
    lead.send(RepAssigned(attempt=2, rep=None))
    lead.send(Reassign(to="r-01"))
    lead.send(Accept(rep="r-01"))
    lead.fire("outcome_reminder")
    lead.send(RecordOutcome(outcome=Outcome.LOST, reason="price", note="too pricey"))
    lead.fire("feedback_reminder")
    lead.send(SubmitFeedback(rating=3, reasons=["low_intent"]))
    lead.fire("recycle")
    lead.event("trial_started", lead.later(H))
    lead.send(RepAssigned(attempt=1, rep="r-03"))
    lead.send(Accept(rep="r-03"))
    lead.send(RecordOutcome(outcome=Outcome.WON), lead.later(D))
    lead.send(SubmitFeedback(rating=5, reasons=["good_fit"]))
    assert lead.state.completed and lead.state.stage is Stage.CUSTOMER
    return personal, lead


def test_every_transition_is_in_the_timeline_and_recorded_with_the_rules_version(rules: Rules) -> None:
    _, lead = life_of_a_lead(rules)
    timeline = lead.state.timeline
    recorded = [r.entry for r in of_type(lead.history, Record) if r.entry.kind == "transition"]
    assert len(timeline) == len(recorded) > 20
    for step, entry in zip(timeline, recorded, strict=True):
        assert entry.seq == step.seq
        assert entry.rules_version == step.rules_version == rules.version
        assert entry.at == step.at
        assert entry.data == {
            "machine": step.machine,
            "source": step.source,
            "dest": step.dest,
            "trigger": step.trigger,
            "reason": step.reason,
        }
    assert [t.trigger for t in timeline if t.machine == "lifecycle"] == [
        "nurture",
        "qualify",
        "accept",
        "lose",
        "recycle",
        "qualify",
        "accept",
        "win",
    ]
    seqs = [r.entry.seq for r in of_type(lead.history, Record)]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)  # the ledger's key is unique
    keys = [n.notification.key for n in of_type(lead.history, Notify)]
    assert len(set(keys)) == len(keys)


def test_effects_carry_no_personal_data(rules: Rules) -> None:
    personal, lead = life_of_a_lead(rules)
    dumped = "\n".join(effect.model_dump_json() for effect in lead.history).lower()
    assert len(of_type(lead.history, Notify)) > 10
    for secret in (
        personal.email,
        personal.phone,
        "7946",
        personal.name,
        "lovelace",
        "ada",
        personal.company,
        "london",
    ):
        assert secret is not None
        assert secret.lower() not in dumped, secret


def test_decide_does_not_change_its_input(rules: Rules) -> None:
    lead = sql_lead(rules, "r-02")
    state = lead.state
    before = state.model_dump()
    inputs: list[tuple[Input, datetime]] = [
        (EventReceived(event=event("order_placed", T0 + 3 * H)), T0 + 3 * H),
        (TimerFired(name="handoff"), T0 + 5 * H),
        (Accept(rep="r-02"), T0 + 2 * H),
        (Reject(rep="r-02", reason="spam"), T0 + 2 * H),
        (Reassign(to="r-01"), T0 + 2 * H),
        (Disqualify(reason="spam"), T0 + 2 * H),
        (Accept(rep="r-03"), T0 + 2 * H),  # refused
    ]
    for item, at in inputs:
        with contextlib.suppress(LeadflowError):
            decide(state, item, rules, at)
        assert state.model_dump() == before, item


@pytest.mark.parametrize(
    "item",
    [
        Accept(rep="r-02"),
        Accept(rep="r-03"),
        Reject(rep="r-02", reason="bored"),
        Reject(rep="r-02", reason="spam"),
        RecordOutcome(outcome=Outcome.WON),
        SubmitFeedback(rating=3),
        Reassign(to="r-09"),
        Reassign(to="r-01"),
        Disqualify(reason="ugly"),
        Disqualify(reason="test"),
        RulesChanged(version="r-000000000000"),
        EventReceived(event=event("page_viewed", T0 + 2 * H)),
        TimerFired(name="handoff"),
    ],
    ids=lambda item: item.kind,
)
def test_validate_raises_exactly_what_decide_would_and_changes_nothing(rules: Rules, item: Input) -> None:
    state = sql_lead(rules, "r-02").state
    before = state.model_dump()
    now = T0 + 2 * H
    try:
        decide(state, item, rules, now)
    except LeadflowError as exc:
        with pytest.raises(type(exc)) as err:
            validate(state, item, rules, now)
        assert str(err.value) == str(exc)
    else:
        validate(state, item, rules, now)
    assert state.model_dump() == before


def test_validate_on_a_new_lead(rules: Rules) -> None:
    validate(None, IntakeReceived(lead_id=LEAD_ID, intake=intake()), rules, T0)  # raises nothing
    with pytest.raises(InvalidRequest, match="does not exist yet"):
        validate(None, Accept(rep="r-02"), rules, T0)


def test_state_survives_serialisation_mid_life(rules: Rules) -> None:
    lead = accepted_lead(rules)
    copy = LeadState.model_validate_json(lead.state.model_dump_json())
    assert copy == lead.state
    first = decide(lead.state, RecordOutcome(outcome=Outcome.WON), rules, lead.now)
    second = decide(copy, RecordOutcome(outcome=Outcome.WON), rules, lead.now)
    assert first == second
