"""The words leadflow speaks: stages, temperatures, tiers, handoff statuses, event kinds, sources.

They are spelled the same in the API, the CLI, the rules files and the search attributes.
"""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    """Lifecycle stage: who owns the lead."""

    NEW = "new"
    MQL = "mql"
    SQL = "sql"
    ACCEPTED = "accepted"
    CUSTOMER = "customer"
    LOST = "lost"
    DISQUALIFIED = "disqualified"


class Temperature(StrEnum):
    """Interest, rising with engagement and cooling as it fades."""

    NEW = "new"
    COLD = "cold"
    WARM = "warm"
    HOT = "hot"


TEMPERATURE_ORDER: tuple[Temperature, ...] = (
    Temperature.NEW,
    Temperature.COLD,
    Temperature.WARM,
    Temperature.HOT,
)


class Tier(StrEnum):
    """Quality tier: how well the lead fits the target customer."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


TIER_ORDER: tuple[Tier, ...] = (Tier.LOW, Tier.MEDIUM, Tier.HIGH)


class HandoffStatus(StrEnum):
    """Where the handoff to sales stands."""

    NONE = "none"
    PENDING = "pending"
    OVERDUE = "overdue"
    ESCALATED = "escalated"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"


class EventKind(StrEnum):
    """What a lead did. Backend systems report these; rules give them points and meaning."""

    PAGE_VIEWED = "page_viewed"
    ARTICLE_READ = "article_read"
    PRODUCT_PAGE_VIEWED = "product_page_viewed"
    PRICING_PAGE_VIEWED = "pricing_page_viewed"
    CART_VIEWED = "cart_viewed"
    EMAIL_OPENED = "email_opened"
    EMAIL_CLICKED = "email_clicked"
    EMAIL_BOUNCED = "email_bounced"
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    SOCIAL_FOLLOWED = "social_followed"
    WEBINAR_REGISTERED = "webinar_registered"
    WEBINAR_ATTENDED = "webinar_attended"
    CONTENT_DOWNLOADED = "content_downloaded"
    FORM_SUBMITTED = "form_submitted"
    CHAT_STARTED = "chat_started"
    CALL_CONNECTED = "call_connected"
    CONTACT_REQUESTED = "contact_requested"
    QUOTE_REQUESTED = "quote_requested"
    TRIAL_STARTED = "trial_started"
    ORDER_PLACED = "order_placed"


class Source(StrEnum):
    """The channel a lead came through."""

    WEB_FORM = "web_form"
    LANDING_PAGE = "landing_page"
    AD = "ad"
    SOCIAL = "social"
    ORGANIC_SEARCH = "organic_search"
    PAID_SEARCH = "paid_search"
    DIRECT = "direct"
    EMAIL = "email"
    CHAT = "chat"
    EVENT = "event"
    IMPORT = "import"
    REFERRAL = "referral"
    PARTNER = "partner"
    SALES = "sales"
    OTHER = "other"


class Outcome(StrEnum):
    """What sales reports at the end of an accepted lead."""

    WON = "won"
    LOST = "lost"
