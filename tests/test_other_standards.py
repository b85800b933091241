"""Worked examples of the standards of other regions, taken from their published texts.

Each file under scoring/standards/ names its source; each row here is one
teacher's claims, the total after every rule, and the gap to the first target.
"""

from __future__ import annotations

from datetime import date, datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from scoring.engine import EngineClaim, build_ledger
from scoring.facts import Facts
from scoring.standard import load_standards
from tests.test_worked_examples import chat

STANDARDS = load_standards()
F = Fraction


def ledger_of(standard_id: str, claims: list[Facts], day: date):
    engine_claims = []
    for number, facts in enumerate(claims):
        facts = facts if facts.day else facts.with_(day=day)
        engine_claims.append(EngineClaim(number, facts, (facts.day, number)))
    return build_ledger(STANDARDS[standard_id], engine_claims)


def years(first: int, count: int) -> list[date]:
    return [date(first + n, 10, 8) for n in range(count)]


# --- 江汉区继续教育学分登记: 学分, ratios by kind, a five-year cycle with pools ----------

JIANGHAN = [
    (
        "集中培训3天，一天按8学时，8学时折1学分",
        [Facts("central-training", F(3), "天")],
        "3",
        "37",
    ),
    ("单项集中培训不超过15学分", [Facts("central-training", F(16), "天")], "15", "25"),
    (
        "考核不合格，不计学分",
        [Facts("central-training", F(3), "天", result="不合格")],
        "0",
        "40",
    ),
    (
        "非集中培训10学时折1学分",
        [Facts("distributed-training", F(25), "学时")],
        "2.5",
        "37.5",
    ),
    (
        "网络培训按集中培训10学时记1学分",
        [Facts("online-training", F(50), "学时")],
        "5",
        "35",
    ),
    (
        "公共课合格1门2学分，计算机模块每个0.5学分",
        [Facts("public-course"), Facts("computer-module", F(3))],
        "3.5",
        "36.5",
    ),
    (
        "学历教育20学时折1学分，每年最高5学分",
        [Facts("degree-course", F(120), "学时")],
        "5",
        "35",
    ),
    (
        "学历教育周期内总计不超过20学分",
        [Facts("degree-course", F(120), "学时", day=d) for d in years(2024, 5)],
        "20",
        "20",
    ),
    (
        "集中160学时、非集中200学时：周期完成",
        [
            Facts("central-training", F(10), "天"),
            Facts("central-training", F(10), "天"),
            Facts("distributed-training", F(200), "学时"),
        ],
        "40",
        "0",
    ),
    (
        "总数够了，非集中还差：差额按最少的那一类算",
        [
            Facts("central-training", F(13), "天"),
            Facts("central-training", F(12), "天"),
            Facts("distributed-training", F(150), "学时"),
        ],
        "40",
        "5",
    ),
]


@pytest.mark.parametrize(
    ("rule", "claims", "total", "gap"), JIANGHAN, ids=[r[0] for r in JIANGHAN]
)
def test_jianghan_credits(rule, claims, total, gap):
    ledger = ledger_of("jianghan-credits", claims, date(2026, 10, 8))
    assert ledger.total == F(total)
    assert ledger.gap() == F(gap)


def test_jianghan_new_teacher_target_needs_its_concentrated_minimum():
    claims = [
        Facts("distributed-training", F(90), "学时"),
        Facts("central-training", F(4), "天"),
    ]
    gaps = {
        g.target.id: g
        for g in ledger_of("jianghan-credits", claims, date(2026, 10, 8)).gaps()
    }
    new = gaps["new-teacher"]
    assert new.total == F(13)  # 9 学分 of 非集中, 4 of 集中
    assert [(s.category.id, s.short) for s in new.shortfalls] == [
        ("concentrated", F(1))
    ]
    assert new.gap == F(1)


def test_jianghan_every_number_is_explained():
    ledger = ledger_of(
        "jianghan-credits", [Facts("central-training", F(16), "天")], date(2026, 10, 8)
    )
    line = ledger.line(0)
    assert [(n.kind, n.before, n.after) for n in line.notes] == [
        ("credit", F(128), F(16))
    ]
    assert [(c.kind, c.before, c.after) for c in line.cuts] == [("event", F(16), F(15))]


# --- 内江市学时量折算表: factors by level, result and role, per thousand characters ------

NEIJIANG = [
    (
        "培训考核合格按实际学时，每天6学时",
        [Facts("institute-training", F(3), "天")],
        "18",
    ),
    (
        "培训不合格按20%计",
        [Facts("institute-training", F(3), "天", result="不合格")],
        "3.6",
    ),
    ("专题讲座每天计6学时", [Facts("lecture", F(2), "天")], "12"),
    (
        "技能检测三级(B)30、四级(C)25",
        [Facts("skills", result="B级"), Facts("skills", result="C级")],
        "55",
    ),
    (
        "学历及格一科15，不及格5",
        [Facts("degree", F(2), result="合格"), Facts("degree", F(1), result="不合格")],
        "35",
    ),
    (
        "公开课主讲：省级学时×9",
        [Facts("open-lesson", F(2), "课时", level="省级", role="主讲")],
        "18",
    ),
    (
        "公开课主讲：县级学时×5，片区×3，校级×2",
        [
            Facts("open-lesson", F(1), "课时", level=level, role="主讲")
            for level in ("县级", "片区", "校级")
        ],
        "10",
    ),
    ("听课者按听课时间折半", [Facts("open-lesson", F(4), "课时", role="参加")], "2"),
    ("课题主研省级30学时", [Facts("research", level="省级", role="主持")], "30"),
    (
        "协研员按主研员的三分之一",
        [Facts("research", level="县级", role="参加")],
        "10/3",
    ),
    ("校本研修每学期15学时", [Facts("school-based", F(2))], "30"),
    (
        "已发表论文国家级20、县级7",
        [Facts("paper", level="国家级"), Facts("paper", level="县级")],
        "27",
    ),
    (
        "专著每千字10学时，教材每千字5学时",
        [Facts("monograph", F(12), "千字"), Facts("textbook", F(5000), "字")],
        "145",
    ),
]


@pytest.mark.parametrize(
    ("rule", "claims", "total"), NEIJIANG, ids=[r[0] for r in NEIJIANG]
)
def test_neijiang_hours(rule, claims, total):
    ledger = ledger_of("neijiang-hours", claims, date(2026, 10, 8))
    assert ledger.total == F(total)
    assert ledger.gap() == max(F(0), 72 - F(total))


def test_neijiang_a_third_stays_exact_and_is_explained():
    ledger = ledger_of(
        "neijiang-hours", [Facts("research", level="县级")], date(2026, 10, 8)
    )
    line = ledger.line(0)
    assert line.counted == F(10, 3)  # no claim is read as the 主研's unless it says so
    assert [(n.kind, n.cap) for n in line.notes] == [("factor", F(1, 3))]


# --- 校本研修每学期学时认定办法: thresholds, a lower rate after the first, semesters -----

AUTUMN, SPRING = date(2026, 10, 8), date(2027, 3, 15)

SEMESTER = [
    ("学习笔记5000字以上为20学时", [Facts("study-notes", F(5200), "字")], "20"),
    ("学习笔记不足5000字不计", [Facts("study-notes", F(4800), "字")], "0"),
    (
        "听课在20次以上为20学时，累计计算",
        [Facts("observation", F(12), "次"), Facts("observation", F(8), "次")],
        "20",
    ),
    ("听课不足20次不计", [Facts("observation", F(19), "次")], "0"),
    ("教学反思10次以上为20学时", [Facts("reflection", F(10), "次")], "20"),
    (
        "公开课每课时4学时，多出的每课时2学时",
        [Facts("open-lesson", F(1), "课时"), Facts("open-lesson", F(2), "课时")],
        "8",
    ),
    (
        "课程开发主持10、参与6",
        [
            Facts("course-development", role="主持"),
            Facts("course-development", role="参加"),
        ],
        "16",
    ),
    (
        "专题交流校内2、校际5、县级以上8",
        [Facts("talk", level=level) for level in ("校级", "片区", "县级")],
        "15",
    ),
    (
        "交流课每课时6，县级以上示范课8",
        [Facts("exchange-lesson", F(2), "课时"), Facts("model-lesson")],
        "20",
    ),
    (
        "首席点评每次2、教研活动每次2、案头材料每项4",
        [
            Facts("lead-critique", F(2)),
            Facts("research-activity", F(3)),
            Facts("desk-materials"),
        ],
        "14",
    ),
]


@pytest.mark.parametrize(
    ("rule", "claims", "total"), SEMESTER, ids=[r[0] for r in SEMESTER]
)
def test_semester_thresholds(rule, claims, total):
    ledger = ledger_of("semester-thresholds", claims, AUTUMN)
    assert ledger.total == F(total)
    assert ledger.gap() == max(F(0), 36 - F(total))


def test_semester_counts_each_semester_on_its_own():
    claims = [
        Facts("observation", F(12), "次", day=AUTUMN),
        Facts("observation", F(12), "次", day=SPRING),
        Facts("open-lesson", F(1), "课时", day=AUTUMN),
        Facts("open-lesson", F(1), "课时", day=SPRING),
    ]
    ledger = ledger_of("semester-thresholds", claims, AUTUMN)
    assert ledger.total == F(
        8
    )  # neither term reaches 20 lessons; each first lesson is 4
    assert set(ledger.period_totals) == {
        "2026-2027学年第一学期",
        "2026-2027学年第二学期",
    }


def test_semester_threshold_explains_what_is_missing():
    ledger = ledger_of(
        "semester-thresholds", [Facts("observation", F(12), "次")], AUTUMN
    )
    note = ledger.line(0).notes[0]
    assert (note.kind, note.cap, note.units, note.after) == (
        "quota",
        F(20),
        F(12),
        F(0),
    )


# --- a new region runs by adding its file alone: the chat ------------------------------

CHATS = [
    ("neijiang-hours", ["进修学校培训 3天", "课题研究 省级 主持 1项"], "48", "24"),
    ("semester-thresholds", ["听课 12次", "听课 8次", "校内公开课 3课时"], "28", "8"),
    ("jianghan-credits", ["集中培训 3天", "校本研修 25学时"], "5.5", "34.5"),
]


@pytest.mark.parametrize(
    ("standard_id", "texts", "total", "gap"), CHATS, ids=[c[0] for c in CHATS]
)
def test_through_the_chat(tmp_path, standard_id, texts, total, gap):
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    period = STANDARDS[standard_id].period
    if period.kind == "dates" and today not in period.span_of(today):
        pytest.skip(f"{standard_id}: today is outside the cycle in its file")
    last = chat(tmp_path / "xueshi.db", standard_id, texts)[-1]
    assert Fraction(str(last["claimed"])) == F(total), last["reply"]
    assert Fraction(str(last["gap"])) == F(gap), last["reply"]
