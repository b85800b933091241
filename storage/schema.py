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


def _v3_review(db: sqlite_utils.Database) -> None:
    """Towns and schools, roles, evidence, the audit log and the push outbox."""
    db["towns"].create({"id": int, "name": str}, pk="id", not_null={"name"})
    db["towns"].create_index(["name"], unique=True)
    db["schools"].create(
        {"id": int, "name": str, "town_id": int, "standard": str, "invite_code": str},
        pk="id",
        foreign_keys=[("town_id", "towns", "id")],
        not_null={"name", "town_id"},
    )
    db["schools"].create_index(["town_id", "name"], unique=True)
    db["schools"].create_index(["invite_code"], unique=True)
    db["people"].add_column("staff_no", str)
    db["people"].add_column("school_id", int, fk="schools", fk_col="id")
    db["people"].create_index(["school_id", "staff_no"], unique=True)
    db["evidence"].create(
        {
            "id": int,
            "person_id": int,
            "claim_id": int,
            "media_id": str,
            "kind": str,
            "path": str,
            "sha256": str,
            "size": int,
            "state": str,
            "error": str,
            "created_at": str,
            "fetched_at": str,
        },  # fmt: skip
        pk="id",
        foreign_keys=[("person_id", "people", "id"), ("claim_id", "claims", "id")],
    )
    db["evidence"].create_index(["claim_id"])
    db["evidence"].create_index(["person_id", "created_at"])
    db["decisions"].create(
        {
            "id": int,
            "at": str,
            "actor_id": int,
            "claim_id": int,
            "action": str,
            "from_status": str,
            "to_status": str,
            "hours_before": str,
            "hours_after": str,
            "reason": str,
        },  # fmt: skip
        pk="id",
        foreign_keys=[("actor_id", "people", "id"), ("claim_id", "claims", "id")],
    )
    db["decisions"].create_index(["claim_id"])
    # The audit log is append-only: no command, and no mistake, can rewrite it.
    for event in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER decisions_no_{event.lower()} BEFORE {event} ON decisions "
            "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
        )
    db["outbox"].create(
        {
            "id": int,
            "key": str,
            "person_id": int,
            "text": str,
            "state": str,
            "channel": str,
            "attempts": int,
            "next_attempt_at": str,
            "error": str,
            "created_at": str,
            "sent_at": str,
        },  # fmt: skip
        pk="id",
        foreign_keys=[("person_id", "people", "id")],
        not_null={"key", "person_id", "text", "state"},
    )
    db["outbox"].create_index(["key"], unique=True)
    db["outbox"].create_index(["state", "next_attempt_at"])
    # Which claims each reviewer has already been prompted about.
    db["prompted"].create(
        {"person_id": int, "claim_id": int}, pk=("person_id", "claim_id")
    )


def _v4_rescorings(db: sqlite_utils.Database) -> None:
    # A rescoring under a new version of a standard is recorded once per run,
    # with the change of each teacher whose hours moved.
    db["rescorings"].create(
        {
            "id": int,
            "standard_id": str,
            "standard_version": str,
            "period": str,
            "teachers": int,
            "changed": int,
            "applied_at": str,
        },  # fmt: skip
        pk="id",
        not_null={"standard_id", "standard_version", "period", "applied_at"},
    )
    db["rescoring_changes"].create(
        {
            "rescoring_id": int,
            "person_id": int,
            "hours_before": str,
            "hours_after": str,
            "claims_changed": int,
        },  # fmt: skip
        pk=("rescoring_id", "person_id"),
        foreign_keys=[
            ("rescoring_id", "rescorings", "id"),
            ("person_id", "people", "id"),
        ],
    )


def _v5_push(db: sqlite_utils.Database) -> None:
    """What the outbox sender needs: routes tried, claims, and when people wrote."""
    # `channel` holds the route of the current (or delivering) attempt.
    for column, kind in [("recipient", str), ("claimed_at", str),
                         ("route_attempts", int), ("failed_routes", str)]:  # fmt: skip
        db["outbox"].add_column(column, kind)
    db.execute("UPDATE outbox SET route_attempts = 0, failed_routes = ''")
    # Rate limits count recent sends to one recipient over one route.
    db["outbox"].create_index(["channel", "recipient", "claimed_at"])
    # The Official Account's 48-hour window opens when a WeChat user writes.
    db["contacts"].create(
        {"channel": str, "external_id": str, "last_inbound_at": str},
        pk=("channel", "external_id"),
    )


def _v6_evidence_fetch(db: sqlite_utils.Database) -> None:
    # Which platform holds the media (oa or wecom), and how often fetching failed.
    db["evidence"].add_column("channel", str)
    db["evidence"].add_column("attempts", int, not_null_default=0)
    db["evidence"].create_index(["state"])


def _v7_reminders(db: sqlite_utils.Database) -> None:
    """Deadline reminders: each person's standing, what was queued, which rounds ran."""
    # What reminders need of a person's progress (handlers/progress.py writes it),
    # kept between changes; the triggers below drop it when its inputs change.
    db["standings"].create(
        {
            "person_id": int,
            "standard_id": str,
            "standard_version": str,
            "period": str,
            "claimed": str,
            "approved": str,
            "gap": str,
            "target": str,
            "only_bonus": str,
            "rooms": str,
            "updated_at": str,
        },
        pk="person_id",
        foreign_keys=[("person_id", "people", "id")],
    )
    claim_inputs = "person_id, period, item, facts, standard_id, standard_version, "
    claim_inputs += "status, reviewer_hours"
    for name, event, who in [
        ("claim_added", "INSERT ON claims", "NEW.person_id"),
        ("claim_removed", "DELETE ON claims", "OLD.person_id"),
        ("claim_changed", f"UPDATE OF {claim_inputs} ON claims",
         "OLD.person_id, NEW.person_id"),
        ("person_moved", "UPDATE OF standard, school_id ON people", "NEW.id"),
        ("school_standard", "UPDATE OF standard ON schools",
         "SELECT id FROM people WHERE school_id = NEW.id"),
    ]:  # fmt: skip
        db.execute(
            f"CREATE TRIGGER standings_{name} AFTER {event} "
            f"BEGIN DELETE FROM standings WHERE person_id IN ({who}); END"
        )
    # One row per reminder queued. `season` (the teachers' deadline) finds who
    # was reminded up to which day, and the once-a-season ones.
    db["reminder_log"].create(
        {"person_id": int, "day": str, "kind": str, "season": str, "queued_at": str},
        pk=("person_id", "day", "kind"),
        foreign_keys=[("person_id", "people", "id")],
        not_null={"season", "queued_at"},
    )
    db["reminder_log"].create_index(["season", "person_id", "day"])
    # A scheduled round (a school's teachers or reviewers on one day) ran.
    db["reminder_rounds"].create(
        {"school_id": int, "day": str, "audience": str, "done_at": str},
        pk=("school_id", "day", "audience"),
        foreign_keys=[("school_id", "schools", "id")],
    )
    # Who can be reached, and the queues by state, for every teacher at once.
    db["identities"].create_index(["person_id"])
    db["claims"].create_index(["status", "person_id"])


def _v8_keyed_tables(db: sqlite_utils.Database) -> None:
    # Written on every message and read by key alone: stored in their key's
    # B-tree (WITHOUT ROWID), one tree to write instead of a table and an index.
    tables = {
        "inbox": '"key" TEXT PRIMARY KEY, "answer" TEXT, "created_at" TEXT',
        "contacts": '"channel" TEXT, "external_id" TEXT, "last_inbound_at" TEXT, '
        'PRIMARY KEY ("channel", "external_id")',
    }
    for table, columns in tables.items():
        db.execute(f'CREATE TABLE "{table}_v8" ({columns}) WITHOUT ROWID')
        db.execute(f'INSERT INTO "{table}_v8" SELECT * FROM "{table}"')
        db.execute(f'DROP TABLE "{table}"')
        db.execute(f'ALTER TABLE "{table}_v8" RENAME TO "{table}"')
    # A person's claims are found through (person_id, number); one index less
    # to write with each claim.
    db.execute('DROP INDEX IF EXISTS "idx_claims_person_id_period"')
    # A person's revision moves with any change to their claims: a claim's
    # answer worked out beforehand still holds if the revision has not moved.
    db.execute('ALTER TABLE "people" ADD COLUMN "revision" INTEGER NOT NULL DEFAULT 0')
    for event, people in (
        ("INSERT", "NEW.person_id"),
        ("UPDATE", "OLD.person_id, NEW.person_id"),
        ("DELETE", "OLD.person_id"),
    ):
        db.execute(
            f'CREATE TRIGGER "revision_claim_{event.lower()}" AFTER {event} ON claims '
            f"BEGIN UPDATE people SET revision = revision + 1 WHERE id IN ({people}); END"
        )
    # A chat identity the school unbound, until its next answer says so.
    db.execute(
        'CREATE TABLE "removed_bindings" ("channel" TEXT, "external_id" TEXT, '
        '"name" TEXT, "school" TEXT, "removed_at" TEXT, '
        'PRIMARY KEY ("channel", "external_id")) WITHOUT ROWID'
    )


MIGRATIONS = [(1, _v1_initial), (2, _v2_questions), (3, _v3_review), (4, _v4_rescorings),
              (5, _v5_push), (6, _v6_evidence_fetch), (7, _v7_reminders),
              (8, _v8_keyed_tables)]  # fmt: skip


def migrate(db: sqlite_utils.Database) -> int:
    """Bring the database to the newest schema; returns its version."""
    latest = max(v for v, _ in MIGRATIONS)
    if "migrations" in db.table_names() and db["migrations"].count_where(
        "version = ?", [latest]
    ):
        return latest  # the usual start: nothing to do, nothing to lock
    # What is done is read inside the write transaction: a process that opened
    # the file at the same moment may have migrated it meanwhile.
    for version, step in MIGRATIONS:
        db.execute("BEGIN IMMEDIATE")
        try:
            if "migrations" not in db.table_names():
                db["migrations"].create(
                    {"version": int, "applied_at": str}, pk="version"
                )
            done = db["migrations"].count_where("version = ?", [version])
            if not done:
                step(db)
                db["migrations"].insert(
                    {"version": version, "applied_at": datetime.now(UTC).isoformat()}
                )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        if not done:
            logger.info("applied schema migration %s", version)
    return latest
