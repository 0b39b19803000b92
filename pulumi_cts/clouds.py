"""Find the user's clouds.yaml (and secure.yaml) the way openstacksdk does, and read one cloud entry.

The entry is flattened to this package's own setting names, so the rest of the code never sees YAML shapes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import yaml

from .errors import CloudsConfigError

__all__ = [
    "CONFIG_FILE_NAMES",
    "SECURE_FILE_NAMES",
    "SYSTEM_CONFIG_DIR",
    "CloudEntry",
    "CloudsConfigError",
    "candidate_paths",
    "find_cloud",
    "load_cloud",
]

logger = logging.getLogger("pulumi_cts")

CONFIG_FILE_NAMES = ("clouds.yaml", "clouds.yml", "clouds.json")
SECURE_FILE_NAMES = ("secure.yaml", "secure.yml", "secure.json")
SYSTEM_CONFIG_DIR = Path("/etc/openstack")

_FILE_NAMES = {"clouds": CONFIG_FILE_NAMES, "secure": SECURE_FILE_NAMES}
_PATH_VARIABLES = {"clouds": "OS_CLIENT_CONFIG_FILE", "secure": "OS_CLIENT_SECURE_FILE"}

# Vendor profiles bundled with openstacksdk (vendors/otc.json, vendors/otc-swiss.json), reduced to what
# we read. The otc profile lists several regions, so it gives no region default: a guessed region
# would shadow OS_REGION_NAME. otc-swiss has only one region.
_PROFILES: Mapping[str, Mapping[str, str]] = {
    "otc": {"auth_url": "https://iam.{region_name}.otc.t-systems.com/v3"},
    "otc-swiss": {"auth_url": "https://iam-pub.eu-ch2.sc.otc.t-systems.com/v3", "region": "eu-ch2"},
}

# Keys read from the entry's `auth:` section, falling back to the same key at the entry's top level
# (openstacksdk moves top-level auth options into `auth` too). First key present wins.
_AUTH_KEYS: Mapping[str, tuple[str, ...]] = {
    "auth_url": ("auth_url",),
    "user_name": ("username", "user_name"),
    "password": ("password",),
    "project_name": ("project_name", "tenant_name"),
    "project_id": ("project_id", "tenant_id"),
    "domain_name": ("user_domain_name", "domain_name", "project_domain_name"),
}

# Keys read from the entry's top level only. `auth.token` is a Keystone token, not the STS token that
# goes with a temporary AK/SK, so it must not be read as security_token. access_key wins over ak, as in
# otcextensions' get_ak_sk.
_TOP_LEVEL_KEYS: Mapping[str, tuple[str, ...]] = {
    "access_key": ("access_key", "ak"),
    "secret_key": ("secret_key", "sk"),
    "security_token": ("security_token", "token"),
    "endpoint": ("cts_endpoint_override", "cts_endpoint"),
    "ca_cert": ("cacert",),
}

_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


@dataclass(frozen=True)
class CloudEntry:
    """One cloud of clouds.yaml, flattened. ``values`` is left out of repr: it may hold secrets."""

    name: str
    path: Path
    values: Mapping[str, str] = field(repr=False)


class _TextScalarLoader(yaml.SafeLoader):
    """SafeLoader that keeps numbers and dates as written.

    Plain YAML turns ``password: 012345`` into the octal int 5349 and ``project_id: 1234`` into an int;
    credentials must reach the server exactly as the user typed them.
    """


_DROPPED_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp"}
_TextScalarLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _DROPPED_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _expand(raw: str, cwd: Path, home: Path) -> Path:
    # Expanded against the given home/cwd rather than the process's, so callers (and tests) decide.
    path = home / raw[2:] if raw == "~" or raw.startswith("~/") else Path(raw)
    return path if path.is_absolute() else cwd / path


def candidate_paths(
    kind: Literal["clouds", "secure"],
    environ: Mapping[str, str],
    cwd: Path,
    home: Path,
    *,
    system_dir: Path = SYSTEM_CONFIG_DIR,
) -> list[Path]:
    """Paths searched for ``kind``, in order: ``OS_CLIENT_CONFIG_FILE`` (``OS_CLIENT_SECURE_FILE``),
    ``./``, ``$XDG_CONFIG_HOME/openstack/`` when set, ``~/.config/openstack/``, ``/etc/openstack/``."""
    names = _FILE_NAMES[kind]
    paths: list[Path] = []
    explicit = environ.get(_PATH_VARIABLES[kind], "").strip()
    if explicit:
        paths.append(_expand(explicit, cwd, home))
    directories = [cwd]
    xdg_config_home = environ.get("XDG_CONFIG_HOME", "").strip()
    if xdg_config_home:
        directories.append(_expand(xdg_config_home, cwd, home) / "openstack")
    directories += [home / ".config" / "openstack", system_dir]
    for directory in directories:
        paths.extend(directory / name for name in names)
    unique: list[Path] = []
    for path in paths:
        if path not in unique:
            unique.append(path)
    return unique


def _read_first(paths: list[Path], notes: list[str]) -> tuple[Path, dict[str, Any]] | None:
    # The first readable, parseable file wins; files are never merged (openstacksdk's rule).
    for path in paths:
        if not path.is_file():
            notes.append(f"{path} (not found)")
            continue
        try:
            text = path.read_text(encoding="utf-8")
            # yaml.load, not safe_load, only to pass the SafeLoader subclass above.
            content = yaml.load(text, Loader=_TextScalarLoader)
        except (OSError, UnicodeDecodeError) as exc:
            _skip(path, notes, f"cannot be read ({type(exc).__name__})")
            continue
        except yaml.YAMLError as exc:
            # Only the position: YAML error texts quote the offending line, which may hold a password.
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            _skip(path, notes, f"is not valid YAML{where}")
            continue
        if content is None:
            content = {}
        if not isinstance(content, dict):
            _skip(path, notes, "does not hold a mapping")
            continue
        notes.append(f"{path} (used)")
        return path, content
    return None


def _skip(path: Path, notes: list[str], reason: str) -> None:
    logger.warning("Skipping %s: it %s", path, reason)
    notes.append(f"{path} (skipped: {reason})")


def _clouds_of(content: Mapping[str, Any]) -> dict[str, Any]:
    clouds = content.get("clouds")
    return clouds if isinstance(clouds, dict) else {}


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = _merge(current, value)
        else:
            merged[key] = value
    return merged


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip()
    return text or None


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = (_text(value) or "").lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _first(section: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        text = _text(section.get(key))
        if text is not None:
            return text
    return None


def _region_name(item: Any) -> str | None:
    return _text(item.get("name")) if isinstance(item, Mapping) else _text(item)


def _region(cloud: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any]]:
    """The region to use and the region-specific ``values`` that the ``regions:`` list gives it."""
    regions = cloud.get("regions")
    regions = regions if isinstance(regions, list) else []
    region = _text(cloud.get("region_name"))
    if region:
        # A comma-separated region_name is the deprecated spelling of a regions list.
        region = region.split(",")[0].strip() or None
    elif regions:
        region = _region_name(regions[0])
    for item in regions:
        if region and isinstance(item, Mapping) and _region_name(item) == region:
            values = item.get("values")
            return region, values if isinstance(values, Mapping) else {}
    return region, {}


def _flatten(name: str, cloud: Mapping[str, Any]) -> dict[str, str]:
    region, region_values = _region(cloud)
    cloud = _merge(cloud, region_values)
    auth = cloud.get("auth")
    auth = auth if isinstance(auth, Mapping) else {}
    values: dict[str, str] = {}
    for key, aliases in _AUTH_KEYS.items():
        value = _first(auth, aliases) or _first(cloud, aliases)
        if value is not None:
            values[key] = value
    for key, aliases in _TOP_LEVEL_KEYS.items():
        value = _first(cloud, aliases)
        if value is not None:
            values[key] = value

    profile_name = _text(cloud.get("profile")) or _text(cloud.get("cloud"))
    profile = _PROFILES.get(profile_name or "", {})
    region = region or profile.get("region")
    if region:
        values["region"] = region

    default_auth_url = profile.get("auth_url")
    # Without a region the otc template is of no use here; settings applies the same default once the
    # region is known from another source.
    if "auth_url" not in values and default_auth_url and (region or "{region_name}" not in default_auth_url):
        values["auth_url"] = default_auth_url
    if region and "auth_url" in values:
        values["auth_url"] = values["auth_url"].replace("{region_name}", region)

    insecure = _flag(cloud.get("insecure"))
    if insecure is None:
        verify = _flag(cloud.get("verify"))
        insecure = None if verify is None else not verify
    if insecure is not None:
        values["insecure"] = "true" if insecure else "false"
    elif "insecure" in cloud or "verify" in cloud:
        logger.warning("Ignoring insecure/verify of cloud %r: not a boolean", name)
    return values


def load_cloud(
    name: str,
    environ: Mapping[str, str],
    cwd: Path,
    home: Path,
    *,
    system_dir: Path = SYSTEM_CONFIG_DIR,
) -> CloudEntry:
    """Read cloud ``name`` from the first clouds file found, with the first secure file merged over it.

    Raises CloudsConfigError, listing every path looked at and the cloud names found, when the cloud
    is in neither file.
    """
    notes: list[str] = []
    clouds_file = _read_first(candidate_paths("clouds", environ, cwd, home, system_dir=system_dir), notes)
    secure_file = _read_first(candidate_paths("secure", environ, cwd, home, system_dir=system_dir), notes)
    clouds = _clouds_of(clouds_file[1]) if clouds_file else {}
    secure = _clouds_of(secure_file[1]) if secure_file else {}

    if name not in clouds and name not in secure:
        lines = [f"cloud {name!r} is not in any clouds.yaml or secure.yaml."]
        if clouds_file is None and secure_file is None:
            lines.append("No clouds.yaml or secure.yaml file was found.")
        for found, label in ((clouds_file, "clouds file"), (secure_file, "secure file")):
            if found is not None:
                names = ", ".join(sorted(str(key) for key in _clouds_of(found[1]))) or "none"
                lines.append(f"The {label} {found[0]} defines clouds: {names}.")
        lines.append("Looked at: " + "; ".join(notes))
        raise CloudsConfigError("\n".join(lines))

    merged: dict[str, Any] = {}
    for part in (clouds, secure):
        entry = part.get(name)
        if entry is None:
            continue
        if not isinstance(entry, Mapping):
            raise CloudsConfigError(f"cloud {name!r} is not a mapping of settings")
        merged = _merge(merged, entry)
    # The path shown to users is the file that defines the cloud (secure.yaml only when it alone does).
    source = clouds_file if clouds_file is not None and name in clouds else secure_file
    assert source is not None
    return CloudEntry(name=name, path=source[0], values=MappingProxyType(_flatten(name, merged)))


def find_cloud(
    name: str | None,
    environ: Mapping[str, str],
    cwd: Path,
    home: Path,
    *,
    system_dir: Path = SYSTEM_CONFIG_DIR,
) -> CloudEntry | None:
    """Like ``load_cloud``, but None when no cloud name was requested (``name`` empty or None)."""
    if not name:
        return None
    return load_cloud(name, environ, cwd, home, system_dir=system_dir)
