"""How leadflow's processes reach Temporal: Temporal's own client configuration, flags on top.

`temporalio.envconfig` reads `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, the TLS
variables and `TEMPORAL_PROFILE` / `TEMPORAL_CONFIG_FILE` (the same settings the `temporal` CLI
uses), so a worker or the CLI pointed at Temporal Cloud needs no leadflow-specific variables.
"""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig

# What Temporal's client configuration reads from the environment (besides TLS file paths).
TEMPORAL_ENV = (
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "TEMPORAL_API_KEY",
    "TEMPORAL_PROFILE",
    "TEMPORAL_CONFIG_FILE",
)
DEFAULT_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"


def connect_config(address: str | None = None, namespace: str | None = None) -> dict[str, Any]:
    """Keyword arguments for `Client.connect`: environment / config file, then these overrides."""
    config: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
    if address:
        config["target_host"] = address
    if namespace:
        config["namespace"] = namespace
    config.setdefault("target_host", DEFAULT_ADDRESS)
    config.setdefault("namespace", DEFAULT_NAMESPACE)
    return config


async def connect(address: str | None = None, namespace: str | None = None) -> Client:
    """A client with the pydantic data converter every leadflow process uses."""
    config = connect_config(address, namespace)
    return await Client.connect(data_converter=pydantic_data_converter, **config)


def exit_now(code: int) -> NoReturn:
    """Exit without interpreter teardown, after flushing output. The Temporal client's Rust threads
    can outlive the event loop and abort CPython's finalization (temporalio/sdk-python#300)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
