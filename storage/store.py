"""Storage by intent: handlers ask for people, claims and answers, never for tables."""

from __future__ import annotations

import fcntl
import json
import sqlite3
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import sqlite_utils

from scoring.facts import Facts
from storage.outbox import OutboxQueries
from storage.people import PeopleQueries
from storage.reminders import ReminderQueries
from storage.rescoring import RescoringQueries
from storage.review import ReviewQueries
from storage.schema import migrate

# Review states; the Chinese names live in templates.
PENDING_CHECK = "pending_check"
PENDING_APPROVAL = "pending_approval"
APPROVED = "approved"
RETURNED = "returned"
WITHDRAWN = "withdrawn"
ACTIVE_STATES = (PENDING_CHECK, PENDING_APPROVAL, APPROVED)


@dataclass(frozen=True)
class Person:
    id: int
    name: str | None
    role: str
    school: str | None
    standard: str | None
    school_id: int | None = None
    staff_no: str | None = None
    school_standard: str | None = None
    # Moves with every change to the person's claims (schema v8 triggers).
    revision: int = 0

    @property
    def bound(self) -> bool:
        """On the roster of a school (not a guest trying the bot)."""
        return self.school_id is not None


@dataclass(frozen=True)
class ClaimRecord:
    id: int
    person_id: int
    number: int
    period: str
    facts: Facts
    text: str
    standard_id: str
    standard_version: str
    hours_raw: Fraction
    hours_counted: Fraction
    reviewer_hours: Fraction | None
    status: str
    created_at: str


@lru_cache(maxsize=4096)
def _fraction(text: str | None) -> Fraction | None:
    # Hours repeat (2, 12/5, 1/2 …): parsing each text once is enough.
    return None if text in (None, "") else Fraction(text)


@lru_cache(maxsize=65536)
def _facts(text: str) -> Facts:
    # Facts are immutable and teachers repeat claims: decode each JSON text once.
    return Facts.from_json(json.loads(text))


@lru_cache(maxsize=4096)
def _facts_text(facts: Facts) -> str:
    return json.dumps(facts.to_json(), ensure_ascii=False)


class Store(
    PeopleQueries, ReviewQueries, OutboxQueries, RescoringQueries, ReminderQueries
):
    """One SQLite file in WAL mode, opened for the life of the process."""

    def __init__(self, path: Path | str, clock=None):
        # Times written to the database come from one clock, which tests can drive.
        self.clock = clock or (lambda: datetime.now(UTC))
        path = Path(path)
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        # The busy timeout holds from the first statement: another process may be
        # switching a new file to WAL or migrating it at this very moment.
        conn = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None, timeout=5
        )
        self.db = sqlite_utils.Database(conn)
        # WAL with NORMAL keeps commits durable against a crash of the process.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA mmap_size=268435456")
        # Writers queue on a lock file before BEGIN: a waiting process wakes the
        # moment the lock is free, where SQLite's busy handler sleeps and retries.
        self._lock = None if str(path) == ":memory:" else open(f"{path}.lock", "a")  # noqa: SIM115
        if self._lock is not None:
            # Closed with the store even when a caller forgets close().
            weakref.finalize(self, self._lock.close)
        self._depth = 0
        # (person id, period) → (revision, claims, next number); see claims_of.
        self._claims_seen: dict[tuple[int, str], tuple[int, tuple, int]] = {}
        # Two processes opening a file at once: one switches it to WAL and
        # migrates it, the other then finds nothing left to do. (Two switching
        # together would both hold a shared lock and want it alone: SQLite
        # refuses one of them at once, without waiting.)
        with self._locked():
            self.db.execute("PRAGMA journal_mode=WAL")
            self.version = migrate(self.db)

    def close(self) -> None:
        self.db.conn.close()
        if self._lock is not None:
            self._lock.close()

    def stamp(self) -> str:
        """Now, as stored: UTC in ISO format."""
        return self.clock().astimezone(UTC).isoformat(timespec="seconds")

    @contextmanager
    def _locked(self):
        """This process alone writes (the lock file; nothing for :memory:)."""
        if self._lock is None:
            yield
            return
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock, fcntl.LOCK_UN)

    @contextmanager
    def transaction(self):
        """One atomic unit; nested uses join the outer one."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        with self._locked():
            self.db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self.db.execute("ROLLBACK")
                # Claims kept as written would wait for a revision that can come
                # back with other claims.
                self._claims_seen.clear()
                raise
            else:
                self.db.execute("COMMIT")
            finally:
                self._depth = 0

    @contextmanager
    def snapshot(self):
        """Reads that see one state of the database, taking no write lock.

        Yields data_version() as read just before the state was taken: if it is
        unchanged later, nobody else has written since. For reads only: what is
        written inside is rolled back. (PRAGMA query_only would say so, but
        switching it makes SQLite prepare every statement again.) Inside a
        transaction this is that transaction.
        """
        if self._depth:
            yield self.data_version()
            return
        version = self.data_version()
        self.db.execute("BEGIN DEFERRED")
        try:
            yield version
        finally:
            self.db.execute("ROLLBACK")

    def _select(self, sql: str, params: list | tuple = ()) -> list[dict]:
        """The rows of a SELECT as dicts by column name.

        Plain sqlite3 for the reads every message makes: sqlite-utils' query()
        wraps each SELECT in a savepoint, three statements for one.
        """
        cursor = self.db.conn.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def data_version(self) -> int:
        """A number that changes whenever another connection commits to the database."""
        return self.db.execute("PRAGMA data_version").fetchone()[0]

    # --- inbox: processed message keys and the answer given -----------------

    def answered(self, key: str) -> tuple[bool, str | None]:
        """Whether a message key was processed, and the answer then given."""
        rows = self._select("SELECT answer FROM inbox WHERE key = ?", [key])
        if not rows:
            return False, None
        return True, rows[0]["answer"]

    def forget_answers(
        self, before: datetime, after: str = "", keys: int = 2000
    ) -> tuple[int, str | None]:
        """Drop the keys (and answers) of messages processed before `before`, among
        the next `keys` keys after `after`: how many went, and the key to go on
        from (None at the end). A big inbox is gone through in short steps, so
        that messages are written in between."""
        last = self.db.execute(
            "SELECT max(key) FROM (SELECT key FROM inbox WHERE key > ? "
            "ORDER BY key LIMIT ?)",
            [after, keys],
        ).fetchone()[0]
        if last is None:
            return 0, None
        gone = self.db.execute(
            "DELETE FROM inbox WHERE key > ? AND key <= ? AND created_at < ?",
            [after, last, before.astimezone(UTC).isoformat(timespec="seconds")],
        ).rowcount
        return gone, last

    def remember_answer(self, key: str, answer: str | None) -> None:
        # Plain SQL on the hot path: sqlite-utils' insert inspects the table each time.
        self.db.execute(
            "INSERT INTO inbox (key, answer, created_at) VALUES (?, ?, ?)",
            [key, answer, self.stamp()],
        )

    # --- people -------------------------------------------------------------

    def find_person(self, channel: str, external_id: str) -> Person | None:
        """The person behind a chat identity, if they have written before."""
        rows = self._select(
            "SELECT p.*, s.standard AS school_standard FROM identities i "
            "JOIN people p ON p.id = i.person_id LEFT JOIN schools s ON s.id = p.school_id "
            "WHERE i.channel = ? AND i.external_id = ?", [channel, external_id])  # fmt: skip
        return _person(rows[0]) if rows else None

    def person_for(self, channel: str, external_id: str) -> Person:
        """The person behind a chat identity, created on first contact."""
        known = self.find_person(channel, external_id)
        if known is not None:
            return known
        person_id = (
            self.db["people"]
            .insert(
                {
                    "name": None,
                    "role": "教师",
                    "school": None,
                    "standard": None,
                    "reminders": 1,
                    "created_at": self.stamp(),
                }  # fmt: skip
            )
            .last_pk
        )
        self.db["identities"].insert(
            {
                "channel": channel,
                "external_id": external_id,
                "person_id": person_id,
                "created_at": self.stamp(),
            }  # fmt: skip
        )
        return self.person(person_id)

    def person(self, person_id: int) -> Person:
        rows = self._select(
            "SELECT p.*, s.standard AS school_standard FROM people p "
            "LEFT JOIN schools s ON s.id = p.school_id WHERE p.id = ?",
            [person_id],
        )
        return _person(next(iter(rows)))

    def set_person_standard(self, person_id: int, standard_id: str) -> None:
        self.db["people"].update(person_id, {"standard": standard_id})

    # --- claims -------------------------------------------------------------

    def next_number(self, person_id: int) -> int:
        """The number the person's next claim gets (each teacher counts from 1)."""
        return self.db.execute(
            "SELECT COALESCE(MAX(number), 0) + 1 FROM claims WHERE person_id = ?",
            [person_id],
        ).fetchone()[0]

    def add_claim(self, person_id: int, period: str, facts: Facts, text: str,
                  standard_id: str, standard_version: str, hours_raw: Fraction,
                  hours_counted: Fraction | None = None,
                  number: int | None = None) -> ClaimRecord:  # fmt: skip
        """Record a new claim, pending the school's check, with the next number.

        `hours_counted` is what it counts after the caps, and `number` the
        person's next number, when the caller knows them.
        """
        counted = hours_raw if hours_counted is None else hours_counted
        now = self.stamp()
        row = {
            "person_id": person_id,
            "number": self.next_number(person_id) if number is None else number,
            "period": period, "item": facts.item, "facts": _facts_text(facts),
            "text": text, "standard_id": standard_id,
            "standard_version": standard_version,
            "hours_raw": str(hours_raw), "hours_counted": str(counted),
            "reviewer_hours": None, "status": PENDING_CHECK,
            "activity_date": facts.day.isoformat() if facts.day else None,
            "created_at": now, "updated_at": now,
        }  # fmt: skip
        # Plain SQL on the hot path, and the record built from what was written.
        row["id"] = self.db.execute(
            f"INSERT INTO claims ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        ).lastrowid
        return _claim(row)

    def claim_by_number(self, person_id: int, number: int) -> ClaimRecord | None:
        rows = self._select(
            "SELECT * FROM claims WHERE person_id = ? AND number = ?",
            [person_id, number],
        )
        return _claim(rows[0]) if rows else None

    def last_claim(self, person_id: int) -> ClaimRecord | None:
        """The person's most recent claim that still counts."""
        marks = ",".join("?" * len(ACTIVE_STATES))
        rows = self._select(
            f"SELECT * FROM claims WHERE person_id = ? AND status IN ({marks}) "
            "ORDER BY number DESC LIMIT 1",
            [person_id, *ACTIVE_STATES],
        )
        return _claim(rows[0]) if rows else None

    def set_status(self, claim_id: int, status: str) -> None:
        self.db["claims"].update(
            claim_id, {"status": status, "updated_at": self.stamp()}
        )

    def change_claim(
        self, claim_id: int, facts: Facts, text: str, hours_raw: Fraction
    ) -> None:
        """New facts for a claim the teacher corrected (still pending)."""
        self.db["claims"].update(
            claim_id,
            {
                "item": facts.item,
                "facts": _facts_text(facts),
                "text": text,
                "hours_raw": str(hours_raw),
                # A reviewer's value was for the claim as it was; it goes with it.
                "reviewer_hours": None,
                "activity_date": facts.day.isoformat() if facts.day else None,
                "updated_at": self.stamp(),
            },
        )

    # --- an open question, waiting for the teacher's answer -------------------

    def open_question(self, person_id: int, now: datetime) -> dict | None:
        rows = self._select(
            "SELECT payload FROM questions WHERE person_id = ? AND expires_at > ?",
            [person_id, now.astimezone(UTC).isoformat()],
        )
        return json.loads(rows[0]["payload"]) if rows else None

    def ask(self, person_id: int, payload: dict, expires_at: datetime) -> None:
        self.db["questions"].upsert(
            {
                "person_id": person_id,
                "payload": json.dumps(payload, ensure_ascii=False),
                "expires_at": expires_at.astimezone(UTC).isoformat(),
            },
            pk="person_id",
        )

    def clear_question(self, person_id: int) -> None:
        self.db.execute("DELETE FROM questions WHERE person_id = ?", [person_id])

    def set_counted(self, claim_id: int, hours: Fraction) -> None:
        self.db.execute(
            "UPDATE claims SET hours_counted = ? WHERE id = ?", [str(hours), claim_id]
        )

    def claim(self, claim_id: int) -> ClaimRecord:
        return _claim(self.db["claims"].get(claim_id))

    def find_claim(self, claim_id: int) -> ClaimRecord | None:
        rows = self._select("SELECT * FROM claims WHERE id = ?", [claim_id])
        return _claim(rows[0]) if rows else None

    def claims_of(self, person: Person, period: str) -> tuple[list[ClaimRecord], int]:
        """The person's active claims of a period and their next claim number.

        Kept in this process while the person's revision (read with `person`,
        in the same transaction or snapshot) says their claims are unchanged:
        a teacher's claims are read on every message they send.
        """
        seen = self._claims_seen.get((person.id, period))
        if seen is not None and seen[0] == person.revision:
            return list(seen[1]), seen[2]
        claims = self.claims_for(person.id, period)
        number = self.next_number(person.id)
        self._keep_claims(person.id, period, person.revision, claims, number)
        return claims, number

    def kept_claims(
        self, person_id: int, period: str, claims: list, number: int
    ) -> None:
        """What this transaction has just written: the claims as claims_of would
        read them now, under the revision they have now."""
        revision = self.db.execute(
            "SELECT revision FROM people WHERE id = ?", [person_id]
        ).fetchone()[0]
        self._keep_claims(person_id, period, revision, claims, number)

    def _keep_claims(self, person_id, period, revision, claims, number) -> None:
        if len(self._claims_seen) >= _CLAIMS_KEPT:
            del self._claims_seen[next(iter(self._claims_seen))]  # the oldest
        self._claims_seen[(person_id, period)] = (revision, tuple(claims), number)

    def claims_for(self, person_id: int, period: str,
                   states: tuple[str, ...] = ACTIVE_STATES) -> list[ClaimRecord]:  # fmt: skip
        """A person's claims of one period in the given states, oldest first."""
        marks = ",".join("?" * len(states))
        rows = self.db.conn.execute(
            f"SELECT {_CLAIM_COLUMNS} FROM claims WHERE person_id = ? AND period = ? "
            f"AND status IN ({marks}) ORDER BY id",
            [person_id, period, *states],
        )
        return [_claim_of_row(row) for row in rows]


def _person(row: dict) -> Person:
    return Person(
        row["id"], row["name"], row["role"], row["school"], row["standard"],
        row.get("school_id"), row.get("staff_no"), row.get("school_standard"),
        row.get("revision", 0),
    )  # fmt: skip


# People whose claims a process keeps at once (see Store.claims_of).
_CLAIMS_KEPT = 20_000
_CLAIM_FIELDS = tuple(field.name for field in fields(ClaimRecord))
_CLAIM_COLUMNS = ", ".join(_CLAIM_FIELDS)


@lru_cache(maxsize=65536)
def _claim_of_row(row: tuple) -> ClaimRecord:
    # A teacher's claims are read on every message and rarely change: a row
    # (its hours and status included) becomes a record once.
    return _claim(dict(zip(_CLAIM_FIELDS, row, strict=True)))


def _claim(row: dict) -> ClaimRecord:
    return ClaimRecord(
        id=row["id"],
        person_id=row["person_id"],
        number=row["number"],
        period=row["period"],
        facts=_facts(row["facts"]),
        text=row["text"],
        standard_id=row["standard_id"],
        standard_version=row["standard_version"],
        hours_raw=_fraction(row["hours_raw"]),
        hours_counted=_fraction(row["hours_counted"]),
        reviewer_hours=_fraction(row["reviewer_hours"]),
        status=row["status"],
        created_at=row["created_at"],
    )
