"""A local runner for Pulumi Python programs: their dynamic resources for real, without the Pulumi CLI.

A test and demo tool (`pulumi-cts local ...`, `LocalStack`, the pytest plugin); real deployments
use the Pulumi CLI.
"""

from .analysis import AnalyzedResource, Analyzer, PolicyViolation
from .deployment import stand_in_id
from .runner import LocalRunError, LocalStack, LocalUsageError, RunResult

__all__ = [
    "AnalyzedResource",
    "Analyzer",
    "LocalRunError",
    "LocalStack",
    "LocalUsageError",
    "PolicyViolation",
    "RunResult",
    "stand_in_id",
]
