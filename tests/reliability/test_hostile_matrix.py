"""The hostile-answer matrix: every answer shape x every operation x every resource, and `get_traces`.

The real provider runs in `python -m pulumi.dynamic`, driven over gRPC like the engine drives it
(tests/support/engine.py), against the emulator. One answer of IAM or CTS (the first of the
operation) is replaced by a hostile one. A 2xx shape comes after the service did the work; a
redirect or an error page comes instead of it. Every case ends in a deliberate `ApiError` or a
correct result: never a raw Python exception, never a state that differs from what the service
holds, never a request to the redirect's host, never a secret in any text the provider produced.
`check` and `diff` meet the same shapes as inputs and as previous outputs.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pulumi.dynamic import ResourceProvider
from werkzeug.wrappers import Request, Response

import pulumi_cts.errors
from pulumi_cts import CtsError, DataTrackerProvider, NotificationProvider, TrackerProvider, get_traces
from pulumi_cts.emulator import Emulator
from pulumi_cts.emulator.models import project_id_for
from tests.reliability.conftest import stack_config
from tests.reliability.hostile import HTML, JSON, HostileAnswers, Recorder, Rule, as_json, echo_page
from tests.support import BUCKET, OTHER_BUCKET, PASSWORD, REGION
from tests.support.engine import EngineCallError, EngineHarness

RAW_NAMES = re.compile(
    r"\b(AttributeError|TypeError|KeyError|IndexError|ValueError|JSONDecodeError|RecursionError|UnicodeDecodeError)\b"
)
HUGE = 100_000


# --- answer shapes -------------------------------------------------------------------------------


def _objects(value: Any) -> list[dict[str, Any]]:
    """The resource objects in an answer: the answer itself, a list, or `{"trackers"|"notifications": [...]}`."""
    if isinstance(value, dict):
        for key in ("trackers", "notifications", "traces", "token"):
            if isinstance(value.get(key), list):
                return [v for v in value[key] if isinstance(v, dict)]
            if isinstance(value.get(key), dict):
                return [value[key]]
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


def _real_json(real: Response | None) -> Any:
    data = real.get_data() if real is not None else b""
    try:
        return json.loads(data) if data else {}
    except ValueError:
        return {}


def _garbled(real: Response | None, garble: Callable[[dict[str, Any]], None]) -> bytes:
    answer = _real_json(real)
    objects = _objects(answer)
    if not objects:
        answer = {"status": "enabled"}
        objects = [answer]
    for obj in objects:
        garble(obj)
    return as_json(answer)


def mistyped(_request: Request, real: Response | None) -> bytes:
    """The real answer with every field of the wrong JSON type: strings as numbers, flags as strings,
    lists as comma strings, objects holding lists."""

    def garble(obj: dict[str, Any]) -> None:
        for key, value in list(obj.items()):
            if isinstance(value, str):
                obj[key] = 5
            elif isinstance(value, bool):
                obj[key] = "yes"
            elif isinstance(value, list):
                obj[key] = "READ,WRITE"
            elif isinstance(value, dict):
                obj[key] = {k: [1, 2] for k in value} or {"bucket_name": {"nested": True}}

    return _garbled(real, garble)


def huge(_request: Request, real: Response | None) -> bytes:
    """The real answer with every text field 100 000 characters long."""

    def garble(obj: dict[str, Any]) -> None:
        for key, value in list(obj.items()):
            if isinstance(value, str):
                obj[key] = value[:1] + "x" * HUGE

    return _garbled(real, garble)


def huge_error(_request: Request, _real: Response | None) -> bytes:
    return as_json({"error_code": "CTS.0003", "error_msg": "invalid body " + "y" * 1_000_000})


@dataclass(frozen=True)
class Shape:
    name: str
    body: bytes | Callable[[Request, Response | None], bytes]
    content_type: str = JSON
    status: int | None = None  # None: the success status of the request
    after: bool = True  # the service did the work before this answer
    redirect: bool = False

    def rule(self, service: str, method_status: int, elsewhere: str, path: str) -> Rule:
        headers = {"Location": f"{elsewhere}/moved"} if self.redirect else {}
        if service == "iam" and self.after:
            headers["X-Subject-Token"] = "MIIhostile-token-value"
        return Rule(
            path=path,
            status=self.status if self.status is not None else method_status,
            body=self.body,
            content_type=self.content_type,
            headers=headers,
            after=self.after,
        )


SHAPES = [
    Shape("html", b"<html><body><h1>Welcome</h1>Please log in.</body></html>", HTML),
    Shape("truncated", b'{"tracker_name": "system", "status": "enab'),
    Shape("list", b'[1, "two", null]'),
    Shape("string", b'"system"'),
    Shape("null", b"null"),
    Shape("empty-object", b"{}"),
    Shape("mistyped", mistyped),
    Shape("huge-field", huge),
    Shape("redirect", b"", HTML, status=302, after=False, redirect=True),
    Shape("huge-error", huge_error, status=400, after=False),
    Shape("echo-error", echo_page, HTML, status=400, after=False),
]
SHAPE_NAMES = [s.name for s in SHAPES]


def check_value(shape: Shape) -> Any:
    """What a shape looks like as a property value (inputs or an old state file)."""
    return {
        "html": "<html><body>Please log in.</body></html>",
        "truncated": '{"tracker_name": "system", "status": "enab',
        "list": [1, "two", None],
        "string": "system",
        "null": None,
        "empty-object": {},
        "mistyped": 5,
        "huge-field": "x" * HUGE,
        "redirect": "http://elsewhere.example/moved",
        "huge-error": "y" * HUGE,
        "echo-error": "<html><pre>X-Auth-Token: MIIE...</pre></html>",
    }[shape.name]


# --- resources -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    name: str
    provider: Callable[[], ResourceProvider]
    type_name: str
    program: Callable[[str], dict[str, Any]]
    change: dict[str, Any]
    path: str  # every CTS path of this resource
    name_field: str | None

    def service_view(self, state: dict[str, Any], project: str) -> dict[str, Any] | None:
        """The resource as the service holds it, in the provider's property names."""
        if self.name in ("tracker", "tracker-v3"):
            tracker = state["trackers"].get(project)
            if tracker is None:
                return None
            return {
                "tracker_id": tracker["id"],
                "bucket_name": tracker.get("bucket_name", (tracker.get("obs_info") or {}).get("bucket_name")),
                "file_prefix_name": tracker.get(
                    "file_prefix_name", (tracker.get("obs_info") or {}).get("file_prefix_name")
                ),
                "status": tracker["status"],
            }
        if self.name == "data-tracker":
            found = [t for t in state["data_trackers"].get(project, []) if t["tracker_name"] == "orders-audit"]
            if not found:
                return None
            return {
                "tracker_id": found[0]["id"],
                "tracker_name": found[0]["tracker_name"],
                "bucket_name": (found[0].get("obs_info") or {}).get("bucket_name"),
                "status": found[0]["status"],
            }
        found = state["notifications"].get(project, [])
        if not found:
            return None
        return {
            "notification_id": found[0]["notification_id"],
            "notification_name": found[0]["notification_name"],
            "topic_id": found[0]["topic_id"],
            "status": found[0]["status"],
        }

    def resource_id(self, project: str, view: dict[str, Any]) -> str:
        if self.name == "notification":
            return f"{project}/{view['notification_id']}"
        if self.name == "data-tracker":
            return f"{project}/orders-audit"
        return f"{project}/system"


def _topic(project: str) -> str:
    return f"urn:smn:{REGION}:{project}:cts-alerts"


KINDS = [
    Kind(
        "tracker",
        TrackerProvider,
        "Tracker",
        lambda project: {"bucket_name": BUCKET, "tracker_id": None},
        {"file_prefix_name": "moved"},
        r"^/v1\.0/[^/]+/tracker",
        None,
    ),
    Kind(
        "tracker-v3",
        TrackerProvider,
        "Tracker",
        lambda project: {"bucket_name": BUCKET, "api_version": "v3", "tracker_id": None},
        {"file_prefix_name": "moved"},
        r"^/v3/[^/]+/trackers?$",
        None,
    ),
    Kind(
        "data-tracker",
        DataTrackerProvider,
        "DataTracker",
        lambda project: {
            "tracker_name": "orders-audit",
            "data_bucket": {"data_bucket_name": BUCKET, "data_event": ["WRITE"]},
            "bucket_name": OTHER_BUCKET,
            "tracker_id": None,
        },
        {"status": "disabled"},
        r"^/v3/[^/]+/trackers?$",
        "tracker_name",
    ),
    Kind(
        "notification",
        NotificationProvider,
        "Notification",
        lambda project: {
            "notification_name": "tracker_changes",
            "operation_type": "customized",
            "operations": [{"service_type": "CTS", "resource_type": "tracker", "trace_names": ["deleteTracker"]}],
            "topic_id": _topic(project),
            "notification_id": None,
        },
        {"status": "disabled"},
        r"^/v3/[^/]+/notifications",
        "notification_name",
    ),
]
KIND_NAMES = [k.name for k in KINDS]
OPERATIONS = ["create", "read", "update", "delete"]
SUCCESS_STATUS = {"create": 201, "read": 200, "update": 200, "delete": 204}


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def elsewhere() -> Iterator[Recorder]:
    with Recorder() as recorder:
        yield recorder


@pytest.fixture(scope="module")
def engines(_emulator_server: Emulator) -> Iterator[dict[str, EngineHarness]]:
    """One provider process per resource type, configured once, as the engine keeps them for a run."""
    config = stack_config(_emulator_server.base_url)
    by_type: dict[str, EngineHarness] = {}
    try:
        for kind in KINDS:
            if kind.type_name not in by_type:
                token = f"pulumi-python:dynamic/cts:{kind.type_name}"
                harness = EngineHarness(provider=kind.provider(), type_token=token).start()
                by_type[kind.type_name] = harness
                harness.configure(config, secret_keys=("cts:password",))
        yield {kind.name: by_type[kind.type_name] for kind in KINDS}
    finally:
        for harness in by_type.values():
            harness.close()


def project_of(_emulator: Emulator) -> str:
    return project_id_for(REGION)


def assert_clear(error: EngineCallError, hostile: HostileAnswers) -> str:
    """A deliberate ApiError (or subclass), named in the last line of the gRPC details, with no secret."""
    last = error.details.strip().splitlines()[-1]
    assert not RAW_NAMES.search(last), last
    match = re.match(r"pulumi_cts\.errors\.(\w+): ", last)
    assert match is not None, last[:500]
    assert issubclass(getattr(pulumi_cts.errors, match.group(1)), pulumi_cts.errors.ApiError), last[:500]
    assert len(last) < 2000, len(last)
    assert_no_secret(error.details, hostile)
    return last


def assert_no_secret(text: str, hostile: HostileAnswers) -> None:
    assert PASSWORD not in text
    for token in hostile.issued_tokens:
        assert token not in text


def assert_matches_service(kind: Kind, outputs: dict[str, Any], view: dict[str, Any] | None) -> None:
    assert view is not None, "the provider reports a resource the service does not hold"
    for key, value in view.items():
        assert outputs.get(key) == value, (key, outputs.get(key), value)


# --- the matrix over the HTTP operations ---------------------------------------------------------


@pytest.mark.parametrize("service", ["cts", "iam"])
@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_NAMES)
@pytest.mark.parametrize("kind", KINDS, ids=KIND_NAMES)
def test_operation_meets_hostile_answer(
    kind: Kind,
    shape: Shape,
    operation: str,
    service: str,
    engines: dict[str, EngineHarness],
    emulator: Emulator,
    hostile: HostileAnswers,
    elsewhere: Recorder,
) -> None:
    engine = engines[kind.name]
    project = project_of(emulator)
    program = kind.program(project)
    inputs = engine.check({}, program).inputs
    previous: dict[str, Any] = {}
    resource_id = ""
    if operation != "create":
        created = engine.create(inputs)
        previous, resource_id = created.outputs, created.id
    before = kind.service_view(emulator.control.state(), project)
    elsewhere.requests.clear()

    if service == "iam":
        emulator.control.expire_tokens()  # the next CTS call gets 401, so the token is fetched again
        path, status = r"^/v3/auth/tokens$", 201
    else:
        path, status = kind.path, SUCCESS_STATUS[operation]
    hostile.serve(shape.rule(service, status, elsewhere.base_url, path))

    result: Any = None
    error: EngineCallError | None = None
    try:
        if operation == "create":
            result = engine.create(inputs)
        elif operation == "read":
            result = engine.read(resource_id, previous, inputs)
        elif operation == "update":
            news = engine.check(inputs, {**program, **kind.change}).inputs
            result = engine.update(resource_id, previous, news, inputs)
        else:
            engine.delete(resource_id, previous, inputs)
    except EngineCallError as raised:
        error = raised
    hostile.clear()
    after = kind.service_view(emulator.control.state(), project)

    assert elsewhere.requests == [], "a request followed a redirect to another host"
    assert_no_secret("\n".join(engine.transcript[-3:]), hostile)
    if error is not None:
        assert_clear(error, hostile)
        # The engine keeps the previous state: the service must still hold exactly that.
        if operation == "create":
            assert after is None, "a create failed but left a resource behind"
        else:
            assert after == before, "an operation failed but changed the resource"
        return
    if operation == "create":
        assert "None" not in result.id
        assert_matches_service(kind, result.outputs, after)
        assert after is not None and result.id == kind.resource_id(project, after)
    elif operation == "read":
        assert result.id == resource_id, "refresh dropped a resource the service still holds"
        assert_matches_service(kind, result.outputs, after)
    elif operation == "update":
        assert_matches_service(kind, result.outputs, after)
        for key, value in kind.change.items():
            assert result.outputs[key] == value
    else:
        assert after is None, "delete succeeded but the resource is still there"


# --- check and diff meet the same shapes as values -----------------------------------------------


def junk_inside(bag: dict[str, Any], value: Any) -> dict[str, Any]:
    """`bag` with `value` in every object field and as the only item of every list."""
    return {
        key: ({k: value for k in v} if isinstance(v, dict) else [value] if isinstance(v, list) else v)
        for key, v in bag.items()
    }


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_NAMES)
@pytest.mark.parametrize("kind", KINDS, ids=KIND_NAMES)
def test_check_meets_hostile_values(kind: Kind, shape: Shape, engines: dict[str, EngineHarness]) -> None:
    engine = engines[kind.name]
    program = kind.program("0123456789abcdef")
    value = check_value(shape)
    everything = {key: value for key in program if not key.endswith("_id") or key == "topic_id"}
    everything["status"] = value
    for news in (everything, junk_inside(program, value), {**program, "status": value}):
        try:
            result = engine.check({}, news)
        except EngineCallError as error:
            pytest.fail(f"check raised: {error.details.strip().splitlines()[-1][:300]}")
        for prop, reason in result.failures:
            assert not RAW_NAMES.search(reason)
            assert len(reason) < 1000, (prop, len(reason))
            assert PASSWORD not in reason
    assert engine.check({}, everything).failures, "a property bag of junk passed check"


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_NAMES)
@pytest.mark.parametrize("kind", KINDS, ids=KIND_NAMES)
def test_diff_meets_hostile_previous_outputs(
    kind: Kind, shape: Shape, engines: dict[str, EngineHarness], emulator: Emulator
) -> None:
    engine = engines[kind.name]
    project = project_of(emulator)
    program = kind.program(project)
    inputs = engine.check({}, program).inputs
    value = check_value(shape)
    good_outputs = {**inputs, "project_id": project, "region": REGION, "status": "enabled"}
    olds_everything = {key: value for key in good_outputs if key != "__provider"}
    for olds in (olds_everything, junk_inside(good_outputs, value)):
        try:
            diff = engine.diff(f"{project}/x", olds, inputs)
        except EngineCallError as error:
            pytest.fail(f"diff raised: {error.details.strip().splitlines()[-1][:300]}")
        assert diff.changes in ("DIFF_SOME", "DIFF_NONE")
    assert engine.diff(f"{project}/x", olds_everything, inputs).changes == "DIFF_SOME"


# --- get_traces ----------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["cts", "iam"])
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_NAMES)
def test_get_traces_meets_hostile_answer(
    shape: Shape, service: str, emulator: Emulator, hostile: HostileAnswers, elsewhere: Recorder
) -> None:
    emulator.control.seed_traces([{"trace_name": "createTracker"}, {"trace_name": "deleteTracker"}])
    path, status = (r"^/v3/auth/tokens$", 201) if service == "iam" else (r"^/v3/[^/]+/traces$", 200)
    hostile.serve(shape.rule(service, status, elsewhere.base_url, path))
    elsewhere.requests.clear()
    config = stack_config(emulator.base_url)
    started = time.monotonic()
    try:
        result = get_traces(limit=5, config=config.get)
    except CtsError as error:
        assert isinstance(error, pulumi_cts.errors.ApiError), repr(error)[:300]
        text = str(error)
        assert len(text) < 2000
        assert_no_secret(text, hostile)
    else:
        # A correct result: the traces the service holds (IAM logins are recorded too), newest first.
        names = [t["trace_name"] for t in result.traces]
        assert {"createTracker", "deleteTracker"} <= set(names)
        assert all(isinstance(t, dict) and isinstance(t["trace_name"], str) for t in result.traces)
    assert elsewhere.requests == []
    assert time.monotonic() - started < 10
