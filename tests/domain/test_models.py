"""Intake, event and request models: good input passes, bad input names the field and the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from domain.models import (
    Accept,
    Disqualify,
    LeadEvent,
    LeadIntake,
    Reassign,
    RecordOutcome,
    Reject,
    SubmitFeedback,
    describe_validation_error,
    normalise_email,
    normalise_phone,
)
from domain.vocabulary import EventKind, Outcome, Source

from .conftest import T0


def problems(model: type[BaseModel], data: dict[str, Any], now: datetime | None = None) -> str:
    """The one-line description of why `data` is refused (fails the test if it is accepted)."""
    with pytest.raises(ValidationError) as err:
        model.model_validate(data, context={"now": now} if now else None)
    return describe_validation_error(err.value)


def lead(**fields: Any) -> dict[str, Any]:
    return {"email": "ada@example.com", "received_at": T0, **fields}


def ev(**fields: Any) -> dict[str, Any]:
    return {"event_id": "ev-1", "kind": "page_viewed", "occurred_at": T0, **fields}


# --- intake: good input -----------------------------------------------------------------------


def test_a_full_intake_is_accepted_and_normalised() -> None:
    intake = LeadIntake.model_validate(
        {
            "email": "  Ada.Lovelace+news@Example.COM ",
            "phone": "+44 (20) 7946-0958",
            "external_id": "crm:42/a",
            "name": "  Ada Lovelace ",
            "company": "Analytical Engines Ltd",
            "country": "United Kingdom",
            "city": "London",
            "source": "referral",
            "referrer": "Charles Babbage",
            "consent": {"do_not_email": False, "do_not_call": True},
            "attributes": {"occupation": "working_professional", "company_size": 12, "budget": 1e4, "vip": True},
            "received_at": "2026-03-02T10:00:00+01:00",
        },
        context={"now": T0},
    )
    assert intake.email == "ada.lovelace+news@example.com"
    assert intake.phone == "+442079460958"
    assert intake.name == "Ada Lovelace"
    assert intake.source is Source.REFERRAL
    assert intake.consent.do_not_call is True
    assert intake.received_at == T0 and intake.received_at.tzinfo is UTC
    assert intake.attributes == {"occupation": "working_professional", "company_size": 12, "budget": 1e4, "vip": True}
    assert isinstance(intake.attributes["vip"], bool) and isinstance(intake.attributes["company_size"], int)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
        ("+1 (415) 555-0100", "+14155550100"),
        ("+91.98765.43210", "+919876543210"),
        ("+49/30/1234567", "+49301234567"),
    ],
)
def test_phone_is_normalised_to_e164(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected
    assert LeadIntake.model_validate(lead(email=None, phone=raw)).phone == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("ADA@EXAMPLE.COM", "ada@example.com"), ("  a.b-c_d@sub.example.co.uk ", "a.b-c_d@sub.example.co.uk")],
)
def test_email_is_normalised(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


def test_blank_contact_fields_count_as_absent() -> None:
    intake = LeadIntake.model_validate(lead(email="   ", phone="", external_id="x-1"))
    assert (intake.email, intake.phone) == (None, None)
    assert intake.identity() == "external:x-1"


def test_future_within_the_allowed_skew_is_accepted() -> None:
    intake = LeadIntake.model_validate(lead(received_at=T0 + timedelta(minutes=9)), context={"now": T0})
    assert intake.received_at == T0 + timedelta(minutes=9)


def test_future_is_only_checked_when_now_is_given() -> None:
    far = T0 + timedelta(days=30)
    assert LeadIntake.model_validate(lead(received_at=far)).received_at == far


# --- intake: bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"email": None}, "(payload)", "needs at least one of email, phone, external_id"),
        ({"email": "  "}, "(payload)", "needs at least one of email, phone, external_id"),
        ({"email": "ada"}, "email", "is not a valid e-mail address"),
        ({"email": "ada@"}, "email", "is not a valid e-mail address"),
        ({"email": "@example.com"}, "email", "is not a valid e-mail address"),
        ({"email": "ada@example"}, "email", "is not a valid e-mail address"),
        ({"email": "ada lovelace@example.com"}, "email", "is not a valid e-mail address"),
        ({"email": "a" * 65 + "@example.com"}, "email", "is not a valid e-mail address"),
        ({"email": "a@" + "b" * 250 + ".com"}, "email", "is not a valid e-mail address"),
        ({"phone": "020 7946 0958"}, "phone", "needs the country code"),
        ({"phone": "7946 0958"}, "phone", "needs the country code"),
        ({"phone": "+44 20 CALL ME"}, "phone", "may contain only digits"),
        ({"phone": "+44 123"}, "phone", "8 to 15 digits"),
        ({"phone": "+1234567890123456"}, "phone", "8 to 15 digits"),
        ({"phone": "+0 20 7946 0958"}, "phone", "8 to 15 digits"),
        ({"external_id": "has space"}, "external_id", "should match pattern"),
        ({"external_id": "x" * 129}, "external_id", "at most 128 characters"),
        ({"name": "n" * 201}, "name", "at most 200 characters"),
        ({"name": "   "}, "name", "at least 1 character"),
        ({"company": "c" * 201}, "company", "at most 200 characters"),
        ({"referrer": "r" * 201}, "referrer", "at most 200 characters"),
        ({"country": "c" * 65}, "country", "at most 64 characters"),
        ({"city": "c" * 101}, "city", "at most 100 characters"),
        ({"source": "television"}, "source", "Input should be"),
        ({"consent": {"do_not_fax": True}}, "consent.do_not_fax", "Extra inputs are not permitted"),
        ({"emial": "typo@example.com"}, "emial", "Extra inputs are not permitted"),
        ({"attributes": {f"k{i}": i for i in range(51)}}, "attributes", "has 51 entries; at most 50"),
        ({"attributes": {"Company Size": 3}}, "attributes", "key 'Company Size' must be lower_snake_case"),
        ({"attributes": {"1st": 3}}, "attributes", "key '1st' must be lower_snake_case"),
        ({"attributes": {"k" * 65: 3}}, "attributes", "must be lower_snake_case, 1-64 characters"),
        ({"attributes": {"note": "x" * 501}}, "attributes", "value of 'note' is longer than 500 characters"),
        ({"attributes": {"size": float("nan")}}, "attributes", "value of 'size' is not a finite number"),
        ({"attributes": {"size": float("inf")}}, "attributes", "value of 'size' is not a finite number"),
        ({"attributes": {f"k{i}": "x" * 400 for i in range(30)}}, "attributes", "bytes as JSON; at most 8192"),
        # a union of scalars: pydantic names each member it tried
        ({"attributes": {"tags": ["a", "b"]}}, "attributes.tags.str", "Input should be a valid string"),
        ({"received_at": "2026-03-02T09:00:00"}, "received_at", "must include a timezone"),
        ({"received_at": datetime(2026, 3, 2, 9, 0)}, "received_at", "must include a timezone"),
        ({"received_at": "1999-12-31T23:59:59Z"}, "received_at", "is before 2000-01-01"),
        ({"received_at": "yesterday"}, "received_at", "valid datetime"),
        ({"received_at": None}, "received_at", "valid datetime"),
    ],
)
def test_bad_intake_is_refused_naming_the_field(fields: dict[str, Any], field: str, reason: str) -> None:
    text = problems(LeadIntake, lead(**fields), now=T0)
    assert text.startswith(f"{field}: ") or f"; {field}: " in text, text
    assert reason in text


def test_intake_received_in_the_future_is_refused() -> None:
    text = problems(LeadIntake, lead(received_at=T0 + timedelta(minutes=11)), now=T0)
    assert text == "received_at: is in the future (2026-03-02T09:11:00+00:00 > now 2026-03-02T09:00:00+00:00)"


def test_missing_received_at_is_named() -> None:
    assert problems(LeadIntake, {"email": "ada@example.com"}) == "received_at: Field required"


def test_several_problems_are_reported_together() -> None:
    text = problems(LeadIntake, lead(email="nope", phone="123", name="n" * 300))
    assert "email: is not a valid e-mail address" in text
    assert "phone: needs the country code" in text
    assert "name: String should have at most 200 characters" in text


def test_intake_is_immutable() -> None:
    intake = LeadIntake.model_validate(lead())
    with pytest.raises(ValidationError):
        intake.email = "other@example.com"  # type: ignore[misc]


# --- identity and merging ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "identity"),
    [
        ({"email": "Ada@Example.com", "phone": "+44 20 7946 0958", "external_id": "x-1"}, "email:ada@example.com"),
        ({"email": None, "phone": "0044 20 7946 0958", "external_id": "x-1"}, "phone:+442079460958"),
        ({"email": None, "external_id": "crm:42"}, "external:crm:42"),
    ],
)
def test_identity_prefers_email_then_phone_then_external_id(fields: dict[str, Any], identity: str) -> None:
    assert LeadIntake.model_validate(lead(**fields)).identity() == identity


def test_same_person_spelled_differently_has_one_identity() -> None:
    first = LeadIntake.model_validate(lead(email=" ADA@example.com"))
    second = LeadIntake.model_validate(lead(email="ada@EXAMPLE.com "))
    assert first.identity() == second.identity()


def test_merged_with_adds_and_updates_but_keeps_first_touch() -> None:
    first = LeadIntake.model_validate(
        lead(
            name="Ada",
            source="web_form",
            country="India",
            attributes={"occupation": "student", "budget": 100},
            consent={"do_not_call": True},
        )
    )
    later = LeadIntake.model_validate(
        {
            "email": "ada@example.com",
            "phone": "+91 98765 43210",
            "company": "Engines",
            "source": "chat",
            "attributes": {"occupation": "working_professional", "industry": "it"},
            "received_at": T0 + timedelta(days=3),
        }
    )
    merged = first.merged_with(later)
    assert merged.phone == "+919876543210"  # added
    assert merged.company == "Engines"  # added
    assert merged.name == "Ada" and merged.country == "India"  # not erased by absent fields
    assert merged.attributes == {"occupation": "working_professional", "budget": 100, "industry": "it"}
    assert merged.source is Source.WEB_FORM  # the first channel
    assert merged.received_at == T0  # the first touch
    assert merged.consent.do_not_call is True  # not given again: kept
    assert first.attributes == {"occupation": "student", "budget": 100}  # the original is untouched


def test_merged_with_updates_only_the_consent_choices_given() -> None:
    first = LeadIntake.model_validate(lead(consent={"do_not_call": True}))
    later = LeadIntake.model_validate(lead(consent={"do_not_email": True}))
    # a form that does not ask about calls must not lift an earlier do-not-call
    assert first.merged_with(later).consent.model_dump() == {"do_not_email": True, "do_not_call": True}
    withdrawn = LeadIntake.model_validate(lead(consent={"do_not_call": False}))
    assert first.merged_with(withdrawn).consent.model_dump() == {"do_not_email": False, "do_not_call": False}


def test_merged_with_refuses_a_merge_over_the_bounds() -> None:
    first = LeadIntake.model_validate(lead(attributes={f"a{i}": i for i in range(30)}))
    later = LeadIntake.model_validate(lead(attributes={f"b{i}": i for i in range(30)}))
    with pytest.raises(ValidationError, match="at most 50"):
        first.merged_with(later)


# --- events -----------------------------------------------------------------------------------


def test_a_good_event_is_accepted() -> None:
    event = LeadEvent.model_validate(
        ev(kind="quote_requested", occurred_at="2026-03-02T14:30:00+05:30", properties={"plan": "pro", "seats": 5}),
        context={"now": T0},
    )
    assert event.kind is EventKind.QUOTE_REQUESTED
    assert event.occurred_at == T0 and event.occurred_at.tzinfo is UTC
    assert event.properties == {"plan": "pro", "seats": 5}


def test_every_event_kind_of_the_issue_is_spelled_as_agreed() -> None:
    kinds = [
        "page_viewed",
        "article_read",
        "product_page_viewed",
        "pricing_page_viewed",
        "cart_viewed",
        "email_opened",
        "email_clicked",
        "email_bounced",
        "subscribed",
        "unsubscribed",
        "social_followed",
        "webinar_registered",
        "webinar_attended",
        "content_downloaded",
        "form_submitted",
        "chat_started",
        "call_connected",
        "contact_requested",
        "quote_requested",
        "trial_started",
        "order_placed",
    ]
    assert [k.value for k in EventKind] == kinds
    for kind in kinds:
        assert LeadEvent.model_validate(ev(kind=kind)).kind.value == kind


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"event_id": ""}, "event_id", "at least 1 character"),
        ({"event_id": "ev 1"}, "event_id", "should match pattern"),
        ({"event_id": "e" * 129}, "event_id", "at most 128 characters"),
        ({"kind": "page_view"}, "kind", "Input should be 'page_viewed'"),
        ({"occurred_at": "2026-03-02 09:00"}, "occurred_at", "must include a timezone"),
        ({"occurred_at": T0 + timedelta(hours=2)}, "occurred_at", "is in the future"),
        ({"properties": {f"k{i}": i for i in range(21)}}, "properties", "has 21 entries; at most 20"),
        ({"properties": {f"k{i}": "x" * 300 for i in range(15)}}, "properties", "bytes as JSON; at most 4096"),
        ({"properties": {"Bad-Key": 1}}, "properties", "must be lower_snake_case"),
        ({"properties": {"url": "u" * 501}}, "properties", "longer than 500 characters"),
        ({"properties": {"x": {"nested": 1}}}, "properties.x.int", "Input should be a valid integer"),
        ({"extra": 1}, "extra", "Extra inputs are not permitted"),
    ],
)
def test_bad_event_is_refused_naming_the_field(fields: dict[str, Any], field: str, reason: str) -> None:
    text = problems(LeadEvent, ev(**fields), now=T0)
    assert text.startswith(f"{field}: ") or f"; {field}: " in text, text
    assert reason in text


def test_event_without_id_is_refused() -> None:
    data = ev()
    del data["event_id"]
    assert problems(LeadEvent, data) == "event_id: Field required"


# --- requests from people ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (Accept, {"rep": "r-01"}),
        (Reject, {"rep": "r-01", "reason": "no_budget", "note": "call back in Q3"}),
        (RecordOutcome, {"outcome": "won"}),
        (RecordOutcome, {"outcome": "lost", "reason": "price"}),
        (SubmitFeedback, {"rating": 1}),
        (SubmitFeedback, {"rating": 5, "reasons": ["good_fit"] * 10}),
        (Reassign, {"to": "r-02"}),
        (Disqualify, {"reason": "spam", "by": "ops-bob"}),
    ],
)
def test_good_requests_are_accepted(model: type[BaseModel], data: dict[str, Any]) -> None:
    request = model.model_validate(data)
    for key, value in data.items():
        assert getattr(request, key) == value


@pytest.mark.parametrize(
    ("model", "data", "field", "reason"),
    [
        (Accept, {}, "rep", "Field required"),
        (Accept, {"rep": "R 01"}, "rep", "should match pattern"),
        (Accept, {"rep": "r" * 65}, "rep", "at most 64 characters"),
        (Accept, {"rep": "r-01", "kind": "reject"}, "kind", "Input should be 'accept'"),
        (Reject, {"rep": "r-01"}, "reason", "Field required"),
        (Reject, {"rep": "r-01", "reason": "No Budget"}, "reason", "should match pattern"),
        (Reject, {"rep": "r-01", "reason": "x", "note": "n" * 2001}, "note", "at most 2000 characters"),
        (RecordOutcome, {"outcome": "maybe"}, "outcome", "Input should be 'won' or 'lost'"),
        (RecordOutcome, {"outcome": "lost"}, "(payload)", "a lost outcome needs a reason"),
        (SubmitFeedback, {"rating": 0}, "rating", "greater than or equal to 1"),
        (SubmitFeedback, {"rating": 6}, "rating", "less than or equal to 5"),
        (SubmitFeedback, {"rating": 3, "reasons": ["x"] * 11}, "reasons", "at most 10 items"),
        (SubmitFeedback, {"rating": 3, "reasons": ["Bad Reason"]}, "reasons.0", "should match pattern"),
        (Reassign, {"to": ""}, "to", "at least 1 character"),
        (Reassign, {"to": "r-02", "by": "b" * 65}, "by", "at most 64 characters"),
        (Disqualify, {}, "reason", "Field required"),
        (Disqualify, {"reason": "spam", "whom": "x"}, "whom", "Extra inputs are not permitted"),
    ],
)
def test_bad_requests_are_refused_naming_the_field(
    model: type[BaseModel], data: dict[str, Any], field: str, reason: str
) -> None:
    text = problems(model, data)
    assert text.startswith(f"{field}: ") or f"; {field}: " in text, text
    assert reason in text


def test_won_outcome_needs_no_reason() -> None:
    assert RecordOutcome(outcome=Outcome.WON).reason is None


def test_models_round_trip_through_json() -> None:
    intake = LeadIntake.model_validate(lead(phone="+44 20 7946 0958", attributes={"budget": 12.5, "vip": False}))
    event = LeadEvent.model_validate(ev(properties={"n": 3, "ratio": 0.25, "ok": True, "s": "x"}))
    assert LeadIntake.model_validate_json(intake.model_dump_json()) == intake
    assert LeadEvent.model_validate_json(event.model_dump_json()) == event
