"""The opt-in shared token cache on disk: one IAM call for many processes, private files, no mixing."""

from __future__ import annotations

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

    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = [p for p in directory.iterdir() if p.suffix == ".json"]
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert files[0].name == f"{key_digest(KEY)}.json"
    assert "pipeline-bot" not in files[0].name and "pipeline-bot" not in files[0].read_text()


def test_a_loose_directory_is_tightened(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    directory.mkdir(mode=0o755)
    os.chmod(directory, 0o755)
    TokenCache(store=FileTokenStore(directory)).get(KEY, lambda: token("t1"))
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_a_second_process_reuses_the_file_until_the_refresh_margin(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path)
    TokenCache(store=store).get(KEY, lambda: token("first"))
    assert TokenCache(store=store).get(KEY, lambda: token("second")).value == "first"
    store.save(KEY, token("nearly-expired", lifetime=86400, age=86400 - 100))
    assert TokenCache(margin=300, store=store).get(KEY, lambda: token("fresh")).value == "fresh"
    assert store.load(KEY) is not None and store.load(KEY).value == "fresh"  # type: ignore[union-attr]


@pytest.mark.parametrize("content", ["{not json", "[]", '{"version": 1}', '{"version": 99, "value": "x"}'])
def test_a_corrupt_file_is_ignored_and_replaced(tmp_path: Path, content: str) -> None:
    store = FileTokenStore(tmp_path)
    (tmp_path / f"{key_digest(KEY)}.json").write_text(content)
    assert TokenCache(store=store).get(KEY, lambda: token("replacement")).value == "replacement"
    assert store.load(KEY) is not None


def test_identities_never_share_a_token(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path)
    other = (*KEY[:2], "another-user", *KEY[3:])
    TokenCache(store=store).get(KEY, lambda: token("alice-token"))
    assert TokenCache(store=store).get(other, lambda: token("bob-token")).value == "bob-token"
    # A file copied under another identity's name is refused: the key inside it does not match.
    (tmp_path / f"{key_digest(other)}.json").write_text((tmp_path / f"{key_digest(KEY)}.json").read_text())
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
