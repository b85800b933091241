"""The scoring engine: claims in, a ledger out. Pure and exact; no I/O.

A claim is first valued on its own (rate, factors, per-claim threshold,
学时→学分). Then the standard's rules run in a fixed order, each of which may
cut a claim and says so in a `Cut`: the per-event cap; count limits of items
and groups (keeping the highest); the same topic counted once at its
highest; pooled rules that look at all of an item's units in a period
(quota or threshold, a lower rate after the first units, batches); then the
caps of the item (per year and overall), of groups, of the category, and
of the standard (per year and overall). Each rule works within one period
of the standard, so a ledger over several periods caps each separately;
limits, same-topic and pooled rules work within each year of the period
when the standard caps years, so that no value moves into a full year.

Caps are filled in order, which gives the best total when they nest (an
item's yearly cap inside its cap, inside its category, inside the whole),
as in every published standard we know. A group cap across categories or a
yearly cap over categories that span years cut across each other; there,
an added claim can take room that a later cap then removes.

Every total (overall, per item, per category, per group) is the same
whatever the order of the claims. Which claim a rule cuts is decided by a
fixed order: within an item the later claim (by activity date, then record
order) is cut first; across items, the item listed later in the file.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from math import lcm

from scoring.facts import Facts
from scoring.standard import Category, Item, Quota, Rate, Standard, Target

ZERO = Fraction(0)
ONE = Fraction(1)


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
    """What one claim earns on its own, before any limit or cap.

    `per_unit` already holds the claim's factors and its 学时→学分 ratio;
    `value` is set when a threshold decides the amount instead of units × rate.
    """

    per_unit: Fraction
    units: Fraction
    rate: Rate | None
    awaiting_reviewer: bool = False
    value: Fraction | None = None
    factor: Fraction = ONE
    credit_hours: Fraction | None = None

    @cached_property
    def hours(self) -> Fraction:
        return self.per_unit * self.units if self.value is None else self.value


@dataclass(frozen=True)
class Cut:
    """A rule that changed a claim's amount; `kind` names the rule.

    Cuts lower an amount (in `Line.cuts`); the same record explains changes
    that raise or convert an amount (in `Line.notes`). `units` is what a
    pooled rule counted for the item so far in the period.
    """

    kind: str
    name: str
    cap: Fraction | None
    before: Fraction
    after: Fraction
    measure: str = ""
    units: Fraction | None = None
    topic: str = ""


@dataclass(slots=True)
class Line:
    key: object
    facts: Facts
    score: Score
    counted: Fraction
    cuts: list[Cut] = field(default_factory=list)
    notes: list[Cut] = field(default_factory=list)
    units: Fraction | None = None  # units still counted after limits
    period: str = ""
    year: str = ""
    # Where limits, same-topic and pooled rules look: the period, or each year
    # of it when the standard caps years (so value never moves into a full year).
    bucket: tuple = ()
    cap: Fraction | None = None  # the item's own cap, for ranking under limits

    def __post_init__(self):
        if self.units is None:
            self.units = self.score.units

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


@dataclass(frozen=True)
class Shortfall:
    """How far a category is below the minimum a target asks of it."""

    category: Category
    have: Fraction
    need: Fraction

    @property
    def short(self) -> Fraction:
        return max(ZERO, self.need - self.have)


@dataclass(frozen=True)
class TargetGap:
    target: Target
    total: Fraction
    gap: Fraction
    shortfalls: tuple[Shortfall, ...] = ()


@dataclass
class Ledger:
    standard: Standard
    lines: dict
    item_totals: dict
    category_totals: dict
    total: Fraction
    group_totals: dict = field(default_factory=dict)
    period_totals: dict = field(default_factory=dict)

    def line(self, key) -> Line:
        return self.lines[key]

    def gap(self, target: Target | None = None) -> Fraction:
        """What is still missing for a target (the first by default).

        With minimums by category, the gap is at least what the categories
        still lack, even when the total alone is reached.
        """
        target = target or self.standard.target
        lacking = sum((s.short for s in self.minimums(target)), ZERO)
        return max(ZERO, target.hours - self.total, lacking)

    def gaps(self) -> list[TargetGap]:
        """The gap to each target of the standard, in file order."""
        return [
            TargetGap(t, self.total, self.gap(t), tuple(self.minimums(t)))
            for t in self.standard.targets
        ]

    def minimums(self, target: Target | None = None) -> list[Shortfall]:
        target = target or self.standard.target
        return [
            Shortfall(
                self.standard.category(cid), self.category_totals.get(cid, ZERO), need
            )
            for cid, need in target.minimums
        ]

    def room(self, item: Item) -> Fraction | None:
        """Hours the item can still add; None when no cap bounds it."""
        if self._limit_reached(item):
            return ZERO
        limits = [bound - used for bound, used in self._bounds(item)]
        return max(ZERO, min(limits)) if limits else None

    def room_estimate(self, item: Item) -> float | None:
        """room(item) in floats: cheap enough to rank every item, never shown."""
        if self._limit_reached(item):
            return 0.0
        used = self._float_totals
        limits = [
            cap - used[kind].get(key, 0.0)
            for kind, key, cap in float_caps(self.standard, item)
        ]
        return max(0.0, min(limits)) if limits else None

    @cached_property
    def _float_totals(self) -> dict:
        def floats(totals: dict) -> dict:
            return {k: float(v) for k, v in totals.items()}

        return {
            "item": floats(self.item_totals),
            "group": floats(self.group_totals),
            "category": floats(self.category_totals),
            "total": {"": float(self.total)},
        }

    def _limit_reached(self, item: Item) -> bool:
        return any(
            self._units_used(ids) >= count
            for count, ids in _limit_scopes(self.standard, item)
        )

    def _units_used(self, item_ids: tuple[str, ...]) -> Fraction:
        used = self._units_by_item
        return sum((used.get(i, ZERO) for i in item_ids), ZERO)

    @cached_property
    def _units_by_item(self) -> dict[str, Fraction]:
        # Counted once per ledger: a reply asks every item for its room.
        used: dict[str, Fraction] = defaultdict(lambda: ZERO)
        for ln in self.lines.values():
            if ln.counted > 0:
                used[ln.facts.item] += ln.units
        return used

    def _bounds(self, item: Item):
        """(bound, used) for every cap the item's hours pass through."""
        std = self.standard
        most = item_most(item)
        if most is not None:
            yield most, self.item_totals.get(item.id, ZERO)
        for group in std.groups_of(item.id):
            if group.cap is not None:
                yield group.cap, self.group_totals.get(group.id, ZERO)
        if item.category and std.category(item.category).cap is not None:
            yield (
                std.category(item.category).cap,
                self.category_totals.get(item.category, ZERO),
            )
        if std.overall_cap is not None:
            yield std.overall_cap, self.total


_LIMIT_SCOPES: dict[int, tuple[Standard, dict]] = {}


def _limit_scopes(standard: Standard, item: Item) -> list[tuple[int, tuple[str, ...]]]:
    """(count, item ids) of every count limit an item is under, once per standard."""
    key = id(standard)
    if key not in _LIMIT_SCOPES:
        scopes = {}
        for i in standard.items:
            pairs = [(i.limit_count, (i.id,))]
            pairs += [(g.limit_count, g.items) for g in standard.groups_of(i.id)]
            scopes[i.id] = [(count, ids) for count, ids in pairs if count is not None]
        _LIMIT_SCOPES[key] = (standard, scopes)
    return _LIMIT_SCOPES[key][1][item.id]


_FLOAT_CAPS: dict[int, tuple[Standard, dict]] = {}


def float_caps(standard: Standard, item: Item) -> list[tuple[str, str, float]]:
    """(total kind, key, cap) for every cap an item passes through, once per standard."""
    key = id(standard)
    if key not in _FLOAT_CAPS:
        _FLOAT_CAPS[key] = (
            standard,
            {i.id: _caps_of(standard, i) for i in standard.items},
        )
    return _FLOAT_CAPS[key][1][item.id]


def _caps_of(std: Standard, item: Item) -> list[tuple[str, str, float]]:
    caps = []
    most = item_most(item)
    if most is not None:
        caps.append(("item", item.id, float(most)))
    caps += [
        ("group", g.id, float(g.cap))
        for g in std.groups_of(item.id)
        if g.cap is not None
    ]
    if item.category and std.category(item.category).cap is not None:
        caps.append(("category", item.category, float(std.category(item.category).cap)))
    if std.overall_cap is not None:
        caps.append(("total", "", float(std.overall_cap)))
    return caps


# --- one claim ----------------------------------------------------------------


def score_claim(standard: Standard, facts: Facts, reviewer_hours=None) -> Score:
    """What one claim earns on its own; raises Unrated when the facts fit no rate."""
    item = standard.item(facts.item)
    if item.reviewer_range is not None:
        return _reviewer_score(item, reviewer_hours)
    units = units_of(item, facts)
    if not item.rates:  # a pure threshold: the quota alone decides
        value = _quota_value(item.quota, units, ZERO)
        return Score(ZERO, units, None, value=_credits(item, value))
    values = effective_facts(standard, item, facts)
    rate = find_rate(standard, item, facts, values)
    factor = _factor(item, values)
    per_unit = _credits(item, rate.hours * factor)
    value = None
    if item.quota is not None or item.later is not None or item.batch is not None:
        value = _credits(item, pooled_value(item, units, rate.hours))
    return Score(per_unit, units, rate, False, value, factor, item.credit_hours)


def _reviewer_score(item: Item, reviewer_hours) -> Score:
    hours = reviewer_hours if reviewer_hours is not None else ZERO
    return Score(hours, ONE, None, awaiting_reviewer=reviewer_hours is None)


def _factor(item: Item, values: dict) -> Fraction:
    factor = ONE
    for entry in item.factors:
        if entry.matches(values):
            factor *= entry.times
    return factor


def _credits(item: Item, amount: Fraction) -> Fraction:
    return amount if item.credit_hours is None else amount / item.credit_hours


def find_rate(
    standard: Standard, item: Item, facts: Facts, values: dict | None = None
) -> Rate:
    values = values if values is not None else effective_facts(standard, item, facts)
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
    if values.get("level") in equivalents and values["level"] not in item.choices(
        "level"
    ):
        values["level"] = equivalents[values["level"]]
    return values


def units_of(item: Item, facts: Facts) -> Fraction:
    """How many units a claim counts: a converted quantity, or one for 'once'."""
    if item.basis == "once":
        return ONE
    if not item.convert:
        return facts.quantity
    factors = dict(item.convert)
    unit = facts.unit if facts.unit in factors else item.measure
    if unit not in factors:
        raise ScoringError(f"{item.id}: no conversion for unit {facts.unit!r}")
    return facts.quantity * factors[unit]


def pooled_value(item: Item, units: Fraction, rate: Fraction) -> Fraction:
    """What `units` of an item earn together under its quota, later rate or batches."""
    if units <= 0:
        return ZERO
    if item.batch is not None:
        return rate * (units // item.batch)
    if item.later is not None:
        first = min(units, item.later.after)
        return rate * first + item.later.hours * (units - first)
    return _quota_value(item.quota, units, rate)


def _quota_value(quota: Quota, units: Fraction, beyond: Fraction) -> Fraction:
    if units <= 0:
        return ZERO
    if units >= quota.units:
        return quota.hours + beyond * (units - quota.units)
    if quota.short is None:
        return ZERO
    return max(ZERO, quota.hours - quota.short * (quota.units - units))


# --- the ledger ----------------------------------------------------------------


def build_ledger(standard: Standard, claims: list[EngineClaim]) -> Ledger:
    """Score every claim and apply the limits and caps of the standard."""
    plan = _plan(standard)
    ordered = sorted(claims, key=lambda c: c.order)
    lines = {claim.key: _new_line(plan, claim) for claim in ordered}
    # Stable sort: claim order within an item, file order across items.
    rank = plan.rank
    sequence = sorted(lines.values(), key=lambda ln: rank[ln.facts.item])
    for stage in plan.stages:
        stage(plan, sequence)
    return _capped(plan, lines, sequence)


def _new_line(plan: _Plan, claim: EngineClaim) -> Line:
    facts = claim.facts
    score = _cached_score(plan, facts, claim.reviewer_hours)
    line = Line(claim.key, facts, score, score.hours)
    if facts.day is not None:
        line.period = plan.period_label(facts.day)
        if plan.years:
            line.year = plan.year_label(facts.day)
    line.bucket = (line.period, line.year)
    item = plan.items[facts.item]
    line.cap = item.cap
    if item.factors or item.credit_hours is not None:
        _explain_amount(line, item)
    if item.reviewer_range is not None and claim.reviewer_hours is not None:
        high = item.reviewer_range[1]
        _cut(line, "reviewer", item.name, high, min(line.counted, high))
    elif claim.reviewer_hours is not None:
        # A reviewer lowered a claim the evidence does not fully support.
        _cut(line, "reviewer", item.name, None, min(line.counted, claim.reviewer_hours))
    return line


def _cached_score(plan: _Plan, facts: Facts, reviewer_hours) -> Score:
    # Teachers repeat the same claims; a rescore of many ledgers meets them again.
    quantity = facts.quantity
    key = (
        facts.item,
        quantity.numerator,
        quantity.denominator,
        facts.unit,
        facts.level,
        facts.grade,
        facts.role,
        facts.published,
        facts.result,
        reviewer_hours,
    )
    score = plan.scores.get(key)
    if score is None:
        score = score_claim(plan.standard, facts, reviewer_hours)
        if len(plan.scores) < _SCORE_CACHE_SIZE:
            plan.scores[key] = score
    return score


_SCORE_CACHE_SIZE = 50_000


def _explain_amount(line: Line, item: Item) -> None:
    """Notes for a claim's factor and its 学时→学分 conversion."""
    score = line.score
    if score.factor != ONE and score.rate is not None:
        base = score.rate.hours * score.units
        line.notes.append(
            Cut("factor", item.name, score.factor, base, base * score.factor)
        )
    if item.credit_hours is not None:
        credits = score.hours
        hours = credits * item.credit_hours
        line.notes.append(
            Cut("credit", item.name, item.credit_hours, hours, credits, "学时")
        )


def _cut(
    line: Line,
    kind: str,
    name: str,
    cap,
    after: Fraction,
    measure: str = "",
    units: Fraction | None = None,
    topic: str = "",
) -> None:
    """Lower a line to `after` and say which rule did it (nothing if not lower)."""
    if after < line.counted:
        line.cuts.append(
            Cut(kind, name, cap, line.counted, after, measure, units, topic)
        )
        line.counted = after


# --- what a standard needs of the engine, worked out once ------------------------


@dataclass
class _Plan:
    standard: Standard
    items: dict
    rank: dict  # item id -> its place in the file
    groups: dict  # item id -> its groups
    stages: list  # the rules before the caps, on exact fractions
    cap_stages: list  # the caps, on whole numbers of a common denominator
    caps: dict  # (scope, item id) -> (numerator, denominator, cap, name) or None
    cap_denominator: int
    years: bool
    scores: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    year_labels: dict = field(default_factory=dict)

    def period_label(self, day) -> str:
        label = self.labels.get(day)
        if label is None:
            label = self.labels[day] = self.standard.period.span_of(day).label
        return label

    def year_label(self, day) -> str:
        label = self.year_labels.get(day)
        if label is None:
            label = self.year_labels[day] = self.standard.period.year_of(day)
        return label


def _plan(standard: Standard) -> _Plan:
    plan = standard.memo.get("engine")
    if plan is None:
        plan = _make_plan(standard)
        standard.memo["engine"] = plan
    return plan


def _make_plan(standard: Standard) -> _Plan:
    needs = _Needs(standard)
    stages = [
        stage
        for wanted, stage in (
            (needs.event, _event_caps),
            (needs.limits, _count_limits),
            (needs.group_limits, _group_limits),
            (needs.topics, _topic_highest),
            (needs.pooled, _pooled),
        )
        if wanted
    ]
    caps = _cap_table(standard)
    cap_stages = [
        stage
        for scope, stage in (
            ("item-year", _item_year_caps),
            ("item", _item_caps),
            ("group", _group_caps),
            ("category", _category_caps),
            ("year", _overall_year_cap),
            ("overall", _overall_cap),
        )
        if any(key[0] == scope and cap for key, cap in caps.items())
    ]
    denominators = [entry[1] for entry in _cap_entries(caps)]
    return _Plan(
        standard=standard,
        items={i.id: i for i in standard.items},
        rank={item.id: index for index, item in enumerate(standard.items)},
        groups={i.id: standard.groups_of(i.id) for i in standard.items},
        stages=stages,
        cap_stages=cap_stages,
        caps=caps,
        cap_denominator=lcm(1, *denominators),
        years=needs.item_years or standard.year_cap is not None,
    )


def _cap_table(standard: Standard) -> dict:
    """Every cap by scope, with its numerator and denominator ready for whole numbers."""

    def entry(cap, name: str):
        return None if cap is None else (cap.numerator, cap.denominator, cap, name)

    caps: dict = {
        ("year", ""): entry(standard.year_cap, ""),
        ("overall", ""): entry(standard.overall_cap, ""),
    }
    for item in standard.items:
        caps[("item", item.id)] = entry(item.cap, item.name)
        caps[("item-year", item.id)] = entry(item.year_cap, item.name)
        category = standard.category(item.category) if item.category else None
        caps[("category", item.id)] = category and entry(category.cap, category.name)
        groups = [(g.id, entry(g.cap, g.name)) for g in standard.groups_of(item.id)]
        caps[("group", item.id)] = tuple(g for g in groups if g[1]) or None
    return caps


def _cap_entries(caps: dict):
    for (scope, _), cap in caps.items():
        if scope == "group":
            yield from (entry for _, entry in cap or ())
        elif cap:
            yield cap


class _Needs:
    """Which rules a standard uses, so a ledger skips the ones it does not."""

    def __init__(self, standard: Standard):
        items = standard.items
        self.event = any(i.event_cap is not None for i in items)
        self.limits = any(i.limit_count is not None for i in items)
        self.group_limits = any(g.limit_count is not None for g in standard.groups)
        self.topics = any(i.highest_per_topic for i in items) or any(
            g.highest_per_topic for g in standard.groups
        )
        self.pooled = any(i.pooled for i in items)
        self.item_years = any(i.year_cap is not None for i in items)


# --- the rules before the caps, in order ----------------------------------------------


def _event_caps(plan: _Plan, sequence: list[Line]) -> None:
    for line in sequence:
        item = plan.items[line.facts.item]
        if item.event_cap is not None and line.counted > item.event_cap:
            _cut(line, "event", item.name, item.event_cap, item.event_cap)


def _count_limits(plan: _Plan, sequence: list[Line]) -> None:
    by_item = defaultdict(list)
    for line in sequence:
        if plan.items[line.facts.item].limit_count is not None:
            by_item[(line.bucket, line.facts.item)].append(line)
    for (_, item_id), group in by_item.items():
        item = plan.items[item_id]
        _keep_units(
            group, item.limit_count, item.keep, "limit", item.name, item.measure
        )


def _group_limits(plan: _Plan, sequence: list[Line]) -> None:
    by_group = defaultdict(list)
    for line in sequence:
        for group in plan.groups[line.facts.item]:
            if group.limit_count is not None:
                by_group[(line.bucket, group)].append(line)
    for (_, group), lines in by_group.items():
        measure = plan.items[group.items[0]].measure
        _keep_units(
            lines, group.limit_count, group.keep, "group-limit", group.name, measure
        )


def _keep_units(
    lines: list[Line], count: int, keep: str, kind: str, name: str, measure: str
) -> None:
    """Count at most `count` units among `lines`, the highest per unit first if asked."""
    if keep == "highest":
        # Stable: ties keep their order. A line's worth is what its item's cap lets
        # it count, so that keeping it never costs more than the line it displaces.
        lines = sorted(lines, key=lambda ln: -_worth_per_unit(ln))
    left = Fraction(count)
    for line in lines:
        units = min(line.units, left)
        left -= units
        if units < line.units:
            after = line.counted * units / line.units
            _cut(line, kind, name, Fraction(count), after, measure)
            line.units = units


def _worth_per_unit(line: Line) -> Fraction:
    cap = line.cap
    counted = line.counted if cap is None else min(line.counted, cap)
    return counted / line.units if line.units else ZERO


def _topic_highest(plan: _Plan, sequence: list[Line]) -> None:
    best: dict = {}
    for line in sequence:
        topic = line.facts.topic
        if not topic:
            continue
        item = plan.items[line.facts.item]
        scopes = [("topic", item.id, item.name)] if item.highest_per_topic else []
        scopes += [
            ("group-topic", g.id, g.name)
            for g in plan.groups[item.id]
            if g.highest_per_topic
        ]
        for kind, scope, name in scopes:
            _keep_best(best, (line.bucket, scope, topic), line, kind, name)


def _keep_best(best: dict, key, line: Line, kind: str, name: str) -> None:
    """Of the lines sharing a key, only the highest counts; ties keep the first."""
    current = best.get(key)
    topic = line.facts.topic
    # The item's own rule names the topic, as it always did; a group names itself.
    name = topic if kind == "topic" else name
    if current is None:
        best[key] = line
    elif line.counted > current.counted:
        _cut(current, kind, name, None, ZERO, topic=topic)
        best[key] = line
    else:
        _cut(line, kind, name, None, ZERO, topic=topic)


def _pooled(plan: _Plan, sequence: list[Line]) -> None:
    """Value an item's units together over the period and share the value out in order."""
    used: dict = defaultdict(lambda: ZERO)
    for line in sequence:
        item = plan.items[line.facts.item]
        if not item.pooled:
            continue
        key = (line.bucket, item.id)
        before = used[key]
        used[key] = before + line.units
        rate = line.score.rate.hours if line.score.rate else ZERO
        share = _credits(
            item, pooled_value(item, used[key], rate) - pooled_value(item, before, rate)
        )
        _settle(line, item, share, used[key])


def _settle(line: Line, item: Item, share: Fraction, units: Fraction) -> None:
    """Set a pooled line to its share, as a cut when lower and a note otherwise."""
    if item.batch:
        kind, rule = "batch", Fraction(item.batch)
    elif item.later:
        kind, rule = "later", item.later.after
    else:
        kind, rule = "quota", item.quota.units
    if share < line.counted:
        _cut(line, kind, item.name, rule, share, item.measure, units)
        return
    # Say why a line counts nothing yet: its quota is unmet or its batch incomplete.
    unmet = item.quota is not None and units < item.quota.units
    unmet = unmet or (item.batch is not None and units % item.batch != 0)
    if share > line.counted or unmet:
        line.notes.append(
            Cut(kind, item.name, rule, line.counted, share, item.measure, units)
        )
        line.counted = share


# --- the caps, on whole numbers ----------------------------------------------------------


def _capped(plan: _Plan, lines: dict, sequence: list[Line]) -> Ledger:
    """Run the caps on whole numbers of 1/D, D a common denominator: exact and fast."""
    denominator = plan.cap_denominator
    for line in sequence:
        if denominator % line.counted.denominator:
            denominator = lcm(denominator, line.counted.denominator)
    amounts = [
        ln.counted.numerator * (denominator // ln.counted.denominator)
        for ln in sequence
    ]
    start = list(amounts)
    for stage in plan.cap_stages:
        stage(plan, sequence, amounts, denominator)
    for line, amount, first in zip(sequence, amounts, start, strict=True):
        if amount != first:
            line.counted = Fraction(amount, denominator)
    return _totals(plan, lines, sequence, amounts, denominator)


def _take(
    line: Line,
    index: int,
    amounts: list,
    totals: dict,
    key,
    cap: tuple,
    denominator: int,
    kind: str,
) -> None:
    """Add a line to a capped total, cutting it to what the cap still allows."""
    numerator, cap_denominator, fraction, name = cap
    allowed = numerator * (denominator // cap_denominator) - totals.get(key, 0)
    amount = amounts[index]
    if amount > allowed:
        allowed = max(0, allowed)
        if allowed < amount:
            before, after = (
                Fraction(amount, denominator),
                Fraction(allowed, denominator),
            )
            line.cuts.append(Cut(kind, name, fraction, before, after))
            amount = amounts[index] = allowed
    totals[key] = totals.get(key, 0) + amount


def _item_year_caps(plan: _Plan, sequence, amounts, denominator) -> None:
    totals: dict = {}
    for index, line in enumerate(sequence):
        cap = plan.caps[("item-year", line.facts.item)]
        if cap:
            key = (line.year, line.facts.item)
            _take(line, index, amounts, totals, key, cap, denominator, "item-year")


def _item_caps(plan: _Plan, sequence, amounts, denominator) -> None:
    totals: dict = {}
    for index, line in enumerate(sequence):
        cap = plan.caps[("item", line.facts.item)]
        if cap:
            key = (line.period, line.facts.item)
            _take(line, index, amounts, totals, key, cap, denominator, "item")


def _group_caps(plan: _Plan, sequence, amounts, denominator) -> None:
    totals: dict = {}
    for index, line in enumerate(sequence):
        for group_id, cap in plan.caps[("group", line.facts.item)] or ():
            key = (line.period, group_id)
            _take(line, index, amounts, totals, key, cap, denominator, "group")


def _category_caps(plan: _Plan, sequence, amounts, denominator) -> None:
    totals: dict = {}
    for index, line in enumerate(sequence):
        cap = plan.caps[("category", line.facts.item)]
        if cap:
            key = (line.period, plan.items[line.facts.item].category)
            _take(line, index, amounts, totals, key, cap, denominator, "category")


def _overall_year_cap(plan: _Plan, sequence, amounts, denominator) -> None:
    totals: dict = {}
    cap = plan.caps[("year", "")]
    for index, line in enumerate(sequence):
        _take(line, index, amounts, totals, line.year, cap, denominator, "year")


def _overall_cap(plan: _Plan, sequence, amounts, denominator) -> None:
    totals: dict = {}
    cap = plan.caps[("overall", "")]
    for index, line in enumerate(sequence):
        _take(line, index, amounts, totals, line.period, cap, denominator, "overall")


def _totals(
    plan: _Plan, lines: dict, sequence: list[Line], amounts: list, denominator: int
) -> Ledger:
    items: dict = {}
    periods: dict = {}
    for line, amount in zip(sequence, amounts, strict=True):
        item_id = line.facts.item
        items[item_id] = items.get(item_id, 0) + amount
        periods[line.period] = periods.get(line.period, 0) + amount
    categories: dict = {}
    groups: dict = {}
    for item_id, amount in items.items():
        category = plan.items[item_id].category
        if category is not None:
            categories[category] = categories.get(category, 0) + amount
        for group in plan.groups[item_id]:
            groups[group.id] = groups.get(group.id, 0) + amount

    def exact(table: dict) -> dict:
        return {key: Fraction(amount, denominator) for key, amount in table.items()}

    total = Fraction(sum(items.values()), denominator)
    return Ledger(
        plan.standard,
        lines,
        exact(items),
        exact(categories),
        total,
        exact(groups),
        exact(periods),
    )


# --- what a standard allows ----------------------------------------------------


def item_most(item: Item) -> Fraction | None:
    """The most one item can count in a period by its own rules; None if unbounded."""
    if item.cap is not None:
        return item.cap
    if item.quota is not None and not item.rates:
        return _credits(item, item.quota.hours)
    return None


def reachable(standard: Standard) -> Fraction | None:
    """The most a teacher's own claims can reach in a period (reviewer-set items left out).

    None when some item has no cap, so claims alone are unbounded.
    """
    key = id(standard)
    if key not in _REACHABLE:
        _REACHABLE[key] = (standard, _reachable(standard))
    return _REACHABLE[key][1]


# Standards are loaded once and never change; the entry keeps its standard alive.
_REACHABLE: dict[int, tuple[Standard, Fraction | None]] = {}


def _reachable(standard: Standard) -> Fraction | None:
    per_category: dict = defaultdict(lambda: ZERO)
    for item in standard.items:
        if item.reviewer_range is not None:
            continue
        most = item_most(item)
        if most is None:
            return None
        per_category[item.category] += most
    total = ZERO
    for cat_id, amount in per_category.items():
        cap = standard.category(cat_id).cap if cat_id else None
        total += min(amount, cap) if cap is not None else amount
    if standard.overall_cap is not None:
        total = min(total, standard.overall_cap)
    return total
