"""The scoring engine: claims in, a ledger out. Pure and exact; no I/O.

Hours go through the standard's rules in a fixed order, each of which may
cut a claim and says so: the count limit of an item (keeping the highest),
the same topic counted once at its highest, then item, category and overall
caps. Totals do not depend on the order of claims; which claim a cap cuts
does (the later one, by activity date then record order).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction

from scoring.facts import Facts
from scoring.standard import Item, Rate, Standard

ZERO = Fraction(0)


class ScoringError(Exception):
    """A claim cannot be scored under its standard."""


class Unrated(ScoringError):
    """No rate of the item fits the facts; `key` is the fact to ask about."""

    def __init__(self, item: Item, key: str | None, choices: tuple, missing: bool):
        super().__init__(f"{item.id}: no rate for these facts (ask {key})")
        self.item = item
        self.key = key
        self.choices = choices
        self.missing = missing


@dataclass(frozen=True)
class Score:
    """What one claim earns before any limit or cap."""

    per_unit: Fraction
    units: Fraction
    rate: Rate | None
    awaiting_reviewer: bool = False

    @property
    def hours(self) -> Fraction:
        return self.per_unit * self.units


@dataclass(frozen=True)
class Cut:
    """A rule that lowered a claim: kind is limit, topic, item, category or overall."""

    kind: str
    name: str
    cap: Fraction | None
    before: Fraction
    after: Fraction
    measure: str = ""


@dataclass
class Line:
    key: object
    facts: Facts
    score: Score
    counted: Fraction
    cuts: list[Cut] = field(default_factory=list)

    @property
    def raw(self) -> Fraction:
        return self.score.hours


@dataclass(frozen=True)
class EngineClaim:
    """A claim as the engine sees it; `reviewer_hours` is set for reviewer-valued items."""

    key: object
    facts: Facts
    order: tuple = ()
    reviewer_hours: Fraction | None = None


@dataclass
class Ledger:
    standard: Standard
    lines: dict
    item_totals: dict
    category_totals: dict
    total: Fraction

    def line(self, key) -> Line:
        return self.lines[key]

    def gap(self, target=None) -> Fraction:
        target = target or self.standard.target
        return max(ZERO, target.hours - self.total)

    def room(self, item: Item) -> Fraction | None:
        """Hours the item can still add; None when no cap bounds it."""
        std = self.standard
        limits = []
        if item.limit_count is not None:
            used = sum((ln.score.units for ln in self.lines.values()
                        if ln.facts.item == item.id and ln.counted > 0), ZERO)  # fmt: skip
            if used >= item.limit_count:
                return ZERO
        if item.cap is not None:
            limits.append(item.cap - self.item_totals.get(item.id, ZERO))
        if item.category and std.category(item.category).cap is not None:
            cat = std.category(item.category)
            limits.append(cat.cap - self.category_totals.get(cat.id, ZERO))
        if std.overall_cap is not None:
            limits.append(std.overall_cap - self.total)
        return max(ZERO, min(limits)) if limits else None


def score_claim(standard: Standard, facts: Facts, reviewer_hours=None) -> Score:
    """Hours for one claim before limits and caps; raises Unrated when facts don't fit."""
    item = standard.item(facts.item)
    if item.reviewer_range is not None:
        hours = reviewer_hours if reviewer_hours is not None else ZERO
        return Score(hours, Fraction(1), None, awaiting_reviewer=reviewer_hours is None)
    rate = find_rate(standard, item, facts)
    return Score(rate.hours, units_of(item, facts), rate)


def find_rate(standard: Standard, item: Item, facts: Facts) -> Rate:
    values = effective_facts(standard, item, facts)
    for rate in item.rates:
        if rate.matches(values):
            return rate
    for key in item.needs:
        if values.get(key) is None:
            raise Unrated(item, key, item.choices(key), missing=True)
    key = next((k for k in item.needs if values.get(k) not in item.choices(k)), None)
    raise Unrated(item, key, item.choices(key) if key else (), missing=False)


def effective_facts(standard: Standard, item: Item, facts: Facts) -> dict:
    """Rate facts after the item's defaults and the standard's level equivalents."""
    values = facts.as_rate_facts()
    for key, value in item.defaults:
        if values.get(key) is None:
            values[key] = value
    equivalents = dict(standard.level_equivalents)
    if values.get("level") in equivalents and values["level"] not in item.choices("level"):
        values["level"] = equivalents[values["level"]]
    return values


def units_of(item: Item, facts: Facts) -> Fraction:
    """How many units a claim counts: a duration converted to hours, or a count."""
    if item.basis == "once":
        return Fraction(1)
    if item.basis == "duration":
        factors = dict(item.convert)
        unit = facts.unit if facts.unit in factors else item.measure
        if unit not in factors:
            raise ScoringError(f"{item.id}: no conversion for unit {facts.unit!r}")
        return facts.quantity * factors[unit]
    return facts.quantity


def build_ledger(standard: Standard, claims: list[EngineClaim]) -> Ledger:
    """Score every claim and apply the limits and caps of the standard."""
    ordered = sorted(claims, key=lambda c: c.order)
    lines = {}
    for claim in ordered:
        score = score_claim(standard, claim.facts, claim.reviewer_hours)
        lines[claim.key] = Line(claim.key, claim.facts, score, score.hours)
    sequence = [lines[c.key] for c in ordered]

    _apply_count_limits(standard, sequence)
    _apply_topic_highest(standard, sequence)
    item_totals = _apply_caps(sequence, lambda ln: _item_cap(standard, ln), "item")
    category_totals = _apply_caps(sequence, lambda ln: _category_cap(standard, ln), "category")
    overall = _apply_caps(sequence, lambda ln: ("all", "", standard.overall_cap), "overall")
    total = overall.get("all", ZERO)
    return Ledger(standard, lines, item_totals, category_totals, total)


def _apply_count_limits(standard: Standard, sequence: list[Line]) -> None:
    by_item = defaultdict(list)
    for line in sequence:
        by_item[line.facts.item].append(line)
    for item_id, group in by_item.items():
        item = standard.item(item_id)
        if item.limit_count is None:
            continue
        if item.keep == "highest":
            group = sorted(group, key=lambda ln: -ln.score.per_unit)  # stable: ties by order
        left = Fraction(item.limit_count)
        for line in group:
            units = min(line.score.units, left)
            left -= units
            after = line.score.per_unit * units
            _cut(line, "limit", item.name, Fraction(item.limit_count), after, item.measure)


def _apply_topic_highest(standard: Standard, sequence: list[Line]) -> None:
    best: dict = {}
    for line in sequence:
        item = standard.item(line.facts.item)
        if not (item.highest_per_topic and line.facts.topic):
            continue
        key = (item.id, line.facts.topic)
        current = best.get(key)
        if current is None:
            best[key] = line
        elif line.counted > current.counted:
            _cut(current, "topic", line.facts.topic, None, ZERO)
            best[key] = line
        else:
            _cut(line, "topic", line.facts.topic, None, ZERO)


def _item_cap(standard: Standard, line: Line):
    item = standard.item(line.facts.item)
    return item.id, item.name, item.cap


def _category_cap(standard: Standard, line: Line):
    item = standard.item(line.facts.item)
    if item.category is None:
        return None, "", None
    cat = standard.category(item.category)
    return cat.id, cat.name, cat.cap


def _apply_caps(sequence: list[Line], cap_of, kind: str) -> dict:
    """Fill each group up to its cap in order; returns the counted total per group."""
    totals: dict = defaultdict(lambda: ZERO)
    for line in sequence:
        group, name, cap = cap_of(line)
        if group is None:
            continue
        if cap is not None:
            allowed = max(ZERO, cap - totals[group])
            if line.counted > allowed:
                _cut(line, kind, name, cap, allowed)
        totals[group] += line.counted
    return dict(totals)


def _cut(line: Line, kind: str, name: str, cap, after: Fraction, measure: str = "") -> None:
    if after < line.counted:
        line.cuts.append(Cut(kind, name, cap, line.counted, after, measure))
        line.counted = after


def reachable(standard: Standard) -> Fraction | None:
    """The most a teacher's own claims can reach (reviewer-set items left out).

    None when some item has no cap, so claims alone are unbounded.
    """
    per_category: dict = defaultdict(lambda: ZERO)
    for item in standard.items:
        if item.reviewer_range is not None:
            continue
        if item.cap is None:
            return None
        per_category[item.category] += item.cap
    total = ZERO
    for cat_id, amount in per_category.items():
        cap = standard.category(cat_id).cap if cat_id else None
        total += min(amount, cap) if cap is not None else amount
    if standard.overall_cap is not None:
        total = min(total, standard.overall_cap)
    return total
