"""Declares, by config: a tracker inside nested components, resources ordered only by `depends_on`,
a `Tracker.get` of a tracker the program does not manage, and a function call (invoke).

Every create and delete of the `Step` resources is appended to the file named by `semantics:logFile`,
so tests can see the order in which they ran.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi.runtime
from pulumi.dynamic import CreateResult, ResourceProvider

from pulumi_cts import Tracker

config = pulumi.Config()
LOG_FILE = config.require("logFile")


class StepProvider(ResourceProvider):
    """Logs its creates and deletes; `token` is computed at create time."""

    def create(self, props: dict[str, Any]) -> CreateResult:
        with open(props["log"], "a", encoding="utf-8") as handle:
            handle.write(f"create {props['label']}\n")
        return CreateResult(f"step-{props['label']}", {**props, "token": f"{props['label']}-token"})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        with open(props["log"], "a", encoding="utf-8") as handle:
            handle.write(f"delete {props['label']}\n")


class Step(pulumi.dynamic.Resource, module="test", name="Step"):
    token: pulumi.Output[str]

    def __init__(self, label: str, after: Any = "", opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(StepProvider(), label, {"label": label, "after": after, "log": LOG_FILE, "token": None}, opts)


class TrackerGroup(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("test:index:TrackerGroup", name, None, opts)
        self.tracker = Tracker(
            "audit-trail", bucket_name="audit-trail-bucket", opts=pulumi.ResourceOptions(parent=self)
        )
        self.register_outputs({"trackerId": self.tracker.id})


class AuditSetup(pulumi.ComponentResource):
    def __init__(self, name: str) -> None:
        super().__init__("test:index:AuditSetup", name)
        self.group = TrackerGroup(f"{name}-trackers", pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


if config.get_bool("component", False):
    setup = AuditSetup("audit")
    pulumi.export("componentTrackerUrn", setup.group.tracker.urn)
    pulumi.export("componentTrackerId", setup.group.tracker.id)

if config.get_bool("ordering", False):
    # `upstream` waits for `slow`'s computed token; `downstream` has no input from `upstream`, only depends_on.
    slow = Step("slow")
    upstream = Step("upstream", after=slow.token)
    Step("downstream", opts=pulumi.ResourceOptions(depends_on=[upstream]))

if config.get_bool("early", False):
    # Registered in an earlier run than `late`, then made to depend on it.
    late = Step("late") if config.get_bool("late", False) else None
    Step("early", opts=pulumi.ResourceOptions(depends_on=[late] if late is not None else None))

existing_id = config.get("existingTrackerId")
if existing_id:
    existing = Tracker.get("existing", existing_id)
    pulumi.export("existingBucket", existing.bucket_name)
    pulumi.export("existingPrefix", existing.file_prefix_name)
    pulumi.export("existingStatus", existing.status)

invoke_token = config.get("invoke")
if invoke_token:
    pulumi.runtime.invoke(invoke_token, {"bucket": "audit-trail-bucket"})
