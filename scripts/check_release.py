#!/usr/bin/env python3
"""Release check: build the sdist and wheel, check their metadata, install the wheel into a fresh
virtualenv and smoke-test the installed package. Run it as `python3 scripts/dev.py release-check`.

Fails on any build or install warning caused by this project's metadata, on a `twine check --strict`
complaint, on a version that is not `pulumi_cts.__version__`, and on a LICENSE missing from either file.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import venv
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LICENSE = ROOT / "LICENSE"
BUCKET = "release-check-bucket"

# Lines that say "warning" but come from the machine, not from this project's metadata.
ENVIRONMENT_WARNINGS = (
    # pip configured with a find-links or index directory that does not exist on this machine.
    re.compile(r"^WARNING: Location '.*' is ignored"),
)


class ReleaseCheckError(Exception):
    """A release check failed; the message says which and why."""


def project_version() -> str:
    """`__version__` from the package source, read without importing the package."""
    text = (ROOT / "pulumi_cts" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.MULTILINE)
    if match is None:
        raise ReleaseCheckError('pulumi_cts/__init__.py has no __version__ = "..." line')
    return match.group(1)


def warnings_in(output: str) -> list[str]:
    """The warning lines of a build or install log that are not explained by the machine's setup."""
    found = []
    for line in output.splitlines():
        if "warn" not in line.lower():
            continue
        if any(pattern.search(line.strip()) for pattern in ENVIRONMENT_WARNINGS):
            continue
        found.append(line.strip())
    return found


def run(command: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 900) -> str:
    completed = subprocess.run(
        list(command), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = completed.stdout + completed.stderr
    if completed.returncode != 0:
        raise ReleaseCheckError(f"`{' '.join(command)}` exited with {completed.returncode}:\n{output}")
    return output


def build_env() -> dict[str, str]:
    env = dict(os.environ)
    # With it set, setuptools warns that it cannot byte-compile: a property of the shell, not of the project.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def build(out_dir: Path) -> tuple[Path, Path]:
    """The sdist, and the wheel built from that sdist (so the sdist is known to be complete)."""
    output = run([sys.executable, "-m", "build", "--outdir", str(out_dir), str(ROOT)], cwd=ROOT, env=build_env())
    warnings = warnings_in(output)
    if warnings:
        raise ReleaseCheckError("python -m build warned:\n  " + "\n  ".join(warnings))
    sdists, wheels = sorted(out_dir.glob("*.tar.gz")), sorted(out_dir.glob("*.whl"))
    if len(sdists) != 1 or len(wheels) != 1:
        raise ReleaseCheckError(f"expected one sdist and one wheel in {out_dir}, found {sdists + wheels}")
    print(f"ok: built {sdists[0].name} and {wheels[0].name} without warnings")
    return sdists[0], wheels[0]


def check_metadata(sdist: Path, wheel: Path, version: str) -> None:
    run([sys.executable, "-m", "twine", "check", "--strict", str(sdist), str(wheel)], cwd=ROOT)
    print("ok: twine check --strict")
    license_text = LICENSE.read_bytes()
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        licenses = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        if not licenses or archive.read(licenses[0]) != license_text:
            raise ReleaseCheckError(f"{wheel.name} does not carry LICENSE as dist-info/licenses/LICENSE")
    with tarfile.open(sdist) as archive:
        member = next((m for m in archive.getmembers() if m.name.count("/") == 1 and m.name.endswith("/LICENSE")), None)
        extracted = archive.extractfile(member) if member is not None else None
        if extracted is None or extracted.read() != license_text:
            raise ReleaseCheckError(f"{sdist.name} does not carry LICENSE at its top level")
    fields = dict(line.split(": ", 1) for line in metadata.split("\n\n", 1)[0].splitlines() if ": " in line)
    expected = {"Version": version, "License-Expression": "Apache-2.0", "License-File": "LICENSE"}
    wrong = {key: fields.get(key) for key, value in expected.items() if fields.get(key) != value}
    if wrong:
        raise ReleaseCheckError(f"wheel metadata differs from {expected}: {wrong}")
    if f"## [{version}]" not in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"):
        raise ReleaseCheckError(f"CHANGELOG.md has no section for version {version}")
    print(f"ok: metadata Version {version}, License-Expression Apache-2.0, LICENSE in sdist and wheel, CHANGELOG entry")


def fresh_virtualenv(where: Path, wheel: Path) -> Path:
    """A new virtualenv with the wheel (and its dependencies) installed; returns its bin directory."""
    venv.EnvBuilder(with_pip=True).create(where)
    bin_dir = where / ("Scripts" if os.name == "nt" else "bin")
    output = run([str(bin_dir / "python"), "-m", "pip", "install", str(wheel)], cwd=where, env=build_env())
    warnings = warnings_in(output)
    if warnings:
        raise ReleaseCheckError("installing the wheel warned:\n  " + "\n  ".join(warnings))
    print(f"ok: installed {wheel.name} into a fresh virtualenv without warnings")
    return bin_dir


def clean_env() -> dict[str, str]:
    """The environment without cloud settings of the machine and without this checkout on the path."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "CTS_", "PULUMI_")) and k != "PYTHONPATH"}


@contextmanager
def emulator(bin_dir: Path, log: Path) -> Iterator[str]:
    """The installed package's emulator, started in a process of its own; yields its base URL."""
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [str(bin_dir / "python"), "-m", "pulumi_cts.emulator", "--bucket", BUCKET],
            cwd=log.parent,
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            if not url.startswith("http://127.0.0.1:"):
                raise ReleaseCheckError(f"the emulator did not print its URL first:\n{log.read_text()}")
            yield url
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def smoke(bin_dir: Path, work: Path, version: str) -> None:
    """Import, `pulumi-cts --help` and `pulumi-cts doctor --json` against the emulator, all from the wheel."""
    python = str(bin_dir / "python")
    shown = run(
        [python, "-c", "import pulumi_cts; print(pulumi_cts.__version__); print(pulumi_cts.__file__)"],
        cwd=work,
        env=clean_env(),
    ).split()
    if shown[0] != version or not Path(shown[1]).resolve().is_relative_to(bin_dir.parent.resolve()):
        raise ReleaseCheckError(f"the import did not come from the installed wheel at version {version}: {shown}")
    print(f"ok: import pulumi_cts {version} from {shown[1]}")
    cli = str(bin_dir / "pulumi-cts")
    help_text = run([cli, "--help"], cwd=work, env=clean_env())
    if "doctor" not in help_text or "emulator" not in help_text:
        raise ReleaseCheckError(f"pulumi-cts --help does not list doctor and emulator:\n{help_text}")
    print("ok: pulumi-cts --help")
    with emulator(bin_dir, work / "emulator.log") as url:
        settings = {
            "OS_AUTH_URL": url,
            "OS_REGION_NAME": "eu-de",
            "OS_DOMAIN_NAME": "release-check",
            "OS_USERNAME": "release-check",
            "OS_PASSWORD": "release-check-password",
        }
        report = run([cli, "doctor", "--json"], cwd=work, env={**clean_env(), **settings}, timeout=120)
        result = json.loads(report)
        if result.get("result") != "ok" or [c["result"] for c in result["checks"]] != ["ok", "ok", "ok"]:
            raise ReleaseCheckError(f"pulumi-cts doctor --json against the emulator did not pass:\n{report}")
        if settings["OS_PASSWORD"] in report:
            raise ReleaseCheckError("pulumi-cts doctor --json printed the password")
        print(f"ok: pulumi-cts doctor --json against the installed emulator at {url}")
        run_example_through_local_runner(bin_dir, work, url)


def run_example_through_local_runner(bin_dir: Path, work: Path, emulator_url: str) -> None:
    """The example stack, `up` then `preview --expect-no-changes` then `destroy`, through `pulumi-cts local`.

    Uses the local runner's documented command line (no Pulumi CLI needed). A build whose `pulumi-cts` has
    no `local` command says so and skips this step.
    """
    cli = str(bin_dir / "pulumi-cts")
    commands = subprocess.run([cli, "--help"], capture_output=True, text=True, env=clean_env(), check=False).stdout
    if not re.search(r"^\s+local\s", commands, re.MULTILINE):
        print("skip: the example through the local runner (this build has no `pulumi-cts local` command)")
        return
    settings = [
        f"cts:authUrl={emulator_url}/v3",
        "cts:region=eu-de",
        "cts:domainName=release-check",
        "cts:userName=release-check",
        f"bucketName={BUCKET}",
    ]
    # The example program in a project of its own whose virtualenv is the one the wheel went into, so the
    # program and its provider process import the built package, not this checkout's.
    project = work / "example"
    shutil.copytree(
        ROOT / "examples" / "pulumi-project", project, ignore=shutil.ignore_patterns(".venv", "__pycache__")
    )
    (project / "Pulumi.yaml").write_text(
        "name: pulumi-cts-example\n"
        f"runtime:\n  name: python\n  options:\n    virtualenv: {json.dumps(str(bin_dir.parent))}\n"
    )
    common = ["--cwd", str(project), "--stack", "release-check", "--state-dir", str(work / "state")]
    common += [f"--config={item}" for item in settings] + ["--secret=cts:password=release-check-password"]
    for operation, extra in (("up", []), ("preview", ["--expect-no-changes"]), ("destroy", [])):
        run([cli, "local", operation, *common, *extra], cwd=work, env=clean_env(), timeout=600)
        print(f"ok: pulumi-cts local {operation} of the example")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--keep", action="store_true", help="keep the build and virtualenv directory")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="pulumi-cts-release-"))
    try:
        version = project_version()
        sdist, wheel = build(work / "dist")
        check_metadata(sdist, wheel, version)
        bin_dir = fresh_virtualenv(work / "venv", wheel)
        smoke_dir = work / "smoke"
        smoke_dir.mkdir()
        smoke(bin_dir, smoke_dir, version)
    except ReleaseCheckError as exc:
        print(f"release check FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("release check passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
