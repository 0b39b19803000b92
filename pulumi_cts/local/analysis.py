"""The runner's hook for policy checks: analyzers see each resource's inputs before its step, and the whole
stack after the program, as the Pulumi CLI runs policy packs (`Analyze`, then `AnalyzeStack`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

EnforcementLevel = Literal["advisory", "mandatory"]


@dataclass(frozen=True)
class AnalyzedResource:
    """A resource as a policy sees it: type token, name, and its inputs (secrets revealed, no `__provider`;
    preview unknowns are the SDK's `rpc.UNKNOWN` string)."""

    urn: str
    type: str
    name: str
    properties: Mapping[str, Any]
    custom: bool = True
    parent: str = ""
    dependencies: tuple[str, ...] = ()
    protect: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PolicyViolation:
    policy_pack: str
    policy: str
    message: str
    enforcement: EnforcementLevel = "advisory"
    urn: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "policyPack": self.policy_pack,
            "policy": self.policy,
            "enforcementLevel": self.enforcement,
            "message": self.message,
            "urn": self.urn,
        }


class Analyzer(Protocol):
    """What the runner calls; a mandatory violation fails the run (exit 1), an advisory one is reported."""

    def analyze(self, resource: AnalyzedResource) -> Sequence[PolicyViolation]: ...

    def analyze_stack(self, resources: Sequence[AnalyzedResource]) -> Sequence[PolicyViolation]: ...
