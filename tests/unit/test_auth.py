"""IAM token cache: reuse until shortly before expiry, single flight, 401 invalidation."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from pulumi_cts.answers import parse_timestamp
from pulumi_cts.auth import TokenCache, catalog_endpoint
from pulumi_cts.token_store import Token


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def token(value: str, expires_at: float) -> Token:
    return Token(value=value, expires_at=expires_at, project_id="p")


def test_a_token_is_reused_until_the_refresh_margin_then_fetched_again() -> None:
    clock = Clock()
    cache = TokenCache(margin=300, clock=clock)
    fetched: list[str] = []

    def fetch() -> Token:
        fetched.append("x")
        return token(f"t{len(fetched)}", clock.now + 86400)

    assert cache.get("k", fetch).value == "t1"
    clock.now += 86400 - 301
    assert cache.get("k", fetch).value == "t1"
    clock.now += 2
    assert cache.get("k", fetch).value == "t2"
    assert len(fetched) == 2


def test_a_short_lived_token_is_kept_for_half_its_life_not_refetched_every_call() -> None:
    clock = Clock()
    cache = TokenCache(margin=300, clock=clock)
    calls = []

    def fetch() -> Token:
        calls.append(1)
        return token("short", clock.now + 60)

    cache.get("k", fetch)
    clock.now += 29
    cache.get("k", fetch)
    assert len(calls) == 1
    clock.now += 2
    cache.get("k", fetch)
    assert len(calls) == 2


def test_many_threads_asking_at_once_cause_one_fetch() -> None:
    cache = TokenCache()
    calls = []
    gate = threading.Event()

    def slow_fetch() -> Token:
        calls.append(1)
        gate.wait(2)
        time.sleep(0.05)
        return token("shared", time.time() + 3600)

    with ThreadPoolExecutor(max_workers=32) as pool:
        futures = [pool.submit(cache.get, "scope", slow_fetch) for _ in range(64)]
        time.sleep(0.1)
        gate.set()
        values = {f.result(timeout=5).value for f in futures}
    assert values == {"shared"}
    assert len(calls) == 1


def test_different_scopes_fetch_independently() -> None:
    cache = TokenCache()
    assert cache.get("a", lambda: token("A", time.time() + 3600)).value == "A"
    assert cache.get("b", lambda: token("B", time.time() + 3600)).value == "B"


def test_invalidate_drops_only_the_token_that_was_rejected() -> None:
    cache = TokenCache()
    cache.get("k", lambda: token("new", time.time() + 3600))
    cache.invalidate("k", "old-one-another-thread-already-replaced")
    assert cache.peek("k") is not None
    cache.invalidate("k", "new")
    assert cache.peek("k") is None


def test_token_repr_hides_the_value() -> None:
    assert "SECRET" not in repr(token("SECRET", 1.0))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-11-09T01:42:57.527363Z", 1447033377.527363),
        ("2019-02-13T06:52:13.855000Z", 1550040733.855),
        ("2016-11-06T15:32:17.000000", 1478446337.0),
    ],
)
def test_iam_time_stamps(text: str, expected: float) -> None:
    assert parse_timestamp(text) == pytest.approx(expected)


def test_catalog_endpoint_prefers_the_scope_region() -> None:
    catalog = [
        {"type": "identity", "endpoints": [{"url": "https://iam"}]},
        {
            "type": "cts",
            "endpoints": [
                {"interface": "public", "region": "eu-nl", "url": "https://cts.eu-nl/v1.0/p"},
                {"interface": "public", "region": "eu-de", "url": "https://cts.eu-de/v1.0/p"},
            ],
        },
    ]
    assert catalog_endpoint(catalog, "cts", "eu-de") == "https://cts.eu-de/v1.0/p"
    assert catalog_endpoint(catalog, "cts", "xx") == "https://cts.eu-nl/v1.0/p"
    assert catalog_endpoint(catalog, "ctsv3", "eu-de") is None
    assert catalog_endpoint(None, "cts", "eu-de") is None
