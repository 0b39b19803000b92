"""Concurrency: the engine's 4 workers and 32 threads in one provider process share one token per scope
and one connection pool, and the token cache has no race even when IAM is slow.

Evidence is taken at the server: which token each request carried and which TCP connection it came on.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
import requests
from pulumi.dynamic import ReadResult
from requests.adapters import HTTPAdapter

from pulumi_cts import TrackerProvider
from pulumi_cts.emulator import Emulator
from tests.reliability.conftest import (
    BLOB,
    Console,
    ServerView,
    make_provider,
    requests_of,
    stack_config,
    token_requests,
)
from tests.reliability.fast_retries import FAST_POLICY
from tests.support import BUCKET, PASSWORD
from tests.support.engine import EngineHarness

T = TypeVar("T")
ENGINE_WORKERS = 4  # `python -m pulumi.dynamic` serves with ThreadPoolExecutor(max_workers=4)
THREADS = 32  # the size of the provider's connection pool
# IAM is made slow on purpose here; a read timeout longer than that delay keeps retries out of the count.
PATIENT_POLICY = dataclasses.replace(FAST_POLICY, read_timeout=10.0)


def all_at_once(count: int, call: Callable[[int], T]) -> list[T]:
    """Run `call(0..count-1)` on `count` threads released at the same instant; re-raises any failure."""
    barrier = threading.Barrier(count)

    def released(index: int) -> T:
        barrier.wait(timeout=10)
        return call(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(released, range(count)))


def tracker_state(console: Console) -> tuple[str, dict[str, Any]]:
    """The id and stored outputs of a tracker that exists (made outside this provider, so no token is cached)."""
    tracker = console.tracker()
    assert tracker is not None
    outputs = {"__provider": BLOB, "project_id": console.project_id, "region": "eu-de", "bucket_name": BUCKET}
    return f"{console.project_id}/system", outputs


@pytest.fixture
def existing_tracker(emulator: Emulator, console: Console) -> tuple[str, dict[str, Any]]:
    console.session.post(console.url, json={"bucket_name": BUCKET}, timeout=10).raise_for_status()
    return tracker_state(console)


@pytest.fixture
def engine() -> Iterator[EngineHarness]:
    with EngineHarness() as harness:
        yield harness


def test_the_engines_four_workers_share_one_token(
    emulator: Emulator, existing_tracker: tuple[str, dict[str, Any]], server_view: ServerView, engine: EngineHarness
) -> None:
    id_, outputs = existing_tracker
    engine.configure(stack_config(emulator.base_url), secret_keys=("cts:password",))
    server_view.clear()
    # A slow IAM keeps every worker waiting for the first token; slow GETs make the reads overlap.
    emulator.control.add_fault(service="iam", latency_ms=300)
    emulator.control.add_fault(service="cts", method="GET", latency_ms=300)

    for _wave in range(2):
        reads = all_at_once(ENGINE_WORKERS, lambda _i: engine.read(id_, outputs))
        assert [r.id for r in reads] == [id_] * ENGINE_WORKERS

    gets = [s for s in server_view.cts() if s.method == "GET"]
    assert len(gets) == 2 * ENGINE_WORKERS
    assert server_view.max_in_flight("GET") == ENGINE_WORKERS  # the calls really ran side by side
    assert len(server_view.token_grants()) == 1
    assert {s.auth_token for s in gets} == server_view.issued_tokens()
    assert PASSWORD not in engine.stderr_text()
    # The pool lives inside the provider process; the next test shows it is shared, in this process.


def test_thirty_two_threads_in_one_process_share_one_token_and_one_pool(
    emulator: Emulator,
    existing_tracker: tuple[str, dict[str, Any]],
    server_view: ServerView,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    id_, outputs = existing_tracker
    sessions: list[requests.Session] = []

    class CountedSession(requests.Session):
        def __init__(self) -> None:
            super().__init__()
            sessions.append(self)

    # The transport creates its session with `requests.Session()`, looked up when first needed.
    monkeypatch.setattr(requests, "Session", CountedSession)
    # Several provider instances in one process, as with several resource types: one shared runtime.
    providers = [make_provider(stack_config(emulator.base_url), PATIENT_POLICY) for _ in range(4)]
    assert len({id(p.runtime.factory) for p in providers}) == 1
    server_view.clear()
    emulator.control.add_fault(service="iam", latency_ms=300)
    emulator.control.add_fault(service="cts", method="GET", latency_ms=100)

    def read(index: int) -> ReadResult:
        return providers[index % len(providers)].read(id_, outputs)

    for _wave in range(2):
        assert [r.id for r in all_at_once(THREADS, read)] == [id_] * THREADS

    gets = [s for s in server_view.cts() if s.method == "GET"]
    assert len(gets) == 2 * THREADS
    assert server_view.max_in_flight("GET") >= THREADS // 2
    assert len(server_view.token_grants()) == 1
    assert {s.auth_token for s in gets} == server_view.issued_tokens()
    # One session, with one urllib3 pool for the host, served 4 providers and 64 calls.
    assert len(sessions) == 1
    assert all(p.runtime.factory.transport.session is sessions[0] for p in providers)
    adapter = sessions[0].get_adapter(emulator.base_url)
    assert isinstance(adapter, HTTPAdapter)
    assert len(adapter.poolmanager.pools) == 1


def test_the_token_cache_has_no_race_with_many_threads_and_a_slow_iam(
    emulator: Emulator, server_view: ServerView
) -> None:
    provider = make_provider(stack_config(emulator.base_url), PATIENT_POLICY)
    projects = [secrets.token_hex(16) for _ in range(4)]
    emulator.control.add_fault(service="iam", latency_ms=400)

    def read(index: int) -> ReadResult:
        # No tracker in these projects yet: each read asks CTS once and reports "gone".
        return provider.read(f"{projects[index % len(projects)]}/system", {"__provider": BLOB})

    results = all_at_once(64, read)

    assert [r.id for r in results] == [""] * 64
    grants = server_view.token_grants()
    assert len(grants) == len(projects)
    assert all(g.status == 201 for g in grants)
    # The IAM calls overlapped (one per scope at the same time), yet no scope was fetched twice.
    assert server_view.max_in_flight("POST") == len(projects)
    tokens_by_project: dict[str, set[str | None]] = defaultdict(set)
    for seen in server_view.cts():
        tokens_by_project[seen.path.split("/")[2]].add(seen.auth_token)
    assert sorted(tokens_by_project) == sorted(projects)
    assert all(len(tokens) == 1 for tokens in tokens_by_project.values())
    assert len(set().union(*tokens_by_project.values())) == len(projects)


def test_concurrent_calls_after_token_expiry_reauthenticate_once(
    emulator: Emulator, existing_tracker: tuple[str, dict[str, Any]], server_view: ServerView
) -> None:
    id_, outputs = existing_tracker
    provider: TrackerProvider = make_provider(stack_config(emulator.base_url), PATIENT_POLICY)
    assert provider.read(id_, outputs).id == id_
    emulator.control.expire_tokens()
    emulator.control.clear_requests()
    server_view.clear()
    emulator.control.add_fault(service="iam", latency_ms=300)
    # Slow first answers: the calls are all under way with the old token before the first 401 returns.
    emulator.control.add_fault(service="cts", method="GET", latency_ms=200, times=THREADS)

    started = time.monotonic()
    results = all_at_once(THREADS, lambda _i: provider.read(id_, outputs))

    assert [r.id for r in results] == [id_] * THREADS
    assert len(token_requests(emulator)) == 1
    gets = requests_of(emulator, "cts", "GET")
    rejected = [r for r in gets if r["status"] == 401]
    # Several calls held the rejected token at once and each renewed it, yet IAM was asked only once.
    assert 2 <= len(rejected) <= THREADS
    assert len(gets) == THREADS + len(rejected)  # every rejected call was answered on its second try
    assert len({s.auth_token for s in server_view.cts() if s.status == 200}) == 1
    assert time.monotonic() - started < 5.0
