"""What sales did, read from an X Education row: the table the real-data import replays."""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from domain.rules import Rules
from domain.xeducation import (
    LEAD_QUALITY_RATING,
    TAG_REASONS,
    TAG_SALES_ACTIONS,
    MalformedRow,
    SalesPlan,
    sales_plan_of,
)
from tests.conftest import ROOT, SHARED_DATA


def row(tags: str = "", converted: str = "0", quality: str = "") -> dict[str, str | None]:
    return {"Prospect ID": "p-1", "Tags": tags, "Converted": converted, "Lead Quality": quality}


def plan(**cells: str) -> SalesPlan:
    found = sales_plan_of(row(**cells))
    assert found is not None
    return found


def test_every_tag_with_a_feedback_reason_has_a_sales_action_and_back() -> None:
    assert set(TAG_SALES_ACTIONS) == set(TAG_REASONS)


def test_the_table_uses_the_default_rules_reasons(default_rules: Rules) -> None:
    reasons = default_rules.reasons
    feedback = set(reasons.feedback) | set(reasons.reject) | set(reasons.lost)
    for tag, (verdict, reason) in TAG_SALES_ACTIONS.items():
        if verdict == "rejected":
            assert reason in reasons.reject, tag
            rule = default_rules.reject_reason(reason)
            assert rule is not None and rule.then == "nurture", f"{tag}: a replayed rejection goes back to marketing"
        else:
            assert reason in reasons.lost, tag
        assert set(plan(tags=tag, quality="Not Sure").feedback_reasons) <= feedback, tag


@pytest.mark.parametrize("tags", ["", *TAG_SALES_ACTIONS, "Something new"])
def test_converted_is_won_whatever_the_tag(tags: str) -> None:
    won = plan(tags=tags, converted="1")
    assert won.verdict == "won" and won.reason is None
    assert set(won.feedback_reasons) <= {"ready_to_buy"}


@pytest.mark.parametrize("converted", ["0", ""])
def test_no_tag_and_not_converted_means_sales_never_saw_the_lead(converted: str) -> None:
    assert sales_plan_of(row(converted=converted, quality="High in Relevance")) is None


def test_a_tag_sets_the_verdict_reason_and_feedback() -> None:
    ringing = plan(tags="Ringing", quality="Low in Relevance")
    assert (ringing.verdict, ringing.reason, ringing.rating, ringing.feedback_reasons) == (
        "rejected",
        "not_reachable",
        2,
        ("not_reachable",),
    )
    wrong = plan(tags="invalid number")
    assert (wrong.verdict, wrong.reason, wrong.feedback_reasons) == (
        "rejected",
        "not_reachable",
        ("wrong_contact_details",),
    )
    lost = plan(tags="Lost to EINS", quality="Might be")
    assert (lost.verdict, lost.reason, lost.rating, lost.feedback_reasons) == ("lost", "competitor", 4, ("competitor",))
    closed = plan(tags="Closed by Horizzon", converted="1", quality="High in Relevance")
    assert (closed.verdict, closed.rating, closed.feedback_reasons) == ("won", 5, ("ready_to_buy",))
    assert plan(tags="Will revert after reading the email", converted="1").feedback_reasons == ()


@pytest.mark.parametrize(("quality", "rating"), [*LEAD_QUALITY_RATING.items(), ("", None)])
def test_lead_quality_is_the_rating(quality: str, rating: int | None) -> None:
    assert plan(tags="Busy", quality=quality).rating == rating


def test_an_unknown_tag_is_lost_without_a_reason_from_it_and_without_its_text() -> None:
    unknown = plan(tags="called Jane Doe on +91 98765 43210")
    assert (unknown.verdict, unknown.reason, unknown.feedback_reasons) == ("lost", "no_decision", ())
    assert "Jane" not in unknown.evidence and "98765" not in unknown.evidence
    assert "Ringing" in plan(tags="Ringing").evidence


def test_a_bad_outcome_makes_the_row_malformed() -> None:
    with pytest.raises(MalformedRow, match="Converted"):
        sales_plan_of(row(tags="Busy", converted="yes"))


def test_on_the_real_leads_won_is_exactly_converted() -> None:
    with SHARED_DATA.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    verdicts: Counter[str] = Counter()
    for cells in rows:
        found = sales_plan_of(cells)
        verdicts[found.verdict if found else "none"] += 1
        assert (found is not None and found.verdict == "won") == (cells["Converted"] == "1")
    assert verdicts["won"] == sum(1 for cells in rows if cells["Converted"] == "1")
    assert verdicts["none"] == sum(1 for c in rows if not c["Tags"].strip() and c["Converted"] != "1")


def test_the_docs_list_every_tag() -> None:
    docs = (ROOT / "docs" / "import.md").read_text(encoding="utf-8")
    for tag in TAG_SALES_ACTIONS:
        assert tag in docs, tag
