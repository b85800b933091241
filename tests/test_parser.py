"""The parser's readings, as tables of message → the facts each claim states.

A row lists every claim with every fact it states (`ParsedClaim.said`), so a
fact read by mistake (组织 from 县里组织的) fails as surely as one missed.
The corpus (test_corpus.py) checks whole answers; these rows pin down each
kind of reading on its own, with messages that are not in the corpus.
"""

from __future__ import annotations

import re
from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import parser as parser_module
from scoring.parser import Parser, normalize, read_qualifiers
from scoring.standard import load_standards
from tests.test_corpus import LINES

TODAY = date(2026, 12, 3)  # a Thursday in the 2026-2027 school year
STANDARDS = load_standards()
PARSERS = {sid: Parser(standard) for sid, standard in STANDARDS.items()}
C, A = "capped-50", "annual-80"


def said(sid: str, text: str, today: date = TODAY) -> list[dict]:
    """Each claim as its item and the facts the message stated."""
    claims = PARSERS[sid].parse(text, today).claims
    return [
        {"item": c.facts.item, **{k: getattr(c.facts, k) for k in c.said}}
        for c in claims
    ]


def claim(item: str, quantity=None, unit: str | None = None, **facts) -> dict:
    row = {"item": item, **facts}
    if quantity is not None:
        row["quantity"] = Fraction(quantity)
    if unit is not None:
        row["unit"] = unit
    return row


def check(sid: str, text: str, expected: list[dict]) -> None:
    assert said(sid, text) == expected, text


@pytest.mark.parametrize(
    "sid, text, expected",
    [
        # a rate (每…) is not the count; a total (共…) is
        (C, "听课：每周2节，共10节", [claim("observation", 10, "节")]),
        (A, "校本培训每次1小时，共3次", [claim("school-training", 3, "次")]),
        # one session and its length: the length counts a timed item
        (A, "参加了一场讲座，两个小时", [claim("school-training", 2, "小时", role="参加")]),
        # products: the sessions times their length, in minutes too
        (A, "校本培训3次，每次40分钟", [claim("school-training", 2, "小时")]),
        (A, "外出培训两天，每天6小时", [claim("central-training", 12, "小时")]),
        # ... but an item that counts sessions keeps their number
        (C, "听课记录二十节，每节四十分钟", [claim("observation", 20, "节")]),
        # the certificate's hours win over days
        (A, "外出培训 3天 24学时", [claim("central-training", 24, "学时")]),
        # word counts, scores, ordinals, months and people are not counts
        (A, "教育叙事一篇 六七百字", [claim("narrative", 1, "篇")]),
        (A, "完成了第二单元的单元设计", [claim("unit-design")]),
        (C, "基本功考核 成绩92分", [claim("skills-test")]),
        (A, "国培证书，编号2026123", [claim("online-training")]),
        (A, "校本培训讲座，我是主讲人，2小时，参加的老师30人",
         [claim("school-training", 2, "小时", role="主讲")]),
        # a word count does count an item measured in words
        ("semester-thresholds", "读书笔记一篇 6000字",
         [claim("study-notes", 6000, "字")]),
        # ranges and approximations: the low end, never more than said
        (C, "听课五六节", [claim("observation", 5, "节")]),
        (C, "听课二十多节", [claim("observation", 20, "节")]),
        # halves
        (A, "集中培训两天半", [claim("central-training", Fraction(5, 2), "天")]),
        (A, "外出学习两个半天", [claim("central-training", 2, "半天")]),
        (A, "校本培训一小时半", [claim("school-training", Fraction(3, 2), "小时")]),
        # each (各)
        (C, "听课评课各两次",
         [claim("observation", 2, "次"), claim("critique", 2, "次")]),
    ],
)  # fmt: skip
def test_quantities(sid, text, expected):
    check(sid, text, expected)


@pytest.mark.parametrize(
    "text",
    [
        "跟岗一周",  # no measure converts weeks: a day's default would misrecord it
        "外出培训两个星期",
        "外出学习一个月",
    ],
)
def test_a_time_in_weeks_or_months_is_not_guessed(text):
    assert said(A, text) == []


@pytest.mark.parametrize(
    "sid, text, expected",
    [
        # two names side by side are one activity
        (C, "在博客参与网络教研两次", [claim("online", 2, "次", role="参加")]),
        (A, "参加国培网络研修 20学时", [claim("online-training", 20, "学时", role="参加")]),
        # ... and so is a name said again in the next clause, before any count
        (A, "一课二上，写了一篇课例", [claim("lesson-study", 1, "篇")]),
        (C, "区里组织的听评课活动，听了4节", [claim("observation", 4, "节", level="区级")]),
        # ... unless a conjunction or a count stands between them
        (C, "研修计划与研修总结", [claim("plan-summary"), claim("plan-summary")]),
        (C, "博客1次网站2次", [claim("online", 1, "次"), claim("online", 2, "次")]),
        # a name spelled on into a longer name of its item is that name
        (C, "学校特色研修成果交了", [claim("school-feature")]),
        # a level word and a name that make another item's name
        (A, "在片区组织了一次教研活动",
         [claim("area-research", 1, "次", level="片区", role="组织")]),
        (A, "在学校参加了一次教研活动",
         [claim("school-research", 1, "次", level="校级", role="参加")]),
    ],
)  # fmt: skip
def test_names(sid, text, expected):
    check(sid, text, expected)


@pytest.mark.parametrize(
    "sid, text, expected",
    [
        # the lesson watched or critiqued is the object, not the claim
        (C, "听了一节市级公开课", [claim("observation", 1, "节", level="市级")]),
        (C, "上周去区里观摩了三节示范课",
         [claim("observation", 3, "节", level="区级")]),
        (C, "点评了两节研讨课", [claim("critique", 2, "节")]),
        (C, "听了四节课，评了两节",
         [claim("observation", 4, "节"), claim("critique", 2, "节")]),
        # a standard with no item for watching records nothing
        (A, "听了一节片区公开课", []),
        # ... and one whose 公开课 item rates the listener says so
        ("neijiang-hours", "听了两节县级公开课",
         [claim("open-lesson", 2, "节", level="县级", role="参加")]),
        # a lesson given is still a lesson given
        (C, "观摩课上了一节，市级", [claim("open-lesson", 1, "节", level="市级")]),
        (C, "上了六节课", []),
        # the lesson's subject, or whose lesson it was
        (C, "听了三节数学课", [claim("observation", 3, "节")]),
        (C, "听了王老师的一节课", [claim("observation", 1, "节")]),
    ],
)  # fmt: skip
def test_verbs_and_their_lessons(sid, text, expected):
    check(sid, text, expected)


@pytest.mark.parametrize(
    "sid, text, expected",
    [
        # an organiser that is a place is a level, not the teacher's role
        (A, "市教研室组织的集中培训2天",
         [claim("central-training", 2, "天", level="市级")]),
        (A, "学校统一组织的校本培训3小时",
         [claim("school-training", 3, "小时", level="校级")]),
        (A, "片区教研活动是我组织的", [claim("area-research", role="组织")]),
        # listening is taking part
        (A, "听讲座一个半小时", [claim("school-training", Fraction(3, 2), "小时", role="参加")]),
        # 以上 names no one level; 优秀 alone is a result, 优秀奖 a grade
        (C, "市级以上公开课一节", [claim("open-lesson", 1, "节")]),
        (C, "基本功考核 良好", [claim("skills-test", result="良好")]),
        (C, "微课 县级 优秀奖", [claim("achievement", level="县级", grade="优秀奖")]),
        # places and offices as levels; a name inside an office names the office
        (C, "县教育局的课题 1项", [claim("research-project", 1, "项", level="县级")]),
        ("neijiang-hours", "参加了县教研室培训两天",
         [claim("institute-training", 2, "天", role="参加")]),
    ],
)  # fmt: skip
def test_levels_roles_and_results(sid, text, expected):
    check(sid, text, expected)


@pytest.mark.parametrize(
    "sid, text, expected",
    [
        # one name, several levels or roles: one claim each, none dropped
        (C, "课题：省级一项，县级一项",
         [claim("research-project", 1, "项", level="省级"),
          claim("research-project", 1, "项", level="县级")]),
        (A, "论文省级一等奖 县级二等奖",
         [claim("paper", level="省级", grade="一等奖"),
          claim("paper", level="县级", grade="二等奖")]),
        (A, "讲座 主讲 1.5小时，参加 2小时",
         [claim("school-training", Fraction(3, 2), "小时", role="主讲"),
          claim("school-training", 2, "小时", role="参加")]),
        (A, "组织了片区教研活动两次，参加了一次",
         [claim("area-research", 2, "次", role="组织"),
          claim("area-research", 1, "次", role="参加")]),
        (C, "公开课两节，一节县级一节校级",
         [claim("open-lesson", 1, "节", level="县级"),
          claim("open-lesson", 1, "节", level="校级")]),
        # months as dates, not counts: September's 3 hours, October's 4
        (A, "本学期校本培训：9月3小时，10月4小时",
         [claim("school-training", 3, "小时"), claim("school-training", 4, "小时")]),
        # a total broken down: the parts replace it
        (C, "上了四节公开课：市级一节，校级三节",
         [claim("open-lesson", 1, "节", level="市级"),
          claim("open-lesson", 3, "节", level="校级")]),
        # one fact more about the same lesson is not another lesson
        (C, "去市里观摩了两节县级优质课", [claim("observation", 2, "节", level="市级")]),
        # facts said before the first item belong to it
        (A, "主讲，校本培训两小时", [claim("school-training", 2, "小时", role="主讲")]),
    ],
)  # fmt: skip
def test_several_claims(sid, text, expected):
    check(sid, text, expected)


def on(month: int, day: int, year: int = 2026) -> date:
    return date(year, month, day)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("11/26 听课2节", [claim("observation", 2, "节", day=on(11, 26))]),
        ("10月18 听课2节", [claim("observation", 2, "节", day=on(10, 18))]),
        ("2026.11.3 评课1次", [claim("critique", 1, "次", day=on(11, 3))]),
        ("2026年10月9日 集体备课", [claim("group-prep", day=on(10, 9))]),
        ("周二听课2节", [claim("observation", 2, "节", day=on(12, 1))]),
        ("周五听课2节", [claim("observation", 2, "节", day=on(11, 27))]),  # last Friday
        ("上上周三评课1次", [claim("critique", 1, "次", day=on(11, 18))]),
        ("大前天集体备课", [claim("group-prep", day=on(11, 30))]),
        # a date after the claims dates those said without one
        ("听课3节，评课2次，11月12日",
         [claim("observation", 3, "节", day=on(11, 12)),
          claim("critique", 2, "次", day=on(11, 12))]),
        # each claim its own date
        ("10月8日听课2节，10月9日评课1次",
         [claim("observation", 2, "节", day=on(10, 8)),
          claim("critique", 1, "次", day=on(10, 9))]),
        # a month inside the period dates nothing; one outside refuses the claim
        ("11月听课5节", [claim("observation", 5, "节")]),
        ("上个月听课5节", [claim("observation", 5, "节")]),
        ("今年5月的证书 市级", [claim("achievement", level="市级", day=on(5, 31))]),
        ("去年的证书 省级", [claim("achievement", level="省级", day=date(2025, 12, 31))]),
        ("去年11月5日 公开课 县级",
         [claim("open-lesson", level="县级", day=date(2025, 11, 5))]),
    ],
)  # fmt: skip
def test_dates(text, expected):
    check(C, text, expected)


@pytest.mark.parametrize(
    "sid, text",
    [
        # not done yet
        (C, "下周听课3节"),
        (C, "后天要上公开课"),
        (A, "下个月去外出培训"),
        (C, "准备写两篇反思"),
        # not done at all
        (C, "这学期还没上公开课"),
        (C, "没有参加集体备课"),
        # questions about the rules
        (C, "请问听课要多少节"),
        (C, "评课稿怎么写"),
        (C, "听了几节课"),
        # everyday words near a name
        (C, "我基本上都参加了"),
        (C, "讨论问题两次"),
    ],
)
def test_no_claim_in_what_was_not_done(sid, text):
    assert said(sid, text) == [], text


def test_a_question_after_a_claim_keeps_the_claim():
    assert said(C, "公开课 县级 1次，需要交什么材料？") == [
        claim("open-lesson", 1, "次", level="县级")
    ]


@pytest.mark.parametrize(
    "sid, text, expected, corrected",
    [
        (C, "写了篇论问，没发表", [claim("narrative-paper", published=False)], "论文"),
        (C, "基本公考核 合格", [claim("skills-test", result="合格")], "基本功考核"),
        (A, "教育叙是 1篇", [claim("narrative", 1, "篇")], "教育叙事"),
        # a slip among other names is found too
        (C, "公开课县级1次 听客3节",
         [claim("open-lesson", 1, "次", level="县级"), claim("observation", 3, "节")],
         "听课"),
    ],
)  # fmt: skip
def test_slips(sid, text, expected, corrected):
    assert said(sid, text) == expected
    claims = PARSERS[sid].parse(text, TODAY).claims
    assert claims[-1].corrected == corrected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("县级 二等", {"level": "县级", "grade": "二等奖"}),
        ("省里", {"level": "省级"}),
        ("没发表 3篇", {"published": False, "quantity": 3, "unit": "篇"}),
        ("共计12小时", {"quantity": 12, "unit": "小时"}),
        ("90分钟", {"quantity": Fraction(3, 2), "unit": "小时"}),
        ("合格", {"result": "合格"}),
        ("30人", {}),
    ],
)
def test_read_qualifiers(text, expected):
    assert read_qualifiers(normalize(text)) == expected


def test_normalize_folds_widths_case_and_symbols():
    assert normalize("ＱＱ群\u3000１２节👍") == "qq群 12节 "


def test_every_item_reads_its_own_example():
    for sid, standard in STANDARDS.items():
        for item in standard.items:
            if item.example:
                claims = PARSERS[sid].parse(item.example, TODAY).claims
                assert [c.facts.item for c in claims] == [item.id], (sid, item.example)


def test_the_scan_starts_only_where_an_alternative_can():
    """The scan skips positions no alternative can start at: it must find the
    same things as the whole pattern would."""
    whole = re.compile(parser_module._SCAN_PATTERN)
    for line in LINES:
        text = normalize(line.text)
        expect = [(m.lastgroup, m.span()) for m in whole.finditer(text)]
        found = [(m.lastgroup, m.span()) for m in parser_module._SCAN_RE.finditer(text)]
        assert found == expect, line.text


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from("公开课听评县级省市一二两3节次小时天月日昨今明上周, ")
    ),
    st.sampled_from(sorted(STANDARDS)),
)
def test_any_text_gives_claims_of_the_standard_never_dated_ahead(text, sid):
    parse = PARSERS[sid].parse(text, TODAY)
    items = {item.id for item in STANDARDS[sid].items}
    for parsed in parse.claims:
        assert parsed.facts.item in items
        assert parsed.facts.day is None or parsed.facts.day <= TODAY
        assert parsed.facts.quantity >= 0
