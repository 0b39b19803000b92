"""Property bags on the wire: protobuf `Struct`s to plain dicts and back, as the Pulumi engine reads them.

Plain dicts keep preview unknowns as `rpc.UNKNOWN` (the sentinel string) and secrets wrapped
(`rpc.wrap_rpc_secret`), so a value's secretness survives every hop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from pulumi.output import Unknown
from pulumi.runtime import rpc

UNKNOWN: str = rpc.UNKNOWN


def to_struct(props: Mapping[str, Any]) -> Any:
    """A property bag as a protobuf `Struct`, as the engine sends it; `rpc.UNKNOWN` stays an unknown."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(dict(props), {}))
    finally:
        loop.close()


def plain_unknowns(value: Any) -> Any:
    """`Unknown()` objects (as the SDK deserializes them) back to the sentinel string."""
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        return {k: plain_unknowns(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_unknowns(v) for v in value]
    return value


def from_struct(struct: Any) -> dict[str, Any]:
    """A property bag as the engine reads it: unknowns kept (as `rpc.UNKNOWN`), secrets still wrapped."""
    value = rpc.deserialize_properties(struct, keep_unknowns=True)
    return plain_unknowns(dict(value)) if value else {}


def is_secret(value: Any) -> bool:
    return bool(rpc.is_rpc_secret(value))


def wrap_secret(value: Any) -> Any:
    return rpc.wrap_rpc_secret(value)


def reveal(value: Any) -> Any:
    """The value with every secret wrapper removed, at any depth."""
    if rpc.is_rpc_secret(value):
        return reveal(value["value"])
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def contains_secret(value: Any) -> bool:
    if rpc.is_rpc_secret(value):
        return True
    if isinstance(value, dict):
        return any(contains_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_secret(v) for v in value)
    return False


def contains_unknown(value: Any) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False
