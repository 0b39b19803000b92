"""Declares, by config: a user's own dynamic resource whose computed output names the tracker's bucket,
a component with child resources, a foreign type, and a stack reference.

Every provider call of the `Record` resources is appended to the file named by `features:logFile`,
so tests can see which calls ran and in which order.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

from pulumi_cts import Tracker

config = pulumi.Config()
LOG_FILE = config.require("logFile")


def _log(path: str, line: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


class RecordProvider(ResourceProvider):
    """A user's own provider: `name` is computed at create time, a changed `label` replaces."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        _log(props["log"], f"create {props['label']}")
        return CreateResult(f"record-{props['label']}", {**props, "name": f"{props['label']}-bucket"})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if olds.get("label") != news.get("label"):
            return DiffResult(changes=True, replaces=["label"])
        return DiffResult(changes=olds.get("note") != news.get("note"))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        _log(news["log"], f"update {news['label']}")
        return UpdateResult({**news, "name": f"{news['label']}-bucket"})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        _log(props["log"], f"delete {props['label']}")


class Record(pulumi.dynamic.Resource, module="test", name="Record"):
    name: pulumi.Output[str]
    label: pulumi.Output[str]

    def __init__(
        self, resource_name: str, label: str, note: str = "", opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props = {"label": label, "note": note, "log": LOG_FILE, "name": None}
        super().__init__(RecordProvider(), resource_name, props, opts)


class PlainProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        _log(LOG_FILE, f"create plain {props['value']}")
        return CreateResult("plain", props)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        _log(LOG_FILE, f"update plain {news['value']}")
        return UpdateResult(news)


class Plain(pulumi.dynamic.Resource, module="test", name="Plain"):
    def __init__(self, resource_name: str, value: str) -> None:
        super().__init__(PlainProvider(), resource_name, {"value": value})


class Group(pulumi.ComponentResource):
    def __init__(self, name: str, count: int, retain: bool) -> None:
        super().__init__("test:index:Group", name)
        self.members = [
            Record(
                f"{name}-{index}",
                f"{name}-{index}",
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=retain),
            )
            for index in range(count)
        ]
        self.register_outputs({"size": count})


record = Record(
    "source",
    config.get("label") or "audit-trail",
    note=config.get("note") or "",
    opts=pulumi.ResourceOptions(
        protect=config.get_bool("protect", False),
        ignore_changes=["note"] if config.get_bool("ignoreNote", False) else None,
    ),
)
pulumi.export("recordName", record.name)
pulumi.export("recordLabel", record.label)

if config.get_bool("tracker", True):
    tracker = Tracker(
        "audit-trail",
        bucket_name=record.name,
        status=config.get("status") or "enabled",
        opts=pulumi.ResourceOptions(depends_on=[record]),
    )
    pulumi.export("trackerId", tracker.id)
    pulumi.export("trackerBucket", tracker.bucket_name)
    pulumi.export("trackerStatus", tracker.status)

group_size = config.get_int("groupSize") or 0
if group_size:
    Group("group", group_size, config.get_bool("retainGroup", False))

if config.get_bool("foreign", False):
    bucket = pulumi.CustomResource("huaweicloud:Obs/bucket:Bucket", "foreign-bucket", {"bucket": "other-bucket"})
    pulumi.export("foreignBucketId", bucket.id)

base_stack = config.get("baseStack")
if base_stack:
    base = pulumi.StackReference(base_stack)
    pulumi.export("baseRecordName", base.require_output("recordName"))

pulumi.export("secretNote", pulumi.Output.secret("only-in-state"))

token = config.get_secret("apiToken")
if token is not None:
    pulumi.export("apiToken", token)

plain_value = config.get("plainValue")
if plain_value is not None:
    # A user's own provider with no `diff`: the engine compares old and new inputs itself.
    Plain("plain", plain_value)
