"""Rescoring one period under the current version of a standard.

`plan` works out, for every teacher with claims under the standard in the
period, what the current file makes of them; nothing is written. `apply`
writes the new hours and version of each claim, appends a decision per
claim to the audit log and records the run, all in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from handlers.progress import engine_claims
from scoring.engine import ScoringError, build_ledger
from scoring.standard import Standard
from storage.store import ClaimRecord, Store

ZERO = Fraction(0)


@dataclass(frozen=True)
class ClaimChange:
    claim: ClaimRecord
    raw: Fraction
    counted: Fraction
    version: str

    @property
    def changed(self) -> bool:
        old = self.claim
        return (old.hours_raw, old.hours_counted, old.standard_version) != (
            self.raw,
            self.counted,
            self.version,
        )


@dataclass(frozen=True)
class TeacherChange:
    person_id: int
    name: str | None
    before: Fraction  # the hours stored now
    after: Fraction  # the hours under the current file
    claims: tuple[ClaimChange, ...] = ()
    problem: str = ""  # why this teacher's claims could not be scored again

    @property
    def changed(self) -> bool:
        return not self.problem and any(c.changed for c in self.claims)

    @property
    def old_versions(self) -> tuple[str, ...]:
        return tuple(sorted({c.claim.standard_version for c in self.claims}))


def plan(store: Store, standard: Standard, period_key: str) -> list[TeacherChange]:
    """What the current standard file makes of each teacher's claims in a period."""
    return [
        _teacher(store, standard, period_key, person_id)
        for person_id in store.people_with_claims(standard.id, period_key)
    ]


def _teacher(store: Store, standard: Standard, period_key: str, person_id: int):
    claims = [
        c
        for c in store.claims_for(person_id, period_key)
        if c.standard_id == standard.id
    ]
    name = store.person(person_id).name
    before = sum((c.hours_counted or ZERO for c in claims), ZERO)
    try:
        ledger = build_ledger(standard, engine_claims(claims))
    except (ScoringError, KeyError) as exc:
        # An item gone from the file, or a rate it no longer has, is shown, not guessed.
        return TeacherChange(person_id, name, before, before, problem=str(exc))
    changes = tuple(
        ClaimChange(
            c, ledger.line(c.id).raw, ledger.line(c.id).counted, standard.version
        )
        for c in claims
    )
    return TeacherChange(person_id, name, before, ledger.total, changes)


def apply(
    store: Store, standard: Standard, period_key: str, teachers: list[TeacherChange]
) -> int:
    """Write the planned changes and record the run; returns the rescoring's id."""
    changed = [t for t in teachers if t.changed]
    reason = f"rescored under {standard.id} {standard.version}"
    with store.transaction():
        for teacher in changed:
            for change in teacher.claims:
                if change.changed:
                    _write(store, change, reason)
        rows = [
            (t.person_id, t.before, t.after, sum(c.changed for c in t.claims))
            for t in changed
        ]
        return store.record_rescoring(
            standard.id, standard.version, period_key, len(teachers), rows
        )


def _write(store: Store, change: ClaimChange, reason: str) -> None:
    claim = change.claim
    store.rescore_claim(claim.id, change.raw, change.counted, change.version)
    store.log_decision(
        claim.id,
        None,
        "rescore",
        claim.status,
        claim.status,
        claim.hours_counted,
        change.counted,
        reason,
    )
