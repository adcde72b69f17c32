"""Registering the search attributes: added when missing, a clear error when not permitted."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.service import RPCError, RPCStatusCode

from leadclient.connect import connect_config
from workflows.search_attributes import SEARCH_ATTRIBUTES, SearchAttributesNotPermitted, ensure_search_attributes


class FakeOperator:
    def __init__(self, known: set[str], fail: RPCStatusCode | None = None) -> None:
        self.known, self.fail, self.added = known, fail, dict[str, Any]()

    async def list_search_attributes(self, request: Any) -> Any:
        if self.fail is not None:
            raise RPCError("denied", self.fail, b"")
        return type("Listed", (), {"custom_attributes": dict.fromkeys(self.known), "system_attributes": {}})()

    async def add_search_attributes(self, request: Any) -> None:
        self.added.update(request.search_attributes)


class FakeClient:
    def __init__(self, operator: FakeOperator) -> None:
        self.operator_service = operator


async def test_only_the_missing_attributes_are_added() -> None:
    operator = FakeOperator(known={"LeadStage", "LeadTier"})
    added = await ensure_search_attributes(FakeClient(operator), "default")
    assert set(added) == set(SEARCH_ATTRIBUTES) - {"LeadStage", "LeadTier"}
    assert set(operator.added) == set(added)
    assert await ensure_search_attributes(FakeClient(FakeOperator(known=set(SEARCH_ATTRIBUTES))), "default") == []


async def test_a_server_that_forbids_it_gets_a_clear_message() -> None:
    with pytest.raises(SearchAttributesNotPermitted) as refused:
        await ensure_search_attributes(FakeClient(FakeOperator(set(), fail=RPCStatusCode.PERMISSION_DENIED)), "ns")
    message = str(refused.value)
    assert "PERMISSION_DENIED" in message and "LeadStage=Keyword" in message and "HandoffDeadline=Datetime" in message


def test_connection_settings_follow_temporal_then_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    monkeypatch.delenv("TEMPORAL_NAMESPACE", raising=False)
    assert connect_config() == {"target_host": "localhost:7233", "namespace": "default"}
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.internal:7233")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "sales")
    assert connect_config() == {"target_host": "temporal.internal:7233", "namespace": "sales"}
    assert connect_config("127.0.0.1:9999", None)["target_host"] == "127.0.0.1:9999"
    monkeypatch.setenv("TEMPORAL_API_KEY", "k-123")
    assert connect_config()["tls"] is True, "an API key means TLS, as Temporal's own config says"
