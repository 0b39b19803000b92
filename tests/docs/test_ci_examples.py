"""The pipeline files in examples/ci/: valid against their published JSON schemas (the copies that
check-jsonschema ships, so no network), and doing what README "Running in pipelines" says they do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / "examples" / "ci" / "github-actions.yml"
GITLAB = ROOT / "examples" / "ci" / "gitlab-ci.yml"
SCHEMAS = {GITHUB: "vendor.github-workflows", GITLAB: "vendor.gitlab-ci"}
SECRET_VARIABLES = ("OS_PASSWORD", "AWS_SECRET_ACCESS_KEY", "PULUMI_CONFIG_PASSPHRASE")


def validate(path: Path, schema: str) -> subprocess.CompletedProcess[str]:
    # A proxy that refuses every connection: the schema must come from the vendored copy.
    env = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("path", [GITHUB, GITLAB], ids=["github", "gitlab"])
def test_pipeline_file_matches_its_published_schema(path: Path) -> None:
    result = validate(path, SCHEMAS[path])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("path", "schema", "breakage"),
    [
        (GITHUB, "vendor.github-workflows", lambda doc: doc["jobs"]["pulumi"].pop("runs-on")),
        (GITLAB, "vendor.gitlab-ci", lambda doc: doc["up"].update(when="sometimes")),
    ],
    ids=["github", "gitlab"],
)
def test_schema_check_rejects_a_broken_copy(path: Path, schema: str, breakage: Any, tmp_path: Path) -> None:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    breakage(document)
    broken = tmp_path / path.name
    broken.write_text(yaml.safe_dump(document), encoding="utf-8")
    assert validate(broken, schema).returncode != 0


def test_github_workflow_previews_pull_requests_and_deploys_main() -> None:
    workflow = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as a boolean
    assert triggers["pull_request"]["branches"] == ["main"] and triggers["push"]["branches"] == ["main"]
    steps = {step.get("name", step.get("uses")): step for step in workflow["jobs"]["pulumi"]["steps"]}
    assert "pulumi-cts doctor --json" in steps["Check CTS settings and credentials"]["run"]
    assert "pip install" in steps["Install pulumi-cts into the project's virtualenv"]["run"]
    assert steps["Preview"]["if"] == "github.event_name == 'pull_request'"
    assert "pulumi preview" in steps["Preview"]["run"]
    assert "refs/heads/main" in steps["Deploy"]["if"] and "pulumi up" in steps["Deploy"]["run"]
    assert_state_in_obs_and_secrets_from_the_store(workflow["env"], "${{ secrets.")


def test_gitlab_pipeline_previews_merge_requests_and_deploys_the_default_branch() -> None:
    pipeline = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    assert any("pulumi-cts doctor --json" in line for line in pipeline["doctor"]["script"])
    assert any("pip install" in line for line in pipeline["default"]["before_script"])
    assert pipeline["preview"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert any(line.startswith("pulumi preview") for line in pipeline["preview"]["script"])
    assert pipeline["up"]["rules"] == [{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"}]
    assert any(line.startswith("pulumi up") for line in pipeline["up"]["script"])
    # Secrets are CI/CD variables of the project: the file defines none of them.
    assert_state_in_obs_and_secrets_from_the_store(pipeline["variables"], None)


def assert_state_in_obs_and_secrets_from_the_store(variables: dict[str, str], secret_prefix: str | None) -> None:
    backend = variables["PULUMI_BACKEND_URL"]
    assert backend.startswith("s3://") and "endpoint=obs." in backend and "s3ForcePathStyle=true" in backend
    for name in SECRET_VARIABLES:
        if secret_prefix is None:
            assert name not in variables
        else:
            assert variables[name].startswith(secret_prefix), name


def test_readme_points_at_both_files() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Running in pipelines", 1)[1].split("\n## ", 1)[0]
    assert "examples/ci/github-actions.yml" in section and "examples/ci/gitlab-ci.yml" in section
