"""Pulumi resources for Cloud Trace Service (CTS) trackers of Open Telekom Cloud and Huawei Cloud."""

from .errors import (
    ApiError,
    AuthenticationError,
    ConfigurationError,
    CtsError,
    TrackerExistsError,
    TrackerNotFoundError,
    TransportError,
)
from .provider import TrackerProvider
from .tracker import Tracker, TrackerArgs

__all__ = [
    "ApiError",
    "AuthenticationError",
    "ConfigurationError",
    "CtsError",
    "Tracker",
    "TrackerArgs",
    "TrackerExistsError",
    "TrackerNotFoundError",
    "TrackerProvider",
    "TransportError",
]
__version__ = "0.1.0"
