"""Migrations keep what an older database holds."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlite_utils

from storage.schema import MIGRATIONS, migrate
from storage.store import Store


def test_a_version_7_database_keeps_its_message_keys_and_contacts(tmp_path):
    path = tmp_path / "old.db"
    _version_7(path)
    db = sqlite_utils.Database(path)
    db["inbox"].insert({"key": "o1:42", "answer": "好", "created_at": "2026-09-01"})
    db["contacts"].insert(
        {"channel": "oa", "external_id": "o1", "last_inbound_at": "2026-09-01"}
    )
    db.conn.close()

    store = Store(path)
    try:
        assert store.version == max(v for v, _ in MIGRATIONS)
        assert store.answered("o1:42") == (True, "好")
        assert store.push_recipients(store.person_for("oa", "o1").id)["oa"]
        sql = dict(store.db.execute("SELECT name, sql FROM sqlite_master").fetchall())
        assert "WITHOUT ROWID" in sql["inbox"] and "WITHOUT ROWID" in sql["contacts"]
        assert migrate(store.db) == store.version  # nothing left to do
    finally:
        store.close()


_OPEN_AT = r"""
import sys, time
from storage.store import Store
at = float(sys.argv[2])
time.sleep(max(0.0, at - time.time()))
Store(sys.argv[1]).close()
print("opened")
"""


def _open_together(path, processes=4):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    at = str(time.time() + 1.5)
    children = [
        subprocess.Popen([sys.executable, "-c", _OPEN_AT, str(path), at], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]  # fmt: skip
    return [child.communicate(timeout=60) for child in children]


@pytest.mark.parametrize("old", [False, True], ids=["new file", "version 7 file"])
def test_processes_opening_one_file_at_once_all_start(tmp_path, old):
    path = tmp_path / "x.db"
    if old:
        _version_7(path)
    results = _open_together(path)
    assert all(out.strip() == "opened" for out, _ in results), results
    store = Store(path)
    try:
        versions = [r["version"] for r in store.db["migrations"].rows]
        assert versions == sorted(set(versions))  # each migration ran once
        assert store.version == max(versions)
    finally:
        store.close()


def _version_7(path):
    db = sqlite_utils.Database(path)
    db["migrations"].create({"version": int, "applied_at": str}, pk="version")
    for version, step in MIGRATIONS:
        if version <= 7:
            step(db)
            db["migrations"].insert({"version": version, "applied_at": "2026-09-01"})
    db.conn.close()


def test_old_message_keys_are_forgotten_a_few_at_a_time(tmp_path):
    from datetime import UTC, datetime, timedelta

    store = Store(tmp_path / "x.db")
    try:
        now = datetime.now(UTC)
        rows = [{"key": f"u{n:03d}:1", "answer": "好",
                 "created_at": (now - timedelta(days=3 if n % 3 else 1)).isoformat()}
                for n in range(100)]  # fmt: skip
        store.db["inbox"].insert_all(rows)
        after, rounds, gone = "", 0, 0
        while after is not None:
            done, after = store.forget_answers(now - timedelta(days=2), after, keys=7)
            gone, rounds = gone + done, rounds + 1
        kept = {r["key"] for r in store.db["inbox"].rows}
        assert kept == {f"u{n:03d}:1" for n in range(100) if n % 3 == 0}
        assert gone == 100 - len(kept) and rounds == 100 // 7 + 2
    finally:
        store.close()
