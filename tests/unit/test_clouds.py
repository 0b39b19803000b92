"""Tests for finding and reading clouds.yaml entries (pulumi_cts.clouds)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from pulumi_cts.clouds import (
    CONFIG_FILE_NAMES,
    SECURE_FILE_NAMES,
    CloudEntry,
    CloudsConfigError,
    candidate_paths,
    find_cloud,
    load_cloud,
)

PASSWORD = "s3cr3t-Pa55word"
SECRET_KEY = "SK-very-secret-value"


@dataclass
class Dirs:
    cwd: Path
    home: Path
    etc: Path

    @property
    def user(self) -> Path:
        return self.home / ".config" / "openstack"

    def load(self, name: str, environ: Mapping[str, str] | None = None) -> CloudEntry:
        return load_cloud(name, environ or {}, self.cwd, self.home, system_dir=self.etc)


@pytest.fixture
def dirs(tmp_path: Path) -> Dirs:
    result = Dirs(cwd=tmp_path / "project", home=tmp_path / "home", etc=tmp_path / "etc" / "openstack")
    for directory in (result.cwd, result.user, result.etc):
        directory.mkdir(parents=True)
    return result


def write(path: Path, clouds: Mapping[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"clouds": dict(clouds)}), encoding="utf-8")
    return path


def values_of(dirs: Dirs, cloud: Mapping[str, Any], name: str = "c") -> dict[str, str]:
    write(dirs.cwd / "clouds.yaml", {name: cloud})
    return dict(dirs.load(name).values)


# --- search order --------------------------------------------------------------------------------


def test_candidate_paths_order(tmp_path: Path) -> None:
    cwd, home, etc = tmp_path / "cwd", tmp_path / "home", tmp_path / "etc"
    paths = candidate_paths("clouds", {}, cwd, home, system_dir=etc)
    expected_dirs = [cwd, home / ".config" / "openstack", etc]
    assert paths == [d / name for d in expected_dirs for name in CONFIG_FILE_NAMES]
    assert CONFIG_FILE_NAMES[:2] == ("clouds.yaml", "clouds.yml")


def test_candidate_paths_default_system_dir(tmp_path: Path) -> None:
    paths = candidate_paths("secure", {}, tmp_path, tmp_path / "home")
    assert paths[-len(SECURE_FILE_NAMES) :] == [Path("/etc/openstack") / name for name in SECURE_FILE_NAMES]
    assert SECURE_FILE_NAMES[:2] == ("secure.yaml", "secure.yml")


def test_candidate_paths_environment_file_first(tmp_path: Path) -> None:
    environ = {"OS_CLIENT_CONFIG_FILE": "conf/my-clouds.yaml", "OS_CLIENT_SECURE_FILE": "~/s.yaml"}
    clouds = candidate_paths("clouds", environ, tmp_path, tmp_path / "home")
    secure = candidate_paths("secure", environ, tmp_path, tmp_path / "home")
    assert clouds[0] == tmp_path / "conf" / "my-clouds.yaml"
    assert clouds[1] == tmp_path / "clouds.yaml"
    assert secure[0] == tmp_path / "home" / "s.yaml"
    assert tmp_path / "home" / "s.yaml" not in clouds


def test_candidate_paths_xdg_config_home(tmp_path: Path) -> None:
    paths = candidate_paths("clouds", {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}, tmp_path, tmp_path / "home")
    xdg = paths.index(tmp_path / "xdg" / "openstack" / "clouds.yaml")
    assert paths.index(tmp_path / "clouds.yaml") < xdg
    assert xdg < paths.index(tmp_path / "home" / ".config" / "openstack" / "clouds.yaml")


@pytest.mark.parametrize("winner", ["env", "cwd", "user", "etc"])
def test_search_order(dirs: Dirs, winner: str) -> None:
    locations = {
        "env": dirs.cwd.parent / "elsewhere" / "named.yaml",
        "cwd": dirs.cwd / "clouds.yaml",
        "user": dirs.user / "clouds.yml",
        "etc": dirs.etc / "clouds.yaml",
    }
    order = list(locations)
    for place in order[order.index(winner) :]:
        write(locations[place], {"c": {"region_name": place}})
    environ = {"OS_CLIENT_CONFIG_FILE": str(locations["env"])}
    entry = dirs.load("c", environ)
    assert entry.values["region"] == winner
    assert entry.path == locations[winner]
    assert entry.name == "c"


def test_yaml_before_yml_in_one_directory(dirs: Dirs) -> None:
    write(dirs.cwd / "clouds.yml", {"c": {"region_name": "yml"}})
    write(dirs.cwd / "clouds.yaml", {"c": {"region_name": "yaml"}})
    assert dirs.load("c").values["region"] == "yaml"


def test_json_file(dirs: Dirs) -> None:
    (dirs.user / "clouds.json").write_text(json.dumps({"clouds": {"c": {"verify": False}}}))
    assert dirs.load("c").values == {"insecure": "true"}


def test_first_file_wins_and_files_are_not_merged(dirs: Dirs) -> None:
    write(dirs.cwd / "clouds.yaml", {"a": {"region_name": "eu-de"}})
    write(dirs.user / "clouds.yaml", {"b": {"region_name": "eu-nl"}})
    with pytest.raises(CloudsConfigError) as caught:
        dirs.load("b")
    message = str(caught.value)
    assert f"{dirs.cwd / 'clouds.yaml'} defines clouds: a." in message
    assert str(dirs.user / "clouds.yaml") not in message  # never looked at: the first file won


# --- secure.yaml ---------------------------------------------------------------------------------


def test_secure_yaml_supplies_password(dirs: Dirs) -> None:
    write(dirs.cwd / "clouds.yaml", {"otc": {"auth": {"username": "jane", "user_domain_name": "OTC0001"}}})
    write(dirs.user / "secure.yaml", {"otc": {"auth": {"password": PASSWORD}}})
    entry = dirs.load("otc")
    assert entry.values == {"user_name": "jane", "domain_name": "OTC0001", "password": PASSWORD}
    assert entry.path == dirs.cwd / "clouds.yaml"


def test_secure_yaml_is_deep_merged_over_clouds_yaml(dirs: Dirs) -> None:
    write(dirs.cwd / "clouds.yaml", {"c": {"auth": {"username": "u", "password": "old"}, "sk": "x"}})
    write(dirs.cwd / "secure.yaml", {"c": {"auth": {"password": PASSWORD}, "sk": SECRET_KEY}})
    assert dirs.load("c").values == {"user_name": "u", "password": PASSWORD, "secret_key": SECRET_KEY}


def test_secure_file_from_environment(dirs: Dirs) -> None:
    write(dirs.cwd / "clouds.yaml", {"c": {"auth": {"username": "u"}}})
    write(dirs.cwd / "secure.yaml", {"c": {"auth": {"password": "ignored"}}})
    write(dirs.home / "private" / "creds.yaml", {"c": {"auth": {"password": PASSWORD}}})
    entry = dirs.load("c", {"OS_CLIENT_SECURE_FILE": "~/private/creds.yaml"})
    assert entry.values["password"] == PASSWORD


def test_cloud_only_in_secure_yaml(dirs: Dirs) -> None:
    write(dirs.cwd / "clouds.yaml", {"other": {}})
    secure = write(dirs.etc / "secure.yaml", {"c": {"auth": {"password": PASSWORD}}})
    entry = dirs.load("c")
    assert entry.path == secure
    assert entry.values == {"password": PASSWORD}


# --- key mapping ---------------------------------------------------------------------------------


def test_every_key_of_a_full_entry(dirs: Dirs) -> None:
    cloud = {
        "profile": "otc",
        "auth": {
            "auth_url": "https://iam.eu-de.otc.t-systems.com:443/v3",
            "username": "jane",
            "password": PASSWORD,
            "project_name": "eu-de_sub",
            "project_id": "0a1b2c",
            "user_domain_name": "OTC00000000001000000xxx",
        },
        "region_name": "eu-de",
        "interface": "public",
        "identity_api_version": 3,
        "access_key": "AKVALUE",
        "secret_key": SECRET_KEY,
        "security_token": "sts-token",
        "cts_endpoint_override": "https://cts.example.com",
        "cacert": "/path/ca.pem",
        "verify": False,
    }
    assert values_of(dirs, cloud) == {
        "auth_url": "https://iam.eu-de.otc.t-systems.com:443/v3",
        "user_name": "jane",
        "password": PASSWORD,
        "project_name": "eu-de_sub",
        "project_id": "0a1b2c",
        "domain_name": "OTC00000000001000000xxx",
        "region": "eu-de",
        "access_key": "AKVALUE",
        "secret_key": SECRET_KEY,
        "security_token": "sts-token",
        "endpoint": "https://cts.example.com",
        "ca_cert": "/path/ca.pem",
        "insecure": "true",
    }


def test_legacy_tenant_keys(dirs: Dirs) -> None:
    cloud = {"auth": {"tenant_name": "eu-de", "tenant_id": "0a1b"}}
    assert values_of(dirs, cloud) == {"project_name": "eu-de", "project_id": "0a1b"}


def test_project_keys_win_over_tenant_keys(dirs: Dirs) -> None:
    cloud = {"auth": {"tenant_name": "old", "project_name": "new", "tenant_id": "1", "project_id": "2"}}
    assert values_of(dirs, cloud) == {"project_name": "new", "project_id": "2"}


@pytest.mark.parametrize(
    ("auth", "domain"),
    [
        ({"user_domain_name": "U", "domain_name": "D", "project_domain_name": "P"}, "U"),
        ({"domain_name": "D", "project_domain_name": "P"}, "D"),
        ({"project_domain_name": "P"}, "P"),
        ({"user_domain_name": "", "project_domain_name": "P"}, "P"),
    ],
)
def test_domain_name_first_present(dirs: Dirs, auth: dict[str, str], domain: str) -> None:
    assert values_of(dirs, {"auth": auth}) == {"domain_name": domain}


def test_auth_options_at_top_level(dirs: Dirs) -> None:
    cloud = {"auth_url": "https://iam/v3", "username": "u", "password": PASSWORD, "auth": {"username": "a"}}
    assert values_of(dirs, cloud) == {"auth_url": "https://iam/v3", "user_name": "a", "password": PASSWORD}


@pytest.mark.parametrize(
    ("cloud", "expected"),
    [
        ({"ak": "A1", "sk": "S1"}, {"access_key": "A1", "secret_key": "S1"}),
        ({"access_key": "A2", "secret_key": "S2"}, {"access_key": "A2", "secret_key": "S2"}),
        (
            {"ak": "A1", "sk": "S1", "access_key": "A2", "secret_key": "S2"},
            {"access_key": "A2", "secret_key": "S2"},
        ),
        ({"token": "T1"}, {"security_token": "T1"}),
        ({"token": "T1", "security_token": "T2"}, {"security_token": "T2"}),
        # auth.token is a Keystone token, not an STS token.
        ({"auth": {"token": "keystone"}}, {}),
        ({"cts_endpoint": "https://a"}, {"endpoint": "https://a"}),
        ({"cts_endpoint": "https://a", "cts_endpoint_override": "https://b"}, {"endpoint": "https://b"}),
        ({"cacert": "/ca.pem"}, {"ca_cert": "/ca.pem"}),
    ],
)
def test_top_level_keys(dirs: Dirs, cloud: dict[str, Any], expected: dict[str, str]) -> None:
    assert values_of(dirs, cloud) == expected


@pytest.mark.parametrize(
    ("cloud", "insecure"),
    [
        ({"verify": False}, "true"),
        ({"verify": True}, "false"),
        ({"insecure": True}, "true"),
        ({"insecure": False}, "false"),
        ({"insecure": "yes"}, "true"),
        ({"verify": "False"}, "true"),
        ({"insecure": False, "verify": False}, "false"),
        ({"insecure": "maybe"}, None),
        ({}, None),
    ],
)
def test_insecure(dirs: Dirs, cloud: dict[str, Any], insecure: str | None) -> None:
    assert values_of(dirs, cloud).get("insecure") == insecure


@pytest.mark.parametrize(
    ("cloud", "region"),
    [
        ({"region_name": "eu-nl"}, "eu-nl"),
        ({"regions": ["eu-nl", "eu-de"]}, "eu-nl"),
        ({"regions": [{"name": "eu-ch2"}, {"name": "eu-de"}]}, "eu-ch2"),
        ({"regions": ["eu-nl"], "region_name": "eu-de"}, "eu-de"),
        ({"region_name": "eu-de,eu-nl"}, "eu-de"),
        ({"regions": []}, None),
    ],
)
def test_region(dirs: Dirs, cloud: dict[str, Any], region: str | None) -> None:
    assert values_of(dirs, cloud).get("region") == region


def test_region_specific_values(dirs: Dirs) -> None:
    cloud = {
        "region_name": "eu-nl",
        "cts_endpoint_override": "https://cts.default",
        "regions": [
            {"name": "eu-de", "values": {"cts_endpoint_override": "https://cts.de"}},
            {"name": "eu-nl", "values": {"cts_endpoint_override": "https://cts.nl"}},
        ],
    }
    assert values_of(dirs, cloud) == {"region": "eu-nl", "endpoint": "https://cts.nl"}


def test_numbers_are_kept_as_written(dirs: Dirs) -> None:
    path = dirs.cwd / "clouds.yaml"
    path.write_text(
        "clouds:\n  c:\n    auth:\n      password: 012345\n      project_id: 1234\n      username: 1.50\n"
        "    ak: 2019-11-15\n"
    )
    assert dict(dirs.load("c").values) == {
        "password": "012345",
        "project_id": "1234",
        "user_name": "1.50",
        "access_key": "2019-11-15",
    }


# --- vendor profiles -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cloud", "expected"),
    [
        (
            {"profile": "otc", "region_name": "eu-nl"},
            {"region": "eu-nl", "auth_url": "https://iam.eu-nl.otc.t-systems.com/v3"},
        ),
        (
            {"profile": "otc", "regions": [{"name": "eu-de"}]},
            {"region": "eu-de", "auth_url": "https://iam.eu-de.otc.t-systems.com/v3"},
        ),
        ({"profile": "otc"}, {}),
        (
            {"profile": "otc", "region_name": "eu-de", "auth": {"auth_url": "https://iam.example/v3"}},
            {"region": "eu-de", "auth_url": "https://iam.example/v3"},
        ),
        (
            {"profile": "otc-swiss"},
            {"region": "eu-ch2", "auth_url": "https://iam-pub.eu-ch2.sc.otc.t-systems.com/v3"},
        ),
        (
            {"cloud": "otc-swiss", "auth": {"auth_url": "https://own/v3"}},
            {"region": "eu-ch2", "auth_url": "https://own/v3"},
        ),
        ({"profile": "unknown-vendor", "region_name": "r"}, {"region": "r"}),
    ],
)
def test_profile_defaults(dirs: Dirs, cloud: dict[str, Any], expected: dict[str, str]) -> None:
    assert values_of(dirs, cloud) == expected


def test_region_placeholder_in_auth_url(dirs: Dirs) -> None:
    cloud = {"region_name": "eu-nl", "auth": {"auth_url": "https://iam.{region_name}.example.com/v3"}}
    assert values_of(dirs, cloud)["auth_url"] == "https://iam.eu-nl.example.com/v3"


def test_region_placeholder_kept_without_region(dirs: Dirs) -> None:
    cloud = {"auth": {"auth_url": "https://iam.{region_name}.example.com/v3"}}
    assert values_of(dirs, cloud) == {"auth_url": "https://iam.{region_name}.example.com/v3"}


# --- errors and bad files ------------------------------------------------------------------------


def test_missing_cloud_error_lists_paths_and_names_but_no_values(dirs: Dirs) -> None:
    clouds = write(dirs.user / "clouds.yaml", {"prod": {"auth": {"password": PASSWORD}}, "dev": {"sk": SECRET_KEY}})
    secure = write(dirs.etc / "secure.yaml", {"stage": {"auth": {"password": PASSWORD}}})
    with pytest.raises(CloudsConfigError) as caught:
        dirs.load("test")
    message = str(caught.value)
    assert "'test'" in message
    assert f"{clouds} defines clouds: dev, prod." in message
    assert f"{secure} defines clouds: stage." in message
    for path in (dirs.cwd / "clouds.yaml", dirs.cwd / "clouds.yml", clouds, dirs.cwd / "secure.yaml", secure):
        assert str(path) in message
    assert PASSWORD not in message
    assert SECRET_KEY not in message


def test_missing_cloud_without_any_file(dirs: Dirs) -> None:
    with pytest.raises(CloudsConfigError) as caught:
        dirs.load("c", {"OS_CLIENT_CONFIG_FILE": "/nonexistent/clouds.yaml"})
    message = str(caught.value)
    assert "No clouds.yaml or secure.yaml file was found." in message
    assert "/nonexistent/clouds.yaml (not found)" in message
    assert str(dirs.etc / "secure.json") in message


def test_corrupt_yaml_is_skipped_with_a_warning(dirs: Dirs, caplog: pytest.LogCaptureFixture) -> None:
    corrupt = dirs.cwd / "clouds.yaml"
    corrupt.write_text(f"clouds:\n  c:\n    auth: {{password: {PASSWORD}\n  - broken: [\n")
    write(dirs.user / "clouds.yaml", {"c": {"region_name": "eu-de"}})
    with caplog.at_level(logging.WARNING, logger="pulumi_cts"):
        entry = dirs.load("c")
    assert entry.path == dirs.user / "clouds.yaml"
    assert any(str(corrupt) in record.getMessage() for record in caplog.records)
    assert PASSWORD not in caplog.text


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe not utf-8 \x80", b"- just\n- a list\n", b"just a string"],
)
def test_unusable_files_are_skipped(dirs: Dirs, content: bytes, caplog: pytest.LogCaptureFixture) -> None:
    (dirs.cwd / "clouds.yaml").write_bytes(content)
    write(dirs.etc / "clouds.yaml", {"c": {"region_name": "eu-de"}})
    with caplog.at_level(logging.WARNING, logger="pulumi_cts"):
        assert dirs.load("c").path == dirs.etc / "clouds.yaml"
    assert "Skipping" in caplog.text


def test_skipped_file_is_named_in_the_error(dirs: Dirs) -> None:
    (dirs.cwd / "clouds.yaml").write_text(f"clouds: [{PASSWORD}\n")
    with pytest.raises(CloudsConfigError) as caught:
        dirs.load("c")
    assert f"{dirs.cwd / 'clouds.yaml'} (skipped: is not valid YAML at line 2)" in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_directory_named_like_the_file_is_not_a_file(dirs: Dirs) -> None:
    (dirs.cwd / "clouds.yaml").mkdir()
    write(dirs.user / "clouds.yaml", {"c": {}})
    assert dirs.load("c").path == dirs.user / "clouds.yaml"


def test_empty_file_wins_but_defines_no_clouds(dirs: Dirs) -> None:
    (dirs.cwd / "clouds.yaml").write_text("")
    write(dirs.user / "clouds.yaml", {"c": {}})
    with pytest.raises(CloudsConfigError, match="defines clouds: none"):
        dirs.load("c")


def test_entry_that_is_not_a_mapping(dirs: Dirs) -> None:
    (dirs.cwd / "clouds.yaml").write_text("clouds:\n  c: just-text\n")
    with pytest.raises(CloudsConfigError, match="not a mapping"):
        dirs.load("c")


def test_empty_entry(dirs: Dirs) -> None:
    (dirs.cwd / "clouds.yaml").write_text("clouds:\n  c:\n")
    assert dict(dirs.load("c").values) == {}


# --- find_cloud and CloudEntry -------------------------------------------------------------------


@pytest.mark.parametrize("name", [None, ""])
def test_find_cloud_without_a_name(dirs: Dirs, name: str | None) -> None:
    write(dirs.cwd / "clouds.yaml", {"c": {}})
    assert find_cloud(name, {}, dirs.cwd, dirs.home, system_dir=dirs.etc) is None


def test_find_cloud_with_a_name(dirs: Dirs) -> None:
    write(dirs.cwd / "clouds.yaml", {"c": {"region_name": "eu-de"}})
    entry = find_cloud("c", {}, dirs.cwd, dirs.home, system_dir=dirs.etc)
    assert entry is not None and entry.values == {"region": "eu-de"}
    with pytest.raises(CloudsConfigError):
        find_cloud("missing", {}, dirs.cwd, dirs.home, system_dir=dirs.etc)


def test_entry_repr_hides_values_and_values_are_read_only(dirs: Dirs) -> None:
    write(dirs.cwd / "clouds.yaml", {"c": {"auth": {"password": PASSWORD}, "sk": SECRET_KEY}})
    entry = dirs.load("c")
    assert PASSWORD not in repr(entry)
    assert SECRET_KEY not in repr(entry)
    with pytest.raises(TypeError):
        entry.values["password"] = "x"  # type: ignore[index]
