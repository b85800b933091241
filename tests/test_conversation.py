"""The conversation without HTTP: intents, replies, duplicates, China time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from handlers.conversation import Conversation, command_of
from handlers.inbound import EVENT, IMAGE, OTHER, TEXT, VOICE, Inbound
from scoring.standard import load_standards
from storage.store import Store

NOW = datetime(2026, 12, 3, 4, 0, tzinfo=UTC)  # 12:00 in China


def _conversation(tmp_path, standard: str):
    conv = Conversation(
        Store(tmp_path / "t.db"), load_standards(), standard, lambda: NOW
    )
    yield conv
    conv.close()


@pytest.fixture
def conversation(tmp_path):
    yield from _conversation(tmp_path, "capped-50")


def say(conv, text, user="u1", key=None, kind=TEXT, **extra):
    return conv.handle(Inbound("oa", user, kind, NOW, text=text, key=key, **extra))


def test_claim_reply_shows_record_hours_total_and_gap(conversation):
    reply = say(conversation, "公开课 县级 1次")
    assert "公开课 · 县级 · 1次 → 2学时" in reply
    assert "已申报 2学时" in reply and "还差 48学时" in reply
    assert "还有空间" in reply


def test_cap_is_named_when_it_cuts(conversation):
    reply = say(conversation, "听课 30节")
    assert "→ 4学时" in reply
    assert "本应 6学时" in reply and "「听课」最多计4学时" in reply


def test_several_claims_in_one_message(conversation):
    reply = say(conversation, "评课 ×3; 读书笔记 ×3")
    assert "#1 评课" in reply and "#2 读书笔记" in reply
    assert conversation.summary("oa", "u1").claimed.total == Fraction(7, 2)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("帮助", "怎么记学时"),
        ("help", "怎么记学时"),
        ("？", "怎么记学时"),
        ("查询", "📊"),
        ("进度", "📊"),
        ("查一下进度", "📊"),
        ("我的学时", "📊"),
    ],
)
def test_commands(conversation, text, expected):
    assert expected in say(conversation, text)


def test_help_draws_examples_and_items_from_the_standard(conversation):
    reply = say(conversation, "帮助")
    standard = load_standards()["capped-50"]
    for item in standard.items:
        assert item.name in reply
    assert "【课堂教学 最多15】" in reply


@pytest.mark.parametrize("text", ["你好", "今天天气不错", "哈哈", "🙂"])
def test_not_a_claim_gets_a_friendly_pointer_and_records_nothing(conversation, text):
    reply = say(conversation, text)
    assert "帮助" in reply or "怎么记学时" in reply
    assert conversation.summary("oa", "u1").claims == ()


def test_unreadable_message_says_what_was_understood(conversation):
    reply = say(conversation, "县级 2节")
    assert "县级" in reply and "2节" in reply and "例如" in reply
    assert conversation.summary("oa", "u1").claims == ()


def test_level_the_standard_does_not_rate_is_asked_not_recorded(tmp_path):
    conv = Conversation(
        Store(tmp_path / "a.db"), load_standards(), "annual-80", lambda: NOW
    )
    reply = say(conv, "公开课 县级 1次")
    assert "不按“县级”计" in reply and "1 校级" in reply and "2 片区" in reply
    assert conv.summary("oa", "u1").claims == ()
    assert "→ 6学时" in say(conv, "2")
    conv.close()


def test_missing_level_is_asked(conversation):
    reply = say(conversation, "研修成果")
    assert "哪一级" in reply and "2 省级" in reply
    assert conversation.summary("oa", "u1").claims == ()


def test_duplicate_delivery_makes_one_claim_and_same_answer(conversation):
    first = say(conversation, "公开课 县级 1次", key="u1:100")
    again = [say(conversation, "公开课 县级 1次", key="u1:100") for _ in range(2)]
    assert again == [first, first]
    assert len(conversation.summary("oa", "u1").claims) == 1


def test_same_msgid_from_two_users_is_two_messages(conversation):
    say(conversation, "公开课 县级 1次", user="a", key="a:7")
    say(conversation, "公开课 县级 1次", user="b", key="b:7")
    assert len(conversation.summary("oa", "a").claims) == 1
    assert len(conversation.summary("oa", "b").claims) == 1


@pytest.mark.parametrize(
    "kind, extra, expected",
    [
        (EVENT, {"event": "subscribe"}, "欢迎"),
        (VOICE, {"text": ""}, "文字"),
        (VOICE, {"text": "公开课县级1次。"}, "→ 2学时"),
        (IMAGE, {"media_id": "m1"}, "附件 编号"),
        (OTHER, {}, "帮助"),
    ],
)
def test_other_kinds_get_a_sensible_answer(conversation, kind, extra, expected):
    inbound = Inbound("oa", "u1", kind, NOW, **extra)
    assert expected in conversation.handle(inbound)


def test_silent_events_are_acknowledged(conversation):
    assert (
        conversation.handle(Inbound("oa", "u1", EVENT, NOW, event="unsubscribe"))
        is None
    )


def test_a_fault_gets_an_apology_and_changes_nothing(conversation, monkeypatch):
    from handlers import claim

    def broken(ctx):
        ctx.store.add_claim(
            ctx.person.id, "2026-09-01", _facts(), "x", "capped-50", "1", 1
        )
        raise RuntimeError("boom")

    monkeypatch.setitem(claim.__dict__, "handle", broken)
    monkeypatch.setattr("handlers.conversation.claim", claim)
    reply = say(conversation, "公开课 县级 1次", key="u1:1")
    assert "抱歉" in reply and "boom" not in reply
    assert conversation.summary("oa", "u1").claims == ()
    assert conversation.store.answered("u1:1") == (False, None)


def _facts():
    from scoring.facts import Facts

    return Facts("open-lesson", level="县级")


def test_school_year_turns_at_china_midnight(tmp_path):
    # 2026-08-31 16:30 UTC is 2026-09-01 00:30 in China: a new school year.
    late = datetime(2026, 8, 31, 16, 30, tzinfo=UTC)
    conv = Conversation(
        Store(tmp_path / "c.db"), load_standards(), "capped-50", lambda: late
    )
    reply = conv.handle(Inbound("oa", "u1", TEXT, late, text="公开课 县级 1次"))
    assert "2026-2027学年" in reply
    conv.close()


def test_claim_outside_the_period_is_refused(conversation):
    reply = say(conversation, "3月5日 公开课 县级 1次")  # 2026-03-05: last school year
    assert "不在本期" in reply
    assert conversation.summary("oa", "u1").claims == ()


@pytest.mark.parametrize("text", ["公开课 县级 1次", "听课12节", "查询公开课"])
def test_claims_are_not_commands(text):
    assert command_of(text) is None


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def ticking(tmp_path):
    clock = Clock(NOW)
    conv = Conversation(Store(tmp_path / "q.db"), load_standards(), "annual-80", clock)
    yield conv, clock
    conv.close()


@pytest.mark.parametrize("answer", ["2", "２", "二", "第2个", "省级", "省里"])
def test_a_question_is_answered_by_number_or_word(tmp_path, answer):
    conv = Conversation(
        Store(tmp_path / "n.db"), load_standards(), "capped-50", lambda: NOW
    )
    say(conv, "研修成果")
    reply = say(conv, answer)
    assert "#1 研修成果 · 省级 · 1项 → 4学时" in reply
    conv.close()


def test_questions_chain_until_the_claim_can_be_scored(ticking):
    conv, _ = ticking
    assert "哪一级" in say(conv, "论文获奖了")
    second = say(conv, "省级")
    assert "几等奖" in second and "已发表" in second
    assert "→ 12学时" in say(conv, "一等奖")
    assert conv.summary("oa", "u1").claimed.total == 12


def test_an_expired_question_is_not_answered(ticking):
    conv, clock = ticking
    say(conv, "论文获奖了")
    clock.now = NOW + timedelta(minutes=31)
    assert "没看出是哪一项" in say(conv, "2")
    assert conv.summary("oa", "u1").claims == ()


def test_a_new_claim_while_a_question_waits_is_a_claim(ticking):
    conv, _ = ticking
    say(conv, "论文获奖了")
    assert "集中培训 · 2天 → 16学时" in say(conv, "外出培训 2天")
    assert "没看出是哪一项" in say(conv, "1")  # the question is gone


def test_details_undo_delete_and_change(conversation):
    say(conversation, "公开课 县级 1次")
    say(conversation, "听课 12节")
    say(conversation, "评课 2次")
    details = say(conversation, "明细")
    assert (
        "#1 公开课" in details
        and "#3 评课" in details
        and "［绑定后交核查］" in details
    )

    assert "已删除第 3 条" in say(conversation, "撤销")
    assert "已删除第 1 条" in say(conversation, "删除 1")
    changed = say(conversation, "修改 2 20节")
    assert "#2 听课 · 20节 → 4学时" in changed
    assert conversation.summary("oa", "u1").claimed.total == 4
    assert "没有找到第 9 条" in say(conversation, "删除 9")


def test_change_to_another_item(conversation):
    say(conversation, "公开课 县级 1次")
    assert "#1 研修成果 · 市级 · 1项 → 3学时" in say(
        conversation, "修改1 研修成果 市级"
    )


def test_reviewed_claims_are_locked(conversation):
    say(conversation, "公开课 县级 1次")
    claim = conversation.store.claim_by_number(1, 1)
    conversation.store.set_status(claim.id, "approved")
    assert "已锁定" in say(conversation, "删除 1")
    assert "已锁定" in say(conversation, "修改 1 省级")
    assert "已锁定" in say(conversation, "撤销")
    assert conversation.summary("oa", "u1").approved.total == 2


def test_a_slip_is_read_and_said(conversation):
    reply = say(conversation, "公开客 县级 1次")
    assert "→ 2学时" in reply and "按“公开课”理解" in reply


def test_a_timed_claim_without_a_length_is_asked(ticking):
    conv, _ = ticking
    assert "一共多长时间" in say(conv, "外出培训")
    assert conv.summary("oa", "u1").claims == ()
    assert "集中培训 · 半天 → 4学时" in say(conv, "半天")


# --- found by trying to break it -------------------------------------------------


@pytest.mark.parametrize("text", ["听课 0节", "公开课 县级 0次", "听课 5000节"])
def test_zero_or_absurd_quantities_are_not_recorded(conversation, text):
    assert "不对，没有记录" in say(conversation, text)
    assert conversation.summary("oa", "u1").claims == ()


def test_a_flood_of_claims_in_one_message_is_refused(conversation):
    assert "一次最多记" in say(conversation, "听课1节，" * 50)
    assert conversation.summary("oa", "u1").claims == ()


def test_a_later_day_without_a_year_is_last_years_and_says_so(conversation):
    assert "2025年12月20日 不在本期" in say(conversation, "12月20日 公开课 县级 1次")


def test_an_answer_out_of_range_asks_again(conversation):
    say(conversation, "研修成果")
    assert "1 到 5" in say(conversation, "9")
    assert "→ 4学时" in say(conversation, "2")


@pytest.mark.parametrize(
    "text, said", [("这学期听了十几节课", "十几节"), ("听课 -5节", "-5节")]
)
def test_an_amount_that_cannot_be_read_is_asked_for(conversation, text, said):
    reply = say(conversation, text)
    assert f"“{said}”是多少" in reply
    assert conversation.summary("oa", "u1").claims == ()


def test_a_clear_claim_is_kept_beside_an_unclear_one(conversation):
    reply = say(conversation, "评课 2次，听了十几节课")
    assert "评课 · 2次 → 1学时" in reply and "是多少" in reply


def test_an_assumed_role_is_shown(ticking):
    conv, _ = ticking
    assert "校本培训 · 参加 · 3小时 → 3学时" in say(conv, "两场讲座，每场一个半小时")
    assert "校本培训 · 主讲 · 2小时 → 8学时" in say(conv, "主讲校本培训 2小时")


def test_an_earlier_dated_claim_that_cuts_a_recorded_one_says_so(conversation):
    say(conversation, "公开课 市级 1次", key="k1")
    reply = say(conversation, "10月18日 公开课 县级 1次", key="k2")

    # The cap goes to the earlier activity first: #1 loses what #2 takes.
    assert "#2 公开课 · 县级 · 1次 → 2学时" in reply
    assert "#1 公开课 · 市级 · 1次：3 → 2学时" in reply
    assert "「公开课」最多计4学时" in reply
    person = conversation.store.find_person("oa", "u1")
    first = conversation.store.claim_by_number(person.id, 1)
    assert first.hours_counted == 2  # what it counts now, as the answer said
    assert conversation.summary("oa", "u1").claimed.total == 4


def test_a_claim_that_changes_no_earlier_one_mentions_none(conversation):
    say(conversation, "公开课 县级 1次", key="k1")
    assert "随之调整" not in say(conversation, "听课 2节", key="k2")


@pytest.fixture
def neijiang(tmp_path):
    yield from _conversation(tmp_path, "neijiang-hours")


def test_a_new_claim_is_not_taken_as_the_length_a_question_waits_for(neijiang):
    assert "一共多长时间" in say(neijiang, "两场讲座", key="k1")
    reply = say(neijiang, "进修学校培训 3天", key="k2")

    assert "#1 进修学校培训" in reply and "专题讲座" not in reply
    assert neijiang.summary("oa", "u1").claimed.total == 18


def test_a_length_in_a_unit_the_item_does_not_count_is_asked_again(neijiang):
    question = say(neijiang, "两场讲座", key="k1")
    assert "“2天”“半天”" in question and "小时" not in question

    again = say(neijiang, "3小时", key="k2")
    assert "按天、半天计" in again and "已记录" not in again
    assert "#1 专题讲座 · 1天 → 6学时" in say(neijiang, "1天", key="k3")


def test_hours_left_behind_by_a_deletion_are_not_shown_as_the_new_claims_doing(
    conversation,
):
    say(conversation, "11月1日 听课 20节", key="k1")
    say(conversation, "11月2日 听课 5节", key="k2")  # cut to 0 by the 听课 cap
    say(conversation, "删除 1", key="k3")  # #2 now counts 1, stored still 0
    reply = say(conversation, "教学反思 1篇", key="k4")

    assert "随之调整" not in reply  # 教学反思 changed no 听课
    person = conversation.store.find_person("oa", "u1")
    assert conversation.store.claim_by_number(person.id, 2).hours_counted == 1
