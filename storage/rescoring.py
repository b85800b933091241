"""Rescoring a period under a new version of a standard: who is affected, what changed."""

from __future__ import annotations

from fractions import Fraction

# Claims that still count: the same states as storage.store.ACTIVE_STATES.
_ACTIVE = ("pending_check", "pending_approval", "approved")


class RescoringQueries:
    """Mixed into Store; `self.db` is its sqlite_utils.Database."""

    def people_with_claims(
        self, standard_id: str, period: str, states: tuple[str, ...] = _ACTIVE
    ) -> list[int]:
        """Ids of the people with claims under a standard in a period, in id order."""
        marks = ",".join("?" * len(states))
        rows = self.db.execute(
            f"SELECT DISTINCT person_id FROM claims WHERE standard_id = ? AND period = ? "
            f"AND status IN ({marks}) ORDER BY person_id",
            [standard_id, period, *states],
        ).fetchall()
        return [row[0] for row in rows]

    def rescore_claim(
        self,
        claim_id: int,
        hours_raw: Fraction,
        hours_counted: Fraction,
        standard_version: str,
    ) -> None:
        """Store a claim's hours as scored again under another version of its standard."""
        self.db["claims"].update(
            claim_id,
            {
                "hours_raw": str(hours_raw),
                "hours_counted": str(hours_counted),
                "standard_version": standard_version,
                "updated_at": self.stamp(),
            },
        )

    def record_rescoring(
        self,
        standard_id: str,
        standard_version: str,
        period: str,
        teachers: int,
        changes: list[tuple[int, Fraction, Fraction, int]],
    ) -> int:
        """Record one applied rescoring; `changes` holds (person, before, after, claims)."""
        rescoring_id = (
            self.db["rescorings"]
            .insert(
                {
                    "standard_id": standard_id,
                    "standard_version": standard_version,
                    "period": period,
                    "teachers": teachers,
                    "changed": len(changes),
                    "applied_at": self.stamp(),
                }
            )
            .last_pk
        )
        self.db["rescoring_changes"].insert_all(
            {
                "rescoring_id": rescoring_id,
                "person_id": person,
                "hours_before": str(before),
                "hours_after": str(after),
                "claims_changed": claims,
            }
            for person, before, after, claims in changes
        )
        return rescoring_id

    def rescorings(self, standard_id: str) -> list[dict]:
        """The applied rescorings of a standard, oldest first, each with its changes."""
        runs = list(
            self.db.query(
                "SELECT * FROM rescorings WHERE standard_id = ? ORDER BY id",
                [standard_id],
            )
        )
        for run in runs:
            run["changes"] = list(
                self.db.query(
                    "SELECT * FROM rescoring_changes WHERE rescoring_id = ? ORDER BY person_id",
                    [run["id"]],
                )
            )
        return runs
