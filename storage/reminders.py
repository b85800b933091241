"""Reminders' storage: standings, the reminder log, scheduled rounds, preferences.

A standing is what reminders need of a person's progress (totals, gap, the
items with most room). handlers/progress.py writes it whenever it works out
a person's progress; triggers (schema v7) drop it whenever a claim, the
person's standard or school changes, so a missing row means "work it out
again" and a present one is current for the standard version and period it
names.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from functools import lru_cache

from scoring.facts import Facts
from storage.outbox import stamp

# Claims that still count: the same states as storage.store.ACTIVE_STATES.
_ACTIVE = ("pending_check", "pending_approval", "approved")
# The standard id of a standing being worked out (see settle_standings).
_MARK = ""
# Ids per query: well under SQLite's limit on bound parameters.
_CHUNK = 900
_MEMBER_COLUMNS = (
    "p.id, p.name, p.role, p.school_id, s.town_id, p.standard, s.standard, "
    "p.reminders, EXISTS (SELECT 1 FROM identities i WHERE i.person_id = p.id), "
    "st.standard_id, st.standard_version, st.period, st.claimed, st.approved, "
    "st.gap, st.target, st.only_bonus, st.rooms"
)


@dataclass(frozen=True)
class Standing:
    """A person's totals under one standard version in one period (its first day)."""

    standard_id: str
    standard_version: str
    period: str
    claimed: Fraction
    approved: Fraction
    gap: Fraction
    target: Fraction
    only_bonus: Fraction | None  # the part of the gap only a reviewer's bonus closes
    rooms: tuple[tuple[str, Fraction | None], ...]  # (item id, hours or unbounded)

    def current(self, standard_id: str, version: str, period: str) -> bool:
        return (self.standard_id, self.standard_version, self.period) == (
            standard_id,
            version,
            period,
        )


@dataclass(frozen=True)
class Member:
    """A person on a school's roster, as reminders see them."""

    id: int
    name: str
    role: str
    school_id: int
    town_id: int
    standard: str | None
    school_standard: str | None
    reminders: bool
    reachable: bool  # a chat identity is bound, so a push can find them
    standing: Standing | None


@dataclass(frozen=True)
class ActiveClaim:
    """What a standing is built from: one claim that still counts."""

    id: int
    period: str
    standard_id: str
    status: str
    facts: Facts
    reviewer_hours: Fraction | None


@dataclass(frozen=True)
class Queue:
    """Claims waiting in one state at one school."""

    count: int
    oldest: int  # claim id


@dataclass(frozen=True)
class Logged:
    """Reminders queued before in some seasons (named by their deadline)."""

    latest: dict[tuple[int, str], str]  # (person, season) → the latest day
    kinds: frozenset[tuple[int, str, str]]  # (person, kind, season)


class ReminderQueries:
    """Mixed into Store; `self.db` is its sqlite_utils.Database, `self.stamp()` now."""

    # --- standings --------------------------------------------------------------

    def save_standings(self, standings: list[tuple[int, Standing]]) -> None:
        """Keep standings worked out from the claims as the caller's transaction sees them."""
        now = self.stamp()
        self.db.conn.executemany(
            "INSERT OR REPLACE INTO standings (person_id, standard_id, "
            "standard_version, period, claimed, approved, gap, target, only_bonus, "
            "rooms, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(person_id, *_standing_row(standing), now)
             for person_id, standing in standings],
        )  # fmt: skip

    def mark_standings(self, person_ids: list[int]) -> None:
        """Stand in for standings about to be worked out; see settle_standings."""
        self.db.conn.executemany(
            "INSERT OR REPLACE INTO standings (person_id, standard_id) VALUES (?, ?)",
            [(person_id, _MARK) for person_id in person_ids],
        )

    def settle_standings(self, standings: list[tuple[int, Standing]]) -> None:
        """Save standings whose mark is still there.

        A claim written since the mark dropped it (a trigger): that standing
        may be out of date, so it stays missing and is worked out next time.
        """
        now = self.stamp()
        self.db.conn.executemany(
            "UPDATE standings SET standard_id = ?, standard_version = ?, period = ?, "
            "claimed = ?, approved = ?, gap = ?, target = ?, only_bonus = ?, "
            "rooms = ?, updated_at = ? WHERE person_id = ? AND standard_id = ?",
            [(*_standing_row(standing), now, person_id, _MARK)
             for person_id, standing in standings],
        )  # fmt: skip

    def standing(self, person_id: int) -> Standing | None:
        row = self.db.execute(
            "SELECT standard_id, standard_version, period, claimed, approved, gap, "
            "target, only_bonus, rooms FROM standings WHERE person_id = ?",
            [person_id],
        ).fetchone()
        return _standing(row) if row and row[0] != _MARK else None

    def members(self, role: str, school_ids: list[int] | None = None) -> list[Member]:
        """People of a role on the rosters of some schools (None: of all), by id."""
        base = (
            f"SELECT {_MEMBER_COLUMNS} FROM people p "
            "JOIN schools s ON s.id = p.school_id "
            "LEFT JOIN standings st ON st.person_id = p.id WHERE p.role = ?"
        )
        if school_ids is None:
            rows = self.db.execute(base + " ORDER BY p.id", [role]).fetchall()
        else:
            rows = []
            for chunk in _chunks(sorted(set(school_ids))):
                marks = ",".join("?" * len(chunk))
                rows += self.db.execute(
                    f"{base} AND p.school_id IN ({marks})", [role, *chunk]
                ).fetchall()
            rows.sort(key=lambda row: row[0])
        return [_member(row) for row in rows]

    def active_claims_of(self, person_ids: list[int]) -> dict[int, list[ActiveClaim]]:
        """Each person's claims that still count, in record order."""
        found: dict[int, list[ActiveClaim]] = defaultdict(list)
        states = ",".join("?" * len(_ACTIVE))
        for chunk in _chunks(person_ids):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                "SELECT person_id, id, period, standard_id, status, facts, "
                f"reviewer_hours FROM claims WHERE person_id IN ({marks}) "
                # "+status": look claims up by person, not by the status index.
                f"AND +status IN ({states}) ORDER BY person_id, id",
                [*chunk, *_ACTIVE],
            ).fetchall()
            for person_id, claim_id, period, standard_id, status, facts, hours in rows:
                found[person_id].append(
                    ActiveClaim(claim_id, period, standard_id, status, _facts(facts),
                                Fraction(hours) if hours else None)
                )  # fmt: skip
        return found

    # --- queues ------------------------------------------------------------------

    def queues_by_school(self, status: str) -> dict[int, Queue]:
        """Claims in one state per school: how many, and the oldest."""
        rows = self.db.execute(
            "SELECT p.school_id, COUNT(*), MIN(c.id) FROM claims c "
            "JOIN people p ON p.id = c.person_id "
            "WHERE c.status = ? AND p.school_id IS NOT NULL GROUP BY p.school_id",
            [status],
        ).fetchall()
        return {school_id: Queue(count, oldest) for school_id, count, oldest in rows}

    def own_queues(self, status: str, person_ids: list[int]) -> dict[int, Queue]:
        """Of some people, each one's own claims in one state: how many, the oldest."""
        found = {}
        for chunk in _chunks(sorted(set(person_ids))):
            marks = ",".join("?" * len(chunk))
            found.update(
                (person_id, Queue(count, oldest))
                for person_id, count, oldest in self.db.execute(
                    "SELECT person_id, COUNT(*), MIN(id) FROM claims "
                    f"WHERE status = ? AND person_id IN ({marks}) GROUP BY person_id",
                    [status, *chunk],
                ).fetchall()
            )
        return found

    def queue_without(
        self, status: str, school_id: int, person_id: int
    ) -> Queue | None:
        """A school's claims in one state but one person's own; None if none."""
        count, oldest = self.db.execute(
            "SELECT COUNT(*), MIN(c.id) FROM claims c "
            "JOIN people p ON p.id = c.person_id "
            "WHERE c.status = ? AND p.school_id = ? AND c.person_id != ?",
            [status, school_id, person_id],
        ).fetchone()
        return Queue(count, oldest) if count else None

    # --- the reminder log ------------------------------------------------------------

    def reminders_logged(self, seasons: set[date], kinds: tuple[str, ...]) -> Logged:
        """Who was reminded in these seasons, up to which day; who got these kinds."""
        latest, given = {}, set()
        kind_marks = ",".join("?" * len(kinds))
        for season in sorted(s.isoformat() for s in seasons):
            for person_id, day in self.db.execute(
                "SELECT person_id, MAX(day) FROM reminder_log WHERE season = ? "
                "GROUP BY person_id",
                [season],
            ).fetchall():
                latest[person_id, season] = day
            given.update(
                self.db.execute(
                    "SELECT DISTINCT person_id, kind, season FROM reminder_log "
                    f"WHERE season = ? AND kind IN ({kind_marks})",
                    [season, *kinds],
                ).fetchall()
            )
        return Logged(latest, frozenset(given))

    def record_reminder(
        self, person_id: int, day: date, kind: str, season: date
    ) -> bool:
        """Log a reminder as queued; False if the person had one that day or later."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO reminder_log (person_id, day, kind, season, "
            "queued_at) SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM "
            "reminder_log WHERE person_id = ? AND season = ? AND day >= ?)",
            [person_id, day.isoformat(), kind, season.isoformat(), self.stamp(),
             person_id, season.isoformat(), day.isoformat()],
        )  # fmt: skip
        return cursor.rowcount == 1

    def reminder_log(self) -> list[dict]:
        """Every reminder queued, oldest first, with the person's name."""
        return list(
            self.db.query(
                "SELECT r.*, p.name FROM reminder_log r "
                "JOIN people p ON p.id = r.person_id ORDER BY r.queued_at, r.person_id"
            )
        )

    def hold_push(self, key: str, until: datetime) -> None:
        """Keep a queued push from leaving before `until` (quiet hours)."""
        self.db.execute(
            "UPDATE outbox SET next_attempt_at = ? WHERE key = ? AND state = 'queued'",
            [stamp(until), key],
        )

    # --- scheduled rounds ---------------------------------------------------------------

    def finish_round(self, school_id: int, day: date, audience: str) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO reminder_rounds (school_id, day, audience, done_at) "
            "VALUES (?, ?, ?, ?)",
            [school_id, day.isoformat(), audience, self.stamp()],
        )

    def rounds_done(self, since: date) -> set[tuple[int, date, str]]:
        """(school, day, audience) of the rounds run on or after a day."""
        rows = self.db.execute(
            "SELECT school_id, day, audience FROM reminder_rounds WHERE day >= ?",
            [since.isoformat()],
        ).fetchall()
        return {
            (school, date.fromisoformat(day), audience)
            for school, day, audience in rows
        }

    # --- a person's choice ------------------------------------------------------------

    def set_reminders(self, person_id: int, wanted: bool) -> None:
        self.db.execute(
            "UPDATE people SET reminders = ? WHERE id = ?", [int(wanted), person_id]
        )

    def wants_reminders(self, person_id: int) -> bool:
        row = self.db.execute(
            "SELECT reminders FROM people WHERE id = ?", [person_id]
        ).fetchone()
        return bool(row and row[0])


@lru_cache(maxsize=200_000)
def _facts(text: str) -> Facts:
    # Teachers claim the same things on the same days: most texts repeat. Facts
    # are frozen, so one object can serve every claim with the same text.
    return Facts.from_json(json.loads(text))


def _chunks(values: list) -> list[list]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def _fraction(text: str | None) -> Fraction | None:
    return None if text is None else _exact(text)


@lru_cache(maxsize=65_536)
def _exact(text: str) -> Fraction:
    # Stored by str(Fraction): "238/5" or "50". Totals repeat across a town's
    # teachers, so most are read once.
    numerator, _, denominator = text.partition("/")
    return Fraction(int(numerator), int(denominator or 1))


def _standing_row(standing: Standing) -> tuple:
    rooms = [[item, None if hours is None else str(hours)]
             for item, hours in standing.rooms]  # fmt: skip
    return (
        standing.standard_id,
        standing.standard_version,
        standing.period,
        str(standing.claimed),
        str(standing.approved),
        str(standing.gap),
        str(standing.target),
        None if standing.only_bonus is None else str(standing.only_bonus),
        json.dumps(rooms),
    )


def _standing(row) -> Standing:
    sid, version, period, claimed, approved, gap, target, only_bonus, rooms = row
    return Standing(
        sid, version, period, _exact(claimed), _exact(approved), _exact(gap),
        _exact(target), _fraction(only_bonus), _rooms(rooms),
    )  # fmt: skip


@lru_cache(maxsize=65_536)
def _rooms(text: str) -> tuple[tuple[str, Fraction | None], ...]:
    return tuple((item, _fraction(hours)) for item, hours in json.loads(text))


def _member(row) -> Member:
    standing = _standing(row[9:]) if row[9] not in (None, _MARK) else None
    return Member(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], bool(row[7]),
        bool(row[8]), standing,
    )  # fmt: skip
