"""Settings resolution (pulumi_cts.settings): each source alone, precedence per key, and the error messages.

Every test passes an explicit environment, working directory and home: the real ones are never read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi.dynamic import Config

from pulumi_cts.errors import ConfigurationError
from pulumi_cts.scope import Scope
from pulumi_cts.settings import SPECS, Settings, describe, resolve

PASSWORD = "Pa55-w0rd-from-STACK-8c1f"
CLOUD_PASSWORD = "Pa55-w0rd-from-CLOUDS-77aa"
SECURE_PASSWORD = "Pa55-w0rd-from-SECURE-0b2e"
ENV_PASSWORD = "Pa55-w0rd-from-ENV-91d3"
SECRET_KEY = "SK-secret-value-never-shown-4411"
SECURITY_TOKEN = "STS-token-never-shown-9911"
DOMAIN = "OTC00000000001000000001"


@dataclass
class Place:
    cwd: Path
    home: Path

    @property
    def user_dir(self) -> Path:
        return self.home / ".config" / "openstack"

    def resolve(self, config: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        values = dict(config or {})
        return resolve(values.get, dict(environ or {}), cwd=self.cwd, home=self.home)


@pytest.fixture
def place(tmp_path: Path) -> Place:
    result = Place(cwd=tmp_path / "project", home=tmp_path / "home")
    result.cwd.mkdir()
    result.user_dir.mkdir(parents=True)
    return result


def write_yaml(path: Path, content: Mapping[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(dict(content)), encoding="utf-8")
    return path


def clouds_file(place: Place, clouds: Mapping[str, Any], name: str = "clouds.yaml") -> Path:
    return write_yaml(place.cwd / name, {"clouds": dict(clouds)})


OTC_CLOUD: dict[str, Any] = {
    "profile": "otc",
    "region_name": "eu-nl",
    "auth": {
        "username": "cloud-user",
        "password": CLOUD_PASSWORD,
        "project_name": "eu-nl_audit",
        "user_domain_name": DOMAIN,
    },
}

STACK_CONFIG = {
    "cts:authUrl": "https://iam.example.test/v3",
    "cts:region": "eu-de",
    "cts:domainName": DOMAIN,
    "cts:userName": "stack-user",
    "cts:password": PASSWORD,
    "cts:projectName": "eu-de_prod",
    "cts:endpoint": "https://cts.example.test",
}

ENVIRONMENT = {
    "OS_AUTH_URL": "https://iam.env.example.test/v3",
    "OS_REGION_NAME": "eu-ch2",
    "OS_USER_DOMAIN_NAME": "OTC-ENV-DOMAIN",
    "OS_USERNAME": "env-user",
    "OS_PASSWORD": ENV_PASSWORD,
    "OS_PROJECT_NAME": "eu-ch2_ops",
    "OS_PROJECT_ID": "0123456789abcdef0123456789abcdef",
}


# --- each source alone -----------------------------------------------------------------------------


def test_stack_config_alone(place: Place) -> None:
    settings = place.resolve(STACK_CONFIG)

    assert settings.get("user_name") == "stack-user"
    assert settings.get("password") == PASSWORD
    assert settings.get("project_name") == "eu-de_prod"
    for spec in SPECS:
        if settings.get(spec.name) is not None:
            assert settings.source_of(spec.name) == f"stack config cts:{spec.config_key}"
    assert settings.default_scope() == Scope(region="eu-de", project_name="eu-de_prod")
    assert settings.endpoint_override(settings.default_scope()) == "https://cts.example.test"
    settings.check_credentials()


def test_stack_config_read_through_the_engine_config_object(place: Place) -> None:
    # The provider passes `ConfigureRequest.config.get`: full "cts:..." keys, values as the engine sends them.
    config = Config({**STACK_CONFIG, "cts:insecure": True}, "demo-project")
    settings = resolve(config.get, {}, cwd=place.cwd, home=place.home)

    assert settings.get("region") == "eu-de"
    assert settings.get("insecure") == "true"
    assert settings.verify is False


def test_clouds_yaml_named_by_cts_cloud(place: Place) -> None:
    path = clouds_file(place, {"otc-audit": OTC_CLOUD, "other": {"region_name": "eu-de"}})
    settings = place.resolve({"cts:cloud": "otc-audit"})

    assert settings.get("user_name") == "cloud-user"
    assert settings.get("password") == CLOUD_PASSWORD
    assert settings.get("domain_name") == DOMAIN
    assert settings.get("region") == "eu-nl"
    # The otc profile's auth_url template, filled in with the entry's region.
    assert settings.get("auth_url") == "https://iam.eu-nl.otc.t-systems.com/v3"
    source = settings.source_of("user_name")
    assert str(path) in source and "'otc-audit'" in source
    assert settings.source_of("cloud") == "stack config cts:cloud"
    assert settings.default_scope() == Scope(region="eu-nl", project_name="eu-nl_audit")
    assert any(str(path) in place_ and "otc-audit" in place_ for place_ in settings.looked_at)
    settings.check_credentials()


def test_clouds_yaml_named_by_os_cloud(place: Place) -> None:
    path = write_yaml(place.user_dir / "clouds.yaml", {"clouds": {"otc": OTC_CLOUD}})
    settings = place.resolve({}, {"OS_CLOUD": "otc"})

    assert settings.get("user_name") == "cloud-user"
    assert settings.source_of("cloud") == "environment OS_CLOUD"
    assert str(path) in settings.source_of("password")


def test_cts_cloud_beats_os_cloud(place: Place) -> None:
    clouds_file(place, {"first": {**OTC_CLOUD, "region_name": "eu-de"}, "second": OTC_CLOUD})
    settings = place.resolve({"cts:cloud": "second"}, {"OS_CLOUD": "first"})

    assert settings.get("cloud") == "second"
    assert settings.get("region") == "eu-nl"


def test_clouds_yaml_access_keys_endpoint_override_and_tls(place: Place) -> None:
    clouds_file(
        place,
        {
            "aksk": {
                "region_name": "eu-de",
                "ak": "AKFROMCLOUDS",
                "sk": SECRET_KEY,
                "security_token": SECURITY_TOKEN,
                "cts_endpoint_override": "https://cts.proxy.example.test/",
                "cacert": "/etc/ssl/corp.pem",
            }
        },
    )
    settings = place.resolve({}, {"OS_CLOUD": "aksk"})

    assert settings.uses_access_keys
    assert settings.get("access_key") == "AKFROMCLOUDS"
    assert settings.get("secret_key") == SECRET_KEY
    assert settings.get("security_token") == SECURITY_TOKEN
    assert settings.endpoint_override(Scope(region="eu-de")) == "https://cts.proxy.example.test"
    assert settings.verify == "/etc/ssl/corp.pem"
    settings.check_credentials()


def test_secure_yaml_password_is_merged_into_the_entry(place: Place) -> None:
    public = {k: v for k, v in OTC_CLOUD.items() if k != "auth"}
    public["auth"] = {k: v for k, v in OTC_CLOUD["auth"].items() if k != "password"}
    clouds_path = write_yaml(place.user_dir / "clouds.yaml", {"clouds": {"otc": public}})
    write_yaml(place.user_dir / "secure.yaml", {"clouds": {"otc": {"auth": {"password": SECURE_PASSWORD}}}})
    settings = place.resolve({}, {"OS_CLOUD": "otc"})

    assert settings.get("password") == SECURE_PASSWORD
    assert settings.get("user_name") == "cloud-user"
    assert str(clouds_path) in settings.source_of("password")
    settings.check_credentials()


def test_environment_alone(place: Place) -> None:
    settings = place.resolve({}, ENVIRONMENT)

    assert settings.get("auth_url") == "https://iam.env.example.test/v3"
    assert settings.get("region") == "eu-ch2"
    assert settings.get("domain_name") == "OTC-ENV-DOMAIN"
    assert settings.get("password") == ENV_PASSWORD
    assert settings.get("project_id") == "0123456789abcdef0123456789abcdef"
    assert settings.source_of("password") == "environment OS_PASSWORD"
    assert settings.source_of("domain_name") == "environment OS_USER_DOMAIN_NAME"
    assert "cloud" not in settings.values
    assert any("not used" in place_ for place_ in settings.looked_at)


def test_environment_alternative_names_in_order(place: Place) -> None:
    settings = place.resolve({}, {"OS_DOMAIN_NAME": "second", "OS_PROJECT_DOMAIN_NAME": "third", "OS_TENANT_NAME": "x"})
    assert settings.get("domain_name") == "second"
    assert settings.source_of("domain_name") == "environment OS_DOMAIN_NAME"
    assert settings.get("project_name") == "x"

    both = place.resolve({}, {"OS_USER_DOMAIN_NAME": "first", "OS_DOMAIN_NAME": "second"})
    assert both.get("domain_name") == "first"


def test_environment_access_keys(place: Place) -> None:
    environ = {"OS_ACCESS_KEY": "AKENV", "OS_SECRET_KEY": SECRET_KEY, "OS_REGION_NAME": "eu-de"}
    settings = place.resolve({}, environ)

    assert settings.uses_access_keys
    assert settings.source_of("secret_key") == "environment OS_SECRET_KEY"
    settings.check_credentials()


# --- precedence ----------------------------------------------------------------------------------


def test_precedence_is_per_key_not_per_source(place: Place) -> None:
    path = clouds_file(
        place,
        {"mixed": {"region_name": "eu-nl", "auth": {"username": "cloud-user", "password": CLOUD_PASSWORD}}},
    )
    config = {"cts:cloud": "mixed", "cts:region": "eu-de"}
    settings = place.resolve(config, ENVIRONMENT)

    # stack config beats clouds.yaml and the environment ...
    assert settings.get("region") == "eu-de"
    assert settings.source_of("region") == "stack config cts:region"
    # ... clouds.yaml beats the environment ...
    assert settings.get("user_name") == "cloud-user"
    assert settings.get("password") == CLOUD_PASSWORD
    assert str(path) in settings.source_of("password")
    # ... and the environment fills in what neither sets.
    assert settings.get("domain_name") == "OTC-ENV-DOMAIN"
    assert settings.get("project_name") == "eu-ch2_ops"
    assert settings.source_of("project_name") == "environment OS_PROJECT_NAME"
    assert settings.get("auth_url") == "https://iam.env.example.test/v3"


def test_stack_config_beats_everything_for_every_key(place: Place) -> None:
    clouds_file(place, {"otc": {**OTC_CLOUD, "cts_endpoint_override": "https://clouds.example.test"}})
    settings = place.resolve({**STACK_CONFIG, "cts:cloud": "otc"}, ENVIRONMENT)

    for key, value in STACK_CONFIG.items():
        name = next(spec.name for spec in SPECS if f"cts:{spec.config_key}" == key)
        assert settings.get(name) == value, name
    # Keys the stack does not set still come from the next source.
    assert settings.get("project_id") == ENVIRONMENT["OS_PROJECT_ID"]


def test_empty_values_do_not_hide_lower_sources(place: Place) -> None:
    settings = place.resolve({"cts:region": "", "cts:userName": "   "}, {"OS_REGION_NAME": "eu-nl", "OS_USERNAME": "u"})
    assert settings.get("region") == "eu-nl"
    assert settings.get("user_name") == "u"


# --- scope, URLs ------------------------------------------------------------------------------------


def test_region_is_derived_from_the_project_name(place: Place) -> None:
    settings = place.resolve({"cts:projectName": "eu-nl_audit"})
    assert settings.default_scope() == Scope(region="eu-nl", project_name="eu-nl_audit")


def test_project_name_defaults_to_the_region(place: Place) -> None:
    scope = place.resolve({"cts:region": "eu-de"}).default_scope()
    assert scope.project_name == "eu-de" and scope.project_id is None


def test_default_auth_url_is_the_otc_iam_of_the_region(place: Place) -> None:
    settings = place.resolve({"cts:region": "eu-nl"})
    assert settings.auth_url_for(settings.default_scope()) == "https://iam.eu-nl.otc.t-systems.com/v3"
    assert settings.auth_url_for(Scope(region="eu-de")) == "https://iam.eu-de.otc.t-systems.com/v3"
    assert settings.endpoint_override(Scope(region="eu-de")) is None


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ("https://iam.{region}.example.test/v3/", "https://iam.eu-nl.example.test/v3"),
        ("https://iam.{region_name}.example.test/v3", "https://iam.eu-nl.example.test/v3"),
        ("https://iam-pub.eu-ch2.sc.otc.t-systems.com:443/v3", "https://iam-pub.eu-ch2.sc.otc.t-systems.com:443/v3"),
        # Braces that are no placeholder of ours are kept, never a KeyError.
        ("https://proxy.example.test/{tenant}/v3", "https://proxy.example.test/{tenant}/v3"),
        # Without its version, as openstacksdk-style tools accept it and as the emulator prints it.
        ("http://127.0.0.1:38617", "http://127.0.0.1:38617/v3"),
        ("http://127.0.0.1:38617/", "http://127.0.0.1:38617/v3"),
        ("https://iam.{region}.example.test", "https://iam.eu-nl.example.test/v3"),
        ("https://proxy.example.test/identity/V3", "https://proxy.example.test/identity/V3"),
    ],
)
def test_configured_auth_url_formatting(place: Place, configured: str, expected: str) -> None:
    settings = place.resolve({"cts:authUrl": configured, "cts:region": "eu-nl"})
    assert settings.auth_url_for(settings.default_scope()) == expected


def test_endpoint_override_takes_the_scope_region(place: Place) -> None:
    settings = place.resolve({"cts:endpoint": "https://cts.{region}.example.test/", "cts:region": "eu-de"})
    assert settings.endpoint_override(Scope(region="eu-nl")) == "https://cts.eu-nl.example.test"


def test_otc_profile_without_a_region_leaves_the_auth_url_to_the_default(place: Place) -> None:
    clouds_file(place, {"otc": {"profile": "otc", "auth": {"username": "u"}}})
    settings = place.resolve({"cts:cloud": "otc"}, {"OS_REGION_NAME": "eu-nl"})
    assert settings.auth_url_for(settings.default_scope()) == "https://iam.eu-nl.otc.t-systems.com/v3"


# --- secrets ---------------------------------------------------------------------------------------


def test_secrets_are_masked_in_describe_and_repr(place: Place) -> None:
    environ = {"OS_ACCESS_KEY": "AKVISIBLE", "OS_SECRET_KEY": SECRET_KEY, "OS_SECURITY_TOKEN": SECURITY_TOKEN}
    settings = place.resolve(STACK_CONFIG, environ)
    rows = {name: (value, source) for name, value, source in describe(settings)}

    assert rows["password"] == ("***", "stack config cts:password")
    assert rows["secret_key"] == ("***", "environment OS_SECRET_KEY")
    assert rows["security_token"][0] == "***"
    assert rows["access_key"][0] == "AKVISIBLE"
    assert rows["user_name"] == ("stack-user", "stack config cts:userName")
    shown = repr(settings) + repr(describe(settings))
    for secret in (PASSWORD, SECRET_KEY, SECURITY_TOKEN):
        assert secret not in shown


# --- missing and contradictory settings ----------------------------------------------------------


def test_missing_settings_message_lists_keys_and_every_source(place: Place) -> None:
    settings = place.resolve({}, {"OS_PASSWORD": ENV_PASSWORD})
    with pytest.raises(ConfigurationError) as caught:
        settings.check_credentials()

    message = str(caught.value)
    for part in (
        "user_name",
        "domain_name",
        "region",
        "cts:userName",
        "cts:domainName",
        "cts:region",
        "OS_USERNAME",
        "OS_USER_DOMAIN_NAME",
        "OS_REGION_NAME",
        "stack config keys cts:*",
        "clouds.yaml",
        "OS_CLOUD",
        "accessKey",
    ):
        assert part in message, part
    # Only what is missing is listed as missing: the password came from the environment.
    assert "  - password" not in message
    assert ENV_PASSWORD not in message


def test_missing_settings_message_names_the_clouds_yaml_path_and_entry(place: Place) -> None:
    path = clouds_file(place, {"partial": {"auth": {"username": "u", "password": CLOUD_PASSWORD}}})
    settings = place.resolve({"cts:cloud": "partial"})
    with pytest.raises(ConfigurationError) as caught:
        settings.check_credentials()

    message = str(caught.value)
    assert str(path) in message and "'partial'" in message
    assert "domain_name" in message and "region" in message
    assert CLOUD_PASSWORD not in message


def test_missing_region_fails_default_scope_with_the_same_message(place: Place) -> None:
    settings = place.resolve({"cts:userName": "u"})
    with pytest.raises(ConfigurationError, match="OS_REGION_NAME"):
        settings.default_scope()


def test_access_key_without_secret_key(place: Place) -> None:
    settings = place.resolve({"cts:accessKey": "AKONLY", "cts:region": "eu-de"})
    with pytest.raises(ConfigurationError) as caught:
        settings.check_credentials()

    message = str(caught.value)
    assert "secret_key" in message and "cts:secretKey" in message and "OS_SECRET_KEY" in message
    # With an access key, a password is not what is missing.
    assert "  - password" not in message


def test_secret_key_without_access_key(place: Place) -> None:
    settings = place.resolve({"cts:region": "eu-de"}, {"OS_SECRET_KEY": SECRET_KEY})
    with pytest.raises(ConfigurationError) as caught:
        settings.check_credentials()
    assert "access_key" in str(caught.value) and SECRET_KEY not in str(caught.value)


def test_password_and_access_keys_conflict_naming_both_sources(place: Place) -> None:
    settings = place.resolve(STACK_CONFIG, {"OS_ACCESS_KEY": "AK", "OS_SECRET_KEY": SECRET_KEY})
    with pytest.raises(ConfigurationError) as caught:
        settings.check_credentials()

    message = str(caught.value)
    assert "Conflict" in message
    assert "environment OS_ACCESS_KEY" in message and "stack config cts:password" in message
    assert PASSWORD not in message and SECRET_KEY not in message


def test_insecure_and_ca_cert_conflict(place: Place) -> None:
    settings = place.resolve({**STACK_CONFIG, "cts:insecure": "true", "cts:caCert": "/etc/ssl/ca.pem"})
    with pytest.raises(ConfigurationError, match="Conflict: insecure"):
        settings.check_credentials()


def test_security_token_without_access_keys_conflicts(place: Place) -> None:
    settings = place.resolve(STACK_CONFIG, {"OS_SECURITY_TOKEN": SECURITY_TOKEN})
    with pytest.raises(ConfigurationError) as caught:
        settings.check_credentials()
    assert "securityToken" in str(caught.value) and SECURITY_TOKEN not in str(caught.value)


def test_region_contradicting_the_project_name(place: Place) -> None:
    settings = place.resolve({**STACK_CONFIG, "cts:region": "eu-nl", "cts:projectName": "eu-de_prod"})
    with pytest.raises(ConfigurationError) as caught:
        settings.check_credentials()
    message = str(caught.value)
    assert "Conflict" in message and "eu-nl" in message and "eu-de_prod" in message


def test_unknown_cloud_name_lists_the_paths_and_the_clouds_found(place: Place) -> None:
    path = clouds_file(place, {"alpha": OTC_CLOUD, "beta": OTC_CLOUD})
    with pytest.raises(ConfigurationError) as caught:
        place.resolve({}, {"OS_CLOUD": "gamma"})

    message = str(caught.value)
    assert "'gamma'" in message
    assert str(path) in message
    assert "alpha, beta" in message
    assert "OS_CLOUD" in message
    assert CLOUD_PASSWORD not in message


def test_unknown_cloud_named_in_stack_config_says_so(place: Place) -> None:
    with pytest.raises(ConfigurationError) as caught:
        place.resolve({"cts:cloud": "nowhere"})
    message = str(caught.value)
    assert "'nowhere'" in message and "cts:cloud" in message
    assert str(place.cwd / "clouds.yaml") in message
