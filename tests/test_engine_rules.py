"""Each rule of the standard language, with exact numbers and the record that explains them."""

from __future__ import annotations

import tomllib
from datetime import date
from fractions import Fraction

import pytest

from scoring.engine import EngineClaim, build_ledger, reachable, score_claim
from scoring.facts import Facts
from scoring.standard import build_standard, load_standards
from tests.test_engine_properties import EVERY_RULE

# The same rules with a yearly cap over the whole standard as well.
WITH_YEAR_CAP = EVERY_RULE.replace(
    "overall_cap = 30", "overall_cap = 30\nyear_cap = 20"
)
STANDARD = build_standard(tomllib.loads(WITH_YEAR_CAP), "every-rule")
F = Fraction
DAY = date(2026, 10, 8)


def ledger(*claims: Facts, reviewer: Fraction | None = None):
    engine_claims = [
        EngineClaim(n, f if f.day else f.with_(day=DAY), (f.day or DAY, n), reviewer)
        for n, f in enumerate(claims)
    ]
    return build_ledger(STANDARD, engine_claims)


def kinds(line) -> list[tuple]:
    return [(c.kind, c.before, c.after) for c in line.cuts]


# (rule, claims, what each claim counts, the cut kinds of the last claim)
RULES = [
    (
        "学时→学分 at the item's ratio, by level",
        [Facts("course", F(2), "天", level="省级")],
        ["4"],
        [],
    ),
    (
        "a factor on a result",
        [Facts("course", F(1), "天", level="县级", result="不合格")],
        ["1/5"],
        [],
    ),
    ("a cap per event", [Facts("course", F(4), "天", level="省级")], ["6"], ["event"]),
    (
        "a yearly cap on an item",
        [
            Facts("course", F(3), "天", level="省级"),
            Facts("course", F(2), "天", level="省级"),
        ],
        ["6", "2"],
        ["item-year"],
    ),
    (
        "a quota with a shortfall: 2 at 10 lessons, 0.1 less each one short",
        [Facts("observe", F(6))],
        ["8/5"],
        [],
    ),
    (
        "the quota reached, then the rate beyond it",
        [Facts("observe", F(6)), Facts("observe", F(6))],
        ["8/5", "9/10"],
        ["quota"],
    ),
    (
        "batches: two copies make one, a lone copy waits",
        [Facts("guide", F(1)), Facts("guide", F(2)), Facts("guide", F(1))],
        ["0", "1", "1"],
        [],
    ),
    (
        "a lower rate after the first unit",
        [Facts("lesson", F(1)), Facts("lesson", F(2))],
        ["2", "2"],
        ["later"],
    ),
    ("a count limit per item", [Facts("essay", F(2))], ["3"], ["limit"]),
    (
        "highest only for the same topic",
        [Facts("design", topic="甲"), Facts("design", published=True, topic="甲")],
        ["0", "4"],
        [],
    ),
    (
        "a count limit across a group keeps the highest, then the group's cap",
        [
            Facts("essay"),
            Facts("paper", grade="二等奖"),
            Facts("paper", grade="一等奖"),
        ],
        ["0", "4", "4"],
        ["group"],
    ),
    (
        "highest only for the same topic across a group's items",
        [Facts("essay", topic="乙"), Facts("paper", grade="二等奖", topic="乙")],
        ["0", "4"],
        [],
    ),
    (
        "a cap across a group",
        [Facts("design", published=True), Facts("paper", grade="一等奖")],
        ["4", "4"],
        ["group"],
    ),
    (
        "a threshold without a rate: at least 5000 字 earns 3",
        [Facts("notes", F(4000), "字"), Facts("notes", F(1000), "字")],
        ["0", "3"],
        [],
    ),
    (
        "a quota for each claim on its own: the first 2 学时 of each earn nothing",
        [Facts("training", F(1), "学时"), Facts("training", F(30), "学时")],
        ["0", "14/5"],
        [],
    ),
]


@pytest.mark.parametrize(
    ("rule", "claims", "counted", "cut"), RULES, ids=[r[0] for r in RULES]
)
def test_rule(rule, claims, counted, cut):
    result = ledger(*claims)
    assert [result.line(n).counted for n in range(len(claims))] == [
        F(c) for c in counted
    ]
    assert [c.kind for c in result.line(len(claims) - 1).cuts] == cut


def test_a_quota_explains_the_units_so_far():
    line = ledger(Facts("observe", F(6))).line(0)
    assert [(n.kind, n.cap, n.units, n.after) for n in line.notes] == [
        ("quota", F(10), F(6), F(8, 5))
    ]


def test_caps_by_category_year_and_overall():
    claims = [
        Facts("course", F(6), "天", level="省级", day=date(2025 + n, 10, 1))
        for n in range(4)
    ]
    claims += [Facts("observe", F(40), day=date(2026, 11, 1))]
    result = ledger(*claims)
    assert result.category_totals["a"] == F(18)
    assert result.total == F(18)
    assert [c.kind for c in result.line(4).cuts] == ["category"]


def test_the_overall_cap_cuts_the_item_listed_last():
    claims = [
        Facts("course", F(6), "天", level="省级", day=date(2025 + n, 10, 1))
        for n in range(4)
    ]
    claims += [
        Facts("lesson", F(11), day=date(2029, 1, 10)),
        Facts("notes", F(5000), "字", day=date(2027, 1, 10)),
    ]
    result = ledger(*claims)
    assert result.total == F(30)
    assert (result.item_totals["course"], result.item_totals["lesson"]) == (
        F(18),
        F(12),
    )
    assert kinds(result.line(5)) == [("overall", F(3), F(0))]


def test_reviewer_value_counts_once_set_and_within_its_range():
    assert ledger(Facts("bonus")).total == 0
    assert ledger(Facts("bonus")).line(0).score.awaiting_reviewer
    high = ledger(Facts("bonus"), reviewer=F(5)).line(0)
    assert (high.counted, kinds(high)) == (F(4), [("reviewer", F(5), F(4))])


def test_gap_counts_the_minimums_of_each_category():
    result = ledger(Facts("course", F(6), "天", level="省级"))
    assert result.total == F(6)
    [gap] = result.gaps()
    assert [(s.category.id, s.short) for s in gap.shortfalls] == [
        ("a", F(4)),
        ("b", F(5)),
    ]
    assert gap.gap == F(34)


def test_room_follows_limits_caps_and_thresholds():
    result = ledger(Facts("essay"), Facts("notes", F(1000), "字"), Facts("guide", F(2)))
    assert result.room(STANDARD.item("essay")) == 0  # its limit is used
    assert result.room(STANDARD.item("notes")) == F(3)  # the threshold's amount
    assert result.room(STANDARD.item("guide")) == F(2)
    assert result.room(STANDARD.item("lesson")) == F(12 - 3 - 1)  # category 乙


def test_score_claim_of_a_pooled_item_is_its_value_alone():
    assert score_claim(STANDARD, Facts("observe", F(12))).hours == F(5, 2)
    assert score_claim(STANDARD, Facts("lesson", F(3))).hours == F(4)
    assert score_claim(STANDARD, Facts("guide", F(3))).hours == F(1)


def test_reachable_counts_thresholds_and_stops_at_unbounded_items():
    assert reachable(load_standards()["capped-50"]) == F(49)
    assert reachable(load_standards()["semester-thresholds"]) is None
    assert reachable(STANDARD) is None


def test_year_labels_follow_the_school_year():
    period = STANDARD.period
    assert period.year_of(date(2026, 8, 31)) == "2025-2026"
    assert period.year_of(date(2026, 9, 1)) == "2026-2027"


def test_semesters_split_at_their_first_days():
    period = load_standards()["semester-thresholds"].period
    assert period.span_of(date(2027, 2, 28)).label == "2026-2027学年第一学期"
    spring = period.span_of(date(2027, 3, 1))
    assert (spring.label, spring.end) == ("2026-2027学年第二学期", date(2027, 8, 31))


# --- every record has its own words in the chat -------------------------------------

WORDING = [
    ("event", [Facts("course", F(4), "天", level="省级")], "「集中培训」每次最多计6学分"),
    ("item-year", [Facts("course", F(3), "天", level="省级")] * 2, "「集中培训」每年最多计8学分"),
    ("quota", [Facts("observe", F(6))] * 2, "「听课」本周期内累计满10节计2学分"),
    ("later", [Facts("lesson", F(1)), Facts("lesson", F(2))],
     "前1课时每课时计2学分，再多的每课时计1学分"),
    ("batch", [Facts("guide", F(1))], "「导学案」每2份计1学分，不足2份的先不计；目前累计1份"),
    ("limit", [Facts("essay", F(2))], "「叙事」本周期内限1篇，多出的不计"),
    ("group-limit", [Facts("paper", grade="一等奖")] * 3, "「研修成果」几项合计本周期内限2篇"),
    ("topic", [Facts("design", topic="甲")] * 2, "同一节课《甲》只按最高级别计"),
    ("group-topic", [Facts("essay", topic="乙"), Facts("paper", grade="二等奖", topic="乙")],
     "同一成果《乙》在「研修成果」中只计最高的一项"),
    ("group", [Facts("design", published=True), Facts("paper", grade="一等奖")],
     "「研修成果」几项合计最多计8学分"),
    ("category", [Facts("lesson", F(13))], "「乙」类最多计12学分"),
    ("reviewer", [Facts("bonus")], "学校赋分最多4学分"),
    ("credit", [Facts("course", F(2), "天", level="县级")], "16学时按8学时折1学分，计2学分"),
    ("factor", [Facts("course", F(1), "天", level="县级", result="不合格")],
     "「集中培训」按1/5计，8→1.6"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "claims", "says"), WORDING, ids=[w[0] for w in WORDING]
)
def test_each_record_has_its_words(kind, claims, says):
    from handlers.replies import Replies

    macros = Replies().env.get_template("_macros.j2").module
    result = ledger(*claims, reviewer=F(5) if kind == "reviewer" else None)
    records = [r for ln in result.lines.values() for r in ln.cuts + ln.notes]
    record = next(r for r in records if r.kind == kind)
    assert says in str(macros.cut(record, STANDARD))


def test_year_and_overall_caps_have_their_words():
    from handlers.replies import Replies

    macros = Replies().env.get_template("_macros.j2").module
    claims = [Facts("course", F(6), "天", level="省级", day=date(2026, 10, 1)),
              Facts("lesson", F(11), day=date(2026, 11, 1)),
              Facts("notes", F(5000), "字", day=date(2026, 12, 1))]  # fmt: skip
    cuts = [c for ln in ledger(*claims).lines.values() for c in ln.cuts]
    year = next(c for c in cuts if c.kind == "year")
    assert str(macros.cut(year, STANDARD)) == "每年最多认定20学分"
