"""Lead ids: `lead-` + a keyed hash of the normalised identity, so no personal data is in an id."""

from __future__ import annotations

import hashlib
import hmac
import re

from domain.models import LeadIntake, normalise_email, normalise_phone

_LEAD_ID = re.compile(r"^lead-[0-9a-f]{24}$")


def lead_id_for_identity(identity: str, secret: str) -> str:
    """`identity` is `email:…`, `phone:…` or `external:…` as `LeadIntake.identity()` spells it."""
    if not secret:
        raise ValueError("the lead id secret must not be empty")
    digest = hmac.new(secret.encode(), identity.encode(), hashlib.sha256).hexdigest()
    return "lead-" + digest[:24]


def lead_id_for(intake: LeadIntake, secret: str) -> str:
    return lead_id_for_identity(intake.identity(), secret)


def is_lead_id(text: str) -> bool:
    return bool(_LEAD_ID.match(text))


def resolve_lead(reference: str, secret: str) -> str:
    """A lead id as given, or the id of an e-mail address / phone number (`+…`) / `external:ID`."""
    text = reference.strip()
    if is_lead_id(text):
        return text
    if text.startswith("external:"):
        return lead_id_for_identity(text, secret)
    if "@" in text:
        return lead_id_for_identity("email:" + normalise_email(text), secret)
    if text.startswith(("+", "00")):
        return lead_id_for_identity("phone:" + normalise_phone(text), secret)
    raise ValueError(f"{reference!r} is neither a lead id (lead-…), an e-mail, a phone (+…) nor external:ID")
