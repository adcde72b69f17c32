"""The lead as it arrives (intake), what it does (events) and what people ask of it (requests).

Every field is bounded, so a payload that passes validation is safe to carry in workflow history.
Validation that needs the current time takes it from the validation context
(`Model.model_validate(data, context={"now": now})`): the domain never reads a clock.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from domain.vocabulary import EventKind, Outcome, Source

MAX_FUTURE_SKEW = timedelta(minutes=10)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)

_EMAIL = re.compile(
    r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$"
)
REDACTED = "(redacted)"
REDACTED_IN_PROFILE = ("company", "city", "referrer")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Identifier = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@/-]+$"),
]
RepId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$"),
]
ReasonCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$"),
]
Scalar = str | int | float | bool


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must include a timezone (e.g. 2026-01-31T09:00:00Z)")
    value = value.astimezone(UTC)
    if value < EARLIEST:
        raise ValueError(f"is before {EARLIEST:%Y-%m-%d}")
    return value


AwareTime = Annotated[datetime, AfterValidator(_aware)]


def _check_not_future(value: datetime | None, info: ValidationInfo) -> None:
    now = (info.context or {}).get("now") if info.context else None
    if value is not None and isinstance(now, datetime) and value > now + MAX_FUTURE_SKEW:
        raise ValueError(f"is in the future ({value.isoformat()} > now {now.isoformat()})")


def _check_properties(props: dict[str, Scalar], max_keys: int, max_bytes: int) -> dict[str, Scalar]:
    if len(props) > max_keys:
        raise ValueError(f"has {len(props)} entries; at most {max_keys} are allowed")
    for key, value in props.items():
        if not _KEY.match(key):
            raise ValueError(f"key {key!r} must be lower_snake_case, 1-64 characters")
        if isinstance(value, str) and len(value) > 500:
            raise ValueError(f"value of {key!r} is longer than 500 characters")
        if isinstance(value, float) and not math.isfinite(value):  # JSON has no NaN / infinity
            raise ValueError(f"value of {key!r} is not a finite number")
    size = len(json.dumps(props, default=str))
    if size > max_bytes:
        raise ValueError(f"is {size} bytes as JSON; at most {max_bytes} are allowed")
    return props


def normalise_email(raw: str) -> str:
    """Lower-cased, trimmed e-mail address; raises ValueError when it is not one."""
    email = raw.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email) or len(email.split("@", 1)[0]) > 64:
        raise ValueError("is not a valid e-mail address")
    return email


def normalise_phone(raw: str) -> str:
    """E.164 form (`+` then 8-15 digits). Needs the country code: `+44 20 7946 0958` or `0044...`."""
    text = raw.strip()
    if not re.fullmatch(r"[+0-9 ().\-/]+", text):
        raise ValueError("may contain only digits, spaces, + ( ) . - /")
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        pass
    elif digits.startswith("00"):
        digits = digits[2:]
    else:
        raise ValueError("needs the country code, starting with + or 00 (e.g. +44 20 7946 0958)")
    if not 8 <= len(digits) <= 15 or digits.startswith("0"):
        raise ValueError("must have 8 to 15 digits after the country prefix")
    return "+" + digits


class Consent(BaseModel):
    """The lead's own choices about being contacted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    do_not_email: bool = False
    do_not_call: bool = False


class LeadIntake(BaseModel):
    """A lead as a backend system submits it. At least one of email, phone, external_id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    email: str | None = None
    phone: str | None = None
    external_id: Identifier | None = None
    name: ShortText | None = None
    company: ShortText | None = None
    country: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None = None
    city: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = None
    source: Source = Source.OTHER
    referrer: ShortText | None = None
    consent: Consent = Consent()
    attributes: dict[str, Scalar] = Field(default_factory=dict)
    received_at: AwareTime

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else normalise_email(value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else normalise_phone(value)

    @field_validator("attributes")
    @classmethod
    def _attributes(cls, value: dict[str, Scalar]) -> dict[str, Scalar]:
        return _check_properties(value, max_keys=50, max_bytes=8192)

    @field_validator("received_at")
    @classmethod
    def _received(cls, value: datetime, info: ValidationInfo) -> datetime:
        _check_not_future(value, info)
        return value

    @model_validator(mode="after")
    def _identity(self) -> LeadIntake:
        if not (self.email or self.phone or self.external_id):
            raise ValueError("needs at least one of email, phone, external_id")
        return self

    def identity(self) -> str:
        """The normalised identity that names the lead: email, else phone, else external id."""
        if self.email:
            return f"email:{self.email}"
        if self.phone:
            return f"phone:{self.phone}"
        return f"external:{self.external_id}"

    def scoring_profile(self) -> dict[str, Any]:
        """What scoring reads, without personal data, safe to keep in the ledger and enough to
        re-decide the lead under other rules. Name, e-mail, phone and external id are left out;
        company, city and referrer (which can point at a person) keep only that they are present."""
        profile = self.model_dump(mode="json", exclude={"name", "email", "phone", "external_id"})
        for field in REDACTED_IN_PROFILE:
            if profile.get(field) is not None:
                profile[field] = REDACTED
        profile["email_domain"] = self.email.split("@", 1)[1] if self.email else None
        return profile

    def merged_with(self, newer: LeadIntake) -> LeadIntake:
        """This intake with the fields a later submission of the same person adds or changes."""
        data = self.model_dump()
        for key, value in newer.model_dump(exclude_unset=True).items():
            if key == "attributes":
                data["attributes"] = {**self.attributes, **newer.attributes}
            elif key == "consent":  # only the choices the newer submission states; an opt-out is not lost by silence
                data["consent"] = {**self.consent.model_dump(), **value}
            elif key in ("received_at", "source"):
                continue  # first touch keeps its time and channel
            elif value is not None:
                data[key] = value
        return LeadIntake.model_validate(data)


class LeadEvent(BaseModel):
    """Something the lead did. `event_id` makes reporting it twice harmless."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: Identifier
    kind: EventKind
    occurred_at: AwareTime
    properties: dict[str, Scalar] = Field(default_factory=dict)

    @field_validator("properties")
    @classmethod
    def _properties(cls, value: dict[str, Scalar]) -> dict[str, Scalar]:
        return _check_properties(value, max_keys=20, max_bytes=4096)

    @field_validator("occurred_at")
    @classmethod
    def _occurred(cls, value: datetime, info: ValidationInfo) -> datetime:
        _check_not_future(value, info)
        return value


# --- what people ask of a lead (workflow updates carry these) -------------------------------


class Accept(BaseModel):
    """A rep takes the handed-off lead."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["accept"] = "accept"
    rep: RepId


class Reject(BaseModel):
    """A rep declines the lead, with a reason from the rules' fixed list."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["reject"] = "reject"
    rep: RepId
    reason: ReasonCode
    note: Note = ""


class RecordOutcome(BaseModel):
    """Sales reports the end of an accepted lead: won, or lost with a reason."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["outcome"] = "outcome"
    outcome: Outcome
    reason: ReasonCode | None = None
    note: Note = ""

    @model_validator(mode="after")
    def _reason(self) -> RecordOutcome:
        if self.outcome is Outcome.LOST and self.reason is None:
            raise ValueError("a lost outcome needs a reason")
        return self


class SubmitFeedback(BaseModel):
    """Sales' rating of the lead's quality (1 = worst, 5 = best) with reasons."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["feedback"] = "feedback"
    rating: int = Field(ge=1, le=5)
    reasons: list[ReasonCode] = Field(default_factory=list, max_length=10)
    note: Note = ""


class Reassign(BaseModel):
    """Ops move the handoff to another rep."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["reassign"] = "reassign"
    to: RepId
    by: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = "ops"


class Disqualify(BaseModel):
    """The lead is not a lead (spam, competitor, test...). A reason from the rules' fixed list."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["disqualify"] = "disqualify"
    reason: ReasonCode
    by: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = "ops"


class HandToSales(BaseModel):
    """Sales or ops qualify the lead by hand (a call came in, a rep knows them): to SQL now."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["hand_to_sales"] = "hand_to_sales"
    by: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = "ops"
    reason: Note = ""


SalesAction = Accept | Reject | RecordOutcome | SubmitFeedback | Reassign | Disqualify | HandToSales


def describe_validation_error(exc: Any) -> str:
    """One line per problem, naming the field: `email: is not a valid e-mail address`."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(payload)"
        msg = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"{loc}: {msg}")
    return "; ".join(lines)
