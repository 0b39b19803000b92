"""Error answers of the emulator: one class per CTS, IAM or API-gateway error it can send.

Each error fixes its HTTP status and error code; the body is always `{"error_code", "error_msg"}`.
"""

from __future__ import annotations

from typing import Any, ClassVar


class EmulatorError(Exception):
    """An error answer: HTTP `status`, `error_code` and `error_msg`, plus optional extra headers."""

    status: ClassVar[int] = 400
    error_code: ClassVar[str] = ""
    default_msg: ClassVar[str] = ""

    def __init__(self, error_msg: str | None = None, headers: dict[str, str] | None = None) -> None:
        self.error_msg = error_msg if error_msg is not None else self.default_msg
        self.headers = dict(headers or {})
        super().__init__(f"{self.status} {self.error_code}: {self.error_msg}")

    def body(self) -> dict[str, Any]:
        return {"error_code": self.error_code, "error_msg": self.error_msg}


# --- API gateway (answers that real clients get before CTS itself sees the request) ---


class GatewayError(EmulatorError):
    """Base for APIGW.* answers; like the real gateway they carry the request id in the body."""

    def __init__(
        self, error_msg: str | None = None, headers: dict[str, str] | None = None, request_id: str = ""
    ) -> None:
        super().__init__(error_msg, headers)
        self.request_id = request_id

    def body(self) -> dict[str, Any]:
        body = super().body()
        if self.request_id:
            body["request_id"] = self.request_id
        return body


class ApiNotFound(GatewayError):
    status = 404
    error_code = "APIGW.0101"
    default_msg = "The API does not exist or has not been published in the environment."


class MethodNotAllowed(GatewayError):
    status = 405
    error_code = "APIGW.0101"
    default_msg = "The API does not exist."

    def __init__(self, allowed: list[str]) -> None:
        super().__init__(headers={"Allow": ", ".join(sorted(allowed))})


class RequestEntityTooLarge(GatewayError):
    status = 413
    error_code = "APIGW.0201"
    default_msg = "Request entity too large."


class IncorrectAuthentication(GatewayError):
    """Missing, unknown or expired token, or a wrong AK/SK signature."""

    status = 401
    error_code = "APIGW.0301"
    default_msg = "Incorrect IAM authentication information: decrypt token fail"


class SignatureExpired(GatewayError):
    status = 401
    error_code = "APIGW.0303"
    default_msg = "Incorrect IAM authentication information: calc ak sk signature fail:signature expired"


# --- IAM ---


class IamError(EmulatorError):
    pass


class AuthRequired(IamError):
    status = 401
    error_code = "IAM.0001"
    default_msg = "The request you have made requires authentication."


class IncorrectPassword(IamError):
    status = 401
    error_code = "IAM.0062"
    default_msg = "Incorrect username or password."


class TokenExpired(IamError):
    status = 401
    error_code = "IAM.0066"
    default_msg = "The token has expired."


class InvalidToken(IamError):
    status = 401
    error_code = "IAM.0067"
    default_msg = "The token is invalid."


class MalformedRequest(IamError):
    status = 400
    error_code = "IAM.0011"
    default_msg = "Request parameter error."


class ProjectNotFound(IamError):
    status = 400
    error_code = "IAM.1109"
    default_msg = "The project ID is invalid or the project does not exist."


class IamInternalError(IamError):
    status = 500
    error_code = "IAM.0006"
    default_msg = "Internal server error."


# --- CTS ---


class CtsServiceError(EmulatorError):
    """Base for CTS.* answers (named apart from the package's own `pulumi_cts.errors.CtsError`)."""


class NoPermission(CtsServiceError):
    status = 403
    error_code = "CTS.0002"
    default_msg = "Authentication failed or you do not have the permission for the operation."


class InvalidBody(CtsServiceError):
    status = 400
    error_code = "CTS.0003"
    default_msg = "The message body is empty or invalid."


class CtsInternalError(CtsServiceError):
    status = 500
    error_code = "CTS.0004"
    default_msg = "Failed to write data."


class TrackerQuotaExceeded(CtsServiceError):
    status = 400
    error_code = "CTS.0200"
    default_msg = "The number of trackers has reached the upper limit."


class TrackerAlreadyExists(CtsServiceError):
    status = 400
    error_code = "CTS.0201"
    default_msg = "A management tracker has already been created."


class InvalidTrackerType(CtsServiceError):
    status = 400
    error_code = "CTS.0202"
    default_msg = "The tracker_type must be either system or data."


class InvalidDataTrackerName(CtsServiceError):
    status = 400
    error_code = "CTS.0203"
    default_msg = (
        "The tracker_name format is invalid: 1 to 32 characters of letters, digits, '_' and '-', "
        "not starting with '_' or '-'."
    )


class InvalidTrackerName(CtsServiceError):
    status = 400
    error_code = "CTS.0204"
    default_msg = "The tracker_name of a management tracker can only be system."


class InvalidStatus(CtsServiceError):
    status = 400
    error_code = "CTS.0205"
    default_msg = "The status can only be enabled or disabled."


class DataBucketNotAllowed(CtsServiceError):
    status = 400
    error_code = "CTS.0206"
    default_msg = "The data_bucket parameter is not allowed for a management tracker."


class ReservedTrackerName(CtsServiceError):
    status = 400
    error_code = "CTS.0207"
    default_msg = "The tracker_name of a data tracker cannot be system or system-trace."


class DataTrackerAlreadyExists(CtsServiceError):
    status = 400
    error_code = "CTS.0208"
    default_msg = "The tracker already exists."


class DataEventConflict(CtsServiceError):
    status = 400
    error_code = "CTS.0209"
    default_msg = "The same operation type on an OBS bucket can be tracked by only one tracker."


class BucketNameEmpty(CtsServiceError):
    status = 400
    error_code = "CTS.0210"
    default_msg = "The tracked OBS bucket cannot be empty: bucket_name is required."


class BucketNotFound(CtsServiceError):
    # The v1.0 create page documents 404 for a missing bucket, although the code table says 400.
    status = 404
    error_code = "CTS.0211"
    default_msg = "Check bucket failed. The bucket does not exist."


class TrackedBucketNotFound(CtsServiceError):
    # The tracked bucket of a data tracker: the code table's 400, not the v1.0 create page's 404.
    status = 400
    error_code = "CTS.0211"
    default_msg = "The tracked OBS bucket does not exist."


class TrackedBucketImmutable(CtsServiceError):
    status = 400
    error_code = "CTS.0212"
    default_msg = "The tracked OBS bucket cannot be modified."


class TransferBucketIsTracked(CtsServiceError):
    status = 400
    error_code = "CTS.0213"
    default_msg = "The transfer OBS bucket cannot be the tracked bucket."


class TrackerNotFound(CtsServiceError):
    status = 404
    error_code = "CTS.0214"
    default_msg = "The tracker does not exist."


class BucketAlreadyExists(CtsServiceError):
    status = 400
    error_code = "CTS.0215"
    default_msg = "Check bucket failed. The bucket already exists."


class InvalidFilePrefix(CtsServiceError):
    status = 400
    error_code = "CTS.0218"
    default_msg = "The file_prefix_name format is invalid: 0 to 64 characters of letters, digits, '-', '_' and '.'."


class KmsNotSupported(CtsServiceError):
    status = 400
    error_code = "CTS.0220"
    default_msg = "KMS encryption is not supported for this tracker: only management trackers encrypt trace files."


class KmsIdEmpty(CtsServiceError):
    status = 400
    error_code = "CTS.0221"
    default_msg = "The KMS ID is empty: kms_id is required when is_support_trace_files_encryption is true."


class KmsVerificationFailed(CtsServiceError):
    status = 400
    error_code = "CTS.0222"
    default_msg = "KMS verification failed: the key does not exist."


class InvalidDataEvent(CtsServiceError):
    status = 400
    error_code = "CTS.0225"
    default_msg = "The bucket operation (data_event) must be WRITE, READ or both."


class InvalidBucketName(CtsServiceError):
    status = 400
    error_code = "CTS.0231"
    default_msg = (
        "The bucket_name is invalid: 3 to 63 characters of lowercase letters, digits, '-' and '.', "
        "starting with a letter or digit, not an IP address, without '..', '.-' or '-.'."
    )


class NotificationNameExists(CtsServiceError):
    status = 400
    error_code = "CTS.0400"
    default_msg = "The notification name already exists."


class InvalidOperations(CtsServiceError):
    status = 400
    error_code = "CTS.0401"
    default_msg = "The operations parameter is invalid."


class InvalidTopic(CtsServiceError):
    status = 400
    error_code = "CTS.0402"
    default_msg = "The SMN topic does not exist: topic_id must be an SMN topic URN urn:smn:REGION:PROJECT:NAME."


class NotificationNotFound(CtsServiceError):
    status = 404
    error_code = "CTS.0403"
    default_msg = "The notification does not exist."


class NotificationQuotaExceeded(CtsServiceError):
    status = 400
    error_code = "CTS.0407"
    default_msg = "The number of key event notifications has reached the upper limit."


class InvalidNotificationType(CtsServiceError):
    status = 400
    error_code = "CTS.0410"
    default_msg = "The notification_type can only be smn."


class InvalidNotificationName(CtsServiceError):
    status = 400
    error_code = "CTS.0411"
    default_msg = "The notification_name is invalid: 1 to 64 characters of letters, digits and '_'."


class ControlError(EmulatorError):
    """A bad request to the control API."""

    status = 400
    error_code = "EMULATOR.0400"


class ControlNotFound(ControlError):
    status = 404
    error_code = "EMULATOR.0404"
