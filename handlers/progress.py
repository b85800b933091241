"""A person's standing in the current period: ledgers of claimed and approved hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from functools import cached_property

from scoring.engine import EngineClaim, Ledger, build_ledger, float_caps, reachable
from scoring.standard import Item, Standard
from storage.reminders import ActiveClaim, Standing
from storage.store import APPROVED, ClaimRecord, Store

# How many items with room a reply suggests; a phone screen holds few.
SUGGESTIONS = 3


@dataclass(frozen=True)
class Room:
    item: Item
    hours: Fraction | None  # None: no cap limits this item


@dataclass(frozen=True)
class Progress:
    standard: Standard
    period_label: str
    claimed: Ledger
    approved: Ledger
    claims: tuple[ClaimRecord, ...]

    @property
    def target(self) -> Fraction:
        return self.standard.target.hours

    @cached_property
    def gap(self) -> Fraction:
        return self.claimed.gap()

    @property
    def only_bonus_left(self) -> Fraction | None:
        """Hours of the gap that no claim of the teacher's own can earn, if any."""
        most = reachable(self.standard)
        if (
            most is None
            or most >= self.target
            or self.claimed.total < most
            or not self.gap
        ):
            return None
        return self.target - most

    def rooms(self, limit: int = SUGGESTIONS) -> list[Room]:
        """Items where hours can still be earned, the roomiest first."""
        if limit == SUGGESTIONS:
            return self._suggested
        return self._ranked_rooms(limit)

    @cached_property
    def _suggested(self) -> list[Room]:
        # Asked for by the reply and by the saved standing: worked out once.
        return self._ranked_rooms(SUGGESTIONS)

    def _ranked_rooms(self, limit: int) -> list[Room]:
        """The `limit` items with most room: capped items by room, then uncapped ones.

        Ties go to the better-paid item, then to the earlier one in the file.
        Floats rank the items; the few shown are then worked out exactly.
        """
        return self._top_rooms(limit) or self._all_rooms(limit)

    def _top_rooms(self, limit: int) -> list[Room] | None:
        """The capped items with most room, looked at from the largest cap down and
        no further than a cap below the rooms found; None when that is not enough."""
        ledger, found = self.claimed, []
        for bound, rank, item in _by_bound(self.standard):
            if len(found) >= limit and bound < found[limit - 1][0]:
                break
            estimate = ledger.room_estimate(item)
            if estimate:
                found.append((estimate, rank, item))
                found.sort(key=lambda r: (-r[0], r[1]))
        rooms = [Room(item, ledger.room(item)) for _, _, item in found[:limit]]
        if len(rooms) < limit or not all(r.hours > 0 for r in rooms):
            return None  # uncapped items, or floats that missed: rank them all
        return rooms

    def _all_rooms(self, limit: int) -> list[Room]:
        ledger, best = self.claimed, _best_rates(self.standard)
        ranked = []
        for item in self.standard.items:
            if item.reviewer_range is None:
                estimate = ledger.room_estimate(item)
                if estimate is None or estimate > 0:
                    ranked.append((estimate, item))
        ranked.sort(key=lambda r: (r[0] is None, -(r[0] or 0), -best[r[1].id]))
        rooms = []
        for _, item in ranked:
            room = ledger.room(item)
            if room is None or room > 0:
                rooms.append(Room(item, room))
                if len(rooms) == limit:
                    break
        return rooms

    def category_rows(self) -> list[tuple[str, Fraction, Fraction | None]]:
        """(name, counted, cap) per category; per claimed item when there are none."""
        if self.standard.categories:
            return [(c.name, self.claimed.category_totals.get(c.id, Fraction(0)), c.cap)
                    for c in self.standard.categories]  # fmt: skip
        return [(self.standard.item(i).name, total, self.standard.item(i).cap)
                for i, total in self.claimed.item_totals.items()]  # fmt: skip


_BEST_RATES: dict[int, tuple[Standard, dict[str, float]]] = {}


def _best_rates(standard: Standard) -> dict[str, float]:
    """Each item's highest rate, once per standard: the tie-break among rooms."""
    key = id(standard)
    if key not in _BEST_RATES:
        best = {
            i.id: float(max((r.hours for r in i.rates), default=0))
            for i in standard.items
        }
        _BEST_RATES[key] = (standard, best)
    return _BEST_RATES[key][1]


_BY_BOUND: dict[int, tuple[Standard, list[tuple[float, tuple, Item]]]] = {}


def _by_bound(standard: Standard) -> list[tuple[float, tuple, Item]]:
    """(most room the item can ever have, tie-break, item) for the capped items a
    teacher claims themselves, the largest first; once per standard."""
    key = id(standard)
    if key not in _BY_BOUND:
        best, ranked = _best_rates(standard), []
        for index, item in enumerate(standard.items):
            caps = [cap for _, _, cap in float_caps(standard, item)]
            if item.reviewer_range is None and caps:
                ranked.append((min(caps), (-best[item.id], index), item))
        ranked.sort(key=lambda r: (-r[0], r[1]))
        _BY_BOUND[key] = (standard, ranked)
    return _BY_BOUND[key][1]


def engine_claims(claims: list[ClaimRecord] | list[ActiveClaim]) -> list[EngineClaim]:
    """Claims in the engine's terms, ordered by activity date, then by record."""
    return [
        EngineClaim(c.id, c.facts, (c.facts.day or date.min, c.id), c.reviewer_hours)
        for c in claims
    ]


def progress_of(store: Store, person_id: int, standard: Standard, period_key: str,
                period_label: str) -> Progress:  # fmt: skip
    """Ledgers over a person's active claims of a period, and over the approved ones."""
    progress = progress_over(
        standard, period_label, store.claims_for(person_id, period_key)
    )
    # Kept for reminders, which would otherwise score every teacher again.
    store.save_standings([(person_id, standing_of(progress, period_key))])
    return progress


def progress_over(standard: Standard, period_label: str, claims: list) -> Progress:
    """The progress a person's active claims of one period make; nothing is read or kept."""
    claims = _under(standard, claims)
    claimed, approved = _ledgers(standard, claims)
    return Progress(standard, period_label, claimed, approved, tuple(claims))


def recounted(progress: Progress, before: Ledger, acted: int | None = None) -> list:
    """(claim, hours before, line now) for each claim a change moved under the caps,
    other than the one acted on."""
    now = progress.claimed.lines
    return [
        (c, before.lines[c.id].counted, now[c.id])
        for c in progress.claims
        if c.id != acted
        and c.id in before.lines
        and before.lines[c.id].counted != now[c.id].counted
    ]


def keep_counted(store: Store, progress: Progress) -> None:
    """Store what each claim counts now, where the stored hours are behind."""
    for c in progress.claims:
        counted = progress.claimed.lines[c.id].counted
        if counted != c.hours_counted:
            store.set_counted(c.id, counted)


def standing_of(progress: Progress, period_key: str) -> Standing:
    """What reminders need of a person's progress: totals, gap and the best rooms."""
    standard = progress.standard
    return Standing(
        standard.id, standard.version, period_key, progress.claimed.total,
        progress.approved.total, progress.gap, progress.target,
        progress.only_bonus_left,
        tuple((room.item.id, room.hours) for room in progress.rooms()),
    )  # fmt: skip


def standing_from(
    standard: Standard, period_key: str, claims: list[ActiveClaim]
) -> Standing:
    """A standing worked out from claims read in bulk (any period or standard)."""
    mine = _under(standard, [c for c in claims if c.period == period_key])
    claimed, approved = _ledgers(standard, mine)
    # The claims themselves are not needed: a standing keeps totals only.
    return standing_of(Progress(standard, "", claimed, approved, ()), period_key)


def current_progress(ctx) -> Progress:
    """The progress of the message's sender in the period that holds today."""
    period = ctx.standard.period.span_of(ctx.today)
    return progress_of(
        ctx.store, ctx.person.id, ctx.standard, period.start.isoformat(), period.label
    )


def counted_now(store: Store, standards: dict, claim: ClaimRecord) -> Fraction:
    """What a claim counts today, after every cap, among its teacher's claims.

    The hours stored with a claim are those of the moment it was recorded; a
    later claim, a reviewer's value or a return can change them.
    """
    standard = standards[claim.standard_id]
    mine = _under(standard, store.claims_for(claim.person_id, claim.period))
    line = build_ledger(standard, engine_claims(mine)).lines.get(claim.id)
    return line.counted if line is not None else Fraction(0)


def _under(standard: Standard, claims: list) -> list:
    """The claims scored under this standard (a school may have changed its own)."""
    return [c for c in claims if c.standard_id == standard.id]


def _ledgers(standard: Standard, claims: list) -> tuple[Ledger, Ledger]:
    """The claimed ledger over all the claims, and the approved one over the approved."""
    approved = [c for c in claims if c.status == APPROVED]
    return (
        build_ledger(standard, engine_claims(claims)),
        build_ledger(standard, engine_claims(approved)),
    )
