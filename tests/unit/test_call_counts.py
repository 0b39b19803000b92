"""HTTP calls per engine operation, pinned as upper bounds (the goals of benchmarks/README.md).

One provider instance serves every operation, as one provider process does: it may ask IAM for a
token once per scope and must then make at most these CTS calls:

    check, diff        no HTTP call at all
    create             1 POST (+ 1 PUT when the declared status is disabled)
    read               1 GET
    update             1 PUT + at most 1 GET (the documented PUT answer has no body)
    delete             1 DELETE

These are call counts, not timings: requests-mock answers at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar

import pytest
import requests_mock

from pulumi_cts import TrackerProvider

from .fakes import (
    AUTH_URL,
    CONFIG,
    CTS_ROOT,
    SEED_REQUEST,
    SEED_RESPONSE,
    TRACKER_URL,
    engine_inputs,
    mock_iam,
    provider,
)

P = ParamSpec("P")
T = TypeVar("T")

PUT_URL = f"{TRACKER_URL}/system"
TOKEN_URL = f"{AUTH_URL}/auth/tokens"


class CallCounter:
    """Counts the CTS calls (by method) and the IAM token requests made by one operation."""

    def __init__(self, mock: requests_mock.Mocker) -> None:
        self.mock = mock
        self.iam_total = 0

    def run(self, operation: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> tuple[T, Counter[str]]:
        before = len(self.mock.request_history)
        result = operation(*args, **kwargs)
        made = self.mock.request_history[before:]
        iam = [r for r in made if r.url.startswith(TOKEN_URL)]
        self.iam_total += len(iam)
        cts = Counter(r.method for r in made if not r.url.startswith(TOKEN_URL))
        return result, cts


@pytest.fixture
def mock() -> Iterator[requests_mock.Mocker]:
    with requests_mock.Mocker() as m:
        mock_iam(m)
        yield m


def checked(news: dict[str, Any]) -> dict[str, Any]:
    result = TrackerProvider().check({}, news)
    assert result.failures == []
    return result.inputs


def assert_within(made: Counter[str], goal: dict[str, int], operation: str) -> None:
    """No method used more often than the goal allows, and no method the goal does not name."""
    extra = {method: count for method, count in made.items() if count > goal.get(method, 0)}
    assert not extra, f"{operation} made {dict(made)}; the goal allows at most {goal}"


def test_a_full_lifecycle_stays_within_the_goals_with_one_token(mock: requests_mock.Mocker) -> None:
    mock.post(TRACKER_URL, status_code=201, json=SEED_RESPONSE)
    mock.get(TRACKER_URL, json=SEED_RESPONSE)
    mock.put(PUT_URL, status_code=200, text="")
    mock.delete(TRACKER_URL, status_code=204)
    prov = provider()
    counter = CallCounter(mock)
    program = engine_inputs(**SEED_REQUEST)

    check, made = counter.run(prov.check, {}, program)
    checked_inputs = check.inputs
    assert_within(made, {}, "check")
    created, made = counter.run(prov.create, checked_inputs)
    assert made == Counter({"POST": 1})
    outs = engine_inputs(**(created.outs or {}))
    read, made = counter.run(prov.read, created.id, outs)
    assert made == Counter({"GET": 1})
    assert read.id == created.id

    news = engine_inputs(**{**checked_inputs, "file_prefix_name": "renamed"})
    check, made = counter.run(prov.check, checked_inputs, news)
    news = check.inputs
    assert_within(made, {}, "check")
    diff, made = counter.run(prov.diff, created.id, outs, news)
    assert_within(made, {}, "diff")
    assert diff.changes is True
    updated, made = counter.run(prov.update, created.id, outs, news)
    assert_within(made, {"PUT": 1, "GET": 1}, "update")
    assert made["PUT"] == 1
    _, made = counter.run(prov.delete, created.id, engine_inputs(**(updated.outs or {})))
    assert made == Counter({"DELETE": 1})

    assert counter.iam_total == 1


def test_repeated_operations_in_one_project_reuse_one_token(mock: requests_mock.Mocker) -> None:
    mock.post(TRACKER_URL, status_code=201, json=SEED_RESPONSE)
    mock.get(TRACKER_URL, json=SEED_RESPONSE)
    mock.delete(TRACKER_URL, status_code=204)
    prov = provider()
    counter = CallCounter(mock)

    for _round in range(3):
        created, made = counter.run(prov.create, checked(engine_inputs(**SEED_REQUEST)))
        assert made == Counter({"POST": 1})
        outs = engine_inputs(**(created.outs or {}))
        _, made = counter.run(prov.read, created.id, outs)
        assert made == Counter({"GET": 1})
        _, made = counter.run(prov.delete, created.id, outs)
        assert made == Counter({"DELETE": 1})

    assert counter.iam_total == 1


def test_trackers_in_several_projects_cost_one_token_each(mock: requests_mock.Mocker) -> None:
    projects = ["eu-de_alpha", "eu-de_beta", "eu-de_gamma"]
    for name in projects:
        project_id = f"{name:x<32}"[:32]  # what mock_iam answers for this project name
        url = f"{CTS_ROOT}/v1.0/{project_id}/tracker"
        mock.post(url, status_code=201, json=SEED_RESPONSE)
        mock.get(url, json=SEED_RESPONSE)
        mock.delete(url, status_code=204)
    prov = provider()
    counter = CallCounter(mock)

    for _round in range(2):
        for name in projects:
            inputs = checked(engine_inputs(**SEED_REQUEST, project_name=name))
            created, made = counter.run(prov.create, inputs)
            assert made == Counter({"POST": 1})
            outs = engine_inputs(**(created.outs or {}))
            _, made = counter.run(prov.read, created.id, outs)
            assert made == Counter({"GET": 1})
            _, made = counter.run(prov.delete, created.id, outs)
            assert made == Counter({"DELETE": 1})

    assert counter.iam_total == len(projects)


def test_create_disabled_adds_exactly_one_put_when_the_put_answers_the_tracker(mock: requests_mock.Mocker) -> None:
    # CTS creates every tracker enabled; a declared `disabled` takes one PUT afterwards.
    mock.post(TRACKER_URL, status_code=201, json=SEED_RESPONSE)
    mock.put(PUT_URL, status_code=200, json={**SEED_RESPONSE, "status": "disabled"})
    get = mock.get(TRACKER_URL, json={**SEED_RESPONSE, "status": "disabled"})
    counter = CallCounter(mock)

    created, made = counter.run(provider().create, checked(engine_inputs(**SEED_REQUEST, status="disabled")))

    assert made == Counter({"POST": 1, "PUT": 1})
    assert get.call_count == 0
    assert created.outs is not None and created.outs["status"] == "disabled"
    assert counter.iam_total == 1


def test_create_disabled_needs_no_read_back_when_the_put_answers_no_body(mock: requests_mock.Mocker) -> None:
    # The documented PUT answer is an empty 200. Right after a create, the create's answer plus the
    # sent (complete) body is the new state, so no GET is needed.
    mock.post(TRACKER_URL, status_code=201, json=SEED_RESPONSE)
    mock.put(PUT_URL, status_code=200, text="")
    get = mock.get(TRACKER_URL, json={**SEED_RESPONSE, "status": "disabled"})
    counter = CallCounter(mock)

    created, made = counter.run(provider().create, checked(engine_inputs(**SEED_REQUEST, status="disabled")))

    assert made == Counter({"POST": 1, "PUT": 1})
    assert get.call_count == 0
    outs = created.outs or {}
    assert outs["status"] == "disabled"
    assert outs["kms_id"] == SEED_REQUEST["kms_id"] and outs["tracker_name"] == "system"


def test_update_with_a_put_that_answers_the_tracker_needs_no_get(mock: requests_mock.Mocker) -> None:
    mock.post(TRACKER_URL, status_code=201, json=SEED_RESPONSE)
    mock.put(PUT_URL, status_code=200, json={**SEED_RESPONSE, "file_prefix_name": "renamed"})
    mock.get(TRACKER_URL, json=SEED_RESPONSE)
    prov = provider()
    counter = CallCounter(mock)
    created, _ = counter.run(prov.create, checked(engine_inputs(**SEED_REQUEST)))
    news = checked(engine_inputs(**{**SEED_REQUEST, "file_prefix_name": "renamed"}))

    _, made = counter.run(prov.update, created.id, engine_inputs(**(created.outs or {})), news)

    assert made == Counter({"PUT": 1})
    assert counter.iam_total == 1


def test_check_and_diff_make_no_call_even_without_configuration() -> None:
    # No mock is registered for anything: requests-mock refuses every call, so any call would raise.
    with requests_mock.Mocker() as mock:
        prov = TrackerProvider()
        checked_inputs = prov.check({}, engine_inputs(**SEED_REQUEST)).inputs
        olds = engine_inputs(**SEED_RESPONSE, project_id="0" * 32, region="eu-de")
        prov.diff(f"{'0' * 32}/system", olds, checked_inputs)
        configured = provider(dict(CONFIG))
        configured.check({}, engine_inputs(**SEED_REQUEST))
        configured.diff(f"{'0' * 32}/system", olds, checked_inputs)

    assert mock.call_count == 0
