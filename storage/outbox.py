"""The outbox: every push to send, written in the same transaction as its cause.

A row's life: `queued` → `sending` (claimed, before the HTTP call) → `sent`;
or back to `queued` for a retry or the next route; or `undelivered` when no
route is left; or `unknown` when the process stopped while a call was in
flight. bot/outbox.py explains why an `unknown` row is never sent again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
UNDELIVERED = "undelivered"
UNKNOWN = "unknown"
STATES = (QUEUED, SENDING, SENT, UNDELIVERED, UNKNOWN)

# Rows that may have reached the person, and so count against rate limits.
_MAYBE_DELIVERED = (SENDING, SENT, UNKNOWN)
# Tries are counted per route: a row moved to another route starts again at 1.
# Parameters: the route, twice.
_COUNT_ON_ROUTE = (
    "route_attempts = CASE WHEN channel = ? THEN route_attempts + 1 ELSE 1 END, "
    "channel = ?"
)


@dataclass(frozen=True)
class Push:
    """One queued message to one person, and how far its sending got."""

    id: int
    key: str
    person_id: int
    text: str
    state: str
    route: str | None  # the route of the current or last attempt
    attempts: int  # calls made, over all routes
    route_attempts: int  # calls made on `route`
    failed_routes: tuple[str, ...]
    error: str | None


@dataclass(frozen=True)
class Recipient:
    """A person's identity on one channel, and when they last wrote from it."""

    channel: str
    external_id: str
    last_inbound_at: datetime | None


def stamp(moment: datetime) -> str:
    """The stored form of a time: UTC, whole seconds; text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class OutboxQueries:
    """Mixed into Store: `self.db` is its sqlite_utils.Database, `self.clock` now."""

    def enqueue_push(self, person_id: int, text: str, key: str) -> bool:
        """Queue a text for a person, once per key; False if the key was queued before."""
        now = stamp(self.clock())
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO outbox (key, person_id, text, state, attempts, "
            "next_attempt_at, created_at) VALUES (?, ?, ?, ?, 0, ?, ?)",
            [key, person_id, text, QUEUED, now, now],
        )
        return cursor.rowcount == 1

    def pushes_due(self, now: datetime, limit: int) -> list[Push]:
        """Queued rows whose next attempt is due, the longest waiting first."""
        rows = self.db.query(
            "SELECT * FROM outbox WHERE state = ? AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at, id LIMIT ?",
            [QUEUED, stamp(now), limit],
        )
        return [_push(row) for row in rows]

    def next_push_due_at(self) -> datetime | None:
        row = self.db.execute(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE state = ?", [QUEUED]
        ).fetchone()
        return _time(row[0])

    def push(self, push_id: int) -> Push:
        return _push(self.db["outbox"].get(push_id))

    def claim_push(
        self, push_id: int, route: str, recipient: str, now: datetime
    ) -> bool:
        """Mark a queued row as being sent, before the call; False if it was taken."""
        cursor = self.db.execute(
            "UPDATE outbox SET state = ?, recipient = ?, claimed_at = ?, "
            f"attempts = attempts + 1, {_COUNT_ON_ROUTE} WHERE id = ? AND state = ?",
            [SENDING, recipient, stamp(now), route, route, push_id, QUEUED],
        )
        return cursor.rowcount == 1

    def postpone_push(self, push_id: int, route: str, at: datetime) -> None:
        """A try on `route` that made no call (no token): counted, due again at `at`."""
        self.db.execute(
            f"UPDATE outbox SET next_attempt_at = ?, {_COUNT_ON_ROUTE} "
            "WHERE id = ? AND state = ?",
            [stamp(at), route, route, push_id, QUEUED],
        )

    def mark_push_sent(self, push_id: int, now: datetime) -> None:
        self._settle(push_id, {"state": SENT, "sent_at": stamp(now)})

    def mark_push_retry(self, push_id: int, at: datetime) -> None:
        """Back to the queue on the same route, due at `at`."""
        self._settle(push_id, {"state": QUEUED, "next_attempt_at": stamp(at)})

    def mark_push_unknown(self, push_id: int, error: str) -> None:
        """The call may or may not have delivered it: never send it again."""
        before = self.push(push_id).error
        self._settle(push_id, {"state": UNKNOWN, "error": _joined(before, error)})

    def fail_push_route(
        self, push_id: int, route: str, error: str, now: datetime, *, claimed: bool
    ) -> None:
        """The route will not carry this row: queue it for the next one, now.

        `claimed`: the caller holds the row's claim (it made the call);
        otherwise the row must still be queued, or another sender has it.
        """
        push = self.push(push_id)
        self.db.execute(
            "UPDATE outbox SET state = ?, failed_routes = ?, route_attempts = 0, "
            "next_attempt_at = ?, error = ? WHERE id = ? AND state = ?",
            [QUEUED, ",".join([*push.failed_routes, route]), stamp(now),
             _joined(push.error, f"{route}: {error}"), push_id,
             SENDING if claimed else QUEUED],
        )  # fmt: skip

    def mark_push_undelivered(self, push_id: int, error: str) -> None:
        self.db.execute(
            "UPDATE outbox SET state = ?, error = ? WHERE id = ? AND state = ?",
            [UNDELIVERED, _joined(self.push(push_id).error, error), push_id, QUEUED],
        )

    def defer_push(self, push_id: int, until: datetime) -> None:
        """Wait for a rate limit; the row is not claimed and no attempt is counted."""
        self.db.execute(
            "UPDATE outbox SET next_attempt_at = ? WHERE id = ? AND state = ?",
            [stamp(until), push_id, QUEUED],
        )

    def recover_pushes_in_flight(self, error: str) -> int:
        """Rows left `sending` by a stopped process become `unknown`; how many."""
        cursor = self.db.execute(
            "UPDATE outbox SET state = ?, error = ? WHERE state = ?",
            [UNKNOWN, error, SENDING],
        )
        return cursor.rowcount

    def push_times(self, route: str, recipient: str, since: datetime) -> list[datetime]:
        """When calls over `route` to `recipient` left since `since`, oldest first."""
        marks = ",".join("?" * len(_MAYBE_DELIVERED))
        rows = self.db.execute(
            "SELECT claimed_at FROM outbox WHERE channel = ? AND recipient = ? "
            f"AND claimed_at >= ? AND state IN ({marks}) ORDER BY claimed_at",
            [route, recipient, stamp(since), *_MAYBE_DELIVERED],
        ).fetchall()
        return [datetime.fromisoformat(row[0]) for row in rows]

    def push_recipients(self, person_id: int) -> dict[str, Recipient]:
        """The person's identity per channel; of several, the one that wrote last."""
        rows = self.db.execute(
            "SELECT i.channel, i.external_id, c.last_inbound_at FROM identities i "
            "LEFT JOIN contacts c "
            "ON c.channel = i.channel AND c.external_id = i.external_id "
            "WHERE i.person_id = ? "
            "ORDER BY c.last_inbound_at IS NOT NULL, c.last_inbound_at, i.created_at",
            [person_id],
        ).fetchall()
        # Later rows win: the most recent writer, else the newest identity.
        return {
            channel: Recipient(channel, external_id, _time(last))
            for channel, external_id, last in rows
        }

    def note_inbound(self, channel: str, external_id: str, at: datetime | None) -> None:
        """Record when someone last wrote (None: their window is closed)."""
        self.db.execute(
            "INSERT INTO contacts (channel, external_id, last_inbound_at) "
            "VALUES (?, ?, ?) ON CONFLICT (channel, external_id) "
            "DO UPDATE SET last_inbound_at = excluded.last_inbound_at",
            [channel, external_id, stamp(at) if at else None],
        )

    def outbox_counts(self) -> dict[str, int]:
        """Rows per state, every state named."""
        counts = dict.fromkeys(STATES, 0)
        for state, count in self.db.execute(
            "SELECT state, COUNT(*) FROM outbox GROUP BY state"
        ).fetchall():
            counts[state] = count
        return counts

    def _settle(self, push_id: int, values: dict) -> None:
        # Only the claim's owner settles it; a recovered row stays `unknown`.
        names = ", ".join(f"{name} = ?" for name in values)
        self.db.execute(
            f"UPDATE outbox SET {names} WHERE id = ? AND state = ?",
            [*values.values(), push_id, SENDING],
        )


def _joined(before: str | None, error: str) -> str:
    return f"{before}; {error}" if before else error


def _push(row: dict) -> Push:
    return Push(
        id=row["id"],
        key=row["key"],
        person_id=row["person_id"],
        text=row["text"],
        state=row["state"],
        route=row["channel"],
        attempts=row["attempts"] or 0,
        route_attempts=row["route_attempts"] or 0,
        failed_routes=tuple(filter(None, (row["failed_routes"] or "").split(","))),
        error=row["error"],
    )
