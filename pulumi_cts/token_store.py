"""Opt-in token cache on disk, shared by the provider processes of one machine (`cts:tokenCache`).

Parallel pipelines each start their own provider process; without sharing, every one of them asks
IAM for a token, and IAM throttles bursts (IAM.0012). Tokens live in a private subdirectory of the
configured directory (`pulumi-cts-<uid>`, 0700), one 0600 file per identity and scope, named by a
hash, written atomically and guarded by a file lock.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import logging
import math
import os
import stat
import tempfile
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, the cache still works
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("pulumi_cts")


@dataclass(frozen=True)
class Token:
    """A project-scoped IAM token and what its body says about the project."""

    value: str = field(repr=False)
    expires_at: float
    project_id: str
    project_name: str | None = None
    cts_endpoint: str | None = None
    issued_at: float | None = None

    def renew_at(self, margin: float, now: float) -> float:
        """When to stop using this token: `margin` before expiry, or half-way for short-lived ones."""
        lifetime = self.expires_at - (self.issued_at if self.issued_at is not None else now)
        return self.expires_at - min(margin, max(0.0, lifetime) / 2)

    def __repr__(self) -> str:
        return f"Token(project_id={self.project_id!r}, expires_at={self.expires_at!r}, value=***)"


FORMAT_VERSION = 1
# Opening a file never follows a symlink planted in its place (0 where the platform lacks the flag).
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)


def key_digest(key: Hashable) -> str:
    """A file name for a cache key; the key itself (user name, project) never reaches the disk."""
    return hashlib.sha256(json.dumps([FORMAT_VERSION, repr(key)]).encode()).hexdigest()


def _user_id() -> str:
    return str(os.getuid()) if hasattr(os, "getuid") else getpass.getuser()


def private_directory_name() -> str:
    """The subdirectory of the configured directory that holds this user's tokens."""
    return f"pulumi-cts-{_user_id()}"


class UnsafeCacheDirectory(Exception):
    """The cache path cannot be trusted; the message says why and what to change."""


def _is_system_link(path: Path, info: os.stat_result) -> bool:
    """A symlink that only the administrator could have made (macOS's `/tmp -> private/tmp`)."""
    if info.st_uid != 0:
        return False
    try:
        parent = path.parent.lstat()
    except OSError:
        return False
    return parent.st_uid == 0 and not stat.S_IMODE(parent.st_mode) & 0o022


def _refuse_symlinks(directory: Path) -> None:
    """The configured directory must not be a symlink; above it, only the system's own links are followed."""
    for component in [*reversed(directory.parents), directory]:
        try:
            info = component.lstat()
        except FileNotFoundError:
            return  # created below, by us
        if not stat.S_ISLNK(info.st_mode):
            continue
        if component == directory or not _is_system_link(component, info):
            raise UnsafeCacheDirectory(f"{component} is a symbolic link; give the real directory instead")


def _check_private(path: Path) -> None:
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise UnsafeCacheDirectory(f"{path} is not a directory (a symbolic link or a file is in its place)")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise UnsafeCacheDirectory(f"{path} belongs to another user")
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise UnsafeCacheDirectory(f"{path} is open to other users (mode {stat.S_IMODE(info.st_mode):o}, want 700)")


def _number(data: dict[str, Any], name: str) -> float:
    value = data.get(name)
    # bool is an int subclass; a JSON `true` is no time stamp.
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{name} is not a number")
    return float(value)


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} is not a non-empty string")
    return value


def token_from_file(data: Any, digest: str) -> Token:
    """The token a cache file holds, every field checked for its type; ValueError names the first bad one."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    if data.get("version") != FORMAT_VERSION or isinstance(data.get("version"), bool):
        raise ValueError("written in another format")
    if data.get("key") != digest:
        raise ValueError("written for another identity")
    return Token(
        value=_text(data, "value"),
        expires_at=_number(data, "expires_at"),
        project_id=_text(data, "project_id"),
        project_name=None if data.get("project_name") is None else _text(data, "project_name"),
        cts_endpoint=None if data.get("cts_endpoint") is None else _text(data, "cts_endpoint"),
        issued_at=None if data.get("issued_at") is None else _number(data, "issued_at"),
    )


class FileTokenStore:
    """Tokens as JSON files in this user's private subdirectory of `directory`."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(os.path.abspath(Path(directory).expanduser()))

    @property
    def private_directory(self) -> Path:
        return self.directory / private_directory_name()

    def _prepare(self) -> bool:
        """Create the private subdirectory (0700) or check it is ours and private; False disables the cache.

        The configured directory is created if missing but never changed: it may be shared (`/tmp`).
        """
        try:
            _refuse_symlinks(self.directory)
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            private = self.private_directory
            try:
                private.mkdir(mode=0o700)
                os.chmod(private, 0o700)  # ours: the umask may have taken bits we rely on
            except FileExistsError:
                pass
            _check_private(private)
        except UnsafeCacheDirectory as exc:
            log.warning("token cache not used: %s; tokens are not shared", exc)
            return False
        except OSError as exc:
            log.warning("token cache %s is not usable (%s); tokens are not shared", self.directory, exc.strerror)
            return False
        return True

    @contextlib.contextmanager
    def locked(self, key: Hashable) -> Iterator[bool]:
        """Hold the lock for one key across processes, so only one of them asks IAM; yields False when the
        cache cannot be used (then nothing is locked, read or written)."""
        if not self._prepare():
            yield False
            return
        lock_path = self.private_directory / f"{key_digest(key)}.lock"
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | _NO_FOLLOW, 0o600)
        except OSError as exc:
            log.warning("token cache lock %s is not usable (%s); tokens are not shared", lock_path.name, exc.strerror)
            yield False
            return
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield True
        finally:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _path(self, key: Hashable) -> Path:
        return self.private_directory / f"{key_digest(key)}.json"

    def load(self, key: Hashable) -> Token | None:
        """The cached token, or None when there is none or the file is not one this store wrote."""
        path = self._path(key)
        try:
            fd = os.open(path, os.O_RDONLY | _NO_FOLLOW)
            with os.fdopen(fd, encoding="utf-8") as handle:
                data: Any = json.load(handle)
            return token_from_file(data, key_digest(key))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, RecursionError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)[:200]
            log.warning("ignoring the token cache file %s (%s); it will be replaced", path.name, reason)
            return None

    def save(self, key: Hashable, token: Token) -> None:
        data = {
            "version": FORMAT_VERSION,
            "key": key_digest(key),
            "value": token.value,
            "expires_at": token.expires_at,
            "project_id": token.project_id,
            "project_name": token.project_name,
            "cts_endpoint": token.cts_endpoint,
            "issued_at": token.issued_at,
        }
        try:
            fd, temp = tempfile.mkstemp(prefix=".tmp-", dir=self.private_directory)
            try:
                os.fchmod(fd, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(data, handle)
                # Replaces whatever is at the path (a link included) without following it.
                os.replace(temp, self._path(key))
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
        except OSError as exc:
            log.warning("could not write the token cache (%s); continuing without it", exc.strerror)

    def discard(self, key: Hashable, rejected_value: str) -> None:
        """Remove the file if it still holds the token that CTS rejected."""
        if not self._prepare():
            return
        current = self.load(key)
        if current is not None and current.value == rejected_value:
            with contextlib.suppress(OSError):
                self._path(key).unlink()

    def get_or_fetch(self, key: Hashable, fetch: Callable[[], Token], usable: Callable[[Token], bool]) -> Token:
        with self.locked(key) as available:
            if not available:
                return fetch()
            token = self.load(key)
            if token is not None and usable(token):
                return token
            token = fetch()
            self.save(key, token)
            return token
