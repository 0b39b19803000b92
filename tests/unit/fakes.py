"""Engine-shaped inputs and a fake IAM + CTS on requests-mock, shared by the unit tests."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import requests_mock
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.output import Unknown

from pulumi_cts import TrackerProvider

AUTH_URL = "https://iam.eu-de.example.test/v3"
CTS_ROOT = "https://cts.eu-de.example.test"
PROJECT_ID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
PASSWORD = "Pa55-w0rd-ZZtopSECRET-41"
TOKEN = "MIItoken-VALUE-never-logged-7f3a9c"
TRACKER_URL = f"{CTS_ROOT}/v1.0/{PROJECT_ID}/tracker"
# What a program registers as `__provider` for a Tracker: the pickled provider itself.
BLOB = serialize_provider(TrackerProvider())

CONFIG = {
    "cts:authUrl": AUTH_URL,
    "cts:region": "eu-de",
    "cts:domainName": "OTC00000000001000000001",
    "cts:userName": "pipeline-bot",
    "cts:password": PASSWORD,
}

# The seed document's example request and response, verbatim.
SEED_REQUEST = {
    "bucket_name": "obs-f1da",
    "is_support_trace_files_encryption": True,
    "kms_id": "13a4207c-7abe-4b68-8510-16b84c3b5504",
    "is_obs_created": True,
    "file_prefix_name": "yO8Q",
    "log_file_validate": {"is_support_validate": True},
}
SEED_RESPONSE = {
    "bucket_name": "obs-f1da",
    "file_prefix_name": "yO8Q",
    "is_obs_created": True,
    "is_support_trace_files_encryption": True,
    "kms_id": "13a4207c-7abe-4b68-8510-16b84c3b5504",
    "log_file_validate": {"is_support_validate": True},
    "tracker_name": "system",
    "status": "enabled",
}
OBS_INFO_RESPONSE = {
    "id": "ebf8d1c3-762b-4ce3-b316-6b1aa32f8be3",
    "create_time": 1587958482923,
    "domain_id": "aexxxxxxxx4d4fb4bexxxxxxx791fbf",
    "project_id": PROJECT_ID,
    "tracker_type": "system",
    "tracker_name": "system",
    "status": "enabled",
    "is_support_trace_files_encryption": True,
    "kms_id": "13a4207c-7abe-4b68-8510-16b84c3b5504",
    "is_support_validate": True,
    "lts": {"is_lts_enabled": True, "log_group_name": "CTS", "log_topic_name": "system-trace"},
    "obs_info": {
        "bucket_name": "obs-f1da",
        "file_prefix_name": "yO8Q",
        "is_obs_created": True,
        "is_authorized_bucket": False,
        "bucket_lifecycle": 30,
        "bucket_location": "eu-de",
    },
}


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def token_body(project_id: str = PROJECT_ID, name: str = "eu-de", lifetime: float = 86400) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    return {
        "token": {
            "methods": ["password"],
            "issued_at": iso(now),
            "expires_at": iso(now + timedelta(seconds=lifetime)),
            "project": {"id": project_id, "name": name, "domain": {"name": "OTC00000000001000000001"}},
            "catalog": [
                {
                    "type": "cts",
                    "name": "cts",
                    "endpoints": [{"interface": "public", "region": "eu-de", "url": f"{CTS_ROOT}/v1.0/{project_id}"}],
                }
            ],
        }
    }


def mock_iam(mock: requests_mock.Mocker, lifetime: float = 86400, token: str = TOKEN) -> Any:
    def body(request: Any, context: Any) -> dict[str, Any]:
        scope = request.json()["auth"]["scope"]["project"]
        project_id = scope.get("id") or (PROJECT_ID if scope.get("name") == "eu-de" else f"{scope['name']:x<32}"[:32])
        return token_body(project_id, scope.get("name") or "eu-de", lifetime)

    return mock.post(f"{AUTH_URL}/auth/tokens", status_code=201, json=body, headers={"X-Subject-Token": token})


def provider(config: dict[str, Any] | None = None) -> TrackerProvider:
    """A provider configured as the engine would, with retries that do not really sleep."""
    instance = TrackerProvider()
    instance.configure(ConfigureRequest(Config(dict(CONFIG if config is None else config), "demo")))
    instance.runtime.factory.transport.sleep = lambda _seconds: None
    return instance


def engine_inputs(**fields: Any) -> dict[str, Any]:
    """A property bag as the engine sends it: `__provider` included."""
    return {"__provider": BLOB, **fields}


def text_of(value: Any) -> str:
    return json.dumps(value, default=repr)


def unknown() -> Any:
    """A preview placeholder, as `deserialize_properties(..., keep_unknowns=True)` produces."""
    return Unknown()  # type: ignore[no-untyped-call]
