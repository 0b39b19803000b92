"""Hostile answers, one finding at a time: credentials never follow a redirect, a 200 that is not
what the API documents is an error (never "absent"), no id is built from a missing value, wrong JSON
types never reach the state, validation patterns match whole values, and server text in messages
is cut and free of secrets. The full cross product runs in test_hostile_matrix.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pulumi.dynamic import Config, ConfigureRequest, ResourceProvider
from pulumi.output import Unknown

from pulumi_cts import (
    ApiError,
    CtsError,
    DataTrackerProvider,
    NotificationProvider,
    TrackerProvider,
    get_traces,
)
from pulumi_cts.emulator import Emulator
from tests.reliability.conftest import (
    BLOB,
    Console,
    checked,
    program,
    stack_config,
    trackers,
)
from tests.reliability.fast_retries import FAST_POLICY
from tests.reliability.hostile import HTML, JSON, HostileAnswers, Recorder, Rule, as_json, echo_page
from tests.support import BUCKET, OTHER_BUCKET, PASSWORD

unknown: Callable[[], Unknown] = Unknown  # a preview placeholder, as check receives it


def configured(kind: type[ResourceProvider], base_url: str) -> Any:
    provider: Any = kind()
    provider.configure(ConfigureRequest(Config(stack_config(base_url), "reliability")))
    provider.runtime.factory.transport.policy = FAST_POLICY
    return provider


def clear_error(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    """The message of a deliberate pulumi-cts error (never a raw Python exception), checked for secrets."""
    error = excinfo.value
    assert isinstance(error, CtsError), f"{type(error).__name__}: {error}"
    text = str(error)
    assert PASSWORD not in text
    return text


def data_program(**fields: Any) -> dict[str, Any]:
    return {
        "__provider": BLOB,
        "tracker_name": "orders-audit",
        "data_bucket": {"data_bucket_name": BUCKET, "data_event": ["WRITE"]},
        "bucket_name": OTHER_BUCKET,
        "tracker_id": None,
        **fields,
    }


def notification_program(project_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "__provider": BLOB,
        "notification_name": "tracker_changes",
        "operation_type": "customized",
        "operations": [{"service_type": "CTS", "resource_type": "tracker", "trace_names": ["deleteTracker"]}],
        "topic_id": f"urn:smn:eu-de:{project_id}:cts-alerts",
        "notification_id": None,
        **fields,
    }


# --- 1. credentials never follow a redirect ------------------------------------------------------


def test_a_cts_redirect_to_another_host_is_an_error_and_the_token_stays_home(
    emulator: Emulator, hostile: HostileAnswers
) -> None:
    provider = configured(TrackerProvider, emulator.base_url)
    with Recorder() as elsewhere:
        hostile.serve(
            Rule(path=r"^/v1\.0/", status=302, headers={"Location": f"{elsewhere.base_url}/v1.0/x/tracker"}, times=None)
        )
        with pytest.raises(Exception) as excinfo:
            provider.create(checked(provider, program()))
        text = clear_error(excinfo)
        assert elsewhere.requests == []
    assert "127.0.0.1" in text and "cts:endpoint" in text
    assert trackers(emulator) == {}


def test_an_iam_redirect_never_carries_the_password_to_another_host(
    emulator: Emulator, hostile: HostileAnswers
) -> None:
    provider = configured(TrackerProvider, emulator.base_url)
    with Recorder() as elsewhere:
        hostile.serve(Rule(path=r"^/v3/auth/tokens", status=307, headers={"Location": f"{elsewhere.base_url}/v3"}))
        with pytest.raises(Exception) as excinfo:
            provider.create(checked(provider, program()))
        text = clear_error(excinfo)
        assert elsewhere.requests == []
    assert "cts:authUrl" in text and "127.0.0.1" in text


# --- 2. a 200 that is not a tracker is an error, never "no tracker" ------------------------------

NOT_A_TRACKER = {
    "html": (b"<html><body>Service temporarily moved</body></html>", HTML),
    "truncated": (b'{"tracker_name": "system", "bucket_na', JSON),
    "list": (b"[1, 2]", JSON),
    "string": (b'"system"', JSON),
    "null": (b"null", JSON),
    "empty-object": (b"{}", JSON),
}


@pytest.mark.parametrize("shape", sorted(NOT_A_TRACKER))
def test_a_garbled_tracker_answer_is_an_error_never_a_missing_tracker(
    emulator: Emulator, hostile: HostileAnswers, shape: str
) -> None:
    provider = configured(TrackerProvider, emulator.base_url)
    created = provider.create(checked(provider, program()))
    outs = {"__provider": BLOB, **created.outs}
    body, content_type = NOT_A_TRACKER[shape]
    hostile.serve(Rule(path=r"/tracker$", method="GET", body=body, content_type=content_type, times=None))
    hostile.received.clear()
    # Refresh: an error, not an empty id that would drop a tracker that still exists.
    with pytest.raises(Exception) as read_error:
        provider.read(created.id, outs)
    assert "Reading the CTS tracker" in clear_error(read_error)
    # Update reads back after its PUT: an error, and never an unrequested POST.
    with pytest.raises(Exception) as update_error:
        provider.update(created.id, outs, checked(provider, program(file_prefix_name="moved")))
    clear_error(update_error)
    assert [method for method, _path in hostile.received].count("POST") == 0
    assert len(trackers(emulator)) == 1


# --- 3. no id from a missing value ----------------------------------------------------------------


def test_a_notification_whose_id_cannot_be_learned_is_not_recorded(
    emulator: Emulator, hostile: HostileAnswers, console: Console
) -> None:
    provider = configured(NotificationProvider, emulator.base_url)
    hostile.serve(Rule(path=r"/notifications$", method="POST", status=201, body=b'{"status": "enabled"}', after=True))
    hostile.serve(Rule(path=r"/notifications/smn$", method="GET", body=b'{"notifications": []}', times=None))
    with pytest.raises(Exception) as excinfo:
        provider.create(checked(provider, notification_program(console.project_id)))
    text = clear_error(excinfo)
    assert "None" not in text
    assert "tracker_changes" in text


# --- 4. preview Unknowns inside lists -------------------------------------------------------------


def test_notification_check_passes_unknowns_inside_lists_and_reports_known_problems(emulator: Emulator) -> None:
    provider = configured(NotificationProvider, emulator.base_url)
    news = notification_program(
        "0123456789abcdef",
        operations=[{"service_type": "CTS", "resource_type": "tracker", "trace_names": [unknown()]}, unknown()],
        notify_user_list=[unknown(), {"user_group": "admins", "user_list": [unknown(), "alice"]}],
        filter={"condition": "AND", "is_support_filter": True, "rule": [unknown(), "code != 200"]},
    )
    assert provider.check({}, news).failures == []
    bad = provider.check({}, {**news, "notification_name": "no spaces allowed"})
    assert [f.property for f in bad.failures] == ["notification_name"]
    nested = provider.check(
        {},
        {
            **news,
            "operations": [{"service_type": "lower", "resource_type": unknown(), "trace_names": [unknown(), 5]}],
        },
    )
    assert sorted(f.property for f in nested.failures) == ["operations[0].service_type", "operations[0].trace_names"]


def test_data_tracker_and_tracker_check_pass_nested_unknowns(emulator: Emulator) -> None:
    data = configured(DataTrackerProvider, emulator.base_url)
    news = data_program(data_bucket={"data_bucket_name": unknown(), "data_event": [unknown()]}, lts=unknown())
    assert data.check({}, news).failures == []
    tracker = configured(TrackerProvider, emulator.base_url)
    assert tracker.check({}, program(lts={"is_lts_enabled": unknown()}, log_file_validate=unknown())).failures == []


# --- 7 and 8. raw exceptions and mistyped fields --------------------------------------------------


@pytest.mark.parametrize(
    "token_body",
    [
        {"expires_at": 1893456000, "project": {"id": "p1", "name": "eu-de"}, "catalog": []},
        {"expires_at": "2099-01-01T00:00:00Z", "issued_at": 5, "project": {"id": "p1"}},
        {"expires_at": "2099-01-01T00:00:00Z", "project": "eu-de"},
        {"expires_at": "2099-01-01T00:00:00Z", "project": {"id": [1, 2]}},
        {"expires_at": "2099-01-01T00:00:00Z", "project": {"id": "p1"}, "catalog": [{"type": "cts", "endpoints": 5}]},
        {"expires_at": "2099-01-01T00:00:00Z", "project": {"id": "p1"}, "catalog": 7},
    ],
    ids=["expires-number", "issued-number", "project-string", "project-id-list", "endpoints-number", "catalog-number"],
)
def test_a_mistyped_token_answer_is_a_clear_error(
    emulator: Emulator, hostile: HostileAnswers, token_body: dict[str, Any]
) -> None:
    provider = configured(TrackerProvider, emulator.base_url)
    hostile.serve(
        Rule(
            path=r"^/v3/auth/tokens",
            status=201,
            body=as_json({"token": token_body}),
            headers={"X-Subject-Token": "MIIhostiletoken"},
            after=True,
        )
    )
    with pytest.raises(Exception) as excinfo:
        provider.create(checked(provider, program()))
    text = clear_error(excinfo)
    assert "Obtaining an IAM token" in text and "token." in text
    assert trackers(emulator) == {}


@pytest.mark.parametrize(
    ("mistyped", "field"),
    [
        ({"status": 5}, "status"),
        ({"bucket_name": 123}, "bucket_name"),
        ({"obs_info": {"bucket_name": {"nested": True}}}, "obs_info.bucket_name"),
        ({"id": {"x": 1}}, "id"),
        ({"lts": "on"}, "lts"),
        ({"create_time": "yesterday"}, "create_time"),
        ({"detail": "x" * 300_000}, "detail"),
    ],
    ids=["status", "bucket", "obs-bucket", "id", "lts", "create-time", "huge"],
)
def test_mistyped_tracker_fields_never_reach_the_state(
    emulator: Emulator, hostile: HostileAnswers, console: Console, mistyped: dict[str, Any], field: str
) -> None:
    provider = configured(TrackerProvider, emulator.base_url)
    created = provider.create(checked(provider, program()))
    current = console.tracker()
    assert current is not None
    hostile.serve(Rule(path=r"/tracker$", method="GET", body=as_json({**current, **mistyped})))
    with pytest.raises(Exception) as excinfo:
        provider.read(created.id, {"__provider": BLOB, **created.outs})
    text = clear_error(excinfo)
    assert field in text
    assert len(text) < 2000


@pytest.mark.parametrize("data_event", ["READ,WRITE", ["READ", 5], 7], ids=["comma-string", "number-in-list", "number"])
def test_mistyped_data_events_are_a_clear_error(emulator: Emulator, hostile: HostileAnswers, data_event: Any) -> None:
    provider = configured(DataTrackerProvider, emulator.base_url)
    created = provider.create(checked(provider, data_program()))
    outs = {"__provider": BLOB, **created.outs}

    hostile.serve(
        Rule(
            path=r"/trackers$",
            method="GET",
            body=as_json(
                {
                    "trackers": [
                        {
                            "tracker_name": "orders-audit",
                            "tracker_type": "data",
                            "status": "enabled",
                            "data_bucket": {"data_bucket_name": BUCKET, "data_event": data_event},
                        }
                    ]
                }
            ),
        )
    )
    with pytest.raises(Exception) as excinfo:
        provider.read(created.id, outs)
    assert "data_bucket.data_event" in clear_error(excinfo)
    # A state written by an older version with such a value: diff reports a change, never raises.
    olds = {**outs, "data_bucket": {"data_bucket_name": BUCKET, "data_event": data_event}}
    assert provider.diff(created.id, olds, checked(provider, data_program())).changes is True


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<html>maintenance</html>", HTML),
        (b"[1, 2]", JSON),
        (b'"notification"', JSON),
        (b'{"notifications": "all of them"}', JSON),
        (b'{"notifications": [{"notification_id": {"a": 1}, "notification_name": "tracker_changes"}]}', JSON),
    ],
    ids=["html", "list", "string", "notifications-string", "id-object"],
)
def test_garbled_notification_answers_are_clear_errors(
    emulator: Emulator, hostile: HostileAnswers, console: Console, body: bytes, content_type: str
) -> None:
    provider = configured(NotificationProvider, emulator.base_url)
    created = provider.create(checked(provider, notification_program(console.project_id)))
    outs = {"__provider": BLOB, **created.outs}
    hostile.serve(Rule(path=r"/notifications/smn$", method="GET", body=body, content_type=content_type, times=None))
    with pytest.raises(Exception) as excinfo:
        provider.read(created.id, outs)
    assert "Reading the key-event notification" in clear_error(excinfo)
    # A PUT answering garbage: the read-back is garbled too, so the update is an error, not a crash.
    hostile.serve(Rule(path=r"/notifications$", method="PUT", body=body, content_type=content_type, after=True))
    with pytest.raises(Exception) as update_error:
        news = checked(provider, notification_program(console.project_id, status="disabled"))
        provider.update(created.id, outs, news)
    clear_error(update_error)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<html>maintenance</html>", HTML),
        (b'{"traces": "none"}', JSON),
        (b'{"traces": [5]}', JSON),
        (b'{"traces": [], "meta_data": {"marker": {"a": 1}}}', JSON),
    ],
    ids=["html", "traces-string", "trace-number", "marker-object"],
)
def test_get_traces_on_a_garbled_answer_is_a_clear_error(
    emulator: Emulator, hostile: HostileAnswers, body: bytes, content_type: str
) -> None:
    hostile.serve(Rule(path=r"/traces$", method="GET", body=body, content_type=content_type))
    config = stack_config(emulator.base_url)
    with pytest.raises(Exception) as excinfo:
        get_traces(limit=5, config=config.get)
    assert "Querying traces" in clear_error(excinfo)


# --- 9. patterns match the whole value ------------------------------------------------------------

TRAILING_NEWLINE = [
    (TrackerProvider, "file_prefix_name", "trail\n"),
    (TrackerProvider, "region", "eu-de\n"),
    (TrackerProvider, "project_id", "0123abcd\n"),
    (TrackerProvider, "project_name", "eu-de\n"),
    (TrackerProvider, "kms_id", "2b4f0a34\n"),
    (TrackerProvider, "bucket_name", "audit-trail\n"),
    (DataTrackerProvider, "tracker_name", "orders-audit\n"),
    (DataTrackerProvider, "region", "eu-de\n"),
    (NotificationProvider, "notification_name", "tracker_changes\n"),
    (NotificationProvider, "topic_id", "urn:smn:eu-de:0123456789abcdef:cts-alerts\n"),
    (NotificationProvider, "filter", {"condition": "AND", "rule": ["code != 200\n"]}),
    (NotificationProvider, "operations", [{"service_type": "CTS\n", "resource_type": "t", "trace_names": ["x"]}]),
]


@pytest.mark.parametrize(
    ("kind", "field", "value"), TRAILING_NEWLINE, ids=[f"{k.__name__}-{f}" for k, f, _v in TRAILING_NEWLINE]
)
def test_a_trailing_newline_is_rejected(
    emulator: Emulator, kind: type[ResourceProvider], field: str, value: Any
) -> None:
    provider = configured(kind, emulator.base_url)
    if kind is TrackerProvider:
        news = program(**{field: value})
        if field == "kms_id":
            news["is_support_trace_files_encryption"] = True
    elif kind is DataTrackerProvider:
        news = data_program(**{field: value})
    else:
        news = notification_program("0123456789abcdef", **{field: value})
    failures = provider.check({}, news).failures
    assert failures, f"{field}={value!r} was accepted"
    assert all(f.property.split("[")[0].split(".")[0] == field for f in failures), failures


def test_a_region_with_a_trailing_newline_creates_nothing(emulator: Emulator) -> None:
    provider = configured(TrackerProvider, emulator.base_url)
    assert [f.property for f in provider.check({}, program(region="eu-de\n")).failures] == ["region"]


# --- 10. server text is cut and scrubbed ----------------------------------------------------------


def test_a_huge_error_message_is_cut(emulator: Emulator, hostile: HostileAnswers) -> None:
    provider = configured(TrackerProvider, emulator.base_url)
    huge = as_json({"error_code": "CTS.0003", "error_msg": "bad body " + "x" * 5_000_000})
    hostile.serve(Rule(path=r"/tracker$", method="POST", status=400, body=huge))
    with pytest.raises(ApiError) as excinfo:
        provider.create(checked(provider, program()))
    text = clear_error(excinfo)
    assert "CTS.0003" in text and "bad body" in text
    assert len(text) < 1000


def test_an_iam_error_page_echoing_the_request_never_shows_the_password(
    emulator: Emulator, hostile: HostileAnswers
) -> None:
    provider = configured(TrackerProvider, emulator.base_url)
    hostile.serve(Rule(path=r"^/v3/auth/tokens", status=400, body=echo_page, content_type=HTML))
    with pytest.raises(ApiError) as excinfo:
        provider.create(checked(provider, program()))
    text = clear_error(excinfo)
    assert "400" in text


def test_a_cts_error_page_echoing_the_request_never_shows_the_token(
    emulator: Emulator, hostile: HostileAnswers
) -> None:
    provider = configured(TrackerProvider, emulator.base_url)
    hostile.serve(Rule(path=r"/tracker$", method="POST", status=400, body=echo_page, content_type=HTML))
    with pytest.raises(ApiError) as excinfo:
        provider.create(checked(provider, program()))
    text = clear_error(excinfo)
    assert hostile.issued_tokens
    assert not any(token in text for token in hostile.issued_tokens)
