"""Trackers next to the buckets and the key they reference, wired through outputs.

* a KMS key (`dew.Key`) and two OBS buckets (`obs.Bucket`): one receives the trace files, the
  other holds data whose object reads and writes are recorded;
* the management `Tracker`, writing encrypted trace files to the first bucket with that key;
* a `DataTracker` on the second bucket, transferring its traces to the first one;
* a key-event `Notification` when someone changes or deletes a tracker or the key.

Program configuration (namespace of this project): ``namePrefix`` (bucket and key names, default
``audit``) and ``alertTopicUrn`` (the SMN topic of the notification, required).
"""

from __future__ import annotations

import pulumi
from pulumi_huaweicloud import dew, obs

from pulumi_cts import DataTracker, Notification, Tracker, TrackerArgs

config = pulumi.Config()
prefix = config.get("namePrefix") or "audit"

key = dew.Key("trace-key", key_alias=f"{prefix}-trace-key", key_description="encrypts CTS trace files")
trace_bucket = obs.Bucket("trace-bucket", bucket=f"{prefix}-trace-files", acl="private", versioning=True)
data_bucket = obs.Bucket("data-bucket", bucket=f"{prefix}-sensitive-data", acl="private")

tracker = Tracker(
    "audit-trail",
    TrackerArgs(
        bucket_name=trace_bucket.bucket,
        file_prefix_name="management",
        is_support_trace_files_encryption=True,
        # The key's id is its KMS key id.
        kms_id=key.id,
        log_file_validate={"is_support_validate": True},
    ),
)

data_tracker = DataTracker(
    "sensitive-data",
    tracker_name="sensitive-data",
    data_bucket={"data_bucket_name": data_bucket.bucket, "data_event": ["READ", "WRITE"]},
    bucket_name=trace_bucket.bucket,
    file_prefix_name="data",
    bucket_lifecycle=180,  # the trace files kept six months, as the policy pack asks
)

notification = Notification(
    "audit-changes",
    notification_name="audit_changes",
    operation_type="customized",
    operations=[
        {"service_type": "CTS", "resource_type": "tracker", "trace_names": ["updateTracker", "deleteTracker"]},
        {"service_type": "KMS", "resource_type": "cmk", "trace_names": ["disableKey", "scheduleKeyDeletion"]},
    ],
    topic_id=config.require("alertTopicUrn"),
    # The tracker must exist before its own changes can be notified.
    opts=pulumi.ResourceOptions(depends_on=[tracker]),
)

pulumi.export("trackerId", tracker.id)
pulumi.export("trackerStatus", tracker.status)
pulumi.export("traceBucket", tracker.bucket_name)
pulumi.export("kmsKeyId", tracker.kms_id)
pulumi.export("dataTrackerId", data_tracker.id)
pulumi.export("notificationId", notification.id)
