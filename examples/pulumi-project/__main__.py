"""Example stack: the CTS management tracker of one project, delivering trace files to an OBS bucket.

Where the bucket (and, optionally, the KMS key) come from:

* ``baseStack`` set (e.g. ``organization/storage/prod``): the outputs ``bucketName`` and
  ``kmsKeyId`` of that stack, read through a ``pulumi.StackReference``. This is the usual layout:
  one stack owns the bucket and the key, this one owns the tracker.
* otherwise: the plain config values ``bucketName`` (required) and ``kmsKeyId`` (optional).

Trace file encryption is switched on only when a KMS key id is given.

Program configuration (namespace of this project):

=================  =========================================================  ===========
key                meaning                                                    default
=================  =========================================================  ===========
baseStack          fully qualified stack to take bucket/key outputs from     (unset)
bucketName         OBS bucket receiving trace files (without baseStack)       required
kmsKeyId           KMS key id; turns trace file encryption on                 (unset)
filePrefixName     prefix of the trace file names in the bucket               ``trace``
logFileValidate    write digest files to verify trace files (true/false)      ``true``
ltsEnabled         also transfer traces to Log Tank Service (true/false)      ``false``
status             ``enabled`` or ``disabled``                                ``enabled``
adoptExisting      take over a tracker that already exists (true/false)       ``false``
=================  =========================================================  ===========

Provider credentials and endpoints are *not* read here: the provider reads the ``cts:*`` keys
(``cts:authUrl``, ``cts:region``, ``cts:domainName``, ``cts:userName``, ``cts:password`` as a
secret, ...) in its own process, so no credential is ever captured in the Pulumi state.

Exports: ``trackerId`` (``{project_id}/system``), ``trackerStatus``, ``trackerProjectId`` and
``bucketName`` (the bucket CTS reports).
"""

from __future__ import annotations

from typing import Any

import pulumi

from pulumi_cts import Tracker, TrackerArgs

config = pulumi.Config()


def _key_or_none(value: Any) -> str | None:
    """A usable KMS key id, or None when the output is missing or empty."""
    return str(value) if value else None


base_stack = config.get("baseStack")
bucket_name: pulumi.Input[str]
kms_id: pulumi.Input[str] | None
encrypted: pulumi.Input[bool]
if base_stack:
    # The storage stack exports the bucket (and key) it manages; depend on its outputs.
    base = pulumi.StackReference(base_stack)
    bucket_name = base.require_output("bucketName")
    # It may export no key: then the trace files stay unencrypted.
    key: pulumi.Output[Any] = base.get_output("kmsKeyId").apply(_key_or_none)
    kms_id = key
    encrypted = key.apply(lambda k: k is not None)
else:
    bucket_name = config.require("bucketName")
    kms_id = config.get("kmsKeyId") or None
    encrypted = kms_id is not None

tracker = Tracker(
    "audit-trail",
    TrackerArgs(
        bucket_name=bucket_name,
        file_prefix_name=config.get("filePrefixName") or "trace",
        is_support_trace_files_encryption=encrypted,
        kms_id=kms_id,
        log_file_validate={"is_support_validate": config.get_bool("logFileValidate", True)},
        lts={"is_lts_enabled": config.get_bool("ltsEnabled", False)},
        status=config.get("status") or "enabled",
        adopt_existing=config.get_bool("adoptExisting", False),
    ),
)

pulumi.export("trackerId", tracker.id)
pulumi.export("trackerStatus", tracker.status)
pulumi.export("trackerProjectId", tracker.project_id)
pulumi.export("bucketName", tracker.bucket_name)
