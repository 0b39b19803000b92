"""Release metadata: one version, an SPDX license with its file, and a release check that catches warnings."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

import pulumi_cts

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11 on")

ROOT = Path(__file__).resolve().parents[2]


def load_release_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_release", ROOT / "scripts" / "check_release.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("check_release", module)
    spec.loader.exec_module(module)
    return module


def test_version_has_one_home() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "pulumi_cts.__version__"}
    assert load_release_check().project_version() == pulumi_cts.__version__
    assert f"## [{pulumi_cts.__version__}]" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def test_license_is_an_spdx_expression_with_its_file() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text and "APPENDIX: How to apply the Apache License" in text


def test_release_check_flags_metadata_warnings_and_not_the_machine_s() -> None:
    warnings_in = load_release_check().warnings_in
    # What setuptools printed for the former `license = { text = ... }` table.
    log = (
        "running egg_info\n"
        "WARNING `project.license` as a TOML table is deprecated\n"
        "WARNING: Location 'file:///opt/pypi/simple/pip/' is ignored: it is neither a file nor a directory.\n"
        "SetuptoolsDeprecationWarning: License classifiers are deprecated.\n"
        "adding 'pulumi_cts/__init__.py'\n"
    )
    assert warnings_in(log) == [
        "WARNING `project.license` as a TOML table is deprecated",
        "SetuptoolsDeprecationWarning: License classifiers are deprecated.",
    ]
