"""Answers as typed data: which bodies count as a tracker, a list without it, or an unusable answer,
and how server text is cut and cleaned of secrets before it reaches a message."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from pulumi_cts import ApiError, data_tracker_schema, notification_schema, tracker_schema
from pulumi_cts.answers import (
    MAX_ANSWER_BYTES,
    NOTIFICATION,
    TAGS,
    TRACES_PAGE,
    TRACKER,
    Answer,
    Record,
    notifications_in,
    tracker_in,
)
from pulumi_cts.scope import DECLARED_SCOPE
from pulumi_cts.transport import error_answer

from .fakes import OBS_INFO_RESPONSE, SEED_RESPONSE


def response(
    body: Any, status: int = 200, content_type: str = "application/json", headers: dict[str, str] | None = None
) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    answer.headers.update({"Content-Type": content_type, "X-Request-Id": "req-42", **(headers or {})})
    answer.request = requests.Request("GET", "https://cts.example.test/v1.0/p/tracker").prepare()
    return answer


def answer_of(body: Any, **kwargs: Any) -> Answer:
    return Answer(response(body, **kwargs), "Reading the CTS tracker", "tracker 'system' in project p", "cts:endpoint")


@pytest.mark.parametrize(
    "body", [SEED_RESPONSE, [SEED_RESPONSE], {"trackers": [{"tracker_name": "other"}, SEED_RESPONSE]}]
)
def test_a_tracker_is_found_in_every_documented_shape(body: Any) -> None:
    found = tracker_in(answer_of(body), "system")
    assert found is not None
    assert found["bucket_name"] == SEED_RESPONSE["bucket_name"]
    assert found["log_file_validate"] == {"is_support_validate": True}


def test_the_nested_shape_keeps_its_checked_fields_only() -> None:
    found = tracker_in(answer_of({**OBS_INFO_RESPONSE, "unexpected": {"a": 1}}), "system")
    assert found is not None and "unexpected" not in found
    assert found["obs_info"]["bucket_name"] == SEED_RESPONSE["bucket_name"]


@pytest.mark.parametrize("body", [[], {"trackers": []}, [{"tracker_name": "other"}]])
def test_a_list_without_the_tracker_means_there_is_none(body: Any) -> None:
    assert tracker_in(answer_of(body), "system") is None


@pytest.mark.parametrize(
    ("body", "content_type", "named"),
    [
        ({}, "application/json", "tracker_name must be present"),
        (None, "application/json", "empty or null"),
        (b"", "application/json", "empty or null"),
        (b"<html></html>", "text/html", "content type is 'text/html'"),
        (b'{"tracker_name": "sys', "application/json", "not valid JSON"),
        ({"trackers": "system"}, "application/json", "trackers must be a list"),
        ([SEED_RESPONSE, 5], "application/json", "the answer[1] must be an object"),
        ({**SEED_RESPONSE, "status": 5}, "application/json", "status must be a string"),
        ({**SEED_RESPONSE, "lts": {"is_lts_enabled": "yes"}}, "application/json", "lts.is_lts_enabled must be true"),
        ({**SEED_RESPONSE, "kms_id": "k" * 257}, "application/json", "kms_id must be a string of at most 256"),
    ],
)
def test_an_unusable_answer_is_an_error_naming_the_field(body: Any, content_type: str, named: str) -> None:
    with pytest.raises(ApiError) as excinfo:
        tracker_in(answer_of(body, content_type=content_type), "system")
    text = str(excinfo.value)
    assert named in text
    assert "Reading the CTS tracker" in text and "req-42" in text and "cts:endpoint" in text


def test_notifications_and_traces_are_checked_too() -> None:
    listed = notifications_in(answer_of({"notifications": [{"notification_id": "n1", "status": "enabled"}]}))
    assert listed == [{"notification_id": "n1", "status": "enabled"}]
    with pytest.raises(ApiError, match=r"notifications\[0\].notification_id must be present"):
        notifications_in(answer_of({"notifications": [{"notification_name": "a"}]}))
    with pytest.raises(ApiError, match=r"meta_data.marker must be a string"):
        answer_of({"traces": [], "meta_data": {"marker": 5}}).read(TRACES_PAGE)


def test_server_text_is_cut_and_cleaned_of_secrets_and_credentials() -> None:
    page = "<pre>password=hunter2-secret token=MIItoken-value-0123456789</pre>" + "x" * 100_000
    answer = response(page.encode(), status=400, content_type="text/html")
    answer.request.headers["X-Auth-Token"] = "MIItoken-value-0123456789"
    text = str(error_answer(answer, "Creating the CTS tracker", "t", secrets=("hunter2-secret",)).error())
    assert "hunter2" not in text and "MIItoken" not in text
    assert "password=***" in text
    assert len(text) < 600


def test_a_short_secret_is_masked_where_it_stands_alone_only() -> None:
    answer = response({"error_code": "IAM.0001", "error_msg": "user abc with password abc is locked"}, status=401)
    parsed = error_answer(answer, "Obtaining an IAM token", "t", secrets=("abc",))
    assert parsed.message == "user *** with password *** is locked"


@pytest.mark.parametrize(
    ("schema", "table"),
    [(tracker_schema, TRACKER), (data_tracker_schema, TRACKER), (notification_schema, NOTIFICATION)],
    ids=["tracker", "data-tracker", "notification"],
)
def test_every_field_a_resource_reports_is_in_its_answer_table(schema: Any, table: Record) -> None:
    """A field missing from the answer table would be dropped silently: add it there in one line."""
    obs_info = table.fields.get("obs_info")
    nested = obs_info.fields if isinstance(obs_info, Record) else {}
    # Tags come from the tag API's own answer (`TAGS`), not from the tracker's; the declared scope is the
    # provider's own record.
    own = ("tracker_id", "tags", DECLARED_SCOPE)
    reported = [f.name for f in schema.FIELDS.fields if not f.carried and f.name not in own]
    assert [name for name in reported if name not in table.fields and name not in nested] == []
    assert "tracker_id" not in reported or "id" in table.fields
    assert "tags" not in schema.FIELDS.input_fields or "tags" in TAGS.fields


def test_an_oversized_answer_is_refused_before_it_is_parsed() -> None:
    oversized = b'{"tracker_name": "system", "detail": "' + b"x" * MAX_ANSWER_BYTES + b'"}'
    with pytest.raises(ApiError, match="bytes long"):
        tracker_in(answer_of(oversized), "system")
