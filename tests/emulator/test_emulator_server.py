"""The in-process `Emulator`: start/stop, bind errors, and SQLite persistence across restarts."""

from __future__ import annotations

import hashlib
import json
import socket
import sqlite3
import threading
from pathlib import Path

import pytest
import requests

from pulumi_cts.emulator import Emulator, EmulatorBindError
from tests.emulator.helpers import TOPIC, Api, EmulatorFactory, assert_error
from tests.support import BUCKET


def test_start_on_a_taken_port_raises_at_once() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]

        with pytest.raises(EmulatorBindError) as caught:
            Emulator(port=port).start()

    assert caught.value.port == port
    assert str(port) in str(caught.value)


def test_context_manager_serves_then_releases_the_port() -> None:
    with Emulator() as emulator:
        port = emulator.port
        assert emulator.base_url == f"http://127.0.0.1:{port}"
        assert requests.get(f"{emulator.base_url}/_emulator/state", timeout=5).status_code == 200

    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/_emulator/state", timeout=5)
    # The port is free again: a new emulator can take it.
    with Emulator(port=port) as again:
        assert again.port == port


def test_stop_is_idempotent_and_start_twice_is_an_error(make_emulator: EmulatorFactory) -> None:
    emulator = make_emulator()
    with pytest.raises(RuntimeError):
        emulator.start()
    emulator.stop()
    emulator.stop()


def test_the_server_thread_survives_dropped_connections(api: Api, emulator: Emulator) -> None:
    before = {t.name for t in threading.enumerate()}
    emulator.control.add_fault(action="drop", times=5)
    for _ in range(5):
        with pytest.raises(requests.ConnectionError):
            api.request_token({})

    assert f"cts-emulator-{emulator.port}" in before
    assert f"cts-emulator-{emulator.port}" in {t.name for t in threading.enumerate()}
    assert api.login().token


def test_state_file_keeps_trackers_and_buckets_across_restarts(tmp_path: Path) -> None:
    state = str(tmp_path / "state.sqlite")
    with Emulator(state_path=state, buckets=[BUCKET]) as first:
        api = Api(first.base_url)
        login = api.login("eu-de")
        created = api.create(login, {"bucket_name": "auto-made", "is_obs_created": True, "file_prefix_name": "p"})
        assert created.status_code == 201
        first.control.add_kms_key("runtime-key")
        api.close()

    with Emulator(state_path=state) as second:
        api = Api(second.base_url)
        # Tokens do not survive a restart; the project id does.
        assert_error(api.get(login), 401, "APIGW.0301")
        relogin = api.login("eu-de")
        assert relogin.project_id == login.project_id
        assert api.get(relogin).json() == created.json()
        state_view = second.control.state()
        assert {"auto-made", BUCKET} <= {b["name"] for b in state_view["buckets"]}
        assert "runtime-key" in state_view["kms_keys"]
        api.close()


def test_without_a_state_file_nothing_survives(tmp_path: Path) -> None:
    with Emulator(buckets=[BUCKET]) as first:
        api = Api(first.base_url)
        api.create(api.login(), {"bucket_name": BUCKET})
        api.close()
    with Emulator(buckets=[BUCKET]) as second:
        api = Api(second.base_url)
        assert api.get(api.login(), None).json() == []
        api.close()


def test_state_file_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    with sqlite3.connect(state) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('schema_version', '999')")
    db.close()

    with pytest.raises(ValueError, match="schema version 999"):
        Emulator(state_path=str(state)).start()


def test_state_file_keeps_data_trackers_notifications_and_traces(tmp_path: Path) -> None:
    state = str(tmp_path / "state.sqlite")
    data_tracker = {
        "tracker_type": "data",
        "tracker_name": "reads",
        "data_bucket": {"data_bucket_name": BUCKET, "data_event": ["READ"]},
    }
    notification = {"notification_name": "ops", "operation_type": "complete", "topic_id": TOPIC}
    with Emulator(state_path=state, buckets=[BUCKET]) as first:
        api = Api(first.base_url)
        login = api.login()
        tracker = api.v3_create(login, data_tracker).json()
        created = api.create_notification(login, notification).json()
        traces = api.traces(login).json()["traces"]
        api.close()

    with Emulator(state_path=state) as second:
        api = Api(second.base_url)
        login = api.login()
        assert api.v3_tracker(login, "reads") == tracker
        assert api.notifications(login).json() == {"notifications": [created]}
        assert api.traces(login).json()["traces"][1:] == traces
        api.close()


def test_state_file_of_schema_version_1_is_upgraded(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    project_id = hashlib.sha256(b"eu-de").hexdigest()[:32]
    settings = {
        "bucket_name": BUCKET,
        "file_prefix_name": "old",
        "is_obs_created": False,
        "is_support_trace_files_encryption": False,
        "kms_id": "",
        "is_support_validate": False,
        "is_lts_enabled": False,
        "status": "enabled",
    }
    document = {"id": "t-1", "project_id": project_id, "domain_id": "d" * 32, "create_time": 1, "settings": settings}
    with sqlite3.connect(state) as db:
        db.executescript(
            """
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE projects (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, domain_id TEXT NOT NULL);
            CREATE TABLE buckets (name TEXT PRIMARY KEY, location TEXT NOT NULL);
            CREATE TABLE kms_keys (id TEXT PRIMARY KEY);
            CREATE TABLE trackers (project_id TEXT PRIMARY KEY, document TEXT NOT NULL);
            INSERT INTO meta VALUES ('schema_version', '1');
            """
        )
        db.execute("INSERT INTO buckets VALUES (?, 'eu-de')", (BUCKET,))
        db.execute("INSERT INTO trackers VALUES (?, ?)", (project_id, json.dumps(document)))
    db.close()

    with Emulator(state_path=str(state)) as emulator:
        api = Api(emulator.base_url)
        login = api.login()
        assert api.get(login).json()["file_prefix_name"] == "old"
        assert api.v3_tracker(login)["obs_info"]["compress_type"] == "gzip"
        api.close()
    with sqlite3.connect(state) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("3",)
    db.close()


def test_state_file_of_schema_version_2_is_upgraded(tmp_path: Path) -> None:
    """Version 2 kept no account name with a project: the column is added, and the projects it knew keep working."""
    state = str(tmp_path / "state.sqlite")
    with Emulator(state_path=state, buckets=[BUCKET]) as first:
        api = Api(first.base_url)
        api.create(api.login(), {"bucket_name": BUCKET})
        api.close()
    with sqlite3.connect(state) as db:
        db.executescript(
            """
            CREATE TABLE old_projects (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, domain_id TEXT NOT NULL);
            INSERT INTO old_projects SELECT id, name, domain_id FROM projects;
            DROP TABLE projects;
            ALTER TABLE old_projects RENAME TO projects;
            UPDATE meta SET value = '2' WHERE key = 'schema_version';
            """
        )
    db.close()

    with Emulator(state_path=state) as second:
        api = Api(second.base_url)
        login = api.login()
        assert api.get(login).json()["bucket_name"] == BUCKET
        assert [(p["name"], p["domain_name"]) for p in second.control.state()["projects"]] == [("eu-de", "")]
        api.close()
    with sqlite3.connect(state) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("3",)
    db.close()
