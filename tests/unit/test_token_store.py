"""The opt-in shared token cache on disk: one IAM call for many processes, private files, no mixing,
no trust in what is already on disk (shared directories, symlinks, files it did not write)."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pulumi_cts.auth import TokenCache
from pulumi_cts.token_store import FileTokenStore, Token, key_digest

KEY = ("https://iam.example/v3", "OTC-domain", "pipeline-bot", "fingerprint", "eu-de", "", "eu-de")

WORKER = textwrap.dedent(
    """
    import os, sys, time
    from pulumi_cts.auth import TokenCache
    from pulumi_cts.token_store import Token
    from pulumi_cts.token_store import FileTokenStore

    directory, counter, start_at = sys.argv[1], sys.argv[2], float(sys.argv[3])
    key = ("https://iam.example/v3", "OTC-domain", "pipeline-bot", "fingerprint", "eu-de", "", "eu-de")

    def fetch():
        with open(counter, "a") as handle:
            handle.write(f"{os.getpid()}\\n")
        time.sleep(0.3)  # a slow IAM makes the race real
        return Token(value=f"token-from-{os.getpid()}", expires_at=time.time() + 86400, project_id="p")

    while time.time() < start_at:
        time.sleep(0.005)
    print(TokenCache(store=FileTokenStore(directory)).get(key, fetch).value)
    """
)


def private(directory: Path) -> Path:
    """Where the store keeps this user's files: its own subdirectory of the configured one."""
    return directory / f"pulumi-cts-{os.getuid() if hasattr(os, 'getuid') else os.getlogin()}"


def token_file(directory: Path, key: tuple[str, ...] = KEY) -> Path:
    return private(directory) / f"{key_digest(key)}.json"


def token(value: str, lifetime: float = 86400, age: float = 0) -> Token:
    issued = time.time() - age
    return Token(value=value, expires_at=issued + lifetime, project_id="p", project_name="eu-de", issued_at=issued)


@pytest.mark.skipif(sys.platform == "win32", reason="file locks are POSIX advisory locks")
def test_processes_starting_together_make_one_iam_call(tmp_path: Path) -> None:
    directory, counter = tmp_path / "tokens", tmp_path / "fetches.log"
    start_at = time.time() + 1.5
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(directory), str(counter), str(start_at)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )
        for _ in range(8)
    ]
    outputs = {w.communicate(timeout=30)[0].strip() for w in workers}
    assert all(w.returncode == 0 for w in workers)
    assert len(counter.read_text().splitlines()) == 1
    assert len(outputs) == 1 and outputs.pop().startswith("token-from-")


def test_files_are_private_and_named_without_the_user_name(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    cache = TokenCache(store=FileTokenStore(directory))
    cache.get(KEY, lambda: token("t1"))

    assert stat.S_IMODE(private(directory).stat().st_mode) == 0o700
    files = [p for p in private(directory).iterdir() if p.suffix == ".json"]
    assert files == [token_file(directory)]
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert "pipeline-bot" not in files[0].name and "pipeline-bot" not in files[0].read_text()


@pytest.mark.parametrize("mode", [0o1777, 0o755, 0o750])
def test_the_configured_directory_keeps_its_mode(tmp_path: Path, mode: int) -> None:
    # CTS_TOKEN_CACHE=/tmp on a CI runner: the directory is shared, its sticky bit protects everyone's files.
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, mode)
    store = FileTokenStore(shared)
    TokenCache(store=store).get(KEY, lambda: token("t1"))

    assert stat.S_IMODE(shared.stat().st_mode) == mode
    assert [p.name for p in shared.iterdir()] == [private(shared).name]
    assert stat.S_IMODE(private(shared).stat().st_mode) == 0o700
    assert TokenCache(store=store).get(KEY, lambda: token("second")).value == "t1"


def test_a_private_directory_opened_to_others_is_not_used_nor_changed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    private(tmp_path).mkdir()
    os.chmod(private(tmp_path), 0o755)
    store = FileTokenStore(tmp_path)
    with caplog.at_level(logging.WARNING, logger="pulumi_cts"):
        assert TokenCache(store=store).get(KEY, lambda: token("in-memory")).value == "in-memory"
    assert stat.S_IMODE(private(tmp_path).stat().st_mode) == 0o755
    assert list(private(tmp_path).iterdir()) == []
    assert "open to other users" in caplog.text


def _assert_not_shared(store: FileTokenStore, target: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The store works without the disk (each process fetches its own token) and leaves `target` alone."""
    mode_before = stat.S_IMODE(target.stat().st_mode)
    with caplog.at_level(logging.WARNING, logger="pulumi_cts"):
        assert TokenCache(store=store).get(KEY, lambda: token("first")).value == "first"
        assert TokenCache(store=store).get(KEY, lambda: token("second")).value == "second"
        TokenCache(store=store).invalidate(KEY, "second")
    assert "symbolic link" in caplog.text
    assert stat.S_IMODE(target.stat().st_mode) == mode_before
    assert list(target.rglob("*.json")) == [] and list(target.rglob("*.lock")) == []


@pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32", reason="POSIX symlinks")
def test_a_symlinked_cache_directory_is_refused(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    target = tmp_path / "somebody-elses-directory"
    target.mkdir()
    os.chmod(target, 0o755)
    link = tmp_path / "cache"
    link.symlink_to(target)
    _assert_not_shared(FileTokenStore(link), target, caplog)


@pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32", reason="POSIX symlinks")
def test_a_symlink_planted_as_the_private_directory_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shared, target = tmp_path / "shared", tmp_path / "planted-target"
    shared.mkdir()
    target.mkdir(mode=0o700)
    private(shared).symlink_to(target)
    _assert_not_shared(FileTokenStore(shared), target, caplog)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a symlink to another user needs root"
)
def test_a_symlink_higher_up_made_by_another_user_is_refused(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    target = tmp_path / "target"
    (target / "cache").mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(target)
    os.lchown(link, 54321, 54321)
    _assert_not_shared(FileTokenStore(link / "cache"), target, caplog)


@pytest.mark.skipif(not hasattr(os, "symlink") or sys.platform == "win32", reason="POSIX symlinks")
def test_a_symlink_in_place_of_a_token_file_is_not_followed(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "cache")
    TokenCache(store=store).get(("another", "identity"), lambda: token("unrelated"))
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text("do not touch")
    token_file(tmp_path / "cache").symlink_to(elsewhere)

    assert TokenCache(store=store).get(KEY, lambda: token("replacement")).value == "replacement"
    assert elsewhere.read_text() == "do not touch"
    assert not token_file(tmp_path / "cache").is_symlink()
    assert store.load(KEY) is not None and store.load(KEY).value == "replacement"  # type: ignore[union-attr]


def test_a_second_process_reuses_the_file_until_the_refresh_margin(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path)
    TokenCache(store=store).get(KEY, lambda: token("first"))
    assert TokenCache(store=store).get(KEY, lambda: token("second")).value == "first"
    store.save(KEY, token("nearly-expired", lifetime=86400, age=86400 - 100))
    assert TokenCache(margin=300, store=store).get(KEY, lambda: token("fresh")).value == "fresh"
    assert store.load(KEY) is not None and store.load(KEY).value == "fresh"  # type: ignore[union-attr]


def valid_file(**changes: object) -> str:
    data = {
        "version": 1,
        "key": key_digest(KEY),
        "value": "cached-token",
        "expires_at": time.time() + 86400,
        "project_id": "p",
        "project_name": "eu-de",
        "cts_endpoint": "https://cts.example",
        "issued_at": time.time(),
        **changes,
    }
    return json.dumps({k: v for k, v in data.items() if v is not ...})


UNUSABLE_FILES = {
    "not JSON": "{not json",
    "a list": "[]",
    "a string": '"token"',
    "null": "null",
    "version only": '{"version": 1}',
    "another version": valid_file(version=99),
    "version true": valid_file(version=True),
    "another key": valid_file(key="0" * 64),
    "issued_at a string": valid_file(issued_at="yesterday"),
    "issued_at a list": valid_file(issued_at=[1]),
    "expires_at a string": valid_file(expires_at="2030-01-01T00:00:00Z"),
    "expires_at true": valid_file(expires_at=True),
    "expires_at NaN": valid_file(expires_at=float("nan")),
    "expires_at missing": valid_file(expires_at=...),
    "cts_endpoint a number": valid_file(cts_endpoint=5),
    "project_id null": valid_file(project_id=None),
    "project_id a number": valid_file(project_id=42),
    "project_name a list": valid_file(project_name=["eu-de"]),
    "value a number": valid_file(value=123),
    "value empty": valid_file(value=""),
    "value an object": valid_file(value={"token": "x"}),
    "nested 5000 levels": "[" * 5000 + "]" * 5000,
    "not UTF-8": valid_file(value="\xff").replace("\\u00ff", "\udcff"),
}


@pytest.mark.parametrize("content", UNUSABLE_FILES.values(), ids=UNUSABLE_FILES.keys())
def test_a_file_that_fails_validation_is_ignored_and_replaced(
    tmp_path: Path, content: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = FileTokenStore(tmp_path)
    TokenCache(store=store).get(("another", "identity"), lambda: token("unrelated"))
    # surrogateescape turns the lone surrogate of the "not UTF-8" case back into the raw byte 0xff.
    token_file(tmp_path).write_bytes(content.encode("utf-8", errors="surrogateescape"))

    with caplog.at_level(logging.WARNING, logger="pulumi_cts"):
        fresh = TokenCache(store=store).get(KEY, lambda: token("replacement"))
    assert fresh.value == "replacement" and fresh.project_id == "p"
    assert "token cache file" in caplog.text
    assert json.loads(token_file(tmp_path).read_text())["value"] == "replacement"
    # The next process reads the replacement instead of asking IAM again.
    assert TokenCache(store=store).get(KEY, lambda: token("third")).value == "replacement"


def test_a_complete_file_is_read_back_field_by_field(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path)
    TokenCache(store=store).get(("another", "identity"), lambda: token("unrelated"))
    token_file(tmp_path).write_text(valid_file(project_name=None, cts_endpoint=None, issued_at=None))
    cached = store.load(KEY)
    assert cached is not None
    assert (cached.value, cached.project_id, cached.project_name, cached.cts_endpoint, cached.issued_at) == (
        "cached-token",
        "p",
        None,
        None,
        None,
    )


def test_identities_never_share_a_token(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path)
    other = (*KEY[:2], "another-user", *KEY[3:])
    TokenCache(store=store).get(KEY, lambda: token("alice-token"))
    assert TokenCache(store=store).get(other, lambda: token("bob-token")).value == "bob-token"
    # A file copied under another identity's name is refused: the key inside it does not match.
    token_file(tmp_path, other).write_text(token_file(tmp_path).read_text())
    assert store.load(other) is None


def test_a_rejected_token_is_removed_from_disk(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path)
    cache = TokenCache(store=store)
    cache.get(KEY, lambda: token("revoked"))
    cache.invalidate(KEY, "revoked")
    assert store.load(KEY) is None
    assert TokenCache(store=store).get(KEY, lambda: token("renewed")).value == "renewed"


def test_an_unusable_directory_disables_sharing_but_not_the_provider(tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    cache = TokenCache(store=FileTokenStore(blocker / "cache"))
    assert cache.get(KEY, lambda: token("in-memory")).value == "in-memory"
