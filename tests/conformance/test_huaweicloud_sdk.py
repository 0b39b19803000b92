"""Huawei Cloud's official CTS SDK (`huaweicloudsdkcts`, AK/SK signing) against the emulator: every operation
of `CtsClient`, unmodified, with its typed answers checked field by field."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcts.v3 import CtsClient
from huaweicloudsdkcts.v3.model import (
    BatchCreateResourceTagsRequest,
    BatchCreateResourceTagsRequestBody,
    BatchDeleteResourceTagsRequest,
    BatchDeleteResourceTagsRequestBody,
    CheckBucketRequest,
    CheckObsBucketsRequest,
    CheckObsBucketsRequestBody,
    CreateNotificationRequest,
    CreateNotificationRequestBody,
    CreateTrackerRequest,
    CreateTrackerRequestBody,
    DataBucket,
    DeleteNotificationRequest,
    DeleteTrackerRequest,
    Filter,
    ListNotificationsRequest,
    ListOperationsRequest,
    ListQuotasRequest,
    ListTraceResourcesRequest,
    ListTracesRequest,
    ListTrackersRequest,
    ListUserResourcesRequest,
    ManagementEventSelector,
    NotificationUsers,
    Operations,
    Tags,
    Traces,
    TrackerObsInfo,
    UpdateNotificationRequest,
    UpdateNotificationRequestBody,
    UpdateTrackerRequest,
    UpdateTrackerRequestBody,
    UserInfo,
)

from pulumi_cts.emulator import Emulator
from pulumi_cts.signing import AkSkAuth
from tests.conformance.conftest import (
    BUCKET,
    FUNCTION_URN,
    KMS_KEY,
    OTHER_BUCKET,
    REGION,
    SMN_TOPIC,
    TIMEOUT,
    TRACKED_BUCKET,
    AccessKey,
    huawei_client,
)

TRACKER_TYPE = "cts-tracker"


def system_tracker_body(**overrides: Any) -> CreateTrackerRequestBody:
    fields: dict[str, Any] = {
        "tracker_type": "system",
        "tracker_name": "system",
        "agency_name": "cts_admin_trust",
        "is_organization_tracker": False,
        "management_event_selector": ManagementEventSelector(exclude_service=["KMS"]),
        "is_lts_enabled": True,
        "obs_info": TrackerObsInfo(
            bucket_name=BUCKET, file_prefix_name="audit", is_obs_created=False, compress_type="json"
        ),
        "is_support_trace_files_encryption": True,
        "kms_id": KMS_KEY,
        "is_support_validate": True,
    }
    fields.update(overrides)
    return CreateTrackerRequestBody(**fields)


def create_system_tracker(huawei: CtsClient, **overrides: Any) -> Any:
    return huawei.create_tracker(CreateTrackerRequest(body=system_tracker_body(**overrides)))


def create_data_tracker(huawei: CtsClient, name: str = "object-reads") -> Any:
    body = CreateTrackerRequestBody(
        tracker_type="data",
        tracker_name=name,
        agency_name="cts_admin_trust",
        data_bucket=DataBucket(data_bucket_name=TRACKED_BUCKET, data_event=["READ"]),
        obs_info=TrackerObsInfo(bucket_name=OTHER_BUCKET, file_prefix_name="data", bucket_lifecycle=30),
    )
    return huawei.create_tracker(CreateTrackerRequest(body=body))


def only_tracker(huawei: CtsClient, name: str = "system", tracker_type: str | None = None) -> Any:
    (tracker,) = huawei.list_trackers(ListTrackersRequest(tracker_name=name, tracker_type=tracker_type)).trackers
    return tracker


def signed_get(emulator: Emulator, access_key: AccessKey, path: str) -> requests.Response:
    """A call the SDK does not offer, signed the same way (used to read back what the SDK wrote)."""
    auth = AkSkAuth(access_key.access_key, access_key.secret_key)
    return requests.get(f"{emulator.base_url}{path}", auth=auth, timeout=TIMEOUT)


# --- trackers ---


def test_create_system_tracker_answers_every_field_it_was_given(huawei: CtsClient) -> None:
    created = create_system_tracker(huawei)
    assert created.tracker_type == "system" and created.tracker_name == "system"
    assert created.status == "enabled"
    assert created.agency_name == "cts_admin_trust"
    assert created.is_organization_tracker is False
    assert created.management_event_selector.exclude_service == ["KMS"]
    assert created.is_support_trace_files_encryption is True and created.kms_id == KMS_KEY
    assert created.is_support_validate is True
    assert created.lts.is_lts_enabled is True
    assert (created.obs_info.bucket_name, created.obs_info.file_prefix_name) == (BUCKET, "audit")
    assert created.obs_info.compress_type == "json" and created.obs_info.is_sort_by_service is True
    assert len(created.id) == 36 and len(created.project_id) == 32 and len(created.domain_id) == 32
    assert isinstance(created.create_time, int) and created.create_time > 1_600_000_000_000


def test_list_trackers_returns_the_stored_fields_including_lts_ids(huawei: CtsClient) -> None:
    created = create_system_tracker(huawei)
    tracker = only_tracker(huawei, "system", "system")
    assert tracker.id == created.id
    assert tracker.agency_name == "cts_admin_trust"
    assert tracker.management_event_selector.exclude_service == ["KMS"]
    assert tracker.is_organization_tracker is False
    # LTS is on: the log group and stream have ids.
    assert tracker.group_id and tracker.stream_id and tracker.group_id != tracker.stream_id
    assert tracker.obs_info.is_authorized_bucket is True and tracker.obs_info.bucket_lifecycle == 30


def test_update_tracker_replaces_the_configuration_and_answers_without_body(huawei: CtsClient) -> None:
    create_system_tracker(huawei)
    body = UpdateTrackerRequestBody(
        tracker_type="system",
        tracker_name="system",
        status="disabled",
        agency_name="cts_admin_trust",
        is_organization_tracker=True,
        management_event_selector=ManagementEventSelector(exclude_service=[]),
        is_lts_enabled=False,
        obs_info=TrackerObsInfo(bucket_name=OTHER_BUCKET, file_prefix_name="moved", is_obs_created=False),
    )
    answer = huawei.update_tracker(UpdateTrackerRequest(body=body))
    # UpdateTrackerResponse has no fields: the documented answer is 200 without a body.
    assert answer.status_code == 200 and answer.to_json_object() is None
    tracker = only_tracker(huawei)
    assert tracker.status == "disabled"
    assert tracker.is_organization_tracker is True
    assert tracker.management_event_selector.exclude_service == []
    assert tracker.lts.is_lts_enabled is False and tracker.group_id == "" and tracker.stream_id == ""
    assert (tracker.obs_info.bucket_name, tracker.obs_info.file_prefix_name) == (OTHER_BUCKET, "moved")
    # A PUT replaces: the encryption it did not repeat is off.
    assert tracker.is_support_trace_files_encryption is False and tracker.kms_id == ""


def test_update_tracker_keeps_what_the_body_repeats(huawei: CtsClient) -> None:
    create_system_tracker(huawei)
    body = UpdateTrackerRequestBody(
        tracker_type="system",
        tracker_name="system",
        status="enabled",
        agency_name="cts_admin_trust",
        management_event_selector=ManagementEventSelector(exclude_service=["KMS"]),
        obs_info=TrackerObsInfo(bucket_name=BUCKET, file_prefix_name="audit"),
    )
    huawei.update_tracker(UpdateTrackerRequest(body=body))
    tracker = only_tracker(huawei)
    assert tracker.management_event_selector.exclude_service == ["KMS"]
    assert tracker.agency_name == "cts_admin_trust"


def test_second_management_tracker_is_a_typed_client_error(huawei: CtsClient) -> None:
    create_system_tracker(huawei)
    with pytest.raises(ClientRequestException) as caught:
        create_system_tracker(huawei)
    assert (caught.value.status_code, caught.value.error_code) == (400, "CTS.0201")


def test_invalid_exclude_service_is_refused(huawei: CtsClient) -> None:
    with pytest.raises(ClientRequestException) as caught:
        create_system_tracker(huawei, management_event_selector=ManagementEventSelector(exclude_service=["OBS"]))
    assert caught.value.status_code == 400 and caught.value.error_code == "CTS.0003"
    assert "exclude_service" in caught.value.error_msg


def test_data_tracker_lifecycle(huawei: CtsClient) -> None:
    created = create_data_tracker(huawei)
    assert created.tracker_type == "data" and created.agency_name == "cts_admin_trust"
    assert created.data_bucket.data_bucket_name == TRACKED_BUCKET and created.data_bucket.data_event == ["READ"]
    assert created.obs_info.bucket_lifecycle == 30

    body = UpdateTrackerRequestBody(
        tracker_type="data",
        tracker_name="object-reads",
        status="disabled",
        data_bucket=DataBucket(data_bucket_name=TRACKED_BUCKET, data_event=["READ", "WRITE"]),
        obs_info=TrackerObsInfo(bucket_name=OTHER_BUCKET, file_prefix_name="data2", bucket_lifecycle=60),
    )
    assert huawei.update_tracker(UpdateTrackerRequest(body=body)).to_json_object() is None
    tracker = only_tracker(huawei, "object-reads", "data")
    assert tracker.status == "disabled"
    assert tracker.data_bucket.data_event == ["READ", "WRITE"]
    assert (tracker.obs_info.file_prefix_name, tracker.obs_info.bucket_lifecycle) == ("data2", 60)

    huawei.delete_tracker(DeleteTrackerRequest(tracker_name="object-reads", tracker_type="data"))
    assert huawei.list_trackers(ListTrackersRequest(tracker_type="data")).trackers == []


def test_list_trackers_filters_by_type(huawei: CtsClient) -> None:
    create_system_tracker(huawei)
    create_data_tracker(huawei)
    every = huawei.list_trackers(ListTrackersRequest()).trackers
    assert [t.tracker_type for t in every] == ["system", "data"]
    assert [t.tracker_name for t in huawei.list_trackers(ListTrackersRequest(tracker_type="data")).trackers] == [
        "object-reads"
    ]


def test_delete_system_tracker(huawei: CtsClient) -> None:
    create_system_tracker(huawei)
    huawei.delete_tracker(DeleteTrackerRequest(tracker_name="system", tracker_type="system"))
    assert huawei.list_trackers(ListTrackersRequest(tracker_name="system")).trackers == []
    with pytest.raises(ClientRequestException) as caught:
        huawei.delete_tracker(DeleteTrackerRequest(tracker_name="system", tracker_type="system"))
    assert (caught.value.status_code, caught.value.error_code) == (404, "CTS.0214")


# --- tracker tags ---


def test_tags_are_added_and_removed_in_batches(huawei: CtsClient, emulator: Emulator, access_key: AccessKey) -> None:
    tracker = create_system_tracker(huawei)
    tags_path = f"/v3/{tracker.project_id}/{TRACKER_TYPE}/{tracker.id}/tags"

    huawei.batch_create_resource_tags(
        BatchCreateResourceTagsRequest(
            resource_id=tracker.id,
            resource_type=TRACKER_TYPE,
            body=BatchCreateResourceTagsRequestBody(
                tags=[Tags(key="owner", value="audit-team"), Tags(key="env", value="prod"), Tags(key="tier", value="1")]
            ),
        )
    )
    listed = signed_get(emulator, access_key, tags_path)
    assert listed.status_code == 200, listed.text
    assert sorted((t["key"], t["value"]) for t in listed.json()["tags"]) == [
        ("env", "prod"),
        ("owner", "audit-team"),
        ("tier", "1"),
    ]

    # By key and value, and by key alone; a value that does not match leaves the tag.
    huawei.batch_delete_resource_tags(
        BatchDeleteResourceTagsRequest(
            resource_id=tracker.id,
            resource_type=TRACKER_TYPE,
            body=BatchDeleteResourceTagsRequestBody(
                tags=[Tags(key="owner", value="audit-team"), Tags(key="env"), Tags(key="tier", value="2")]
            ),
        )
    )
    assert signed_get(emulator, access_key, tags_path).json()["tags"] == [{"key": "tier", "value": "1"}]


def test_tags_of_an_unknown_tracker_are_not_found(huawei: CtsClient) -> None:
    with pytest.raises(ClientRequestException) as caught:
        huawei.batch_create_resource_tags(
            BatchCreateResourceTagsRequest(
                resource_id="00000000-0000-0000-0000-000000000000",
                resource_type=TRACKER_TYPE,
                body=BatchCreateResourceTagsRequestBody(tags=[Tags(key="k", value="v")]),
            )
        )
    assert (caught.value.status_code, caught.value.error_code) == (404, "CTS.0214")


def test_data_tracker_tags(huawei: CtsClient, emulator: Emulator, access_key: AccessKey) -> None:
    tracker = create_data_tracker(huawei)
    huawei.batch_create_resource_tags(
        BatchCreateResourceTagsRequest(
            resource_id=tracker.id,
            resource_type=TRACKER_TYPE,
            body=BatchCreateResourceTagsRequestBody(tags=[Tags(key="team", value="storage")]),
        )
    )
    listed = signed_get(emulator, access_key, f"/v3/{tracker.project_id}/{TRACKER_TYPE}/{tracker.id}/tags")
    assert listed.json()["tags"] == [{"key": "team", "value": "storage"}]


# --- key-event notifications ---


def notification_body(name: str, topic: str, **overrides: Any) -> CreateNotificationRequestBody:
    fields: dict[str, Any] = {
        "notification_name": name,
        "operation_type": "customized",
        "agency_name": "cts_admin_trust",
        "operations": [Operations(service_type="CTS", resource_type="tracker", trace_names=["deleteTracker"])],
        "notify_user_list": [NotificationUsers(user_group="admin", user_list=["alice"])],
        "topic_id": topic,
        "filter": Filter(condition="OR", is_support_filter=True, rule=["code != 200"]),
    }
    fields.update(overrides)
    return CreateNotificationRequestBody(**fields)


def test_notification_lifecycle_keeps_agency_name(huawei: CtsClient) -> None:
    created = huawei.create_notification(
        CreateNotificationRequest(body=notification_body("tracker_deleted", SMN_TOPIC))
    )
    assert created.notification_type == "smn" and created.agency_name == "cts_admin_trust"
    assert created.status == "enabled" and created.operations[0].trace_names == ["deleteTracker"]
    assert created.filter.rule == ["code != 200"]

    updated = huawei.update_notification(
        UpdateNotificationRequest(
            body=UpdateNotificationRequestBody(
                notification_id=created.notification_id,
                notification_name="tracker_deleted",
                operation_type="complete",
                agency_name="cts_admin_trust",
                status="disabled",
                topic_id=SMN_TOPIC,
            )
        )
    )
    assert updated.status == "disabled" and updated.operation_type == "complete"
    assert updated.agency_name == "cts_admin_trust"

    (listed,) = huawei.list_notifications(
        ListNotificationsRequest(notification_type="smn", notification_name="tracker_deleted")
    ).notifications
    assert listed.notification_id == created.notification_id and listed.agency_name == "cts_admin_trust"

    huawei.delete_notification(DeleteNotificationRequest(notification_id=created.notification_id))
    assert huawei.list_notifications(ListNotificationsRequest(notification_type="smn")).notifications == []


def test_function_graph_notifications_are_type_fun(huawei: CtsClient) -> None:
    huawei.create_notification(CreateNotificationRequest(body=notification_body("to_smn", SMN_TOPIC)))
    created = huawei.create_notification(CreateNotificationRequest(body=notification_body("to_function", FUNCTION_URN)))
    assert created.notification_type == "fun" and created.topic_id == FUNCTION_URN
    fun = huawei.list_notifications(ListNotificationsRequest(notification_type="fun")).notifications
    smn = huawei.list_notifications(ListNotificationsRequest(notification_type="smn")).notifications
    assert [n.notification_name for n in fun] == ["to_function"]
    assert [n.notification_name for n in smn] == ["to_smn"]


def test_delete_notifications_in_one_call(huawei: CtsClient) -> None:
    ids = [
        huawei.create_notification(CreateNotificationRequest(body=notification_body(name, SMN_TOPIC))).notification_id
        for name in ("first", "second")
    ]
    huawei.delete_notification(DeleteNotificationRequest(notification_id=",".join(ids)))
    assert huawei.list_notifications(ListNotificationsRequest(notification_type="smn")).notifications == []


# --- traces ---


def traces(huawei: CtsClient, **query: Any) -> list[Any]:
    return list(huawei.list_traces(ListTracesRequest(**query)).traces)


def test_an_aksk_call_is_traced_with_its_access_key_not_as_a_user_name(
    huawei: CtsClient, access_key: AccessKey
) -> None:
    created = create_system_tracker(huawei)
    (trace,) = traces(huawei, trace_type="system", trace_name="createTracker")
    # Every field the SDK's own models know is filled in.
    assert {name for name, value in trace.to_dict().items() if value is not None} == set(Traces.openapi_types)
    assert {name for name, value in trace.user.to_dict().items() if value is not None} == set(UserInfo.openapi_types)
    assert trace.resource_id == created.id and trace.resource_name == "system"
    assert trace.code == "201" and trace.read_only is False and trace.operation_id == "CreateTracker"
    assert trace.enterprise_project_id == "0"
    assert '"bucket_name"' in trace.request and created.id in trace.response
    assert trace.endpoint.startswith("http://127.0.0.1:")
    assert trace.resource_url == f"/v3/{created.project_id}/trackers?tracker_name=system"
    user = trace.user
    assert user.access_key_id == access_key.access_key
    assert access_key.access_key not in (user.name, user.user_name, user.id)
    assert user.account_id == created.domain_id and user.domain.id == created.domain_id
    assert user.principal_urn == f"iam::{created.domain_id}:user:{user.name}"
    assert user.principal_id == user.id and user.principal_is_root_user in ("true", "false")
    assert user.type == "User" and user.invoked_by == []
    assert user.session_context.attributes.mfa_authenticated == "false"
    assert user.session_context.attributes.created_at


def test_trace_filters(huawei: CtsClient, access_key: AccessKey) -> None:
    create_system_tracker(huawei)
    create_data_tracker(huawei)
    names = [t.trace_name for t in traces(huawei, trace_type="system")]
    assert names == ["createTracker", "createTracker"]
    assert [t.resource_name for t in traces(huawei, resource_name="object-reads")] == ["object-reads"]
    assert traces(huawei, access_key_id=access_key.access_key, limit=200)
    assert traces(huawei, access_key_id="SOMEONEELSE") == []
    assert len(traces(huawei, enterprise_project_id="0")) == 2
    assert traces(huawei, enterprise_project_id="9f8e7d6c-0000-4000-8000-000000000000") == []
    assert len(traces(huawei, trace_rating="normal", service_type="CTS", resource_type="tracker")) == 2
    first = traces(huawei)[0]
    assert [t.trace_id for t in traces(huawei, trace_id=first.trace_id)] == [first.trace_id]
    assert traces(huawei, user=first.user.name)


def test_missing_trace_type_means_management_traces(huawei: CtsClient, emulator: Emulator) -> None:
    create_system_tracker(huawei)
    create_data_tracker(huawei)
    project_id = only_tracker(huawei).project_id
    emulator.control.seed_traces(
        [
            {
                "project_id": project_id,
                "tracker_name": "object-reads",
                "trace_name": "GetObject",
                "trace_type": "ObsSDK",
                "service_type": "OBS",
            }
        ]
    )
    assert "GetObject" not in [t.trace_name for t in traces(huawei)]
    data = traces(huawei, trace_type="data", tracker_name="object-reads")
    assert [t.trace_name for t in data] == ["GetObject"]


def test_traces_page_with_next_marker(huawei: CtsClient) -> None:
    create_system_tracker(huawei)
    create_data_tracker(huawei)
    huawei.delete_tracker(DeleteTrackerRequest(tracker_name="object-reads", tracker_type="data"))
    response = huawei.list_traces(ListTracesRequest(trace_type="system", limit=2))
    assert response.meta_data.count == 2 and response.meta_data.marker
    rest = huawei.list_traces(ListTracesRequest(trace_type="system", limit=2, next=response.meta_data.marker))
    assert [t.trace_name for t in response.traces + rest.traces] == ["deleteTracker", "createTracker", "createTracker"]
    assert rest.meta_data.marker is None


# --- quotas and the other queries ---


def test_quotas_count_what_exists(huawei: CtsClient) -> None:
    create_system_tracker(huawei)
    huawei.create_notification(CreateNotificationRequest(body=notification_body("n1", SMN_TOPIC)))
    quotas = {q.type: (q.used, q.quota) for q in huawei.list_quotas(ListQuotasRequest()).resources}
    assert quotas["system_tracker"] == (1, 1)
    assert quotas["smn_notification"] == (1, 100)


def test_list_operations_for_key_event_notifications(huawei: CtsClient) -> None:
    every = huawei.list_operations(ListOperationsRequest()).operations
    tracker_operations = {(o.service_type, o.resource_type): o.operation_list for o in every}
    assert {"createTracker", "updateTracker", "deleteTracker"} <= set(tracker_operations[("CTS", "tracker")])
    only = huawei.list_operations(ListOperationsRequest(service_type="CTS", resource_type="notification")).operations
    assert [(o.service_type, o.resource_type) for o in only] == [("CTS", "notification")]


def test_list_user_resources_names_the_users_of_recent_traces(huawei: CtsClient) -> None:
    create_system_tracker(huawei)
    (trace,) = traces(huawei, trace_name="createTracker")
    users = [u.name for u in huawei.list_user_resources(ListUserResourcesRequest()).users]
    assert users == [trace.user.name]


def test_list_trace_resources_of_the_account(huawei: CtsClient) -> None:
    created = create_system_tracker(huawei)
    huawei.create_notification(CreateNotificationRequest(body=notification_body("n1", SMN_TOPIC)))
    resources = huawei.list_trace_resources(ListTraceResourcesRequest(domain_id=created.domain_id)).resources
    by_service = {r.service_type: sorted(r.resource) for r in resources}
    assert by_service["CTS"] == ["notification", "tracker"]


def test_check_obs_buckets(huawei: CtsClient) -> None:
    domain_id = create_system_tracker(huawei).domain_id
    body = CheckObsBucketsRequestBody(
        buckets=[
            CheckBucketRequest(bucket_name=BUCKET, bucket_location=REGION),
            CheckBucketRequest(bucket_name="no-such-bucket", bucket_location=REGION),
            CheckBucketRequest(
                bucket_name=BUCKET, bucket_location=REGION, is_support_trace_files_encryption=True, kms_id="unknown"
            ),
        ]
    )
    checked = huawei.check_obs_buckets(CheckObsBucketsRequest(domain_id=domain_id, body=body)).buckets
    results = [(b.bucket_name, b.check_bucket_response.success) for b in checked]
    assert results == [(BUCKET, True), ("no-such-bucket", False), (BUCKET, False)]
    assert checked[1].check_bucket_response.error_code == "CTS.0211"
    assert checked[2].check_bucket_response.error_code == "CTS.0222"


def test_domain_calls_need_the_callers_own_account(huawei: CtsClient) -> None:
    create_system_tracker(huawei)
    with pytest.raises(ClientRequestException) as caught:
        huawei.list_trace_resources(ListTraceResourcesRequest(domain_id="f" * 32))
    assert caught.value.status_code == 403


# --- IAM: one identity per project ---


def test_project_found_by_region_name_is_the_one_named_by_id(emulator: Emulator, access_key: AccessKey) -> None:
    by_name = huawei_client(emulator, access_key)
    project_id = create_system_tracker(by_name).project_id
    by_id = huawei_client(emulator, access_key, project_id=project_id)
    assert only_tracker(by_id).project_id == project_id


def test_a_call_by_id_first_then_a_lookup_by_region_name(emulator: Emulator, access_key: AccessKey) -> None:
    # The id of the region's project, as every emulator derives it; learned from another one so that this
    # one has seen no project at all when the first call names it by id.
    with Emulator(buckets=(BUCKET,), kms_keys=(KMS_KEY,)) as probe:
        eu_de_id = create_system_tracker(huawei_client(probe, AccessKey("PROBE", "probe-secret"))).project_id
    assert emulator.control.state()["projects"] == []

    by_id = huawei_client(emulator, access_key, project_id=eu_de_id)
    assert by_id.list_quotas(ListQuotasRequest()).resources
    by_name = huawei_client(emulator, access_key)
    assert create_system_tracker(by_name).project_id == eu_de_id
    assert only_tracker(by_id).project_id == eu_de_id
