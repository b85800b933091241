"""The review chain in chat: roster, binding, evidence, rights, decisions, audit."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from bot.roster import import_roster
from handlers.conversation import Conversation
from handlers.inbound import IMAGE, TEXT, Inbound
from handlers.prompts import queue_prompts
from handlers.replies import Replies
from scoring.standard import load_standards
from storage.store import Store

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
ROSTER = """姓名,学校,中心校,角色,工号,标准
张三,一小,关庙镇中心校,教师,1001,capped-50
李梅,一小,关庙镇中心校,教师,1005,
李四,一小,关庙镇中心校,教导主任,1002,
刘二,二小,关庙镇中心校,学校核查,2002,annual-80
赵六,二小,关庙镇中心校,教师,2003,
王五,中心校,关庙镇中心校,中心校审定,9001,
陈同,一小,关庙镇中心校,教师,1006,
陈同,一小,关庙镇中心校,教师,1007,
"""


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


@pytest.fixture
def town(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER, encoding="utf-8")
    store = Store(tmp_path / "t.db")
    standards = load_standards()
    report = import_roster(store, path, set(standards))
    assert (report.added, report.rejected) == (8, [])
    clock = Clock()
    conv = Conversation(store, standards, "capped-50", clock)
    yield conv, clock
    conv.close()


def say(conv, user, text, kind=TEXT, **extra):
    return conv.handle(Inbound("oa", user, kind, conv.clock(), text=text, **extra))


def pushes(conv, person_name=None):
    rows = conv.store.db.query(
        "SELECT o.text, p.name FROM outbox o JOIN people p ON p.id = o.person_id ORDER BY o.id"
    )
    return [r["text"] for r in rows if person_name in (None, r["name"])]


def bind_all(conv):
    assert "绑定成功" in say(conv, "t1", "绑定 张三 一小")
    assert "绑定成功" in say(conv, "r1", "绑定 李四 一小 1002")
    assert "绑定成功" in say(conv, "a1", "绑定 王五 中心校 9001")
    assert "绑定成功" in say(conv, "r2", "绑定 刘二 二小 2002")


def test_roster_import_twice_changes_nothing(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(ROSTER, encoding="utf-8")
    store = Store(tmp_path / "r.db")
    standards = set(load_standards())
    first = import_roster(store, path, standards)
    again = import_roster(store, path, standards)
    assert (first.added, again.added, again.updated, again.unchanged) == (8, 0, 0, 8)
    path.write_text(
        ROSTER.replace("张三,一小,关庙镇中心校,教师", "张三,一小,关庙镇中心校,学校核查")
    )
    assert import_roster(store, path, standards).updated == 1
    store.close()


@pytest.mark.parametrize(
    "line, code",
    [
        ("张三,一小,关庙镇中心校,校长,1001,", "role"),
        (",一小,关庙镇中心校,教师,1001,", "missing"),
        ("张三,一小,关庙镇中心校,教师,1001,annual-90", "standard"),
    ],
)
def test_roster_rejections_say_why_with_row_numbers(tmp_path, line, code):
    path = tmp_path / "r.csv"
    path.write_text(
        "姓名,学校,中心校,角色,工号,标准\n张九,一小,镇,教师,7,\n" + line + "\n"
    )
    store = Store(tmp_path / "r.db")
    report = import_roster(store, path, set(load_standards()))
    assert report.added == 1
    assert [(n, c) for n, c, _ in report.rejected] == [(3, code)]
    store.close()


def test_binding_answers(town):
    conv, _ = town
    assert "没有找到学校" in say(conv, "x", "绑定 张三 三小")
    assert "名单里没有" in say(conv, "x", "绑定 张四 一小")
    assert "2 位“陈同”" in say(conv, "x", "绑定 陈同 一小")
    assert "绑定成功" in say(conv, "x", "绑定 陈同 一小 1007")
    assert "绑定成功" in say(conv, "t1", "绑定 张三 一小")
    assert "已经绑定了另一个微信" in say(conv, "t9", "绑定 张三 一小")
    assert "你已绑定" in say(conv, "t1", "绑定 李梅 一小")
    invite = conv.store.school_named("一小").invite_code
    assert "绑定成功" in say(conv, "t2", f"绑定 李梅 {invite}")


def test_a_guest_keeps_claims_when_binding(town):
    conv, _ = town
    say(conv, "t1", "公开课 县级 1次")
    assert "绑定 姓名 学校" in say(conv, "t1", "听课 12节")
    say(conv, "t1", "绑定 张三 一小")
    summary = conv.summary("oa", "t1")
    assert [c.number for c in summary.claims] == [1, 2]
    assert summary.claimed.total == Fraction(22, 5)


def test_a_season_through_chat(town):
    conv, clock = town
    bind_all(conv)
    say(conv, "t1", "公开课 县级 1次")
    assert "已附到第 1 条" in say(conv, "t1", "", kind=IMAGE, media_id="m1")
    say(conv, "t1", "研修成果 市级")
    clock.now += timedelta(hours=1)
    assert "附到哪一条" in say(conv, "t1", "", kind=IMAGE, media_id="m2")
    assert "已附到第 2 条" in say(conv, "t1", "附件 2")

    standards, replies = conv.standards, Replies()
    assert queue_prompts(conv.store, standards, replies) == 1  # one push, two claims
    assert queue_prompts(conv.store, standards, replies) == 0
    prompt = pushes(conv, "李四")[0]
    assert "2 条新申报" in prompt and "张三" in prompt and "📎1" in prompt

    assert "只有学校核查" in say(conv, "t1", "通过 1")
    assert "不属于你负责的学校" in say(conv, "r2", "通过 1")
    assert "不在待你处理的状态" in say(conv, "a1", "通过 1")
    assert "已通过 2 条" in say(conv, "r1", "通过 1 2")
    assert queue_prompts(conv.store, standards, replies) == 1  # the approver's turn
    assert "已通过 2 条（已认定）" in say(conv, "a1", "通过 全部")

    notices = pushes(conv, "张三")
    assert len(notices) == 4 and "已认定" in notices[-1]
    assert "已认定 5" in say(conv, "t1", "查询")
    assert "已锁定" in say(conv, "t1", "删除 1")

    actions = [(d["action"], d["actor"]) for d in conv.store.decisions()]
    assert actions == [("approve", "李四")] * 2 + [("approve", "王五")] * 2


def test_return_correct_and_resubmit(town):
    conv, _ = town
    bind_all(conv)
    say(conv, "t1", "公开课 县级 1次")
    assert "退回需要写明理由" in say(conv, "r1", "退回 1")
    returned = say(conv, "r1", "退回 1 材料不全")
    # The reviewer sees what the claim counted, not the 0 of a returned claim.
    assert "已退回（材料不全）" in returned and "→ 2学时" in returned
    assert "材料不全" in pushes(conv, "张三")[-1]
    assert "已修改" in say(conv, "t1", "修改 1 公开课 校级 1次")
    assert "待核查" in say(conv, "t1", "明细")
    assert [d["action"] for d in conv.store.decisions(1)] == ["return", "change"]


def test_reviewer_sets_the_school_feature_value(town):
    conv, _ = town
    bind_all(conv)
    assert "赋分" in say(conv, "t1", "学校特色研修成果")
    assert "需要先赋分" in say(conv, "r1", "通过 1")
    assert "只能定为 3-6" in say(conv, "r1", "改 1 8学时")
    assert "已改为 5学时" in say(conv, "r1", "改 1 5学时 特色突出")
    assert "已通过 1 条" in say(conv, "r1", "通过 1")
    assert conv.summary("oa", "t1").claimed.total == 5


def test_the_audit_log_cannot_be_rewritten(town):
    conv, _ = town
    bind_all(conv)
    say(conv, "t1", "公开课 县级 1次")
    say(conv, "r1", "通过 1")
    with pytest.raises(sqlite3.IntegrityError):
        conv.store.db.execute("DELETE FROM decisions")
    with pytest.raises(sqlite3.IntegrityError):
        conv.store.db.execute("UPDATE decisions SET reason = 'x'")
    assert len(conv.store.decisions()) == 1


def test_a_reviewer_lowers_a_claim_within_its_rule(town):
    conv, _ = town
    bind_all(conv)
    say(conv, "t1", "听课 12节")
    assert "改分需要写明理由" in say(conv, "r1", "改 1 2学时")
    assert "只能定为 0-2.4" in say(conv, "r1", "改 1 3学时 太多")
    assert "已改为 2学时" in say(conv, "r1", "改 1 2学时 两节没有记录")
    assert "两节没有记录" in pushes(conv, "张三")[-1]
    assert conv.summary("oa", "t1").claimed.total == 2
    assert "审核老师核定为2学时" in say(conv, "t1", "明细")


def test_an_xlsx_roster_imports_like_the_csv(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for line in ROSTER.strip().splitlines():
        cells = line.split(",")
        sheet.append([int(c) if c.isdigit() else c for c in cells])  # 工号 as numbers
    path = tmp_path / "roster.xlsx"
    book.save(path)
    store = Store(tmp_path / "x.db")
    report = import_roster(store, path, set(load_standards()))
    assert (report.added, report.rejected) == (8, [])
    assert (
        store.people_named("张三", [store.school_named("一小").id])[0]["staff_no"]
        == "1001"
    )
    store.close()


def test_the_audit_log_reads_who_decided_what(town):
    conv, _ = town
    bind_all(conv)
    say(conv, "t1", "公开课 县级 1次")
    say(conv, "r1", "退回 1 缺少证书")
    text = Replies().render("audit", decisions=conv.store.decisions())
    assert "#1  李四 退回：待核查 → 已退回，0学时，理由：缺少证书" in text
    assert "2026-12-03 10:00" in text  # China time


# --- found by trying to break it -------------------------------------------------


def test_nobody_approves_their_own_claim(town):
    conv, _ = town
    bind_all(conv)
    say(conv, "r1", "公开课 县级 1次")  # a reviewer is a teacher too
    assert "是你自己的申报" in say(conv, "r1", "通过 1")
    assert conv.store.decisions() == []


def test_one_message_approves_a_claim_once(town):
    conv, _ = town
    bind_all(conv)
    say(conv, "t1", "公开课 县级 1次")
    assert "已通过 1 条" in say(conv, "r1", "通过 1 1,1，1、1")
    assert len(conv.store.decisions()) == 1
    assert len(pushes(conv, "张三")) == 1


@pytest.mark.parametrize(
    "text",
    [
        "通过 99999999999999999999",
        "退回 99999999999999999999 x",
        "改 99999999999999999999 1学时 x",
    ],
)
def test_huge_claim_numbers_are_no_fault(town, text):
    conv, _ = town
    bind_all(conv)
    assert "抱歉" not in say(conv, "r1", text)


def test_notices_and_queues_show_hours_as_counted_now(town):
    conv, _ = town
    bind_all(conv)
    say(conv, "t1", "学校特色研修成果")
    say(conv, "r1", "改 1 6学时 特色")
    assert "→ 6学时" in say(conv, "r1", "待办")
    say(conv, "r1", "通过 1")
    say(conv, "a1", "通过 1")
    assert "已认定，计 6学时" in pushes(conv, "张三")[-1]
    assert conv.store.decisions()[-1]["hours_after"] == "6"


def test_one_school_bonus_a_year(town):
    conv, _ = town
    bind_all(conv)
    for number in (1, 2):
        say(conv, "t1", "学校特色研修成果")
        say(conv, "r1", f"改 {number} 6学时 特色")
    assert conv.summary("oa", "t1").claimed.total == 6


def test_a_change_drops_the_reviewers_value(town):
    conv, _ = town
    bind_all(conv)
    say(conv, "t1", "公开课 省级 1次")
    say(conv, "r1", "改 1 3学时 只有县级证书")
    say(conv, "t1", "修改 1 学校特色研修成果")
    assert "需要先赋分" in say(conv, "r1", "通过 1")


@pytest.mark.parametrize("date", ["2025年10月1日", "2024年10月1日"])
def test_a_change_cannot_move_a_claim_out_of_its_period(town, date):
    conv, _ = town
    say(conv, "t1", "公开课 省级 1次")
    say(conv, "t1", "公开课 省级 1次")
    assert "不在本期" in say(conv, "t1", f"修改 2 {date} 公开课 省级 1次")
    assert conv.summary("oa", "t1").claimed.total == 4


def test_reviewers_bind_with_their_staff_number(town):
    conv, _ = town
    assert "加上工号" in say(conv, "x", "绑定 李四 一小")
    assert "名单里没有" in say(conv, "x", "绑定 李四 一小 9999")
    assert "绑定成功" in say(conv, "x", "绑定 李四 一小 1002")


def test_a_school_has_one_standard_in_a_roster(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(
        "姓名,学校,中心校,角色,工号,标准\n"
        "甲,一小,镇,教师,1,capped-50\n乙,一小,镇,教师,2,annual-80\n",
        encoding="utf-8",
    )
    store = Store(tmp_path / "r.db")
    report = import_roster(store, path, set(load_standards()))
    assert [(n, c) for n, c, _ in report.rejected] == [(3, "conflict")]
    assert import_roster(store, path, set(load_standards())).updated == 0
    store.close()


def test_returned_claims_stay_in_the_details_with_their_reason(town):
    conv, _ = town
    bind_all(conv)
    say(conv, "t1", "公开课 县级 1次")
    say(conv, "r1", "退回 1 缺少证书")
    details = say(conv, "t1", "明细")
    assert "被退回" in details and "#1 公开课" in details and "缺少证书" in details
