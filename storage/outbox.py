"""The outbox: every push to send, written in the same transaction as its cause."""

from __future__ import annotations

from datetime import UTC, datetime

QUEUED = "queued"
SENT = "sent"
UNDELIVERED = "undelivered"


class OutboxQueries:
    """Mixed into Store; `self.db` is its sqlite_utils.Database."""

    def enqueue_push(self, person_id: int, text: str, key: str) -> bool:
        """Queue a text for a person, once per key; False if the key was queued before."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO outbox (key, person_id, text, state, attempts, "
            "next_attempt_at, created_at) VALUES (?, ?, ?, ?, 0, ?, ?)",
            [key, person_id, text, QUEUED, now, now],
        )
        return cursor.rowcount == 1
