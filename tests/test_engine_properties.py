"""Invariants of the engine, over every built-in standard and one that uses every rule.

No cap or limit is ever exceeded; the order of claims changes no total;
adding a claim never lowers the claimed total; a claim taken back leaves the
ledger it would have been without it; every changed number names its rule.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.progress import Progress
from scoring.engine import EngineClaim, Ledger, build_ledger
from scoring.facts import Facts
from scoring.standard import Standard, build_standard, load_standards

# Every rule of the language at least once, with caps that bind often. Its caps
# nest (item-year in item in category in the whole), as in every published
# standard: caps are filled in order, and caps that cut across each other (a
# yearly cap over a category that spans years) could let an added claim take
# room that a later cap then takes away. test_engine_rules covers those caps.
EVERY_RULE = """
id = "every-rule"
name = "测试：每条规则"
version = "1"
unit = "学分"
overall_cap = 30

[period]
kind = "dates"
start = "2024-09-01"
end = "2029-08-31"
year_start = "09-01"

[[target]]
id = "cycle"
hours = 40
years = 5
minimums = { a = 10, b = 5 }

[[category]]
id = "a"
name = "甲"
cap = 18

[[category]]
id = "b"
name = "乙"
cap = 12

[[item]]
id = "course"
name = "集中培训"
category = "a"
measure = "天"
basis = "duration"
convert = { "小时" = 1, "天" = 8 }
rates = [{ level = "省级", hours = 2 }, { level = "县级", hours = 1 }]
factors = [{ result = "不合格", times = "1/5" }]
credit_hours = 8
event_cap = 6
year_cap = 8

[[item]]
id = "observe"
name = "听课"
category = "a"
measure = "节"
rate = 0.25
quota = { units = 10, hours = 2, short = 0.1 }

[[item]]
id = "guide"
name = "导学案"
category = "b"
measure = "份"
rate = 1
batch = 2
cap = 3

[[item]]
id = "lesson"
name = "公开课"
category = "b"
measure = "课时"
rate = 2
later = { after = 1, hours = 1 }

[[item]]
id = "essay"
name = "叙事"
category = "b"
measure = "篇"
rate = 3
limit = { count = 1 }

[[item]]
id = "design"
name = "教学设计"
category = "b"
measure = "篇"
rates = [{ published = true, hours = 4 }, { hours = 2 }]
highest_per_topic = true

[[item]]
id = "paper"
name = "论文"
category = "b"
measure = "篇"
rates = [{ grade = "一等奖", hours = 6 }, { grade = "二等奖", hours = 4 }]

[[item]]
id = "notes"
name = "学习笔记"
measure = "字"
quota = { units = 5000, hours = 3 }

[[item]]
id = "training"
name = "网络培训"
measure = "学时"
basis = "duration"
convert = { "学时" = 1 }
rate = 1
credit_hours = 10
quota = { units = 2, per = "claim" }

[[item]]
id = "bonus"
name = "特色"
reviewer_range = [1, 4]

[[group]]
id = "outputs"
name = "研修成果"
items = ["essay", "design", "paper"]
limit = { count = 2 }
highest_per_topic = true
cap = 8
"""

STANDARDS: dict[str, Standard] = {
    **load_standards(),
    "every-rule": build_standard(tomllib.loads(EVERY_RULE), "every-rule"),
}


def first_day(standard: Standard) -> date:
    period = standard.period
    return period.dates[0] if period.kind == "dates" else date(2026, 9, 1)


# --- claims that the standard can score --------------------------------------------


@st.composite
def facts_for(draw, standard: Standard) -> Facts:
    item = draw(st.sampled_from(standard.items))
    values: dict = {}
    if item.rates:
        rate = draw(st.sampled_from(item.rates))
        for key, allowed in rate.when:
            values[key] = draw(st.sampled_from(allowed))
    for factor in item.factors:
        for key, allowed in factor.when:
            if key not in values and draw(st.booleans()):
                values[key] = draw(st.sampled_from(allowed))
    quantity = Fraction(draw(st.integers(1, 40)), draw(st.sampled_from((1, 2))))
    if item.measure == "字":
        quantity *= 250
    units = [item.measure] + [unit for unit, _ in item.convert]
    unit = draw(st.sampled_from(units)) if item.convert else item.measure
    topic = draw(st.sampled_from((None, "甲", "乙")))
    span = 5 * 365 if standard.period.kind == "dates" else 364
    day = first_day(standard) + timedelta(days=draw(st.integers(0, span)))
    return Facts(item.id, quantity, unit, topic=topic, day=day, **values)


@st.composite
def claims_for(draw, standard: Standard, size: int = 14) -> list[EngineClaim]:
    claims = []
    for number in range(draw(st.integers(0, size))):
        facts = draw(facts_for(standard))
        reviewer = None
        if standard.item(facts.item).reviewer_range is not None:
            reviewer = draw(st.sampled_from((None, Fraction(2), Fraction(5))))
        claims.append(EngineClaim(number, facts, (facts.day, number), reviewer))
    return claims


@st.composite
def standard_and_claims(draw, size: int = 14):
    standard = STANDARDS[draw(st.sampled_from(sorted(STANDARDS)))]
    return standard, draw(claims_for(standard, size))


PROPERTY = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def totals(ledger: Ledger) -> tuple:
    return (
        ledger.total,
        ledger.item_totals,
        ledger.category_totals,
        ledger.group_totals,
        ledger.period_totals,
        [g.gap for g in ledger.gaps()],
    )


# --- no cap is ever exceeded -----------------------------------------------------------


@PROPERTY
@given(standard_and_claims())
def test_no_cap_or_limit_is_ever_exceeded(case):
    standard, claims = case
    ledger = build_ledger(standard, claims)
    sums = defaultdict(lambda: Fraction(0))
    units = defaultdict(lambda: Fraction(0))
    for line in ledger.lines.values():
        item = standard.item(line.facts.item)
        assert line.counted >= 0
        if item.event_cap is not None:
            assert line.counted <= item.event_cap
        if item.reviewer_range is not None:
            assert line.counted <= item.reviewer_range[1]
        for key in scopes(standard, line):
            sums[key] += line.counted
        for key in limit_scopes(standard, line):
            if line.counted > 0:
                units[key] += line.units
    for key, total in sums.items():
        cap = cap_of(standard, key)
        assert cap is None or total <= cap, (key, total, cap)
    for key, used in units.items():
        limit = limit_of(standard, key)
        assert limit is None or used <= limit, (key, used, limit)


def scopes(standard: Standard, line) -> list[tuple]:
    item = standard.item(line.facts.item)
    keys = [
        ("item", line.period, item.id),
        ("item-year", line.year, item.id),
        ("overall", line.period),
        ("year", line.year),
    ]
    if item.category:
        keys.append(("category", line.period, item.category))
    keys += [("group", line.period, g.id) for g in standard.groups_of(item.id)]
    return keys


def limit_scopes(standard: Standard, line) -> list[tuple]:
    # Limits count in the period, or in each year of it when the standard caps years.
    item = standard.item(line.facts.item)
    keys = [("item", line.bucket, item.id)]
    return keys + [("group", line.bucket, g.id) for g in standard.groups_of(item.id)]


def cap_of(standard: Standard, key: tuple):
    kind = key[0]
    if kind == "item":
        return standard.item(key[2]).cap
    if kind == "item-year":
        return standard.item(key[2]).year_cap
    if kind == "category":
        return standard.category(key[2]).cap
    if kind == "group":
        return standard.group(key[2]).cap
    return standard.overall_cap if kind == "overall" else standard.year_cap


def limit_of(standard: Standard, key: tuple):
    if key[0] == "item":
        return standard.item(key[2]).limit_count
    if key[0] == "group":
        return standard.group(key[2]).limit_count
    return None


# --- the order of claims changes no total ------------------------------------------------


@PROPERTY
@given(standard_and_claims(), st.randoms(use_true_random=False))
def test_claim_order_changes_no_total(case, random):
    # A claim's order is its activity date, then when it was recorded: the
    # teacher may send the same claims in any sequence, but not move their dates.
    standard, claims = case
    records = list(range(len(claims)))
    random.shuffle(records)
    reordered = [
        EngineClaim(c.key, c.facts, (c.facts.day, record), c.reviewer_hours)
        for c, record in zip(claims, records, strict=True)
    ]
    random.shuffle(reordered)
    assert totals(build_ledger(standard, reordered)) == totals(
        build_ledger(standard, claims)
    )


# --- adding a claim never lowers the claimed total ----------------------------------------


@PROPERTY
@given(st.data())
def test_adding_a_claim_never_lowers_the_total(data):
    standard, claims = data.draw(standard_and_claims())
    extra = data.draw(facts_for(standard))
    reviewer = Fraction(3) if standard.item(extra.item).reviewer_range else None
    position = data.draw(st.integers(0, len(claims)))
    added = EngineClaim("extra", extra, (extra.day, position - 0.5), reviewer)
    before = build_ledger(standard, claims)
    after = build_ledger(standard, [*claims, added])
    assert after.total >= before.total
    for period, total in before.period_totals.items():
        assert after.period_totals[period] >= total


# --- a claim taken back leaves the ledger it would have been without it -------------------


@PROPERTY
@given(st.data())
def test_returning_a_claim_is_as_if_never_made(data):
    standard, claims = data.draw(standard_and_claims())
    if not claims:
        return
    returned = data.draw(st.sampled_from(claims))
    kept = [c for c in claims if c is not returned]
    build_ledger(standard, claims)  # warms whatever the engine remembers per standard
    fresh = build_standard_again(standard)
    assert snapshot(build_ledger(standard, kept)) == snapshot(build_ledger(fresh, kept))


def build_standard_again(standard: Standard) -> Standard:
    if standard.id == "every-rule":
        return build_standard(tomllib.loads(EVERY_RULE), "every-rule")
    return load_standards()[standard.id]


def snapshot(ledger: Ledger) -> tuple:
    lines = tuple(
        (key, ln.counted, ln.units, tuple(ln.cuts), tuple(ln.notes))
        for key, ln in ledger.lines.items()
    )
    return lines, totals(ledger)


# --- every changed number names its rule --------------------------------------------------


@PROPERTY
@given(standard_and_claims())
def test_every_change_names_its_rule(case):
    standard, claims = case
    for line in build_ledger(standard, claims).lines.values():
        for cut in line.cuts:
            assert cut.kind and cut.after < cut.before
        changes = line.cuts + [
            n for n in line.notes if n.kind not in ("credit", "factor")
        ]
        if line.counted != line.raw:
            assert changes, line
        if not changes:
            assert line.counted == line.raw


# --- the items with most room ---------------------------------------------------------


@PROPERTY
@given(standard_and_claims(size=30), st.integers(1, 6))
def test_rooms_looked_for_from_the_largest_cap_are_those_of_a_full_ranking(case, limit):
    standard, claims = case
    ledger = build_ledger(standard, claims)
    progress = Progress(standard, "", ledger, ledger, ())
    # The short way stops early; ranking every item is the reference.
    assert progress.rooms(limit) == progress._all_rooms(limit)


@pytest.mark.parametrize("standard_id", sorted(load_standards()))
@pytest.mark.parametrize("limit", range(1, 8))
def test_rooms_of_a_new_teacher_break_ties_as_a_full_ranking(standard_id, limit):
    # With no claims every item has its whole cap: many ties.
    standard = load_standards()[standard_id]
    ledger = build_ledger(standard, [])
    progress = Progress(standard, "", ledger, ledger, ())
    assert progress.rooms(limit) == progress._all_rooms(limit)
