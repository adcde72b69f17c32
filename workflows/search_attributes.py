"""The custom search attributes: the ops view of every lead in the Temporal Web UI. Never PII.

`SEARCH_ATTRIBUTES` (name → Temporal type) is the one list: the worker registers it at start,
`make run` passes it to the dev server, docker-compose registers it, and a test checks all agree.
"""

from __future__ import annotations

from typing import Any

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
HANDOFF_MAX_ATTEMPTS = SearchAttributeKey.for_int("HandoffMaxAttempts")
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
    HANDOFF_MAX_ATTEMPTS,
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


class SearchAttributesNotPermitted(Exception):
    """The server refused to register the custom search attributes (no operator permission)."""


async def ensure_search_attributes(client: Any, namespace: str) -> list[str]:
    """Register whichever custom search attributes the server does not know yet; returns those added.

    A search attribute the server does not know fails every workflow task that upserts it, retried
    forever, so the worker calls this before it polls. Works on the dev and time-skipping servers.
    """
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
    from temporalio.service import RPCError, RPCStatusCode

    try:
        try:
            listed = await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace=namespace)
            )
            known = set(listed.custom_attributes) | set(listed.system_attributes)
        except RPCError as exc:
            if exc.status is not RPCStatusCode.UNIMPLEMENTED:
                raise
            known = set()  # the time-skipping test server cannot list, but can add
        missing = {key.name: key for key in ALL if key.name not in known}
        if missing:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(
                    namespace=namespace,
                    search_attributes={
                        name: IndexedValueType.ValueType(key.indexed_value_type.value) for name, key in missing.items()
                    },
                )
            )
    except RPCError as exc:
        if exc.status is RPCStatusCode.ALREADY_EXISTS:
            return []
        if exc.status in (RPCStatusCode.PERMISSION_DENIED, RPCStatusCode.UNAUTHENTICATED, RPCStatusCode.UNIMPLEMENTED):
            raise SearchAttributesNotPermitted(
                f"the server did not let this worker register search attributes ({exc.status.name}: {exc.message}); "
                f"ask an operator to create: {', '.join(f'{n}={t}' for n, t in SEARCH_ATTRIBUTES.items())}"
            ) from exc
        raise
    return sorted(missing)
