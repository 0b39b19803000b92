"""Credential and endpoint resolution: stack config, then clouds.yaml, then `OS_*` variables.

The one place that decides where a setting comes from. Each value remembers its source, so error
messages and `pulumi-cts doctor` can say where to look, without ever showing a secret.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigurationError
from .scope import Scope, region_of_project

NAMESPACE = "cts"


@dataclass(frozen=True)
class SettingSpec:
    """Where one setting may be found: its stack config key and its environment variables."""

    name: str
    config_key: str
    env: tuple[str, ...]
    secret: bool = False


SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("auth_url", "authUrl", ("OS_AUTH_URL",)),
    SettingSpec("region", "region", ("OS_REGION_NAME",)),
    SettingSpec("domain_name", "domainName", ("OS_USER_DOMAIN_NAME", "OS_DOMAIN_NAME", "OS_PROJECT_DOMAIN_NAME")),
    SettingSpec("user_name", "userName", ("OS_USERNAME",)),
    SettingSpec("password", "password", ("OS_PASSWORD",), secret=True),
    SettingSpec("project_name", "projectName", ("OS_PROJECT_NAME", "OS_TENANT_NAME")),
    SettingSpec("project_id", "projectId", ("OS_PROJECT_ID", "OS_TENANT_ID")),
    SettingSpec("access_key", "accessKey", ("OS_ACCESS_KEY",)),
    SettingSpec("secret_key", "secretKey", ("OS_SECRET_KEY",), secret=True),
    SettingSpec("security_token", "securityToken", ("OS_SECURITY_TOKEN",), secret=True),
    SettingSpec("endpoint", "endpoint", ("OS_CTS_ENDPOINT_OVERRIDE",)),
    SettingSpec("ca_cert", "caCert", ("OS_CACERT",)),
    SettingSpec("insecure", "insecure", ("OS_INSECURE",)),
    SettingSpec("token_cache", "tokenCache", ("CTS_TOKEN_CACHE",)),
    SettingSpec("debug", "debug", ("CTS_DEBUG",)),
    SettingSpec("api_version", "apiVersion", ("CTS_API_VERSION",)),
)
SPEC_BY_NAME = {spec.name: spec for spec in SPECS}
SECRET_NAMES = frozenset(spec.name for spec in SPECS if spec.secret)
CLOUD_SPEC = SettingSpec("cloud", "cloud", ("OS_CLOUD",))

DEFAULT_AUTH_URL = "https://iam.{region}.otc.t-systems.com/v3"
DEFAULT_ENDPOINT = "https://cts.{region}.otc.t-systems.com"

ConfigLookup = Callable[[str], Any]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip()
    return text or None


def _with_region(url: str, region: str) -> str:
    # Not str.format: any other brace in a user's URL would raise KeyError or IndexError.
    return url.rstrip("/").replace("{region}", region).replace("{region_name}", region)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Resolved settings. `values` holds plain strings; `sources` says where each came from."""

    values: Mapping[str, str] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)
    looked_at: tuple[str, ...] = ()

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def __repr__(self) -> str:
        shown = {k: ("***" if k in SECRET_NAMES else v) for k, v in self.values.items()}
        return f"Settings({shown})"

    def secret_values(self) -> tuple[str, ...]:
        """Every configured secret (password, secret key, security token): masked in any server text."""
        return tuple(v for k, v in self.values.items() if k in SECRET_NAMES and v)

    @property
    def uses_access_keys(self) -> bool:
        return bool(self.get("access_key") or self.get("secret_key"))

    @property
    def debug(self) -> bool:
        return _truthy(self.get("debug"))

    @property
    def insecure(self) -> bool:
        return _truthy(self.get("insecure"))

    @property
    def verify(self) -> bool | str:
        """The `requests` verify argument: a CA bundle path, True, or False when insecure."""
        if self.insecure:
            return False
        return self.get("ca_cert") or True

    def source_of(self, name: str) -> str:
        return self.sources.get(name, "default")

    def default_scope(self) -> Scope:
        """The provider-wide scope; raises ConfigurationError when no region can be worked out."""
        region = self.get("region")
        project_name = self.get("project_name")
        if not region and project_name:
            region = region_of_project(project_name)
        if not region:
            raise ConfigurationError(self._missing_message(["region"]))
        return Scope(region=region, project_id=self.get("project_id"), project_name=project_name)

    def auth_url_for(self, scope: Scope) -> str:
        configured = self.get("auth_url")
        if configured:
            return _with_region(configured, scope.region)
        return _with_region(DEFAULT_AUTH_URL, scope.region)

    def endpoint_override(self, scope: Scope) -> str | None:
        configured = self.get("endpoint")
        if not configured:
            return None
        return _with_region(configured, scope.region)

    def check_credentials(self) -> None:
        """Fail with one message listing everything missing, before any request is sent."""
        missing: list[str] = []
        problems: list[str] = []
        if self.uses_access_keys:
            for name in ("access_key", "secret_key"):
                if not self.get(name):
                    missing.append(name)
            if self.get("password"):
                problems.append(
                    "both an access key pair and a password are set; keep one of them "
                    f"(access key from {self.source_of('access_key')}, password from {self.source_of('password')})"
                )
        else:
            if self.get("security_token"):
                problems.append("securityToken is set without accessKey/secretKey")
            for name in ("user_name", "password", "domain_name"):
                if not self.get(name):
                    missing.append(name)
        if self.insecure and self.get("ca_cert"):
            problems.append("insecure is true and caCert is set; certificate checks cannot be both off and on")
        if not self.get("region") and not self.get("project_name"):
            missing.append("region")
        region, project_name = self.get("region"), self.get("project_name")
        if region and project_name and region_of_project(project_name) != region:
            problems.append(
                f"region {region} (from {self.source_of('region')}) does not match project {project_name} "
                f"(from {self.source_of('project_name')}), which is in {region_of_project(project_name)}"
            )
        if missing or problems:
            raise ConfigurationError(self._missing_message(missing, problems))

    def _missing_message(self, missing: list[str], problems: list[str] | None = None) -> str:
        if missing:
            lines = [
                "CTS provider settings are incomplete."
                if not problems
                else "CTS provider settings are incomplete and contradict each other."
            ]
        else:
            lines = ["CTS provider settings contradict each other."]
        if missing:
            if not self.uses_access_keys and {"user_name", "password", "domain_name"} & set(missing):
                lines.append(
                    "Authenticate with a password (userName, password, domainName) "
                    "or with an access key pair (accessKey, secretKey)."
                )
            lines.append("Missing:")
            for name in missing:
                spec = SPEC_BY_NAME[name]
                lines.append(
                    f"  - {name}: stack config '{NAMESPACE}:{spec.config_key}', "
                    f"clouds.yaml entry, or environment {' / '.join(spec.env)}"
                )
        for problem in problems or []:
            lines.append(f"Conflict: {problem}")
        lines.append("Looked at: " + "; ".join(self.looked_at))
        return "\n".join(lines)


def resolve(
    config: ConfigLookup,
    environ: Mapping[str, str] | None = None,
    *,
    cwd: Path | None = None,
    home: Path | None = None,
) -> Settings:
    """Resolve every setting: per key, stack config wins over clouds.yaml, which wins over `OS_*`.

    `config` looks a full key (`cts:region`) up in the stack configuration.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    looked_at = [f"stack config keys {NAMESPACE}:*"]

    cloud_entry_values: Mapping[str, str] = {}
    cloud_source = ""
    cloud_name = _text(config(f"{NAMESPACE}:{CLOUD_SPEC.config_key}"))
    cloud_name_source = f"stack config {NAMESPACE}:cloud"
    if cloud_name is None:
        cloud_name = _text(environ.get("OS_CLOUD"))
        cloud_name_source = "environment OS_CLOUD"
    if cloud_name:
        from .clouds import CloudsConfigError, load_cloud

        try:
            entry = load_cloud(cloud_name, environ, cwd or Path.cwd(), home or Path.home())
        except CloudsConfigError as exc:
            raise ConfigurationError(f"{exc} (cloud named by {cloud_name_source})") from None
        cloud_entry_values = entry.values
        cloud_source = f"clouds.yaml {entry.path} entry '{entry.name}'"
        looked_at.append(cloud_source)
        values["cloud"] = cloud_name
        sources["cloud"] = cloud_name_source
    else:
        looked_at.append("clouds.yaml (not used: neither cts:cloud nor OS_CLOUD is set)")
    looked_at.append("environment " + ", ".join(env for spec in SPECS for env in spec.env))

    for spec in SPECS:
        from_config = _text(config(f"{NAMESPACE}:{spec.config_key}"))
        if from_config is not None:
            values[spec.name] = from_config
            sources[spec.name] = f"stack config {NAMESPACE}:{spec.config_key}"
            continue
        from_cloud = _text(cloud_entry_values.get(spec.name))
        if from_cloud is not None:
            values[spec.name] = from_cloud
            sources[spec.name] = cloud_source
            continue
        for variable in spec.env:
            from_env = _text(environ.get(variable))
            if from_env is not None:
                values[spec.name] = from_env
                sources[spec.name] = f"environment {variable}"
                break
    return Settings(values=values, sources=sources, looked_at=tuple(looked_at))


def describe(settings: Settings) -> list[tuple[str, str, str]]:
    """(name, shown value, source) for every known setting, secrets masked: for `doctor`."""
    rows = []
    for spec in (CLOUD_SPEC, *SPECS):
        value = settings.get(spec.name)
        if value is None:
            continue
        shown = "***" if spec.secret else value
        rows.append((spec.name, shown, settings.source_of(spec.name)))
    return rows
