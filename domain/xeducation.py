"""One row of the X Education leads CSV → a `LeadIntake` and the `LeadEvent`s it implies.

The data set (`../shared/data/x-education-leads.csv`) mixes what is known at intake or during
marketing with what sales wrote after contacting the lead. Scoring may read only the first kind:
`map_row` sees the row through `_Columns`, which refuses any column outside `SCORING_COLUMNS`.
The outcome (`Converted`) and the sales columns (`Lead Quality`, `Tags`) are read by separate
functions, for evaluation and for replaying sales feedback. `docs/rules.md` has the full table;
`sales_plan_of` turns them into the sales actions a replay carries out (`docs/import.md`).

Pure and deterministic: times come from the caller's `received_at`; event ids from `Prospect ID`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.errors import LeadflowError
from domain.models import Consent, LeadEvent, LeadIntake, ReasonCode, Scalar, describe_validation_error
from domain.vocabulary import EventKind, Source

# --- which columns may feed scoring ---------------------------------------------------------

ID_COLUMN = "Prospect ID"
OUTCOME_COLUMN = "Converted"
FEEDBACK_COLUMNS = ("Lead Quality", "Tags")
# Written by sales or after the fact (see ../shared/data/README.md): never read for scoring.
FORBIDDEN_COLUMNS = (
    "Tags",
    "Lead Quality",
    "Lead Profile",
    "Asymmetrique Activity Index",
    "Asymmetrique Profile Index",
    "Asymmetrique Activity Score",
    "Asymmetrique Profile Score",
    "Last Notable Activity",
    "Converted",
)

# Profile columns → attribute key (values become lower_snake_case).
CATEGORY_ATTRIBUTES: dict[str, str] = {
    "Lead Origin": "lead_origin",
    "Lead Source": "lead_source",
    "What is your current occupation": "occupation",
    "What matters most to you in choosing a course": "motivation",
    "Specialization": "specialization",
    "How did you hear about X Education": "heard_from",
}
# Yes / No columns → boolean attribute.
FLAG_ATTRIBUTES: dict[str, str] = {
    "Search": "saw_ad_in_search",
    "Magazine": "saw_ad_in_magazine",
    "Newspaper Article": "saw_newspaper_article",
    "X Education Forums": "saw_in_forums",
    "Newspaper": "saw_ad_in_newspaper",
    "Digital Advertisement": "saw_digital_ad",
    "Through Recommendations": "came_through_recommendation",
    "Receive More Updates About Our Courses": "wants_course_updates",
    "Update me on Supply Chain Content": "wants_supply_chain_content",
    "Get updates on DM Content": "wants_dm_content",
    "A free copy of Mastering The Interview": "wants_interview_guide",
    "I agree to pay the amount through cheque": "pays_by_cheque",
}
# Opt-ins that are something the lead did on the form: each `Yes` is also one event.
OPT_IN_EVENTS: dict[str, EventKind] = {
    "Receive More Updates About Our Courses": EventKind.SUBSCRIBED,
    "Update me on Supply Chain Content": EventKind.SUBSCRIBED,
    "Get updates on DM Content": EventKind.SUBSCRIBED,
    "A free copy of Mastering The Interview": EventKind.CONTENT_DOWNLOADED,
}
CONSENT_COLUMNS = ("Do Not Email", "Do Not Call")
ENGAGEMENT_COLUMNS = ("TotalVisits", "Total Time Spent on Website", "Page Views Per Visit", "Last Activity")
SCORING_COLUMNS = frozenset(
    (
        ID_COLUMN,
        "Country",
        "City",
        *CATEGORY_ATTRIBUTES,
        *FLAG_ATTRIBUTES,
        *CONSENT_COLUMNS,
        *ENGAGEMENT_COLUMNS,
    )
)

# `Lead Source` → channel. Anything else is `other` (the raw value stays in attributes.lead_source).
SOURCES: dict[str, Source] = {
    "google": Source.PAID_SEARCH,
    "bing": Source.PAID_SEARCH,
    "pay per click ads": Source.PAID_SEARCH,
    "organic search": Source.ORGANIC_SEARCH,
    "direct traffic": Source.DIRECT,
    "olark chat": Source.CHAT,
    "live chat": Source.CHAT,
    "click2call": Source.CHAT,
    "reference": Source.REFERRAL,  # referred by a customer: the practice's "referral"
    "welingak website": Source.PARTNER,  # a partner's site
    "referral sites": Source.OTHER,  # links from other web sites: not a customer referral
    "facebook": Source.SOCIAL,
    "social media": Source.SOCIAL,
    "youtubechannel": Source.SOCIAL,
    "nc_edm": Source.EMAIL,
}

# `Last Activity` → one event of this kind, or None: not something the lead did (our outbound
# messages and call attempts, which may come from sales), or the intake itself.
LAST_ACTIVITY: dict[str, EventKind | None] = {
    "Email Opened": EventKind.EMAIL_OPENED,
    "Email Link Clicked": EventKind.EMAIL_CLICKED,
    "View in browser link Clicked": EventKind.EMAIL_CLICKED,
    "Email Bounced": EventKind.EMAIL_BOUNCED,
    "Unsubscribed": EventKind.UNSUBSCRIBED,
    "Email Marked Spam": EventKind.UNSUBSCRIBED,
    "Resubscribed to emails": EventKind.SUBSCRIBED,
    "Page Visited on Website": EventKind.PAGE_VIEWED,
    "Form Submitted on Website": EventKind.FORM_SUBMITTED,
    "Olark Chat Conversation": EventKind.CHAT_STARTED,
    "Visited Booth in Tradeshow": EventKind.WEBINAR_ATTENDED,  # attended an event
    "Approached upfront": EventKind.CONTACT_REQUESTED,  # the lead came to us directly
    "Had a Phone Conversation": EventKind.CALL_CONNECTED,  # the lead talked with us: direct contact
    "Converted to Lead": None,  # the form submission that is the intake itself
    "SMS Sent": None,  # we texted the lead: our action (often sales' follow-up), not theirs
    "Unreachable": None,  # our call attempt failed: sales' action, says nothing the lead did
    "Email Received": None,  # direction unknown in the data set's dictionary
}

SECONDS_PER_PRODUCT_PAGE = 300  # one product_page_viewed per full 5 minutes on the site
MAX_VISIT_EVENTS = 30  # visits beyond this add no events (daily caps reach their limit far earlier)
MAX_PRODUCT_PAGE_EVENTS = 24  # 2 hours on site
EVENT_SPACING = timedelta(minutes=1)

# Sales feedback (replayed later as `SubmitFeedback`; never read by scoring).
LEAD_QUALITY_RATING: dict[str, int] = {
    "High in Relevance": 5,
    "Might be": 4,
    "Not Sure": 3,
    "Low in Relevance": 2,
    "Worst": 1,
}
TAG_REASONS: dict[str, str] = {
    "Closed by Horizzon": "ready_to_buy",
    "Will revert after reading the email": "no_decision",
    "Still Thinking": "no_decision",
    "In confusion whether part time or DLP": "no_decision",
    "Ringing": "not_reachable",
    "switched off": "not_reachable",
    "Busy": "not_reachable",
    "invalid number": "wrong_contact_details",
    "wrong number given": "wrong_contact_details",
    "number not provided": "wrong_contact_details",
    "Interested in other courses": "other_course",
    "Interested  in full time MBA": "other_course",
    "Already a student": "already_customer",
    "Lost to EINS": "competitor",
    "in touch with EINS": "competitor",
    "Lost to Others": "competitor",
    "Not doing further education": "not_interested",
    "opp hangup": "not_interested",
    "Graduation in progress": "wrong_timing",
    "Interested in Next batch": "wrong_timing",
    "Shall take in the next coming month": "wrong_timing",
    "Want to take admission but has financial problems": "no_budget",
    "Diploma holder (Not Eligible)": "not_eligible",
    "Lateral student": "not_a_fit",
    "Recognition issue (DEC approval)": "not_a_fit",
    "University not recognized": "not_a_fit",
}

# What sales did with a lead that did *not* convert, by its `Tags` (see docs/import.md). `rejected`:
# sales declined the lead before working it (could not reach it, it cannot or will not buy now), so
# it goes back to marketing; `lost`: sales worked it and it did not buy. Reasons are the default
# rules' `reasons.reject` / `reasons.lost` codes. A lead with `Converted = 1` is won, whatever its tag.
TAG_SALES_ACTIONS: dict[str, tuple[Literal["lost", "rejected"], str]] = {
    "Ringing": ("rejected", "not_reachable"),
    "switched off": ("rejected", "not_reachable"),
    "Busy": ("rejected", "not_reachable"),
    "invalid number": ("rejected", "not_reachable"),
    "wrong number given": ("rejected", "not_reachable"),
    "number not provided": ("rejected", "not_reachable"),
    "Already a student": ("rejected", "not_a_fit"),
    "Diploma holder (Not Eligible)": ("rejected", "not_a_fit"),
    "Lateral student": ("rejected", "not_a_fit"),
    "Recognition issue (DEC approval)": ("rejected", "not_a_fit"),
    "University not recognized": ("rejected", "not_a_fit"),
    "Not doing further education": ("rejected", "not_interested"),
    "opp hangup": ("rejected", "not_interested"),
    "Graduation in progress": ("rejected", "wrong_timing"),
    "Will revert after reading the email": ("lost", "no_decision"),
    "Still Thinking": ("lost", "no_decision"),
    "In confusion whether part time or DLP": ("lost", "no_decision"),
    "Closed by Horizzon": ("lost", "no_decision"),  # "closed", yet not converted: the data does not say why
    "Interested in other courses": ("lost", "other_course"),
    "Interested  in full time MBA": ("lost", "other_course"),
    "Lost to EINS": ("lost", "competitor"),
    "in touch with EINS": ("lost", "competitor"),
    "Lost to Others": ("lost", "competitor"),
    "Interested in Next batch": ("lost", "timing"),
    "Shall take in the next coming month": ("lost", "timing"),
    "Want to take admission but has financial problems": ("lost", "price"),
}
UNMAPPED_TAG_ACTION: tuple[Literal["lost", "rejected"], str] = ("lost", "no_decision")
# On a won lead, only tag reasons that agree with the win go into the feedback; the others
# ("Will revert after reading the email", ...) describe an earlier call the win superseded.
WON_FEEDBACK_REASONS = frozenset({"ready_to_buy"})

MISSING = frozenset({"", "select"})  # `Select`: the form field was left at its default
_YES_NO = {"yes": True, "no": False}
_MAX_TEXT = 200
_MAX_ID = 96  # leaves room for the event-id suffix within the 128-character identifier


class MalformedRow(LeadflowError):
    """A CSV row that cannot be mapped. Names the column and says what is wrong."""

    def __init__(self, column: str, problem: str) -> None:
        self.column = column
        self.problem = problem
        super().__init__(f"column {column!r}: {problem}")


class SalesFeedback(BaseModel):
    """What sales wrote about the lead after contact: a rating 1-5 and a reason code, when known."""

    model_config = ConfigDict(frozen=True)

    rating: int | None = Field(default=None, ge=1, le=5)
    reason: ReasonCode | None = None
    tag: str | None = None  # the raw `Tags` text, kept when no reason code fits


class SalesPlan(BaseModel):
    """What the data says sales did with a lead, as the engine's sales actions, in this order: hand the
    lead to sales (when not in SQL yet), then accept and record the outcome (`won` / `lost` with
    `reason`) or reject it (`rejected` with `reason`), then rate it (`rating`, `feedback_reasons`)."""

    model_config = ConfigDict(frozen=True)

    verdict: Literal["won", "lost", "rejected"]
    reason: ReasonCode | None = None  # lost or reject reason; None when won
    rating: int | None = Field(default=None, ge=1, le=5)  # None: no feedback is given
    feedback_reasons: tuple[ReasonCode, ...] = ()
    evidence: str  # why the replay says sales acted: cites the data, never free text from it


class MappedLead(BaseModel):
    """A row as the engine sees it: intake and events (scoring inputs) only."""

    model_config = ConfigDict(frozen=True)

    intake: LeadIntake
    events: list[LeadEvent]


# --- public functions ----------------------------------------------------------------------


def map_row(row: Mapping[str, str | None], received_at: datetime) -> MappedLead:
    """The intake and events of one row. Reads only `SCORING_COLUMNS`; raises `MalformedRow`."""
    cols = _Columns(row)
    prospect = cols.text(ID_COLUMN)
    if prospect is None:
        raise MalformedRow(ID_COLUMN, "is empty; every lead needs its Prospect ID")
    if len(prospect) > _MAX_ID or not re.fullmatch(r"[A-Za-z0-9._:@/-]+", prospect):
        raise MalformedRow(ID_COLUMN, f"{prospect[:40]!r} is not an identifier (letters, digits, . _ : @ / -)")
    attributes: dict[str, Scalar] = {}
    for column, key in CATEGORY_ATTRIBUTES.items():
        value = cols.category(column)
        if value is not None:
            attributes[key] = value
    for column, key in FLAG_ATTRIBUTES.items():
        flag = cols.flag(column)
        if flag is not None:
            attributes[key] = flag
    raw_source = cols.text("Lead Source")
    country = cols.text("Country")
    try:
        intake = LeadIntake(
            external_id=prospect,
            country=None if country is None or country.lower() == "unknown" else country,
            city=cols.text("City"),
            source=SOURCES.get(raw_source.lower(), Source.OTHER) if raw_source else Source.OTHER,
            consent=Consent(
                do_not_email=cols.flag("Do Not Email") or False,
                do_not_call=cols.flag("Do Not Call") or False,
            ),
            attributes=attributes,
            received_at=received_at,
        )
    except ValidationError as exc:
        raise MalformedRow(_column_of(exc), describe_validation_error(exc)) from None
    return MappedLead(intake=intake, events=_events(cols, prospect, intake.received_at))


def outcome_of(row: Mapping[str, str | None]) -> bool | None:
    """`Converted`: True / False, None when empty. For evaluation only, never for scoring."""
    value = _cell(row, OUTCOME_COLUMN)
    if value is None:
        return None
    if value not in ("0", "1"):
        raise MalformedRow(OUTCOME_COLUMN, f"{value!r} is not 0 or 1")
    return value == "1"


def feedback_of(row: Mapping[str, str | None]) -> SalesFeedback:
    """Sales' verdict on the lead (`Lead Quality` → rating, `Tags` → reason). Never for scoring."""
    quality = _cell(row, "Lead Quality")
    tag = _cell(row, "Tags")
    if quality is not None and quality not in LEAD_QUALITY_RATING:
        raise MalformedRow("Lead Quality", f"{quality!r} is not one of {', '.join(LEAD_QUALITY_RATING)}")
    return SalesFeedback(
        rating=LEAD_QUALITY_RATING[quality] if quality is not None else None,
        reason=TAG_REASONS.get(tag) if tag is not None else None,
        tag=tag[:_MAX_TEXT] if tag is not None and tag not in TAG_REASONS else None,
    )


def sales_plan_of(row: Mapping[str, str | None]) -> SalesPlan | None:
    """What sales did with the lead, or None when the data says sales never contacted it.

    Sales contacted the lead when `Tags` is filled or `Converted = 1`. `Converted = 1` is won;
    otherwise the tag's row of `TAG_SALES_ACTIONS` (an unknown tag: lost, `no_decision`).
    Never for scoring.
    """
    outcome = outcome_of(row)
    converted = outcome is True
    feedback = feedback_of(row)
    tag = _cell(row, "Tags")
    if not converted and tag is None:
        return None
    known = tag is not None and tag in TAG_SALES_ACTIONS
    cited = f"Tags {tag!r}" if known else ("Tags (not in the mapping table)" if tag is not None else "")
    if converted:
        reasons = (feedback.reason,) if feedback.reason in WON_FEEDBACK_REASONS else ()
        evidence = "Converted = 1" + (f", {cited}" if cited else "")
        return SalesPlan(verdict="won", rating=feedback.rating, feedback_reasons=reasons, evidence=evidence)
    assert tag is not None
    verdict, reason = TAG_SALES_ACTIONS.get(tag, UNMAPPED_TAG_ACTION)
    return SalesPlan(
        verdict=verdict,
        reason=reason,
        rating=feedback.rating,
        feedback_reasons=(feedback.reason,) if feedback.reason is not None else (),
        evidence=("Converted = 0" if outcome is False else "Converted empty") + f", {cited}",
    )


def snake(text: str) -> str:
    """`"Banking, Investment And Insurance"` → `banking_investment_and_insurance`."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


# --- the engagement columns as events ------------------------------------------------------


def _events(cols: _Columns, prospect: str, received_at: datetime) -> list[LeadEvent]:
    """Form opt-ins at intake; then, a minute apart: one page_viewed per visit, one
    product_page_viewed per 5 minutes on the site, and the Last Activity event last."""
    planned: list[tuple[str, EventKind, dict[str, Scalar]]] = []
    for column, kind in OPT_IN_EVENTS.items():
        if cols.flag(column):
            planned.append((f"optin-{snake(column)[:24]}", kind, {"via": "intake_form"}))
    visits = cols.count("TotalVisits")
    pages = cols.number("Page Views Per Visit")
    seconds = cols.count("Total Time Spent on Website")
    for i in range(min(visits or 0, MAX_VISIT_EVENTS)):
        props: dict[str, Scalar] = {"visit": i + 1}
        if pages is not None:
            props["pages"] = round(pages, 2)
        planned.append((f"visit-{i + 1}", EventKind.PAGE_VIEWED, props))
    for i in range(min((seconds or 0) // SECONDS_PER_PRODUCT_PAGE, MAX_PRODUCT_PAGE_EVENTS)):
        planned.append((f"time-{i + 1}", EventKind.PRODUCT_PAGE_VIEWED, {"minutes_on_site": (i + 1) * 5}))
    activity = cols.text("Last Activity")
    if activity is not None:
        if activity not in LAST_ACTIVITY:
            raise MalformedRow("Last Activity", f"{activity[:60]!r} is not a known activity; see docs/rules.md")
        last = LAST_ACTIVITY[activity]
        if last is not None:
            planned.append(("last", last, {"activity": snake(activity)}))
    events = []
    at = received_at
    for suffix, kind, props in planned:
        if suffix.startswith("optin-"):
            when = received_at
        else:
            at += EVENT_SPACING
            when = at
        events.append(LeadEvent(event_id=f"{prospect}:{suffix}", kind=kind, occurred_at=when, properties=props))
    return events


# --- reading cells -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Columns:
    """The row as scoring may see it: asking for a column outside `SCORING_COLUMNS` is a bug."""

    row: Mapping[str, str | None]

    def raw(self, column: str) -> str | None:
        if column not in SCORING_COLUMNS:
            raise AssertionError(f"scoring must not read column {column!r}")
        return _cell(self.row, column)

    def text(self, column: str) -> str | None:
        value = self.raw(column)
        if value is None or value.casefold() in MISSING:
            return None
        if len(value) > _MAX_TEXT:
            raise MalformedRow(column, f"is {len(value)} characters long; at most {_MAX_TEXT} are allowed")
        return value

    def category(self, column: str) -> str | None:
        value = self.text(column)
        if value is None:
            return None
        code = snake(value)
        if not code:
            raise MalformedRow(column, f"{value!r} has no letters or digits")
        return code[:64]

    def flag(self, column: str) -> bool | None:
        value = self.raw(column)
        if value is None:
            return None
        if value.casefold() not in _YES_NO:
            raise MalformedRow(column, f"{value[:40]!r} is not Yes or No")
        return _YES_NO[value.casefold()]

    def number(self, column: str) -> float | None:
        value = self.raw(column)
        if value is None:
            return None
        try:
            number = float(value)
        except ValueError:
            raise MalformedRow(column, f"{value[:40]!r} is not a number") from None
        if not math.isfinite(number) or number < 0:
            raise MalformedRow(column, f"{value[:40]!r} must be a number >= 0")
        return number

    def count(self, column: str) -> int | None:
        number = self.number(column)
        return None if number is None else int(number)


def _cell(row: Mapping[str, str | None], column: str) -> str | None:
    """The trimmed cell, None when empty. A row shorter than the header is malformed."""
    if column not in row:
        return None
    value = row[column]
    if value is None:
        raise MalformedRow(column, "is missing: the row has fewer fields than the header")
    value = value.strip()
    return value or None


_FIELD_COLUMNS = {"external_id": ID_COLUMN, "country": "Country", "city": "City", "received_at": "(received_at)"}


def _column_of(exc: ValidationError) -> str:
    """The CSV column behind the first invalid intake field."""
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        if loc and loc[0] in _FIELD_COLUMNS:
            return _FIELD_COLUMNS[loc[0]]
        if loc and loc[0] == "attributes" and len(loc) > 1:
            by_key = {v: k for k, v in {**CATEGORY_ATTRIBUTES, **FLAG_ATTRIBUTES}.items()}
            return by_key.get(loc[1], "(attributes)")
    return "(row)"
