"""The production retry policy with every wait shortened, and a `TrackerProvider` that uses it.

The provider class lives in an importable module so that a provider process started like the engine
starts one (`python -m pulumi.dynamic`) unpickles it by reference, as it does `TrackerProvider`.
"""

from __future__ import annotations

from pulumi.dynamic import ConfigureRequest

from pulumi_cts import TrackerProvider
from pulumi_cts.transport import RetryPolicy

# The same number of tries as in production, much smaller numbers.
FAST_POLICY = RetryPolicy(
    max_attempts=5, base_delay=0.01, max_delay=0.05, max_total_wait=3.0, connect_timeout=1.0, read_timeout=0.5
)


class FastRetryTrackerProvider(TrackerProvider):
    """`TrackerProvider` with `FAST_POLICY`: faults injected by a test cost milliseconds, not the production seconds."""

    def configure(self, req: ConfigureRequest) -> None:
        super().configure(req)
        self.runtime.factory.transport.policy = FAST_POLICY
