"""A dynamic provider that does nothing: the floor the benchmark measures `TrackerProvider` against.

It lives in an importable module, so it pickles by reference like `TrackerProvider`, and the
provider process pays the same unpickling and gRPC costs for it, minus any real work.
"""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult


class DoNothingProvider(ResourceProvider):
    """Answers every engine call at once, echoing the properties it was given."""

    serialize_as_secret_always = False

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, [])

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult("nothing", dict(props))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, dict(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(dict(news))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        return None
