"""Hostile input: property-based tests over `check` and `diff` with arbitrary JSON-like values.

`check` and `diff` run on whatever a program (or an old state file) holds: wrong types, huge or
exotic strings, nested junk and preview Unknowns. They must never raise; `check` must name every
invalid field in a `CheckFailure`, and must pass valid inputs through unchanged.

The emulator's side (malformed JSON, wrong content types, oversized bodies, path traversal) is
covered by tests/emulator/test_emulator_robustness.py.
"""

from __future__ import annotations

import copy
import functools
import ipaddress
import math
import string
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pulumi.dynamic import CheckFailure, CheckResult, DiffResult
from pulumi.output import Unknown

from pulumi_cts import TrackerProvider
from pulumi_cts.scope import SCOPE_FIELDS
from pulumi_cts.tracker_schema import INPUT_FIELDS, OUTPUT_ONLY_FIELDS
from tests.reliability.conftest import BLOB, make_provider

PROPERTY_TESTS = settings(
    max_examples=200,
    deadline=None,
    database=None,
    # The only function-scoped fixtures are the autouse isolation ones; check and diff send no request.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
ALLOWED_KEYS = {*INPUT_FIELDS, *OUTPUT_ONLY_FIELDS, "__provider"}
MAX_REASON = 1000


@functools.cache
def configured() -> TrackerProvider:
    """A provider configured as in a stack; `check` and `diff` need its settings but no network."""
    return make_provider(
        {
            "cts:authUrl": "https://iam.eu-de.example.test/v3",
            "cts:region": "eu-de",
            "cts:domainName": "d",
            "cts:userName": "u",
            "cts:password": "p",
        },
        policy=None,
    )


# --- strategies ----------------------------------------------------------------------------------

new_unknown: Callable[[], Unknown] = Unknown
unknowns = st.builds(new_unknown)
huge_strings = st.builds(lambda n, c: c * n, st.integers(10_000, 100_000), st.characters(codec="utf-8"))
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | huge_strings
    | unknowns
)
json_like = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=3),
    max_leaves=8,
)
keys = st.sampled_from(sorted(ALLOWED_KEYS)) | st.text(max_size=30)
property_bags = st.dictionaries(keys, json_like, max_size=10)


LOWER_DIGITS = string.ascii_lowercase + string.digits


def _not_an_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return True
    return False


# Built from the documented rules, not from the code under test: labels of [a-z0-9] joined by single
# '.' or '-', 3 to 63 characters, not an IP address.
valid_buckets = (
    st.lists(
        st.tuples(st.text(LOWER_DIGITS, min_size=1, max_size=8), st.sampled_from([".", "-"])), min_size=1, max_size=6
    )
    .map(lambda parts: "".join(label + sep for label, sep in parts)[:-1])
    .filter(lambda name: 3 <= len(name) <= 63 and _not_an_ip(name))
)
PREFIX_CHARS = string.ascii_letters + string.digits + "._-"
valid_prefixes = st.text(PREFIX_CHARS, max_size=64)
valid_kms_ids = st.uuids().map(str) | st.text(string.ascii_letters + string.digits + ":/_.-", min_size=1, max_size=256)
valid_regions = st.sampled_from(["eu-de", "eu-nl", "eu-ch2"]) | st.text(LOWER_DIGITS + "-", min_size=1, max_size=64)
valid_project_names = st.text(string.ascii_letters + string.digits + "_.-", min_size=1, max_size=64)
valid_project_ids = st.text("0123456789abcdef", min_size=32, max_size=32)
bools_or_unknown = st.booleans() | unknowns


@st.composite
def valid_programs(draw: st.DrawFn, allow_unknowns: bool = True) -> dict[str, Any]:
    """A program a user may legitimately write, as the engine sends it (possibly during a preview)."""

    def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return (strategy | unknowns) if allow_unknowns else strategy

    props: dict[str, Any] = {"__provider": BLOB, "bucket_name": draw(maybe(valid_buckets))}
    version = draw(st.sampled_from([None, "v1.0", "v3"]))
    optional: dict[str, st.SearchStrategy[Any]] = {
        "file_prefix_name": maybe(valid_prefixes),
        "is_obs_created": maybe(st.booleans()),
        "adopt_existing": maybe(st.booleans()),
        "log_file_validate": maybe(st.fixed_dictionaries({"is_support_validate": maybe(st.booleans())})),
        "lts": maybe(st.fixed_dictionaries({"is_lts_enabled": maybe(st.booleans())})),
        "status": maybe(st.sampled_from(["enabled", "disabled"])),
        "region": maybe(valid_regions),
        "project_name": maybe(valid_project_names),
        "project_id": maybe(valid_project_ids),
    }
    if version == "v3":
        optional["compress_type"] = maybe(st.sampled_from(["gzip", "json"]))
        optional["is_sort_by_service"] = maybe(st.booleans())
    for name, strategy in optional.items():
        if draw(st.booleans()):
            props[name] = draw(strategy)
    if version is not None:
        props["api_version"] = version
    encrypted = draw(st.sampled_from([None, False, True]))
    if encrypted is not None:
        props["is_support_trace_files_encryption"] = encrypted
    if encrypted:
        props["kms_id"] = draw(maybe(valid_kms_ids))
    for name in OUTPUT_ONLY_FIELDS:
        if draw(st.booleans()):
            props[name] = None  # the placeholders `Tracker` registers for its outputs
    return props


def _known(value: Any) -> bool:
    return value is not None and not isinstance(value, Unknown)


def _holds_unknown(value: Any) -> bool:
    if isinstance(value, Unknown):
        return True
    if isinstance(value, Mapping):
        return any(_holds_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_holds_unknown(v) for v in value)
    return False


wrong_for_bool = json_like.filter(lambda v: _known(v) and not isinstance(v, bool))
wrong_for_string = json_like.filter(lambda v: _known(v) and not isinstance(v, str))
exotic_chars = st.characters(blacklist_categories=["Cs"]).filter(lambda c: c not in PREFIX_CHARS)


def _with(text: str, insert: str, at: int) -> str:
    at = at % (len(text) + 1)
    return text[:at] + insert + text[at:]


INVALID: dict[str, st.SearchStrategy[Any]] = {
    "bucket_name": wrong_for_string
    | st.text(LOWER_DIGITS, max_size=2)
    | st.text(LOWER_DIGITS, min_size=64, max_size=300)
    | huge_strings
    | st.builds(_with, valid_buckets, st.sampled_from(["A", "_", " ", "..", ".-", "-.", "é", "/"]), st.integers())
    | valid_buckets.map(lambda b: "-" + b)
    | st.ip_addresses(v=4).map(str),
    "file_prefix_name": wrong_for_string
    | st.text(PREFIX_CHARS, min_size=65, max_size=200)
    | st.builds(_with, valid_prefixes, exotic_chars, st.integers()),
    "is_obs_created": wrong_for_bool,
    "adopt_existing": wrong_for_bool,
    "is_support_trace_files_encryption": wrong_for_bool,
    "status": json_like.filter(lambda v: _known(v) and v not in ("enabled", "disabled")),
    "api_version": json_like.filter(lambda v: _known(v) and v not in ("v1.0", "v3")),
    "log_file_validate": json_like.filter(lambda v: _known(v) and not isinstance(v, Mapping))
    | st.fixed_dictionaries({"is_support_validate": wrong_for_bool | st.none()})
    | st.fixed_dictionaries({"is_support_validate": st.booleans(), "extra": json_like})
    | st.just({}),
    "lts": json_like.filter(lambda v: _known(v) and not isinstance(v, Mapping))
    | st.fixed_dictionaries({"is_lts_enabled": wrong_for_bool | st.none()})
    | st.dictionaries(st.text(min_size=1).filter(lambda k: k != "is_lts_enabled"), json_like, min_size=1),
    "kms_id": wrong_for_string
    | st.just("")
    | st.text(PREFIX_CHARS, min_size=257, max_size=400)
    | st.builds(_with, valid_kms_ids, st.sampled_from(" é@#"), st.integers()),
    "compress_type": json_like.filter(lambda v: _known(v) and v not in ("gzip", "json")),
    "is_sort_by_service": wrong_for_bool,
    "region": wrong_for_string
    | st.text(min_size=65)
    | st.builds(_with, valid_regions, st.sampled_from("A_ é/"), st.integers()),
    "project_name": wrong_for_string
    | st.text(PREFIX_CHARS, min_size=65, max_size=100)
    | st.builds(_with, valid_project_names, st.sampled_from(" é/:"), st.integers()),
    "project_id": wrong_for_string
    | st.just("")
    | st.builds(_with, valid_project_ids, st.sampled_from("_ é/"), st.integers()),
    # Read-only outputs may only be None placeholders (or unknown during a preview).
    "tracker_id": json_like.filter(lambda v: v is not None and not _holds_unknown(v)),
    "create_time": json_like.filter(lambda v: v is not None and not _holds_unknown(v)),
}


def named(failures: list[CheckFailure], field: str) -> bool:
    return any(f.property == field or f.property.startswith(field + ".") for f in failures)


def frozen(value: Any) -> Any:
    """A comparable snapshot: Unknowns and NaNs compare by what they are, not by identity."""
    if isinstance(value, Unknown):
        return "<unknown>"
    if isinstance(value, float) and math.isnan(value):
        return "<nan>"
    if isinstance(value, Mapping):
        return {k: frozen(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [frozen(v) for v in value]
    return value


def assert_well_formed(result: CheckResult) -> None:
    assert isinstance(result, CheckResult)
    assert isinstance(result.inputs, dict)
    for failure in result.failures or []:
        assert isinstance(failure, CheckFailure)
        assert isinstance(failure.property, str) and isinstance(failure.reason, str)
        assert failure.reason
        # A rejected value is quoted, never echoed in full (it may be megabytes long).
        assert len(failure.reason) <= MAX_REASON


# --- check ---------------------------------------------------------------------------------------


@PROPERTY_TESTS
@given(olds=st.dictionaries(keys, json_like, max_size=3), news=property_bags)
def test_check_never_raises_and_names_unknown_and_read_only_properties(
    olds: dict[str, Any], news: dict[str, Any]
) -> None:
    before = frozen(copy.deepcopy(news))

    result = configured().check(olds, news)

    assert_well_formed(result)
    assert frozen(news) == before  # the engine's dict is not modified
    failures = list(result.failures or [])
    for key in news:
        if key not in ALLOWED_KEYS:
            assert named(failures, key), key
    for key in OUTPUT_ONLY_FIELDS:
        if news.get(key) is not None and not _holds_unknown(news[key]):
            assert named(failures, key), key
    if news.get("bucket_name") is None:
        assert named(failures, "bucket_name")


@PROPERTY_TESTS
@given(
    program=valid_programs(),
    corrupted=st.dictionaries(st.sampled_from(sorted(INVALID)), st.none(), min_size=1, max_size=4),
    data=st.data(),
)
def test_check_names_every_invalid_field(
    program: dict[str, Any], corrupted: dict[str, None], data: st.DataObject
) -> None:
    bad = dict(program)
    for field in corrupted:
        bad[field] = data.draw(INVALID[field], label=field)

    result = configured().check({}, bad)

    assert_well_formed(result)
    failures = list(result.failures or [])
    for field in corrupted:
        assert named(failures, field), (field, bad[field], [(f.property, f.reason) for f in failures])


@PROPERTY_TESTS
@given(program=valid_programs(), extra=st.text(min_size=1).filter(lambda k: k not in ALLOWED_KEYS))
def test_check_names_a_misspelt_property(program: dict[str, Any], extra: str) -> None:
    result = configured().check({}, {**program, extra: "value"})

    failures = list(result.failures or [])
    assert [f.property for f in failures] == [extra]


@PROPERTY_TESTS
@given(program=valid_programs())
def test_valid_inputs_pass_and_round_trip_unchanged(program: dict[str, Any]) -> None:
    provider = configured()

    result = provider.check({}, program)

    assert result.failures == []
    inputs = result.inputs
    for key, value in program.items():
        if key in OUTPUT_ONLY_FIELDS:
            assert key not in inputs  # placeholders are dropped, never sent to CTS
        elif isinstance(value, Unknown):
            assert inputs[key] is value  # Unknowns pass through untouched
        else:
            assert inputs[key] == value, key
    assert inputs["__provider"] == BLOB
    # What check returns is itself valid and stable: a second round changes nothing.
    again = provider.check(program, dict(inputs))
    assert again.failures == []
    assert frozen(again.inputs) == frozen(inputs)


# --- diff ----------------------------------------------------------------------------------------


def assert_well_formed_diff(result: DiffResult) -> None:
    assert isinstance(result, DiffResult)
    assert result.changes in (True, False)
    assert set(result.replaces or []) <= set(SCOPE_FIELDS)


@PROPERTY_TESTS
@given(olds=property_bags, program=valid_programs())
def test_diff_never_raises_on_any_previous_state(olds: dict[str, Any], program: dict[str, Any]) -> None:
    provider = configured()
    news = provider.check({}, program).inputs

    assert_well_formed_diff(provider.diff(f"{'0' * 32}/system", olds, news))


@PROPERTY_TESTS
@given(olds=property_bags, news=property_bags)
def test_diff_never_raises_on_arbitrary_property_bags(olds: dict[str, Any], news: dict[str, Any]) -> None:
    # The engine only diffs inputs that passed `check`; this also covers news that did not.
    assert_well_formed_diff(configured().diff(f"{'0' * 32}/system", olds, news))


@pytest.mark.parametrize("project_name", [1, ["eu-de"], {"name": "eu-de"}])
def test_diff_never_raises_on_a_non_string_project_name(project_name: Any) -> None:
    assert_well_formed_diff(configured().diff(f"{'0' * 32}/system", {}, {"project_name": project_name}))


@PROPERTY_TESTS
@given(program=valid_programs(allow_unknowns=False))
def test_diff_of_a_program_against_its_own_outputs_reports_no_change(program: dict[str, Any]) -> None:
    provider = configured()
    inputs = provider.check({}, program).inputs

    result = provider.diff(f"{'0' * 32}/system", {**inputs, "__provider": "an-older-blob"}, inputs)

    assert result.changes is False
    assert result.replaces == []


@PROPERTY_TESTS
@given(
    program=valid_programs(allow_unknowns=False),
    field=st.sampled_from(["bucket_name", "file_prefix_name", "status", "log_file_validate", "lts"]),
)
def test_diff_treats_an_unknown_setting_as_a_possible_change(program: dict[str, Any], field: str) -> None:
    provider = configured()
    inputs = provider.check({}, program).inputs
    preview = {**inputs, field: new_unknown()}

    result = provider.diff(f"{'0' * 32}/system", inputs, preview)

    assert result.changes is True
