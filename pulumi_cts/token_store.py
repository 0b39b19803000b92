"""Opt-in token cache on disk, shared by the provider processes of one machine (`cts:tokenCache`).

Parallel pipelines each start their own provider process; without sharing, every one of them asks
IAM for a token, and IAM throttles bursts (IAM.0012). Files are private to the user (0600 in a 0700
directory), named by a hash of identity and scope, written atomically and guarded by a file lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
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


def key_digest(key: Hashable) -> str:
    """A file name for a cache key; the key itself (user name, project) never reaches the disk."""
    return hashlib.sha256(json.dumps([FORMAT_VERSION, repr(key)]).encode()).hexdigest()


class FileTokenStore:
    """Tokens as JSON files in one private directory."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory).expanduser()

    def _prepare(self) -> bool:
        """Create the directory (0700) or check it is ours and private; False disables the cache."""
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = self.directory.stat()
        except OSError as exc:
            log.warning("token cache %s is not usable (%s); tokens are not shared", self.directory, exc.strerror)
            return False
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            log.warning("token cache %s belongs to another user; tokens are not shared", self.directory)
            return False
        if stat.S_IMODE(info.st_mode) & 0o077:
            os.chmod(self.directory, 0o700)
        return True

    @contextlib.contextmanager
    def locked(self, key: Hashable) -> Iterator[None]:
        """Hold the lock for one key across processes, so only one of them asks IAM."""
        if not self._prepare():
            yield
            return
        lock_path = self.directory / f"{key_digest(key)}.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _path(self, key: Hashable) -> Path:
        return self.directory / f"{key_digest(key)}.json"

    def load(self, key: Hashable) -> Token | None:
        path = self._path(key)
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != FORMAT_VERSION or data.get("key") != key_digest(key):
                raise ValueError("written for another identity or format")
            return Token(
                value=str(data["value"]),
                expires_at=float(data["expires_at"]),
                project_id=str(data["project_id"]),
                project_name=data.get("project_name"),
                cts_endpoint=data.get("cts_endpoint"),
                issued_at=data.get("issued_at"),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            log.warning("ignoring an unreadable token cache file %s", path.name)
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
            fd, temp = tempfile.mkstemp(prefix=".tmp-", dir=self.directory)
            try:
                os.fchmod(fd, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(data, handle)
                os.replace(temp, self._path(key))
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp)
                raise
        except OSError as exc:
            log.warning("could not write the token cache (%s); continuing without it", exc.strerror)

    def discard(self, key: Hashable, rejected_value: str) -> None:
        """Remove the file if it still holds the token that CTS rejected."""
        current = self.load(key)
        if current is not None and current.value == rejected_value:
            with contextlib.suppress(OSError):
                self._path(key).unlink()

    def get_or_fetch(self, key: Hashable, fetch: Callable[[], Token], usable: Callable[[Token], bool]) -> Token:
        with self.locked(key):
            token = self.load(key)
            if token is not None and usable(token):
                return token
            token = fetch()
            if self.directory.is_dir():
                self.save(key, token)
            return token
