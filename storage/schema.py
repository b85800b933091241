"""The schema, created and migrated by code at start.

Each migration runs once, in order, inside a transaction; the `migrations`
table records which ran. Add a new function at the end; never edit an old one.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import sqlite_utils

logger = logging.getLogger(__name__)


def _v1_initial(db: sqlite_utils.Database) -> None:
    db["people"].create(
        {
            "id": int,
            "name": str,
            "role": str,
            "school": str,
            "standard": str,
            "reminders": int,
            "created_at": str,
        },  # fmt: skip
        pk="id",
        not_null={"role", "created_at"},
        defaults={"role": "教师", "reminders": 1},
    )
    db["identities"].create(
        {"channel": str, "external_id": str, "person_id": int, "created_at": str},
        pk=("channel", "external_id"),
        foreign_keys=[("person_id", "people", "id")],
    )
    db["claims"].create(
        {
            "id": int,
            "person_id": int,
            "number": int,
            "period": str,
            "item": str,
            "facts": str,
            "text": str,
            "standard_id": str,
            "standard_version": str,
            "hours_raw": str,
            "hours_counted": str,
            "reviewer_hours": str,
            "status": str,
            "activity_date": str,
            "created_at": str,
            "updated_at": str,
        },  # fmt: skip
        pk="id",
        foreign_keys=[("person_id", "people", "id")],
        not_null={"person_id", "number", "period", "item", "status"},
    )
    db["claims"].create_index(["person_id", "period"])
    db["claims"].create_index(["person_id", "number"], unique=True)
    db["inbox"].create({"key": str, "answer": str, "created_at": str}, pk="key")


def _v2_questions(db: sqlite_utils.Database) -> None:
    # One open question per person: the claim waiting for a missing fact.
    db["questions"].create(
        {"person_id": int, "payload": str, "expires_at": str},
        pk="person_id",
        foreign_keys=[("person_id", "people", "id")],
    )


MIGRATIONS = [(1, _v1_initial), (2, _v2_questions)]


def migrate(db: sqlite_utils.Database) -> int:
    """Bring the database to the newest schema; returns its version."""
    if "migrations" not in db.table_names():
        db["migrations"].create({"version": int, "applied_at": str}, pk="version")
    done = {row["version"] for row in db["migrations"].rows}
    for version, step in MIGRATIONS:
        if version in done:
            continue
        with db.conn:
            step(db)
            db["migrations"].insert(
                {"version": version, "applied_at": datetime.now(UTC).isoformat()}
            )
        logger.info("applied schema migration %s", version)
    return max(v for v, _ in MIGRATIONS)
