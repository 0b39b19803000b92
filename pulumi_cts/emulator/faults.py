"""Fault rules: injected error answers, latency, and dropped connections for IAM and CTS requests.

The first rule that matches a request applies; a rule with `times` applies to that many requests and then expires.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import uuid
from collections.abc import Mapping
from typing import Any

from pulumi_cts.emulator.common import optional_field

ACTIONS = ("respond", "drop", "drop_after")
SERVICES = ("iam", "cts")
_DEFAULT_ERROR_CODES = {"iam": "IAM.0006", "cts": "CTS.0001"}
_FIELDS = (
    "service",
    "method",
    "path",
    "status",
    "error_code",
    "error_msg",
    "latency_ms",
    "times",
    "action",
    "retry_after",
)


@dataclasses.dataclass
class FaultRule:
    """What to do to requests that match `service`, `method` and the `path` regex (None matches anything)."""

    id: str
    service: str | None = None
    method: str | None = None
    path: str | None = None
    status: int | None = None
    error_code: str | None = None
    error_msg: str | None = None
    latency_ms: int = 0
    times: int | None = None
    action: str = "respond"
    retry_after: float | None = None
    hits: int = 0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultRule:
        """Build a rule from its control-API JSON; raises ValueError naming the first bad field."""
        unknown = set(data) - set(_FIELDS)
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        service = optional_field(data, "service", str)
        if service is not None and service not in SERVICES:
            raise ValueError(f"service must be one of {SERVICES} or null")
        method = optional_field(data, "method", str)
        path = optional_field(data, "path", str)
        if path is not None:
            try:
                re.compile(path)
            except re.error as e:
                raise ValueError(f"path is not a valid regular expression: {e}") from e
        status = optional_field(data, "status", int)
        if status is not None and not 100 <= status <= 599:
            raise ValueError("status must be an HTTP status between 100 and 599")
        latency_ms = optional_field(data, "latency_ms", int) or 0
        if latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        times = optional_field(data, "times", int)
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or null for every request)")
        action = data.get("action") or "respond"
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {ACTIONS}")
        retry_after = optional_field(data, "retry_after", (int, float))
        if retry_after is not None and retry_after < 0:
            raise ValueError("retry_after must not be negative")
        if action == "respond" and status is None and latency_ms == 0:
            raise ValueError("a respond rule needs a status or a latency_ms")
        return cls(
            id=uuid.uuid4().hex,
            service=service,
            method=method.upper() if method else None,
            path=path,
            status=status,
            error_code=optional_field(data, "error_code", str),
            error_msg=optional_field(data, "error_msg", str),
            latency_ms=latency_ms,
            times=times,
            action=action,
            retry_after=retry_after,
        )

    def matches(self, service: str, method: str, path: str) -> bool:
        if self.service is not None and self.service != service:
            return False
        if self.method is not None and self.method != method.upper():
            return False
        return self.path is None or re.search(self.path, path) is not None

    @property
    def answers(self) -> bool:
        """True when the rule replaces the real answer with an error (not only delays it)."""
        return self.action == "respond" and self.status is not None

    def error_body(self, service: str) -> dict[str, str]:
        return {
            "error_code": self.error_code or _DEFAULT_ERROR_CODES.get(service, "APIGW.0201"),
            "error_msg": self.error_msg or "Injected fault.",
        }

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        value = self.retry_after
        return {"Retry-After": str(int(value)) if float(value).is_integer() else str(value)}

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class FaultRules:
    """The active rules, in the order they were added; safe to use from many request threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def list(self) -> list[FaultRule]:
        with self._lock:
            return [dataclasses.replace(r) for r in self._rules]

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def take(self, service: str, method: str, path: str) -> FaultRule | None:
        """The first matching rule, with one of its uses consumed (a copy, safe to read without the lock)."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(service, method, path):
                    continue
                rule.hits += 1
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times == 0:
                        self._rules.remove(rule)
                return dataclasses.replace(rule)
        return None
