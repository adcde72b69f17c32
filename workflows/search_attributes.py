"""The custom search attributes: the ops view of every lead in the Temporal Web UI. Never PII.

`SEARCH_ATTRIBUTES` (name → Temporal type) is the one list: the worker registers it at start,
`make run` passes it to the dev server, docker-compose registers it, and a test checks all agree.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

STAGE = SearchAttributeKey.for_keyword("LeadStage")
TEMPERATURE = SearchAttributeKey.for_keyword("LeadTemperature")
TIER = SearchAttributeKey.for_keyword("LeadTier")
SCORE = SearchAttributeKey.for_float("LeadScore")
SOURCE = SearchAttributeKey.for_keyword("LeadSource")
ASSIGNED_REP = SearchAttributeKey.for_keyword("AssignedRep")
HANDOFF_STATUS = SearchAttributeKey.for_keyword("HandoffStatus")
HANDOFF_DEADLINE = SearchAttributeKey.for_datetime("HandoffDeadline")
HANDOFF_ATTEMPT = SearchAttributeKey.for_int("HandoffAttempt")
RETURNED_TO_MARKETING = SearchAttributeKey.for_bool("ReturnedToMarketing")
RULES_VERSION = SearchAttributeKey.for_keyword("RulesVersion")

ALL = (
    STAGE,
    TEMPERATURE,
    TIER,
    SCORE,
    SOURCE,
    ASSIGNED_REP,
    HANDOFF_STATUS,
    HANDOFF_DEADLINE,
    HANDOFF_ATTEMPT,
    RETURNED_TO_MARKETING,
    RULES_VERSION,
)

# Temporal's type names, as `temporal server start-dev --search-attribute NAME=TYPE` and
# `temporal operator search-attribute create --type TYPE` spell them.
_TYPE_NAMES = {
    "KEYWORD": "Keyword",
    "DOUBLE": "Double",
    "INT": "Int",
    "BOOL": "Bool",
    "DATETIME": "Datetime",
    "TEXT": "Text",
    "KEYWORD_LIST": "KeywordList",
}
SEARCH_ATTRIBUTES: dict[str, str] = {key.name: _TYPE_NAMES[key.indexed_value_type.name] for key in ALL}
