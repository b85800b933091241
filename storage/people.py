"""Towns, schools and the people on the roster; binding chat identities to them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

TEACHER = "教师"
CHECKER = "学校核查"
APPROVER = "中心校审定"
ADMIN = "管理员"
ROLES = (TEACHER, CHECKER, APPROVER, ADMIN)
# A claim taken back by its teacher: the same state as storage.store.WITHDRAWN.
_WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class School:
    id: int
    name: str
    town_id: int
    town: str
    standard: str | None
    invite_code: str


@dataclass(frozen=True)
class RosterRow:
    """One roster line, already checked: who, where, in which role."""

    name: str
    school: str
    town: str
    role: str
    staff_no: str
    standard: str | None = None


@dataclass(frozen=True)
class StandardSwitch:
    """A school moving to another standard, and the claims recorded before it."""

    school: str
    old: str | None  # None: the deployment's default standard
    new: str
    claims: int  # claims its teachers recorded under another standard than `new`


class PeopleQueries:
    """Mixed into Store; `self.db` is its sqlite_utils.Database."""

    # --- places ---------------------------------------------------------------

    def school_for(
        self, town: str, school: str, standard: str | None
    ) -> tuple[School, bool]:
        """The school (created with its town if new); True when something changed."""
        town_id = self._town_id(town)
        rows = list(
            self.db.query(
                "SELECT id, standard FROM schools WHERE town_id = ? AND name = ?",
                [town_id, school],
            )
        )
        if not rows:
            self.db["schools"].insert(
                {
                    "name": school,
                    "town_id": town_id,
                    "standard": standard,
                    "invite_code": self._new_invite_code(),
                }  # fmt: skip
            )
            return self.school_named(school, town), True
        changed = standard is not None and rows[0]["standard"] != standard
        if changed:
            self.db["schools"].update(rows[0]["id"], {"standard": standard})
        return self.school_by_id(rows[0]["id"]), changed

    def standard_switch(
        self, town: str, school: str, standard: str
    ) -> StandardSwitch | None:
        """What setting a school's standard would leave behind; None if nothing.

        Teachers see and are reminded of their claims under their school's
        standard only, so claims recorded under another one drop out of view.
        Teachers with a standard of their own do not follow the school's.
        """
        rows = self.db.execute(
            "SELECT s.id, s.standard FROM schools s JOIN towns t ON t.id = s.town_id "
            "WHERE t.name = ? AND s.name = ?",
            [town, school],
        ).fetchall()
        if not rows or rows[0][1] == standard:
            return None
        school_id, old = rows[0]
        claims = self.db.execute(
            "SELECT COUNT(*) FROM claims c JOIN people p ON p.id = c.person_id "
            "WHERE p.school_id = ? AND p.standard IS NULL AND c.standard_id != ? "
            "AND c.status != ?",
            [school_id, standard, _WITHDRAWN],
        ).fetchone()[0]
        return StandardSwitch(school, old, standard, claims) if claims else None

    def _town_id(self, town: str) -> int:
        rows = list(self.db.query("SELECT id FROM towns WHERE name = ?", [town]))
        if rows:
            return rows[0]["id"]
        return self.db["towns"].insert({"name": town}).last_pk

    def _new_invite_code(self) -> str:
        while True:
            code = "".join(secrets.choice("23456789") for _ in range(6))
            if not list(
                self.db.query("SELECT 1 FROM schools WHERE invite_code = ?", [code])
            ):
                return code

    def school_by_id(self, school_id: int) -> School:
        return self._schools("s.id = ?", [school_id])[0]

    def school_named(self, name: str, town: str | None = None) -> School | None:
        where, args = "s.name = ?", [name]
        if town:
            where, args = where + " AND t.name = ?", [name, town]
        found = self._schools(where, args)
        return found[0] if len(found) == 1 else None

    def schools_matching(self, text: str) -> list[School]:
        """Schools whose name or invite code is the text, or whose name contains it."""
        exact = self._schools("s.name = ? OR s.invite_code = ?", [text, text])
        return exact or self._schools("instr(s.name, ?) > 0", [text])

    def all_schools(self) -> list[School]:
        return self._schools("1 = 1", [])

    def _schools(self, where: str, args: list) -> list[School]:
        rows = self.db.query(
            "SELECT s.id, s.name, s.town_id, t.name AS town, s.standard, s.invite_code "
            f"FROM schools s JOIN towns t ON t.id = s.town_id WHERE {where} ORDER BY s.id",
            args,
        )
        return [School(**row) for row in rows]

    # --- roster ---------------------------------------------------------------

    def upsert_roster_row(self, row: RosterRow) -> str:
        """Add or update one person from the roster: 'added', 'updated' or 'unchanged'."""
        school, school_changed = self.school_for(row.town, row.school, row.standard)
        values = {"name": row.name, "role": row.role, "school": school.name,
                  "school_id": school.id, "staff_no": row.staff_no}  # fmt: skip
        existing = list(
            self.db.query(
                "SELECT id, name, role, school, school_id, staff_no FROM people "
                "WHERE school_id = ? AND staff_no = ?",
                [school.id, row.staff_no],
            )
        )
        if not existing:
            self.db["people"].insert(
                {**values, "reminders": 1, "created_at": self.stamp()}
            )
            return "added"
        current = existing[0]
        if all(current[k] == v for k, v in values.items()) and not school_changed:
            return "unchanged"
        self.db["people"].update(current["id"], values)
        return "updated"

    def people_named(self, name: str, school_ids: list[int]) -> list[dict]:
        marks = ",".join("?" * len(school_ids))
        return list(
            self.db.query(
                f"SELECT * FROM people WHERE name = ? AND school_id IN ({marks})",
                [name, *school_ids],
            )
        )

    def people_at(self, school_id: int, role: str | None = None) -> list[dict]:
        where, args = "school_id = ?", [school_id]
        if role:
            where, args = where + " AND role = ?", [*args, role]
        return list(
            self.db.query(f"SELECT * FROM people WHERE {where} ORDER BY id", args)
        )

    def people_in_town(self, town_id: int, role: str) -> list[dict]:
        return list(
            self.db.query(
                "SELECT p.* FROM people p JOIN schools s ON s.id = p.school_id "
                "WHERE s.town_id = ? AND p.role = ? ORDER BY p.id",
                [town_id, role],
            )
        )

    # --- binding chat identities ------------------------------------------------

    def identity_of(self, person_id: int, channel: str) -> str | None:
        rows = list(
            self.db.query(
                "SELECT external_id FROM identities WHERE person_id = ? AND channel = ?",
                [person_id, channel],
            )
        )
        return rows[0]["external_id"] if rows else None

    def bind(
        self, channel: str, external_id: str, guest_id: int, person_id: int
    ) -> None:
        """Point a chat identity at a roster person; the guest's claims follow it."""
        self.db.execute(
            "UPDATE identities SET person_id = ? WHERE channel = ? AND external_id = ?",
            [person_id, channel, external_id],
        )
        # Bound again: nothing left to tell.
        self._forget_removed_binding(channel, external_id)
        if guest_id == person_id:
            return
        start = self.db.execute(
            "SELECT COALESCE(MAX(number), 0) FROM claims WHERE person_id = ?",
            [person_id],
        ).fetchone()[0]
        guests = self.db.query(
            "SELECT id FROM claims WHERE person_id = ? ORDER BY number", [guest_id]
        )
        for offset, row in enumerate(list(guests), start=1):
            self.db["claims"].update(
                row["id"], {"person_id": person_id, "number": start + offset}
            )

    def unbind(self, person_id: int, channel: str | None = None) -> int:
        """Detach a person's chat identities; returns how many were detached.

        Each detached identity is kept in `removed_bindings` with the person's
        name and school, so that its next answer can say what happened (see
        take_removed_binding).
        """
        where, args = "i.person_id = ?", [person_id]
        if channel:
            where, args = where + " AND i.channel = ?", [*args, channel]
        self.db.execute(
            "INSERT OR REPLACE INTO removed_bindings "
            "(channel, external_id, name, school, removed_at) "
            "SELECT i.channel, i.external_id, p.name, p.school, ? FROM identities i "
            f"JOIN people p ON p.id = i.person_id WHERE {where}",
            [self.stamp(), *args],
        )
        return self.db.execute(
            "DELETE FROM identities AS i WHERE " + where, args
        ).rowcount

    def take_removed_binding(self, channel: str, external_id: str) -> dict | None:
        """The name and school an identity was unbound from, once; None if not so."""
        row = self.db.execute(
            "SELECT name, school FROM removed_bindings "
            "WHERE channel = ? AND external_id = ?",
            [channel, external_id],
        ).fetchone()
        if row is None:
            return None
        self._forget_removed_binding(channel, external_id)
        return {"name": row[0], "school": row[1]}

    def _forget_removed_binding(self, channel: str, external_id: str) -> None:
        self.db.execute(
            "DELETE FROM removed_bindings WHERE channel = ? AND external_id = ?",
            [channel, external_id],
        )
