"""The `Notification` resource: a CTS key-event notification sent through SMN."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict, overload

import pulumi
from pulumi.dynamic import Resource

from .arguments import properties, split_arguments
from .notification_schema import FIELDS
from .provider import NotificationProvider


class OperationArgs(TypedDict):
    """Operations of one resource type of one service, e.g. CTS tracker deletions."""

    service_type: pulumi.Input[str]
    resource_type: pulumi.Input[str]
    trace_names: pulumi.Input[list[str]]


class UserGroupArgs(TypedDict):
    """Users of one IAM user group who trigger the notification."""

    user_group: pulumi.Input[str]
    user_list: pulumi.Input[list[str]]


class FilterArgs(TypedDict, total=False):
    """Extra conditions on the trace, e.g. `{"condition": "AND", "rule": ["code != 200"]}`."""

    condition: pulumi.Input[str]
    is_support_filter: pulumi.Input[bool]
    rule: pulumi.Input[list[str]]


@dataclass
class NotificationArgs:
    """Arguments of a `Notification` (CTS v3 key-event notification).

    :param notification_name: 1-64 letters, digits and '_'; unique in the project.
    :param operation_type: "complete" (every key operation) or "customized" (the `operations`).
    :param operations: with "customized": the operations that trigger a message.
    :param notify_user_list: up to 10 user groups and 50 users whose operations count.
    :param topic_id: SMN topic URN `urn:smn:REGION:PROJECT:NAME`; required while enabled.
    :param filter: optional conditions on the recorded trace.
    :param status: "enabled" (default) or "disabled".
    :param project_name: project of the notification (default: the provider's).
    :param project_id: project of the notification, by ID.
    :param region: region of that project.
    :param agency_name: Huawei Cloud: "cts_admin_trust", the cloud-service agency CTS uses (created
        when missing); the only documented value. Undeclared, an update keeps the agency the
        notification has now.
    """

    notification_name: pulumi.Input[str]
    operation_type: pulumi.Input[str]
    operations: pulumi.Input[list[OperationArgs]] | None = None
    notify_user_list: pulumi.Input[list[UserGroupArgs]] | None = None
    topic_id: pulumi.Input[str] | None = None
    filter: pulumi.Input[FilterArgs] | None = None
    status: pulumi.Input[str] | None = None
    project_name: pulumi.Input[str] | None = None
    project_id: pulumi.Input[str] | None = None
    region: pulumi.Input[str] | None = None
    agency_name: pulumi.Input[str] | None = None


class Notification(Resource, module="cts", name="Notification"):
    """A key-event notification; its id is `{project_id}/{notification_id}`."""

    notification_name: pulumi.Output[str]
    """The notification's name, unique in the project."""
    operation_type: pulumi.Output[str]
    """"complete" (every key operation) or "customized" (the `operations`)."""
    operations: pulumi.Output[list[dict[str, Any]]]
    """The operations that trigger a message (empty with "complete")."""
    notify_user_list: pulumi.Output[list[dict[str, Any]]]
    """The user groups and users whose operations count (empty: everyone)."""
    topic_id: pulumi.Output[str | None]
    """The SMN topic URN that receives the messages."""
    filter: pulumi.Output[dict[str, Any] | None]
    """The conditions on the recorded trace, or None."""
    status: pulumi.Output[str]
    """"enabled" or "disabled"."""
    project_name: pulumi.Output[str | None]
    """The project the notification lives in, by name."""
    project_id: pulumi.Output[str]
    """The project the notification lives in, by ID (the first part of the resource id)."""
    region: pulumi.Output[str]
    """The region of that project."""
    declared_scope: pulumi.Output[list[str]]
    """Which of `project_name`, `project_id` and `region` the program declared; a refresh keeps only those
    as inputs (the outputs above hold where the resource really lives either way)."""
    notification_id: pulumi.Output[str]
    """CTS's own notification ID, the second part of the resource id."""
    notification_type: pulumi.Output[str]
    """How messages are sent: "smn"."""
    create_time: pulumi.Output[int | None]
    """When the notification was created, in UTC milliseconds since the epoch."""
    domain_id: pulumi.Output[str | None]
    """The account (domain) ID that owns the notification."""
    agency_name: pulumi.Output[str | None]
    """The cloud-service agency CTS uses for the notification, or None where CTS reports none."""

    @overload
    def __init__(
        self, resource_name: str, args: NotificationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None: ...

    @overload
    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        notification_name: pulumi.Input[str],
        operation_type: pulumi.Input[str],
        operations: pulumi.Input[list[OperationArgs]] | None = None,
        notify_user_list: pulumi.Input[list[UserGroupArgs]] | None = None,
        topic_id: pulumi.Input[str] | None = None,
        filter: pulumi.Input[FilterArgs] | None = None,
        status: pulumi.Input[str] | None = None,
        project_name: pulumi.Input[str] | None = None,
        project_id: pulumi.Input[str] | None = None,
        region: pulumi.Input[str] | None = None,
        agency_name: pulumi.Input[str] | None = None,
    ) -> None: ...

    def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
        args_obj, opts = split_arguments("Notification", NotificationArgs, args, kwargs)
        super().__init__(NotificationProvider(), resource_name, properties(args_obj, FIELDS.output_only_fields), opts)

    @staticmethod
    def get(resource_name: str, id: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None) -> Notification:
        """Look up an existing notification by its id `{project_id}/{notification_id}` (read-only, not managed).

        Experimental: dynamic resources support `get` only as far as the engine allows.
        """
        merged = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(id=id))
        return Notification(resource_name, NotificationArgs(notification_name="", operation_type=""), merged)
