"""The review chain's storage: queues, decisions (the audit log), prompts, evidence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction


@dataclass(frozen=True)
class Waiting:
    """A claim in a reviewer's queue, with who made it and what backs it."""

    claim_id: int
    person_id: int
    teacher: str
    school: str
    evidence: int


class ReviewQueries:
    """Mixed into Store; `self.db` is its sqlite_utils.Database."""

    def waiting(self, status: str, *, school_id: int | None = None,
                town_id: int | None = None) -> list[Waiting]:  # fmt: skip
        """Claims in one state for a school or a town, oldest first."""
        where, args = ["c.status = ?"], [status]
        if school_id is not None:
            where.append("p.school_id = ?")
            args.append(school_id)
        if town_id is not None:
            where.append("s.town_id = ?")
            args.append(town_id)
        rows = self.db.query(
            "SELECT c.id AS claim_id, p.id AS person_id, p.name AS teacher, "
            "s.name AS school, (SELECT COUNT(*) FROM evidence e WHERE e.claim_id = c.id) "
            "AS evidence FROM claims c JOIN people p ON p.id = c.person_id "
            "JOIN schools s ON s.id = p.school_id "
            f"WHERE {' AND '.join(where)} ORDER BY c.id",
            args,
        )
        return [Waiting(**row) for row in rows]

    def decide(self, claim_id: int, actor_id: int, action: str, to_status: str, *,
               reason: str = "", hours_after: Fraction | None = None,
               reviewer_hours: Fraction | None = None) -> None:  # fmt: skip
        """Change a claim's state and append the decision to the audit log."""
        row = self.db["claims"].get(claim_id)
        changes = {"status": to_status, "updated_at": self.stamp()}
        if reviewer_hours is not None:
            changes["reviewer_hours"] = str(reviewer_hours)
        self.db["claims"].update(claim_id, changes)
        self.log_decision(claim_id, actor_id, action, row["status"], to_status,
                          row["hours_counted"], hours_after, reason)  # fmt: skip

    def log_decision(self, claim_id: int, actor_id: int, action: str, from_status: str,
                     to_status: str, hours_before, hours_after,
                     reason: str = "") -> None:  # fmt: skip
        self.db["decisions"].insert(
            {
                "at": self.stamp(),
                "actor_id": actor_id,
                "claim_id": claim_id,
                "action": action,
                "from_status": from_status,
                "to_status": to_status,
                "hours_before": None if hours_before is None else str(hours_before),
                "hours_after": None if hours_after is None else str(hours_after),
                "reason": reason,
            }  # fmt: skip
        )

    def decisions(self, claim_id: int | None = None) -> list[dict]:
        where, args = ("WHERE d.claim_id = ?", [claim_id]) if claim_id else ("", [])
        return list(
            self.db.query(
                "SELECT d.*, p.name AS actor FROM decisions d "
                f"LEFT JOIN people p ON p.id = d.actor_id {where} ORDER BY d.id",
                args,
            )
        )

    # --- prompts: which waiting claims a reviewer has been told about ---------

    def unprompted(self, reviewer_id: int, claim_ids: list[int]) -> list[int]:
        if not claim_ids:
            return []
        marks = ",".join("?" * len(claim_ids))
        told = {
            row["claim_id"]
            for row in self.db.query(
                f"SELECT claim_id FROM prompted WHERE person_id = ? AND claim_id IN ({marks})",
                [reviewer_id, *claim_ids],
            )
        }
        return [c for c in claim_ids if c not in told]

    def mark_prompted(self, reviewer_id: int, claim_ids: list[int]) -> None:
        self.db["prompted"].insert_all(
            [{"person_id": reviewer_id, "claim_id": c} for c in claim_ids], ignore=True
        )

    # --- evidence ---------------------------------------------------------------

    def add_evidence(self, person_id: int, claim_id: int | None, media_id: str,
                     kind: str, channel: str) -> int:  # fmt: skip
        """Record a photo or file; the server fetches it from `channel` afterwards."""
        row = {"person_id": person_id, "claim_id": claim_id, "media_id": media_id,
               "kind": kind, "channel": channel, "state": "pending", "attempts": 0,
               "created_at": self.stamp()}  # fmt: skip
        return self.db["evidence"].insert(row).last_pk

    def evidence_to_fetch(self, limit: int, max_attempts: int) -> list[dict]:
        return list(
            self.db.query(
                "SELECT id, media_id, channel FROM evidence WHERE state = 'pending' "
                "AND media_id != '' AND attempts < ? ORDER BY id LIMIT ?",
                [max_attempts, limit],
            )
        )

    def evidence_fetched(
        self, evidence_id: int, path: str, sha256: str, size: int
    ) -> None:
        self.db["evidence"].update(
            evidence_id,
            {
                "state": "fetched",
                "path": path,
                "sha256": sha256,
                "size": size,
                "fetched_at": self.stamp(),
            },  # fmt: skip
        )

    def evidence_failed(self, evidence_id: int, error: str, *, final: bool) -> None:
        """A failed fetch: final ones stop; others count an attempt and wait."""
        self.db.execute(
            "UPDATE evidence SET attempts = attempts + 1, error = ?, "
            "state = CASE WHEN ? THEN 'failed' ELSE state END WHERE id = ?",
            [error, final, evidence_id],
        )

    def evidence_count(self, claim_id: int) -> int:
        return self.db.execute(
            "SELECT COUNT(*) FROM evidence WHERE claim_id = ?", [claim_id]
        ).fetchone()[0]

    def loose_evidence(self, person_id: int, since: datetime) -> list[int]:
        """Evidence the person sent since then that belongs to no claim yet."""
        rows = self.db.query(
            "SELECT id FROM evidence WHERE person_id = ? AND claim_id IS NULL "
            "AND created_at >= ? ORDER BY id",
            [person_id, since.astimezone(UTC).isoformat(timespec="seconds")],
        )
        return [row["id"] for row in rows]

    def attach_evidence(self, evidence_ids: list[int], claim_id: int) -> None:
        for evidence_id in evidence_ids:
            self.db["evidence"].update(evidence_id, {"claim_id": claim_id})
