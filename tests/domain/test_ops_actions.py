"""What ops need from the domain: overdue deadlines that stay put, hand-to-sales, safe ledger rows."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from domain.decide import EventReceived, Record, RepAssigned
from domain.errors import InvalidTransition
from domain.models import REDACTED, HandToSales
from domain.rules import Rules
from domain.view import waiting_for
from domain.vocabulary import HandoffStatus, Stage
from tests.domain.conftest import Lead, assign_request, event, intake, of_type
from tests.domain.test_decide import sql_lead


def test_an_overdue_handoff_keeps_the_deadline_it_missed(rules: Rules) -> None:
    lead = sql_lead(rules, rep="r-02")
    missed = lead.state.handoff.deadline
    assert missed is not None
    lead.fire("handoff")
    assert lead.state.handoff.status is HandoffStatus.OVERDUE
    assert lead.state.handoff.deadline == missed, "ops see how long it has been overdue"
    assert lead.state.timers["handoff"] == missed + rules.handoff.escalate_after, "the escalation comes next"
    assert "Overdue since" in waiting_for(lead.state)


def test_hand_to_sales_qualifies_a_lead_that_scoring_would_not(rules: Rules) -> None:
    lead = Lead(rules, intake(attributes={"occupation": "student"}))
    assert lead.state.stage in (Stage.NEW, Stage.MQL)
    effects = lead.send(HandToSales(by="ops-kim", reason="called the hotline"), lead.later(timedelta(minutes=5)))
    assert lead.current().stage is Stage.SQL
    assert assign_request(effects).attempt == 1
    assert lead.state.timeline[-1].reason == "handed to sales by ops-kim: called the hotline"
    lead.send(RepAssigned(attempt=1, rep="r-01"))
    assert lead.state.handoff.status is HandoffStatus.PENDING
    with pytest.raises(InvalidTransition) as refused:
        lead.send(HandToSales(by="ops-kim"))
    assert "cannot 'qualify' from 'sql'" in str(refused.value)


def test_ledger_rows_carry_the_scoring_profile_but_no_personal_data(rules: Rules) -> None:
    lead = Lead(
        rules,
        intake(
            name="Ada Lovelace",
            phone="+44 20 7946 0958",
            company="Analytical Engines",
            city="London",
            country="India",
            attributes={"occupation": "working_professional"},
        ),
    )
    lead.send(EventReceived(event=event("page_viewed", lead.now, seconds=42)))
    rows = [r.entry for r in of_type(lead.history, Record)]
    intake_row = next(r for r in rows if r.kind == "intake")
    profile = intake_row.data["profile"]
    assert profile["country"] == "India" and profile["attributes"] == {"occupation": "working_professional"}
    assert profile["email_domain"] == "example.com"
    assert profile["company"] == REDACTED and profile["city"] == REDACTED
    event_row = next(r for r in rows if r.kind == "event")
    assert event_row.data["properties"] == {"seconds": 42}
    dumped = json.dumps([r.model_dump(mode="json") for r in rows]).lower()
    for personal in ("ada", "lovelace", "7946", "analytical", "london"):
        assert personal not in dumped, personal


def test_a_repeated_assignment_answer_changes_nothing(rules: Rules) -> None:
    lead = sql_lead(rules, rep="r-02")
    before = lead.state.model_dump()
    assert lead.send(RepAssigned(attempt=1, rep="r-02")) == []
    assert lead.state.model_dump() == before


def test_a_lead_keeps_a_bounded_number_of_events(rules: Rules) -> None:
    from domain.decide import EVENTS_KEPT, EventReceived

    lead = Lead(rules)
    for i in range(EVENTS_KEPT + 50):
        at = lead.now + timedelta(seconds=1)
        lead.send(EventReceived(event=event("page_viewed", at, f"p{i}")), at)
    assert len(lead.state.events) == EVENTS_KEPT
    assert [e.event_id for e in lead.state.events[:1] + lead.state.events[-1:]] == ["p50", f"p{EVENTS_KEPT + 49}"]


def test_a_rules_file_may_not_set_its_own_version() -> None:
    from domain.errors import RulesError
    from domain.rules_file import parse_rules
    from tests.conftest import DEFAULT_RULES

    text = "version: r-000000000000\n" + DEFAULT_RULES.read_text()
    with pytest.raises(RulesError) as refused:
        parse_rules(text, "rules/x.yaml")
    assert str(refused.value) == "rules/x.yaml:1: version: is set from the file's content; remove it"
