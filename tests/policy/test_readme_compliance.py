"""The README's "Compliance" section: its table matches the pack, and its snippets run."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest

from pulumi_cts.policy_client import PolicyAnalyzer, resolve_policy_config
from tests.policy.conftest import PACK_DIR
from tests.support import REPO_ROOT

README = REPO_ROOT / "README.md"


def section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Compliance\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section(), flags=re.DOTALL)


def test_the_table_lists_every_policy_with_its_default_level(pack: PolicyAnalyzer) -> None:
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([a-z-]+)`[^|]*\| (\w+)", section(), re.MULTILINE)}

    assert rows == {p.name: p.enforcement_level for p in pack.info.policies}
    for policy in pack.info.policies:
        for key in policy.config_schema:
            assert f"`{key}`" in section(), key


def test_the_policy_config_example_fits_the_pack(pack: PolicyAnalyzer) -> None:
    (example,) = blocks("json")
    config = json.loads(example)

    resolved = pack.configure(config)

    assert resolved == resolve_policy_config(pack.info, config)
    assert resolved["cts-trace-file-validation"][0] == "remediate"
    assert resolved["cts-trace-bucket-protected"] == ("mandatory", {"minimum_retention_days": 365})


def test_the_python_client_snippet_prints_the_violations(monkeypatch: pytest.MonkeyPatch) -> None:
    client_snippet = next(b for b in blocks("python") if "PolicyAnalyzer" in b)
    monkeypatch.chdir(PACK_DIR.parent)
    printed = io.StringIO()

    with contextlib.redirect_stdout(printed):
        exec(compile(client_snippet, "README.md", "exec"), {})

    lines = printed.getvalue().splitlines()
    assert lines[0].startswith("mandatory: pulumi-cts/cts-tracker-enabled: Tracker 'audit-trail'")
    assert any(line.startswith("mandatory: pulumi-cts/cts-trace-files-encrypted:") for line in lines)
    assert not any("cts-trace-file-validation" in line for line in lines)  # disabled by its config


def test_the_own_pack_snippet_serves_a_pack(tmp_path: Path) -> None:
    pack_snippet = next(b for b in blocks("python") if "PolicyPack(" in b)
    folder = tmp_path / "acme"
    folder.mkdir()
    (folder / "PulumiPolicy.yaml").write_text("runtime: python\n")
    (folder / "__main__.py").write_text(pack_snippet)

    with PolicyAnalyzer(folder) as pack:
        assert pack.info.name == "acme-compliance"
        assert len(pack.info.policies) == 7
        assert pack.config["cts-trace-file-validation"][0] == "mandatory"
