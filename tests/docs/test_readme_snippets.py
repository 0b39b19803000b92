"""Every shell and Python snippet of README.md and examples/*/README.md that can run without a cloud
account runs here, so the documentation cannot drift from the code.

How a fenced block is run, by language:
- Python that declares resources or exports (a program) runs as a Pulumi program under
  `pulumi.runtime.set_mocks`, where each resource goes through the real provider (`check`, then
  `create`) against the emulator: a snippet the provider would reject fails here.
- Other Python (a script) runs as written in a fresh interpreter, with `OS_*` pointing at the emulator.
- Shell runs as written with bash in a directory that links to this checkout (so `.venv/bin/...` and
  `python3 scripts/dev.py ...` work as in a fresh clone and nothing is written into the checkout), with
  no cloud settings and without the virtualenv on PATH.
- clouds.yaml examples are written where their first line says and resolved like the provider does.
Blocks without a language are output samples or synopses and are not run (the emulator's console
transcript is compared with what it prints), nor is other YAML (a pipeline step; the complete pipeline
files in examples/ci/ are checked by test_ci_examples.py). A new block is picked up on its own; one that
cannot run here goes into SKIPPED or EXPECTED_TO_FAIL with the reason.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dill
import pulumi
import pytest
from pulumi.dynamic import Config, ConfigureRequest, ResourceProvider
from pulumi.runtime import rpc
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.config import set_all_config

from pulumi_cts.emulator import Emulator
from pulumi_cts.settings import resolve

from .snippets import PYTHON_LANGUAGES, ROOT, SHELL_LANGUAGES, Snippet, all_snippets

NEEDS_CLI = "needs the Pulumi CLI, which is not installed here (tests/integration/test_pulumi_cli.py runs the demo)"
NEEDS_CLOUD = "needs a real Open Telekom Cloud account and OBS bucket"

SKIPPED: dict[str, str] = {
    "README.md: pip install '.[policy]'            # pulumi-cts with pulumi-policy, from a checkout": "installs "
    "into the current environment; the test extra installs the policy extra into the suite's virtualenv",
    "README.md: pulumi preview --policy-pack policy-pack": NEEDS_CLI,
    "README.md: cd policy-pack && pulumi policy publish my-org": f"{NEEDS_CLI}; needs a Pulumi Cloud organization",
    "README.md: .venv/bin/pulumi-cts local preview --policy-pack policy-pack --policy-pack-config policy-config.json": (
        "needs the stack's cts:* settings and a policy-config.json; tests/policy/test_local_runner.py runs the "
        "same command against the emulator"
    ),
    "README.md: from pulumi_policy import EnforcementLevel, PolicyPack": "a policy pack's __main__.py, which serves "
    "until stopped; tests/policy/test_readme_compliance.py starts it as a pack and queries it",
    "README.md: python3 scripts/dev.py demo   # the example stack against the embedded emulator: create, update, "
    "drift, destroy": "test runs this very suite (.ci/run runs it as written); the demo runs as written in "
    "tests/local/test_demo.py",
    "README.md: pip install .                      # from a checkout; or list the checkout's path or git URL in "
    "requirements.txt": "installs into the current environment; scripts/check_release.py installs the built "
    "wheel into a fresh virtualenv instead",
    "README.md: from pulumi_cts import Tracker, TrackerArgs": (
        "fragment: `bucket` and `key` are the reader's own OBS bucket and KMS key resources"
    ),
    "README.md: pulumi config set cts:region eu-de": NEEDS_CLI,
    "README.md: export OS_CLOUD=otc        # or: pulumi config set cts:cloud otc": NEEDS_CLI,
    "README.md: export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...          # an OBS access key pair": (
        f"{NEEDS_CLI}; {NEEDS_CLOUD}"
    ),
    "README.md: python3 scripts/dev.py test        # tests (pytest; arguments are passed on)": (
        "the development jobs: .ci/run runs test, lint and release-check as written; bench takes minutes; "
        "tests/local/test_demo.py runs the demo"
    ),
    "README.md: PULUMI_CTS_STATEFUL_EXAMPLES=300 PULUMI_CTS_STATEFUL_STEPS=50 \\": (
        "the long run of the stateful test takes minutes; tests/reliability/test_stateful.py runs the same test "
        "with fewer examples in the suite"
    ),
    "README.md: from pathlib import Path": (
        "a user's pytest file, not a script: tests/local/test_readme.py runs it with pytest in a project of its own"
    ),
    "examples/composed-stack/README.md: pulumi stack init dev": f"{NEEDS_CLI}; {NEEDS_CLOUD}",
    "examples/composed-stack/README.md: .venv/bin/pulumi-cts local up --cwd examples/composed-stack \\": (
        "a template with the emulator's port and the remaining cts:* settings left out; "
        "tests/local/test_composed_stack.py runs the same program with the same stand-ins and config through LocalStack"
    ),
    "examples/pulumi-project/README.md: python3 scripts/dev.py demo": "tests/local/test_demo.py runs the demo as "
    "written",
    "examples/pulumi-project/README.md: python3 scripts/dev.py setup                     # .venv with the package": (
        NEEDS_CLI
    ),
    "examples/pulumi-project/README.md: pulumi login                      # or your self-managed backend": (
        f"{NEEDS_CLI}; {NEEDS_CLOUD}"
    ),
    "examples/pulumi-project/README.md: export PULUMI_BACKEND_URL=... PULUMI_CONFIG_PASSPHRASE=...   # or a Pulumi "
    "Cloud token": f"{NEEDS_CLI}; {NEEDS_CLOUD}",
}

# Snippets that run here but must stop with an explanation, because what they drive is absent.
EXPECTED_TO_FAIL: dict[str, tuple[str, str]] = {
    "README.md: OS_PASSWORD=... .venv/bin/python examples/pulumi-project/pipeline.py --stack prod": (
        "The Pulumi CLI was not found on PATH",
        "the Automation API drives the Pulumi CLI; without it the script must stop with instructions",
    ),
}

EMULATOR_REGION = "eu-de"
EMULATOR_USER = {"OS_DOMAIN_NAME": "readme-domain", "OS_USERNAME": "readme-user", "OS_PASSWORD": "readme-password"}


def _literals(pattern: str) -> list[str]:
    return sorted({m for s in all_snippets() for m in re.findall(pattern, s.code)})


# Buckets and KMS keys the snippets name exist in the emulator, so a new snippet needs no edit here.
BUCKETS = _literals(r"bucket(?:_name)?\"?\s*[:=]\s*\"([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\"")
KMS_KEYS = _literals(r"kms_id\s*=\s*\"([0-9a-f-]{36})\"")


def _runs_here(snippet: Snippet) -> bool:
    return snippet.language in PYTHON_LANGUAGES | SHELL_LANGUAGES or _is_clouds_file(snippet)


def _is_clouds_file(snippet: Snippet) -> bool:
    return snippet.language == "yaml" and snippet.first_line.startswith("# ~/.config/openstack/")


def _is_program(code: str) -> bool:
    return bool(re.search(r"\bpulumi\.export\(|\b(?:Tracker|DataTracker|Notification)\(|\bget_traces_output\(", code))


RUNNABLE = [s for s in all_snippets() if _runs_here(s)]


@pytest.fixture(scope="module")
def _emulator_server() -> Iterator[Emulator]:
    with Emulator(buckets=BUCKETS, kms_keys=KMS_KEYS, host="127.0.0.1", port=0) as emulator:
        yield emulator


@pytest.fixture
def emulator(_emulator_server: Emulator) -> Emulator:
    _emulator_server.control.reset()
    return _emulator_server


def emulator_environment(emulator: Emulator) -> dict[str, str]:
    return {"OS_AUTH_URL": emulator.base_url, "OS_REGION_NAME": EMULATOR_REGION, **EMULATOR_USER}


def clean_environment() -> dict[str, str]:
    """This process's environment without cloud settings and without the virtualenv on PATH (a fresh shell)."""
    venv_bin = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "CTS_", "PULUMI_", "VIRTUAL_ENV"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p and p != venv_bin)
    return env


def clone_view(where: Path) -> Path:
    """A directory with a link to every top-level entry of the checkout: commands see a clone, writes stay here."""
    where.mkdir()
    for entry in ROOT.iterdir():
        if entry.name != ".git":
            (where / entry.name).symlink_to(entry)
    return where


# --- resources through the real provider under mocks -----------------------------------------------------


@dataclass
class ProviderMocks(pulumi.runtime.Mocks):
    """Stands in for the engine: each dynamic resource is checked and created by its own provider."""

    config: dict[str, Any]
    created: list[tuple[str, str]] = field(default_factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        inputs = dict(args.inputs)
        provider = dill.loads(base64.b64decode(rpc.unwrap_rpc_secret(inputs["__provider"])))
        assert isinstance(provider, ResourceProvider), args.typ
        provider.configure(ConfigureRequest(Config(self.config, "readme")))
        checked = provider.check({}, inputs)
        failures = [f"{f.property}: {f.reason}" for f in checked.failures or []]
        assert not failures, f"{args.typ} {args.name!r} fails check: {failures}"
        result = provider.create(checked.inputs)
        self.created.append((args.typ, result.id))
        return result.id, dict(result.outs or {})

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        raise AssertionError(f"no invokes expected, got {args.token}")


@pytest.fixture
def pulumi_runtime() -> Iterator[None]:
    yield
    set_all_config({})
    runtime_settings.reset_options()


def run_program(code: str, where: str, emulator: Emulator) -> ProviderMocks:
    config = {
        "cts:authUrl": emulator.base_url,
        "cts:region": EMULATOR_REGION,
        "cts:domainName": EMULATOR_USER["OS_DOMAIN_NAME"],
        "cts:userName": EMULATOR_USER["OS_USERNAME"],
        "cts:password": EMULATOR_USER["OS_PASSWORD"],
    }
    set_all_config(config, ["cts:password"])
    mocks = ProviderMocks(config=config)
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project="readme", stack="snippets", preview=False)
    exports: dict[str, Any] = {}

    def program() -> pulumi.Output[None]:
        exec(compile(code, where, "exec"), {"__name__": "__main__"})
        outputs: dict[str, Any] = getattr(runtime_settings.get_root_resource(), "outputs", {})
        return pulumi.Output.all(**outputs).apply(exports.update)

    # What @pulumi.runtime.test does: run the program, wait for the Output it returns, raise its errors.
    decorate: Callable[[Callable[[], Any]], Callable[[], None]] = pulumi.runtime.test
    decorate(program)()
    return mocks


# --- the tests -----------------------------------------------------------------------------------------


def test_snippets_are_found() -> None:
    languages = {s.language for s in RUNNABLE}
    assert {"python", "bash", "sh", "yaml"} <= languages
    assert len(RUNNABLE) >= 20


def test_a_snippet_that_runs_the_suite_is_refused_not_run(tmp_path: Path) -> None:
    snippet = Snippet(ROOT / "README.md", 1, "bash", "python3 scripts/dev.py test   # the test suite\n")
    with pytest.raises(AssertionError, match="runs the test suite"):
        run_as_written(["false"], snippet, tmp_path, clean_environment())
    assert not (tmp_path / "clone").exists()


def test_every_skip_names_a_snippet_that_exists() -> None:
    keys = {s.key for s in RUNNABLE}
    assert set(SKIPPED) - keys == set(), "skip-list entries whose snippet changed or is gone"
    assert set(EXPECTED_TO_FAIL) - keys == set()


@pytest.mark.usefixtures("pulumi_runtime")
@pytest.mark.parametrize("snippet", RUNNABLE, ids=[s.where for s in RUNNABLE])
def test_snippet_runs(snippet: Snippet, emulator: Emulator, tmp_path: Path) -> None:
    if snippet.key in SKIPPED:
        pytest.skip(SKIPPED[snippet.key])
    if _is_clouds_file(snippet):
        run_clouds_file(snippet, tmp_path)
    elif snippet.language in PYTHON_LANGUAGES and _is_program(snippet.code):
        mocks = run_program(snippet.code, snippet.where, emulator)
        assert mocks.created, "the program declared no resource"
        created = [r for r in emulator.control.requests(service="cts") if r["method"] == "POST"]
        assert len(created) >= len(mocks.created) and all(r["status"] in (200, 201, 204) for r in created)
    elif snippet.language in PYTHON_LANGUAGES:
        env = {**clean_environment(), **emulator_environment(emulator)}
        run_as_written([sys.executable, "-c", snippet.code], snippet, tmp_path, env)
    else:
        run_as_written(["bash", "-e", "-o", "pipefail", "-c", snippet.code], snippet, tmp_path, clean_environment())


# Commands that run this suite: run from inside it, they would start it again and again.
RUNS_THE_SUITE = re.compile(r"scripts/dev\.py\s+test\b|\.ci/run\b|-m\s+pytest\s+tests/docs\b")


def run_as_written(command: list[str], snippet: Snippet, tmp_path: Path, env: dict[str, str]) -> None:
    assert not RUNS_THE_SUITE.search(snippet.code), (
        f"{snippet.where} runs the test suite, which cannot run inside itself: add it to SKIPPED with the reason"
    )
    expected = EXPECTED_TO_FAIL.get(snippet.key)
    if expected is not None and shutil.which("pulumi", path=env.get("PATH")):
        pytest.skip("the Pulumi CLI is installed: the expected failure does not apply")
    log = tmp_path / "output.txt"
    with log.open("w", encoding="utf-8") as out:
        # A session of its own: whatever the snippet leaves running in the background is stopped below.
        process = subprocess.Popen(
            command,
            cwd=clone_view(tmp_path / "clone"),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            returncode = process.wait(timeout=300)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    output = log.read_text(encoding="utf-8")
    assert "Traceback" not in output, output
    if expected is None:
        assert returncode == 0, f"{snippet.where} exited with {returncode}:\n{output}"
    else:
        assert returncode != 0 and expected[0] in output, output


def run_clouds_file(snippet: Snippet, tmp_path: Path) -> None:
    """Write every clouds.yaml example where its first line says (under a new home) and resolve `OS_CLOUD`."""
    home = tmp_path / "home"
    for other in RUNNABLE:
        if _is_clouds_file(other) and other.path == snippet.path:
            target = home / other.first_line.removeprefix("# ~/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(other.code, encoding="utf-8")
    cwd = tmp_path / "project"
    cwd.mkdir()
    settings = resolve(lambda key: None, {"OS_CLOUD": "otc"}, cwd=cwd, home=home)
    settings.check_credentials()
    assert settings.get("password") and settings.source_of("password").startswith("clouds.yaml")
    assert settings.auth_url_for(settings.default_scope()).endswith("/v3")


def test_emulator_transcript_matches_what_it_prints(tmp_path: Path) -> None:
    """The emulator's console output shown in README.md, up to the first request line, is what it prints."""
    (transcript,) = [s for s in all_snippets() if s.language == "" and s.first_line.startswith("$ ")]
    command, *shown = transcript.code.splitlines()
    shown = shown[: next(i for i, line in enumerate(shown) if line.startswith("cts emulator: serving")) + 1]
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            ["bash", "-c", command.removeprefix("$ ")],
            cwd=clone_view(tmp_path / "clone"),
            env=clean_environment(),
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while "cts emulator: serving" not in err.read_text() and time.monotonic() < deadline:
                assert process.poll() is None, err.read_text()
                time.sleep(0.1)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
    url = out.read_text().splitlines()[0]
    documented_url = shown[0]
    printed = [url, *err.read_text().splitlines()]
    assert printed[: len(shown)] == [line.replace(documented_url, url) for line in shown]
