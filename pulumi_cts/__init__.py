"""Pulumi resources for Cloud Trace Service (CTS) trackers of Open Telekom Cloud and Huawei Cloud.

Names are imported on first use, so tools that need no Pulumi (the emulator, `pulumi-cts doctor`)
start without loading the Pulumi SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .data_tracker import DataTracker, DataTrackerArgs
    from .errors import (
        ApiError,
        AuthenticationError,
        ConfigurationError,
        CtsError,
        TrackerExistsError,
        TrackerNotFoundError,
        TransportError,
    )
    from .notification import Notification, NotificationArgs
    from .provider import DataTrackerProvider, NotificationProvider, TrackerProvider
    from .traces import GetTracesResult, get_traces, get_traces_output
    from .tracker import Tracker, TrackerArgs

_WHERE = {
    "ApiError": "errors",
    "AuthenticationError": "errors",
    "ConfigurationError": "errors",
    "CtsError": "errors",
    "TrackerExistsError": "errors",
    "TrackerNotFoundError": "errors",
    "TransportError": "errors",
    "TrackerProvider": "provider",
    "DataTrackerProvider": "provider",
    "NotificationProvider": "provider",
    "Tracker": "tracker",
    "TrackerArgs": "tracker",
    "DataTracker": "data_tracker",
    "DataTrackerArgs": "data_tracker",
    "Notification": "notification",
    "NotificationArgs": "notification",
    "GetTracesResult": "traces",
    "get_traces": "traces",
    "get_traces_output": "traces",
}

__all__ = [
    "ApiError",
    "AuthenticationError",
    "ConfigurationError",
    "CtsError",
    "DataTracker",
    "DataTrackerArgs",
    "DataTrackerProvider",
    "GetTracesResult",
    "Notification",
    "NotificationArgs",
    "NotificationProvider",
    "Tracker",
    "TrackerArgs",
    "TrackerExistsError",
    "TrackerNotFoundError",
    "TrackerProvider",
    "TransportError",
    "get_traces",
    "get_traces_output",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'pulumi_cts' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
