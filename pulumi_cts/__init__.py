"""Pulumi resources for Cloud Trace Service (CTS) trackers of Open Telekom Cloud and Huawei Cloud.

Names are imported on first use, so tools that need no Pulumi (the emulator, `pulumi-cts doctor`)
start without loading the Pulumi SDK.
"""

from __future__ import annotations

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

if _TYPE_CHECKING:
    from .data_tracker import DataTracker, DataTrackerArgs
    from .errors import (
        ApiError,
        AuthenticationError,
        ConfigurationError,
        CtsError,
        NotFoundError,
        NotificationNotFoundError,
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
    "NotFoundError": "errors",
    "NotificationNotFoundError": "errors",
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
    "NotFoundError",
    "Notification",
    "NotificationArgs",
    "NotificationNotFoundError",
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


def __getattr__(name: str) -> _Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'pulumi_cts' has no attribute {name!r}")
    value = getattr(_importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    # The public names once each (loaded or not), and the module's own dunder attributes.
    return sorted({*__all__, *(name for name in globals() if name.startswith("__") and name.endswith("__"))})
