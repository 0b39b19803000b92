"""The one reader of typed JSON fields that request bodies and fault rules share: a JSON `true` is never a number."""

from __future__ import annotations

from typing import Any

import pytest

from pulumi_cts.emulator import exceptions
from pulumi_cts.emulator.common import FieldTypeError, body_field, optional_field
from pulumi_cts.emulator.faults import FaultRule


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (3, int, 3),
        (0, int, 0),
        (2.5, (int, float), 2.5),
        (True, bool, True),
        (False, bool, False),
        ("x", str, "x"),
    ],
)
def test_a_value_of_the_asked_type_is_returned(value: Any, kind: type | tuple[type, ...], expected: Any) -> None:
    assert optional_field({"field": value}, "field", kind) == expected


@pytest.mark.parametrize("data", [{}, {"field": None}])
def test_absent_or_null_is_the_default(data: dict[str, Any]) -> None:
    assert optional_field(data, "field", int, 7) == 7


@pytest.mark.parametrize(
    ("value", "kind", "expected_name"),
    [
        (True, int, "number"),
        (False, (int, float), "number"),
        (1, bool, "bool"),
        (1.5, int, "number"),
        ("3", int, "number"),
        (3, str, "str"),
    ],
)
def test_a_value_of_another_type_is_refused(value: Any, kind: type | tuple[type, ...], expected_name: str) -> None:
    with pytest.raises(FieldTypeError) as raised:
        optional_field({"field": value}, "field", kind)
    assert raised.value.key == "field"
    assert raised.value.expected == expected_name
    assert str(raised.value) == f"field must be a {expected_name} or null, got {value!r}"


def test_a_request_body_field_of_the_wrong_type_is_cts_0003() -> None:
    with pytest.raises(exceptions.InvalidBody) as raised:
        body_field({"bucket_lifecycle": True}, "bucket_lifecycle", int)
    assert raised.value.body() == {
        "error_code": "CTS.0003",
        "error_msg": "The message body is invalid: bucket_lifecycle must be a number.",
    }


@pytest.mark.parametrize("field", ["status", "latency_ms", "times", "retry_after"])
def test_a_fault_rule_takes_no_boolean_for_a_number(field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field} must be a number"):
        FaultRule.from_dict({"status": 500, field: True})
