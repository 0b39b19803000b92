"""Faults injected at the emulator over real HTTP: each operation either ends correctly or fails with a
clear, bounded error. Waits are shortened through `RetryPolicy`; the number of tries is the production one.
"""

from __future__ import annotations

import dataclasses
import re
import socket
import time
from datetime import datetime
from typing import Any

import pytest

from pulumi_cts import ApiError, AuthenticationError, TrackerProvider, TransportError
from pulumi_cts.emulator import Emulator
from tests.reliability.conftest import (
    checked,
    make_provider,
    program,
    requests_of,
    stack_config,
    token_requests,
    trackers,
    wait_until,
    with_provider,
)
from tests.reliability.fast_retries import FAST_POLICY
from tests.support import KMS_KEY, OTHER_BUCKET, PASSWORD, USER

TRACKER_PATH = r"/tracker"


def statuses(emulator: Emulator, method: str) -> list[int | None]:
    return [r["status"] for r in requests_of(emulator, "cts", method)]


def single_tracker(emulator: Emulator) -> dict[str, Any]:
    held = trackers(emulator)
    assert len(held) == 1, held
    return next(iter(held.values()))


def created(provider: TrackerProvider, **fields: Any) -> tuple[str, dict[str, Any]]:
    result = provider.create(checked(provider, program(**fields)))
    assert result.outs is not None
    return result.id, result.outs


def assert_outputs_match_service(outs: dict[str, Any] | None, service: dict[str, Any]) -> None:
    """What Pulumi stores is what the service has."""
    assert outs is not None
    for key in ("bucket_name", "file_prefix_name", "status", "is_support_trace_files_encryption"):
        assert outs[key] == service[key], key
    assert outs["kms_id"] == (service["kms_id"] or None)
    assert outs["tracker_id"] == service["id"]
    assert outs["project_id"] == service["project_id"]


# --- 5xx bursts shorter than the retry budget ----------------------------------------------------


@pytest.mark.parametrize("status", [502, 503, 504])
def test_read_survives_a_burst_of_gateway_errors(emulator: Emulator, provider: TrackerProvider, status: int) -> None:
    id_, outs = created(provider)
    emulator.control.clear_requests()
    emulator.control.add_fault(service="cts", method="GET", path=TRACKER_PATH, status=status, times=3)

    result = provider.read(id_, with_provider(outs))

    assert result.id == id_
    assert_outputs_match_service(result.outs, single_tracker(emulator))
    assert statuses(emulator, "GET") == [status, status, status, 200]


@pytest.mark.parametrize("status", [502, 503, 504])
def test_update_survives_a_burst_of_gateway_errors(emulator: Emulator, provider: TrackerProvider, status: int) -> None:
    id_, outs = created(provider)
    emulator.control.clear_requests()
    emulator.control.add_fault(service="cts", method="PUT", path=TRACKER_PATH, status=status, times=3)

    news = checked(provider, program(file_prefix_name="after-burst", bucket_name=OTHER_BUCKET))
    result = provider.update(id_, with_provider(outs), news)

    service = single_tracker(emulator)
    assert service["bucket_name"] == OTHER_BUCKET and service["file_prefix_name"] == "after-burst"
    assert result.outs is not None
    assert_outputs_match_service(result.outs, service)
    assert statuses(emulator, "PUT") == [status, status, status, 200]


@pytest.mark.parametrize("status", [502, 503, 504])
def test_delete_survives_a_burst_of_gateway_errors(emulator: Emulator, provider: TrackerProvider, status: int) -> None:
    id_, outs = created(provider)
    emulator.control.clear_requests()
    emulator.control.add_fault(service="cts", method="DELETE", path=TRACKER_PATH, status=status, times=3)

    provider.delete(id_, with_provider(outs))

    assert trackers(emulator) == {}
    assert statuses(emulator, "DELETE") == [status, status, status, 204]


@pytest.mark.parametrize("status", [502, 503, 504])
def test_create_after_a_gateway_error_looks_before_it_posts_again(
    emulator: Emulator, provider: TrackerProvider, status: int
) -> None:
    emulator.control.add_fault(service="cts", method="POST", path=TRACKER_PATH, status=status, times=1)

    id_, outs = created(provider, file_prefix_name="burst")

    assert_outputs_match_service(outs, single_tracker(emulator))
    assert id_ == f"{outs['project_id']}/system"
    # The POST is not blindly repeated: a GET checks that the first one did not take effect.
    calls = [(r["method"], r["status"]) for r in requests_of(emulator, "cts")]
    assert calls == [("POST", status), ("GET", 404), ("POST", 201)]


def test_create_survives_a_burst_of_503_shorter_than_the_budget(emulator: Emulator, provider: TrackerProvider) -> None:
    emulator.control.add_fault(service="cts", method="POST", path=TRACKER_PATH, status=503, times=3)

    _id, outs = created(provider)

    assert_outputs_match_service(outs, single_tracker(emulator))
    assert statuses(emulator, "POST") == [503, 503, 503, 201]


def test_iam_burst_is_retried_and_the_run_goes_on(emulator: Emulator, provider: TrackerProvider) -> None:
    emulator.control.add_fault(service="iam", method="POST", path="/v3/auth/tokens", status=503, times=3)

    _id, outs = created(provider)

    assert_outputs_match_service(outs, single_tracker(emulator))
    assert [r["status"] for r in token_requests(emulator)] == [503, 503, 503, 201]


# --- 429 with Retry-After ------------------------------------------------------------------------


def test_retry_after_on_429_is_waited_for(emulator: Emulator, provider: TrackerProvider) -> None:
    id_, outs = created(provider)
    emulator.control.clear_requests()
    emulator.control.add_fault(service="cts", method="GET", path=TRACKER_PATH, status=429, retry_after=1, times=1)

    started = time.monotonic()
    result = provider.read(id_, with_provider(outs))
    elapsed = time.monotonic() - started

    assert result.id == id_
    # The backoff of this policy is at most 0.05 s, so only the Retry-After header explains a 1 s wait.
    assert elapsed >= 1.0
    log = requests_of(emulator, "cts", "GET")
    assert [r["status"] for r in log] == [429, 200]
    gap = datetime.fromisoformat(log[1]["time"].rstrip("Z")) - datetime.fromisoformat(log[0]["time"].rstrip("Z"))
    assert gap.total_seconds() >= 0.99


def test_a_throttled_post_is_repeated_without_a_duplicate(emulator: Emulator, provider: TrackerProvider) -> None:
    emulator.control.add_fault(service="cts", method="POST", path=TRACKER_PATH, status=429, retry_after=0.2, times=2)

    started = time.monotonic()
    _id, outs = created(provider)

    assert time.monotonic() - started >= 0.4
    assert_outputs_match_service(outs, single_tracker(emulator))
    # A 429 means "refused, not processed", so the POST is simply repeated: no reconciling GET.
    assert [(r["method"], r["status"]) for r in requests_of(emulator, "cts")] == [
        ("POST", 429),
        ("POST", 429),
        ("POST", 201),
    ]


# --- bursts longer than the budget ---------------------------------------------------------------


def test_a_burst_longer_than_the_budget_fails_clearly_after_the_bounded_tries(
    emulator: Emulator, provider: TrackerProvider
) -> None:
    id_, outs = created(provider)
    emulator.control.clear_requests()
    emulator.control.add_fault(service="cts", method="GET", path=TRACKER_PATH, status=503, error_code="CTS.0001")

    with pytest.raises(ApiError) as caught:
        provider.read(id_, with_provider(outs))

    message = str(caught.value)
    assert caught.value.status == 503
    for part in ("Reading the CTS tracker", outs["project_id"], "HTTP 503", "CTS.0001", "gave up after 5 tries"):
        assert part in message
    stated = re.search(r"gave up after 5 tries and (\d+\.\d)s of waiting", message)
    assert stated is not None and 0.0 < float(stated.group(1)) <= FAST_POLICY.max_total_wait
    assert statuses(emulator, "GET") == [503] * FAST_POLICY.max_attempts
    assert single_tracker(emulator)["status"] == "enabled"  # nothing was changed


def test_a_retry_after_beyond_the_wait_budget_fails_at_once(emulator: Emulator, provider: TrackerProvider) -> None:
    id_, outs = created(provider)
    emulator.control.clear_requests()
    emulator.control.add_fault(service="cts", method="GET", path=TRACKER_PATH, status=429, retry_after=30)

    started = time.monotonic()
    with pytest.raises(ApiError, match=r"HTTP 429.*gave up after 1 tries and 0\.0s of waiting"):
        provider.read(id_, with_provider(outs))

    assert time.monotonic() - started < 5.0  # not 30 s: the wait budget is 3 s
    assert statuses(emulator, "GET") == [429]


def test_connections_dropped_beyond_the_budget_fail_with_the_tries_and_timeouts_stated(
    emulator: Emulator, provider: TrackerProvider
) -> None:
    id_, outs = created(provider)
    emulator.control.clear_requests()
    emulator.control.add_fault(service="cts", method="GET", path=TRACKER_PATH, action="drop")

    with pytest.raises(TransportError) as caught:
        provider.read(id_, with_provider(outs))

    message = str(caught.value)
    assert "Reading the CTS tracker" in message and "no answer" in message
    assert "gave up after 5 tries" in message
    assert "timeouts: connect 1s, read 0.5s" in message
    assert len(requests_of(emulator, "cts", "GET")) == FAST_POLICY.max_attempts


# --- slow answers --------------------------------------------------------------------------------


def test_an_answer_slower_than_the_read_timeout_is_abandoned_and_retried(
    emulator: Emulator, provider: TrackerProvider
) -> None:
    id_, outs = created(provider)
    emulator.control.clear_requests()
    emulator.control.add_fault(service="cts", method="GET", path=TRACKER_PATH, latency_ms=1500, times=1)

    started = time.monotonic()
    result = provider.read(id_, with_provider(outs))
    elapsed = time.monotonic() - started

    assert result.id == id_
    assert_outputs_match_service(result.outs, single_tracker(emulator))
    # The 1.5 s answer was not waited for: the 0.5 s read timeout cut it off and a second GET answered.
    assert elapsed < 1.4
    assert wait_until(lambda: len(requests_of(emulator, "cts", "GET")) == 2)


def test_answers_always_slower_than_the_read_timeout_fail_with_the_timeout_stated(emulator: Emulator) -> None:
    provider = make_provider(stack_config(emulator.base_url), dataclasses.replace(FAST_POLICY, max_attempts=2))
    id_, outs = created(provider)
    emulator.control.clear_requests()
    emulator.control.add_fault(service="cts", method="GET", path=TRACKER_PATH, latency_ms=900, times=2)

    with pytest.raises(TransportError) as caught:
        provider.read(id_, with_provider(outs))

    message = str(caught.value)
    assert "ReadTimeout" in message and "gave up after 2 tries" in message and "read 0.5s" in message
    assert wait_until(lambda: len(requests_of(emulator, "cts", "GET")) == 2)


def test_a_post_answered_after_the_read_timeout_leaves_exactly_one_tracker(
    emulator: Emulator, provider: TrackerProvider
) -> None:
    emulator.control.add_fault(service="cts", method="POST", path=TRACKER_PATH, latency_ms=1500, times=1)

    _id, outs = created(provider)

    assert_outputs_match_service(outs, single_tracker(emulator))
    # The slow first POST is still processed by the server after the provider gave up on it: CTS
    # refuses it as a duplicate (CTS.0201), so the project keeps one tracker.
    assert wait_until(lambda: len(requests_of(emulator, "cts", "POST")) == 2)
    assert sorted(s or 0 for s in statuses(emulator, "POST")) == [201, 400]
    assert_outputs_match_service(outs, single_tracker(emulator))


# --- dropped connections -------------------------------------------------------------------------


@pytest.mark.parametrize("declared_status", ["enabled", "disabled"])
def test_connection_dropped_after_the_tracker_was_created_leaves_one_consistent_tracker(
    emulator: Emulator, provider: TrackerProvider, declared_status: str
) -> None:
    emulator.control.add_fault(service="cts", method="POST", path=TRACKER_PATH, action="drop_after", times=1)

    id_, outs = created(provider, file_prefix_name="lost-answer", status=declared_status)

    service = single_tracker(emulator)
    assert service["status"] == declared_status
    assert_outputs_match_service(outs, service)
    posts = requests_of(emulator, "cts", "POST")
    assert len(posts) == 1 and posts[0]["dropped"] is True
    # State and service agree: a refresh changes nothing and the same program needs no update.
    refreshed = provider.read(id_, with_provider(outs))
    assert refreshed.id == id_
    refreshed_outs = refreshed.outs
    assert refreshed_outs is not None
    assert {k: refreshed_outs[k] for k in outs} == outs
    diff = provider.diff(
        id_,
        with_provider(refreshed.outs),
        checked(provider, program(file_prefix_name="lost-answer", status=declared_status)),
    )
    assert diff.changes is False


def test_connection_dropped_before_the_create_was_processed_posts_again_once(
    emulator: Emulator, provider: TrackerProvider
) -> None:
    emulator.control.add_fault(service="cts", method="POST", path=TRACKER_PATH, action="drop", times=1)

    _id, outs = created(provider)

    assert_outputs_match_service(outs, single_tracker(emulator))
    calls = [(r["method"], r["status"], r["dropped"]) for r in requests_of(emulator, "cts")]
    assert calls == [("POST", None, True), ("GET", 404, False), ("POST", 201, False)]


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_dropped_idempotent_calls_are_repeated_and_end_as_declared(
    emulator: Emulator, provider: TrackerProvider, method: str
) -> None:
    id_, outs = created(provider)
    emulator.control.clear_requests()
    emulator.control.add_fault(service="cts", method=method, path=TRACKER_PATH, action="drop_after", times=1)

    if method == "PUT":
        news = checked(provider, program(status="disabled", file_prefix_name="dropped"))
        result = provider.update(id_, with_provider(outs), news)
        service = single_tracker(emulator)
        assert service["status"] == "disabled" and service["file_prefix_name"] == "dropped"
        assert result.outs is not None
        assert_outputs_match_service(result.outs, service)
        assert [r["status"] for r in requests_of(emulator, "cts", "PUT")] == [200, 200]
    else:
        provider.delete(id_, with_provider(outs))
        assert trackers(emulator) == {}
        # The first DELETE took effect; the repeat finds nothing, which counts as deleted.
        assert [r["status"] for r in requests_of(emulator, "cts", "DELETE")] == [204, 404]


# --- tokens --------------------------------------------------------------------------------------


def test_token_expiry_in_the_middle_of_a_run_costs_one_reauthentication(
    emulator: Emulator, provider: TrackerProvider
) -> None:
    id_, outs = created(provider)
    assert len(token_requests(emulator)) == 1
    assert emulator.control.expire_tokens() >= 1

    read = provider.read(id_, with_provider(outs))
    news = checked(provider, program(bucket_name=OTHER_BUCKET, is_support_trace_files_encryption=True, kms_id=KMS_KEY))
    updated = provider.update(id_, with_provider(read.outs), news)
    provider.delete(id_, with_provider(updated.outs))

    assert len(token_requests(emulator)) == 2
    assert [r["status"] for r in requests_of(emulator, "cts")].count(401) == 1
    assert trackers(emulator) == {}


def test_token_expiry_just_before_a_create_does_not_duplicate_the_post(
    emulator: Emulator, provider: TrackerProvider
) -> None:
    first_id, first_outs = created(provider)
    provider.delete(first_id, with_provider(first_outs))  # leaves a cached token behind
    emulator.control.expire_tokens()
    emulator.control.clear_requests()

    _id, outs = created(provider)

    assert_outputs_match_service(outs, single_tracker(emulator))
    assert [r["status"] for r in requests_of(emulator, "cts", "POST")] == [401, 201]
    assert len(token_requests(emulator)) == 1  # the one re-authentication


# --- IAM down ------------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_iam_answering_503_is_a_clear_error_naming_iam_and_the_auth_url(
    emulator: Emulator, provider: TrackerProvider
) -> None:
    emulator.control.add_fault(service="iam", status=503, error_code="IAM.0006", error_msg="IAM is unavailable")

    with pytest.raises(AuthenticationError) as caught:
        provider.create(checked(provider, program()))

    message = str(caught.value)
    for part in ("IAM token", f"{emulator.base_url}/v3", USER, "HTTP 503", "IAM.0006", "gave up after 5 tries"):
        assert part in message
    assert PASSWORD not in message
    assert len(token_requests(emulator)) == FAST_POLICY.max_attempts
    assert requests_of(emulator, "cts") == []


@pytest.mark.parametrize("outage", ["refused", "dropped"])
def test_unreachable_iam_is_a_clear_error_naming_iam_and_the_auth_url(emulator: Emulator, outage: str) -> None:
    if outage == "refused":
        auth_url = f"http://127.0.0.1:{_closed_port()}/v3"
    else:
        auth_url = f"{emulator.base_url}/v3"
        emulator.control.add_fault(service="iam", action="drop")
    provider = make_provider({**stack_config(emulator.base_url), "cts:authUrl": auth_url})

    with pytest.raises(TransportError) as caught:
        provider.read(f"{'0' * 32}/system", program())

    message = str(caught.value)
    for part in ("IAM token", auth_url, USER, "no answer", "gave up after 5 tries"):
        assert part in message
    assert PASSWORD not in message
    assert requests_of(emulator, "cts") == []
