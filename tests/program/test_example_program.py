"""The example program (`examples/pulumi-project/__main__.py`) under `pulumi.runtime.set_mocks`.

The mocks stand in for the engine: every `Tracker` registration is checked with the real provider
unpickled from its `__provider` blob, and answered with the checked inputs plus the outputs CTS
would report. No CLI, no network.
"""

from __future__ import annotations

import base64
import importlib.util
import pickle
import runpy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import dill
import pulumi
import pytest
import yaml
from pulumi.runtime import rpc
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.config import set_all_config

from pulumi_cts import Tracker, TrackerArgs, TrackerProvider
from tests.support import REPO_ROOT

EXAMPLE_DIR = REPO_ROOT / "examples" / "pulumi-project"
PROGRAM = EXAMPLE_DIR / "__main__.py"
PROJECT = "pulumi-cts-example"
TRACKER_TYPE = "pulumi-python:dynamic/cts:Tracker"
PROJECT_ID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
PASSWORD = "S3cr3t-Pa55-program-test"
KMS_KEY = "6e1bd8d4-8c12-4f0a-9a52-1f0c2b3d4e5f"


@pytest.fixture(autouse=True)
def _isolated_pulumi_runtime() -> Iterator[None]:
    """Each test gets its own mocks, root stack and config; nothing is left for other tests."""
    yield
    set_all_config({})
    runtime_settings.reset_options()


@dataclass
class Registration:
    typ: str
    name: str
    inputs: dict[str, Any]
    resource_id: str | None


@dataclass
class ProgramMocks(pulumi.runtime.Mocks):
    """Answers resource registrations the way the engine plus the CTS provider would."""

    stack_outputs: dict[str, Any] = field(default_factory=dict)
    registrations: list[Registration] = field(default_factory=list)
    providers: list[TrackerProvider] = field(default_factory=list)
    blobs: list[str] = field(default_factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        inputs = dict(args.inputs)
        self.registrations.append(Registration(args.typ, args.name, inputs, args.resource_id))
        if args.typ == "pulumi:pulumi:StackReference":
            return args.resource_id or args.name, {
                "name": args.name,
                "outputs": self.stack_outputs,
                "secretOutputNames": [],
            }
        if args.typ != TRACKER_TYPE:
            raise AssertionError(f"unexpected resource type {args.typ}")
        # The engine strips the secret wrapper before the provider sees the blob.
        blob = rpc.unwrap_rpc_secret(inputs["__provider"])
        self.blobs.append(blob)
        provider = dill.loads(base64.b64decode(blob))
        assert isinstance(provider, TrackerProvider)
        self.providers.append(provider)
        checked = provider.check({}, inputs)
        failures = [(f.property, f.reason) for f in checked.failures]
        assert failures == [], f"the provider rejects the program's inputs: {failures}"
        outputs = {
            **checked.inputs,
            "tracker_name": "system",
            "project_id": PROJECT_ID,
            "project_name": "eu-de",
            "region": "eu-de",
            "create_time": 1732612345000,
        }
        return f"{PROJECT_ID}/system", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        raise AssertionError(f"the program makes no calls, got {args.token}")

    def trackers(self) -> list[Registration]:
        return [r for r in self.registrations if r.typ == TRACKER_TYPE]


@dataclass
class ProgramRun:
    mocks: ProgramMocks
    exports: dict[str, Any]
    namespace: dict[str, Any]

    @property
    def tracker_inputs(self) -> dict[str, Any]:
        trackers = self.mocks.trackers()
        assert len(trackers) == 1
        return trackers[0].inputs


def run_with_mocks(program: Callable[[], pulumi.Output[Any]]) -> None:
    """Run `program` like `@pulumi.runtime.test` does: wait for the Output it returns, raise its errors."""
    decorate: Callable[[Callable[[], Any]], Callable[[], None]] = pulumi.runtime.test
    decorate(program)()


def run_program(
    config: dict[str, str], stack_outputs: dict[str, Any] | None = None, *, preview: bool = False
) -> ProgramRun:
    """Run the example as the engine would (as `__main__`), with this stack config."""
    full_config = {f"{PROJECT}:{k}": v for k, v in config.items()}
    # The provider's settings are part of the stack config, but must never reach the program's state.
    full_config.update({"cts:region": "eu-de", "cts:userName": "ci", "cts:password": PASSWORD})
    set_all_config(full_config, ["cts:password"])
    mocks = ProgramMocks(stack_outputs=dict(stack_outputs or {}))
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="test", preview=preview)
    exports: dict[str, Any] = {}
    namespace: dict[str, Any] = {}

    def program() -> pulumi.Output[None]:
        namespace.update(runpy.run_path(str(PROGRAM), run_name="__main__"))
        stack = runtime_settings.get_root_resource()
        outputs: dict[str, Any] = getattr(stack, "outputs", {})
        return pulumi.Output.all(**outputs).apply(exports.update)

    run_with_mocks(program)
    return ProgramRun(mocks=mocks, exports=exports, namespace=namespace)


def test_tracker_from_plain_config_with_a_kms_key() -> None:
    run = run_program({"bucketName": "audit-logs-eu", "kmsKeyId": KMS_KEY})

    trackers = run.mocks.trackers()
    assert [t.typ for t in trackers] == [TRACKER_TYPE]
    assert trackers[0].name == "audit-trail"
    inputs = run.tracker_inputs
    assert inputs["bucket_name"] == "audit-logs-eu"
    assert inputs["kms_id"] == KMS_KEY
    assert inputs["is_support_trace_files_encryption"] is True
    assert inputs["file_prefix_name"] == "trace"
    assert inputs["log_file_validate"] == {"is_support_validate": True}
    assert inputs["lts"] == {"is_lts_enabled": False}
    assert inputs["status"] == "enabled"
    assert inputs["adopt_existing"] is False
    # No StackReference without baseStack.
    assert all(r.typ != "pulumi:pulumi:StackReference" for r in run.mocks.registrations)

    assert run.exports == {
        "trackerId": f"{PROJECT_ID}/system",
        "trackerStatus": "enabled",
        "trackerProjectId": PROJECT_ID,
        "bucketName": "audit-logs-eu",
    }


def test_encryption_stays_off_without_a_kms_key() -> None:
    run = run_program({"bucketName": "audit-logs-eu"})

    inputs = run.tracker_inputs
    assert inputs["is_support_trace_files_encryption"] is False
    assert "kms_id" not in inputs
    assert run.exports["trackerStatus"] == "enabled"


def test_settings_from_config() -> None:
    run = run_program(
        {
            "bucketName": "audit-logs-eu",
            "filePrefixName": "prod-eu",
            "logFileValidate": "false",
            "ltsEnabled": "true",
            "status": "disabled",
            "adoptExisting": "true",
        }
    )

    inputs = run.tracker_inputs
    assert inputs["file_prefix_name"] == "prod-eu"
    assert inputs["log_file_validate"] == {"is_support_validate": False}
    assert inputs["lts"] == {"is_lts_enabled": True}
    assert inputs["status"] == "disabled"
    assert inputs["adopt_existing"] is True
    assert run.exports["trackerStatus"] == "disabled"


def test_bucket_and_key_from_a_stack_reference() -> None:
    run = run_program(
        # A stray bucketName in config must not win over the referenced stack.
        {"baseStack": "acme/storage/prod", "bucketName": "ignored-bucket"},
        stack_outputs={"bucketName": "central-audit-logs", "kmsKeyId": KMS_KEY, "other": 1},
    )

    references = [r for r in run.mocks.registrations if r.typ == "pulumi:pulumi:StackReference"]
    assert len(references) == 1
    assert references[0].resource_id == "acme/storage/prod"
    inputs = run.tracker_inputs
    assert inputs["bucket_name"] == "central-audit-logs"
    assert inputs["kms_id"] == KMS_KEY
    assert inputs["is_support_trace_files_encryption"] is True
    assert run.exports["bucketName"] == "central-audit-logs"


def test_stack_reference_without_a_key_leaves_encryption_off() -> None:
    run = run_program({"baseStack": "acme/storage/prod"}, stack_outputs={"bucketName": "central-audit-logs"})

    inputs = run.tracker_inputs
    assert inputs["bucket_name"] == "central-audit-logs"
    assert inputs["is_support_trace_files_encryption"] is False
    assert "kms_id" not in inputs


def test_provider_blob_is_small_and_holds_no_credentials() -> None:
    run = run_program({"bucketName": "audit-logs-eu", "kmsKeyId": KMS_KEY})

    inputs = run.tracker_inputs
    assert "__provider" in inputs
    [blob] = run.mocks.blobs
    assert isinstance(blob, str)
    assert len(blob) < 512
    raw = base64.b64decode(blob)
    # Pickled by reference to the installed module, not by value.
    assert b"pulumi_cts.provider" in raw
    assert b"TrackerProvider" in raw
    assert PASSWORD.encode() not in raw
    [provider] = run.mocks.providers
    assert type(provider) is TrackerProvider
    # What would be pickled again: nothing, whatever the provider built while in use.
    assert provider.__getstate__() == {}
    fresh = dill.loads(raw)
    assert getattr(fresh, "_runtime", None) is None
    # Nothing of the stack config (user, password) leaked into the registered inputs either.
    assert PASSWORD not in repr(inputs)


def test_the_sample_stack_config_runs() -> None:
    sample = yaml.safe_load((EXAMPLE_DIR / "Pulumi.example.yaml").read_text(encoding="utf-8"))["config"]
    prefix = f"{PROJECT}:"
    program_config = {k.removeprefix(prefix): str(v) for k, v in sample.items() if k.startswith(prefix)}
    assert all(k.startswith(("cts:", prefix)) for k in sample)

    run = run_program(program_config)

    inputs = run.tracker_inputs
    assert inputs["bucket_name"] == sample[f"{prefix}bucketName"]
    assert inputs["adopt_existing"] is True
    assert inputs["status"] == "enabled"
    # The sample never holds the password in clear text.
    assert "cts:password" not in sample


def test_missing_bucket_is_a_config_error() -> None:
    with pytest.raises(pulumi.ConfigMissingError) as caught:
        run_program({})
    assert "bucketName" in str(caught.value)


def _capture_tracker_props(build: Any) -> dict[str, Any]:
    mocks = ProgramMocks()
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="test")

    def program() -> pulumi.Output[Any]:
        resource = build()
        assert isinstance(resource, Tracker)
        return resource.id

    run_with_mocks(program)
    [registration] = mocks.trackers()
    return registration.inputs


def test_keyword_and_args_forms_register_identical_props() -> None:
    settings: dict[str, Any] = {
        "bucket_name": "audit-logs-eu",
        "file_prefix_name": "yO8Q",
        "is_support_trace_files_encryption": True,
        "kms_id": KMS_KEY,
        "log_file_validate": {"is_support_validate": True},
        "lts": {"is_lts_enabled": True},
        "status": "disabled",
        "project_name": "eu-de_prod",
    }
    opts = pulumi.ResourceOptions(protect=False)

    by_keywords = _capture_tracker_props(lambda: Tracker("trail", opts=opts, **settings))
    by_args = _capture_tracker_props(lambda: Tracker("trail", TrackerArgs(**settings), opts))

    assert by_keywords == by_args
    assert by_keywords["bucket_name"] == "audit-logs-eu"
    assert by_keywords["status"] == "disabled"
    assert by_keywords["project_name"] == "eu-de_prod"


def test_outputs_are_accepted_as_inputs_at_any_depth() -> None:
    """Inputs may be Outputs of other resources, also inside the nested switches."""
    bucket = pulumi.Output.from_input("audit-logs-eu")
    validate = pulumi.Output.from_input(True)

    props = _capture_tracker_props(
        lambda: Tracker("trail", bucket_name=bucket, log_file_validate={"is_support_validate": validate})
    )

    assert props["bucket_name"] == "audit-logs-eu"
    assert props["log_file_validate"] == {"is_support_validate": True}


def test_a_misspelt_argument_is_named() -> None:
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(ProgramMocks(), project=PROJECT, stack="test")
    with pytest.raises(TypeError, match="bucket_nmae"):
        Tracker("trail", bucket_nmae="audit-logs-eu")  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        Tracker("trail", TrackerArgs(bucket_name="audit-logs-eu"), status="enabled")  # type: ignore[call-overload]


def _load_pipeline() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cts_example_pipeline", EXAMPLE_DIR / "pipeline.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pipeline_imports_without_the_cli_and_explains_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline = _load_pipeline()
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no `pulumi` anywhere

    code = pipeline.main(
        ["--stack", "ci", "--bucket-name", "audit-logs-eu"],
        environ={"OS_REGION_NAME": "eu-de", "OS_PASSWORD": PASSWORD},
    )

    assert code == 2
    err = capsys.readouterr().err
    assert "https://www.pulumi.com/docs/install/" in err
    assert PASSWORD not in err


def test_pipeline_config_marks_the_password_secret() -> None:
    pipeline = _load_pipeline()
    config = pipeline.provider_config(
        {"OS_REGION_NAME": "eu-de", "OS_USER_DOMAIN_NAME": "OTC-EU-DE-1", "OS_USERNAME": "ci", "OS_PASSWORD": PASSWORD}
    )

    assert config["cts:password"].secret is True
    assert config["cts:password"].value == PASSWORD
    assert config["cts:domainName"].value == "OTC-EU-DE-1"
    assert config["cts:region"].secret is False
    keys = pipeline.provider_config({"OS_REGION_NAME": "eu-de", "OS_ACCESS_KEY": "AK", "OS_SECRET_KEY": "SK"})
    assert keys["cts:secretKey"].secret is True and keys["cts:accessKey"].secret is False
    with pytest.raises(pipeline.PipelineError, match="OS_REGION_NAME"):
        pipeline.provider_config({"OS_PASSWORD": PASSWORD})


def test_provider_pickles_without_state() -> None:
    provider = TrackerProvider()
    restored = pickle.loads(pickle.dumps(provider))
    assert type(restored) is TrackerProvider
    assert repr(restored) == "TrackerProvider()"
