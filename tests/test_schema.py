"""Migrations keep what an older database holds."""

from __future__ import annotations

import sqlite_utils

from storage.schema import MIGRATIONS, migrate
from storage.store import Store


def test_a_version_7_database_keeps_its_message_keys_and_contacts(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    db["migrations"].create({"version": int, "applied_at": str}, pk="version")
    for version, step in MIGRATIONS:
        if version <= 7:
            step(db)
            db["migrations"].insert({"version": version, "applied_at": "2026-09-01"})
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
