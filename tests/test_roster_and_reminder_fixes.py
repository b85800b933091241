"""Reported faults, kept as tests: a roster import that moved a school's standard
away from its claims, reviewers reminded of their own claims, and an unbound
WeChat left to find out by itself.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from bot import cli
from bot.roster import import_roster
from handlers import binding
from handlers.conversation import Conversation
from handlers.inbound import TEXT, Inbound
from handlers.replies import CHINA, Replies
from scoring.standard import load_standards
from storage.store import Store

HEADER = ["姓名", "学校", "中心校", "角色", "工号", "标准"]
ROSTER = [
    ["张三", "一小", "关庙镇中心校", "教师", "1001", "capped-50"],
    ["李梅", "一小", "关庙镇中心校", "教师", "1005", ""],
    ["李四", "一小", "关庙镇中心校", "学校核查", "1002", ""],
    ["赵六", "二小", "关庙镇中心校", "教师", "2003", ""],
    ["孙七", "三小", "关庙镇中心校", "教师", "3001", ""],
    ["钱八", "中心校", "关庙镇中心校", "学校核查", "9002", ""],
    ["王五", "中心校", "关庙镇中心校", "中心校审定", "9001", ""],
]
BINDINGS = [
    ("t-zhang", "绑定 张三 一小"),
    ("t-li", "绑定 李梅 一小"),
    ("r-yi", "绑定 李四 一小 1002"),
    ("t-zhao", "绑定 赵六 二小"),
    ("t-sun", "绑定 孙七 三小"),
    ("r-town", "绑定 钱八 中心校 9002"),
    ("a-town", "绑定 王五 中心校 9001"),
]
# Claims are made on 12-03; reviewers' reminders go out on 12-14 (12-21 minus 7).
MADE = datetime(2026, 12, 3, 10, 0, tzinfo=CHINA)
REMIND_AT = "2026-12-14 09:00"


def write_roster(path: Path, rows: list[list[str]]) -> Path:
    """A roster as the admin saves it: CSV (UTF-8) or XLSX, by the suffix."""
    if path.suffix == ".xlsx":
        book = openpyxl.Workbook()
        for row in [HEADER, *rows]:
            book.active.append(row)
        book.save(path)
    else:
        lines = [",".join(row) for row in [HEADER, *rows]]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Town:
    """The roster imported, everyone bound, on one SQLite file."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.path = tmp_path / "t.db"
        self.standards = load_standards()
        store = Store(self.path)
        roster = write_roster(tmp_path / "roster.csv", ROSTER)
        assert import_roster(store, roster, set(self.standards)).rejected == []
        self.conv = Conversation(store, self.standards, "capped-50", lambda: MADE)
        for user, text in BINDINGS:
            assert "绑定成功" in self.say(user, text)
        self.config = tmp_path / "config.toml"
        self.config.write_text(f'[storage]\ndatabase = "{self.path}"\n')

    @property
    def store(self) -> Store:
        return self.conv.store

    def say(self, user: str, text: str) -> str:
        return self.conv.handle(Inbound("oa", user, TEXT, MADE, text=text))

    def claim(self, user: str, text: str = "公开课 县级 1次") -> int:
        assert "已记录" in self.say(user, text)
        person = self.store.find_person("oa", user)
        return self.store.last_claim(person.id).id

    def import_(self, rows: list[list[str]], suffix: str = ".csv", **flags):
        path = write_roster(self.tmp / f"more{suffix}", rows)
        return import_roster(self.store, path, set(self.standards), **flags)

    def school_standard(self, name: str) -> str | None:
        return self.store.school_named(name).standard


@pytest.fixture
def town(tmp_path):
    town = Town(tmp_path)
    yield town
    town.conv.close()


def reminders(town: Town, capsys) -> dict[str, str]:
    """What `python -m bot remind --dry-run --json` would send, by name."""
    capsys.readouterr()
    argv = ["remind", "--dry-run", "--json", "--at", REMIND_AT]
    assert cli.main([*argv, "--config", str(town.config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    return {m["to"]: m["text"] for m in map(json.loads, lines)}


# --- 1. a roster row must not move a school's standard away from its claims ------

NEW_TEACHER = ["周九", "一小", "关庙镇中心校", "教师", "1010", "annual-80"]
ZHAO_80 = ["赵六", "二小", "关庙镇中心校", "教师", "2003", "annual-80"]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_new_row_does_not_move_a_school_with_claims(town, suffix):
    town.claim("t-zhang")
    report = town.import_([NEW_TEACHER], suffix)

    ((number, code, details),) = report.rejected
    switch = details["switch"]
    assert (number, code) == (2, "switch")
    assert (switch.school, switch.old, switch.new, switch.claims) == (
        "一小", "capped-50", "annual-80", 1,
    )  # fmt: skip
    assert report.added == 0 and town.school_standard("一小") == "capped-50"
    assert "还差 48学时" in town.say("t-zhang", "查询")


def test_the_rejection_names_school_standards_claims_and_the_flag(town, capsys):
    for user in ("t-zhang", "t-li", "r-yi"):
        town.claim(user)
    path = write_roster(town.tmp / "more.csv", [ROSTER[3], NEW_TEACHER])
    capsys.readouterr()

    argv = ["roster", "import", str(path), "--config", str(town.config)]
    assert cli.main(argv) == 1

    out = capsys.readouterr().out
    assert "拒绝 1 行" in out and "未变 1 人" in out
    assert "第 3 行：一小现用标准“capped-50”，已有 3 条申报" in out
    assert "改为标准“annual-80”" in out and "--switch-standard" in out


def test_switching_on_purpose_keeps_the_import_idempotent(town):
    town.claim("t-zhang")

    first = town.import_([NEW_TEACHER], switch_standard=True)
    again = town.import_([NEW_TEACHER], switch_standard=True)
    plain = town.import_([NEW_TEACHER])

    assert (first.added, first.rejected, len(first.switched)) == (1, [], 1)
    assert (again.unchanged, again.switched, plain.unchanged) == (1, [], 1)
    assert plain.rejected == [] and town.school_standard("一小") == "annual-80"
    text = Replies().render("roster_report", report=first, path="more.csv")
    assert "一小已从标准“capped-50”改为标准“annual-80”：原来的 1 条申报留在" in text


@pytest.mark.parametrize(
    "row, claimed_by, withdrawn, rejected",
    [
        # 二小 has no claims: its standard may change.
        (ZHAO_80, None, False, False),
        # Only a withdrawn claim: nothing to leave behind.
        (ZHAO_80, "t-zhao", True, False),
        # On the deployment's default (no 标准 yet) with a claim under it.
        (ZHAO_80, "t-zhao", False, True),
        # Naming the standard the claims are under moves nothing away from them.
        (["赵六", "二小", "关庙镇中心校", "教师", "2003", "capped-50"], "t-zhao", False, False),
        # Another school's claims do not hold this one back.
        (["孙七", "三小", "关庙镇中心校", "教师", "3001", "annual-80"], "t-zhao", False, False),
    ],
)  # fmt: skip
def test_which_schools_may_change_standard(town, row, claimed_by, withdrawn, rejected):
    if claimed_by:
        town.claim(claimed_by)
    if withdrawn:
        assert "已删除" in town.say(claimed_by, "撤销")
    report = town.import_([row])
    assert [code for _, code, _ in report.rejected] == (["switch"] if rejected else [])
    expected = None if rejected else row[5]
    assert town.school_standard(row[1]) == expected


def test_the_default_standard_is_named_as_such(town):
    town.claim("t-zhao")
    report = town.import_([ZHAO_80])
    text = Replies().render("roster_report", report=report, path="more.csv")
    assert "二小现用默认标准，已有 1 条申报按它记录" in text


def test_the_command_takes_the_switch_flag(town, capsys):
    town.claim("t-zhang")
    path = write_roster(town.tmp / "more.csv", [NEW_TEACHER])
    argv = ["roster", "import", str(path), "--switch-standard"]
    assert cli.main([*argv, "--config", str(town.config)]) == 0
    assert town.school_standard("一小") == "annual-80"


# --- 2. reviewers are not reminded of their own claims -----------------------------


def test_a_checker_is_not_reminded_of_his_own_claim(town, capsys):
    own = town.claim("r-yi")
    assert "是你自己的申报" in town.say("r-yi", f"通过 {own}")

    assert "李四" not in reminders(town, capsys)


def test_a_checker_counts_and_shows_only_others_claims(town, capsys):
    town.claim("r-yi")  # the oldest of the school's claims, and his own
    town.claim("t-li", "听课 10节")

    check = reminders(town, capsys)["李四"]

    assert "本校有 1 条申报等你核查" in check and "李梅：听课" in check
    assert "李四：" not in check


def test_an_approver_is_not_counted_his_own_claims(town, capsys):
    own = town.claim("a-town")
    assert "已转中心校审定" in town.say("r-town", f"通过 {own}")
    assert "是你自己的申报" in town.say("a-town", f"通过 {own}")
    teacher = town.claim("t-zhang")
    assert "已转中心校审定" in town.say("r-yi", f"通过 {teacher}")

    approve = reminders(town, capsys)["王五"]

    assert "共 1 条等你审定" in approve
    assert "· 一小：达标 0/2 人，待核查 0 条，待审定 1 条" in approve
    assert "中心校：" not in approve  # no teachers, and only his own claim waiting


def test_an_approver_with_only_his_own_claim_waiting_is_told_none_wait(town, capsys):
    own = town.claim("a-town")
    town.say("r-town", f"通过 {own}")

    approve = reminders(town, capsys)["王五"]

    assert "目前没有等你审定的申报" in approve and "待审定 1 条" not in approve


# --- 3. an unbound WeChat is told so ----------------------------------------------


def unbind(town: Town, name: str, school: str, capsys) -> str:
    capsys.readouterr()
    argv = ["roster", "unbind", name, school, "--config", str(town.config)]
    assert cli.main(argv) == 0
    return capsys.readouterr().out


def notice(town: Town, user: str, reply: str | None = "（回答）") -> str | None:
    inbound = Inbound("oa", user, TEXT, MADE, text="查询")
    with town.store.transaction():
        return binding.with_removal_notice(town.store, Replies(), inbound, reply)


def test_the_first_answer_after_unbinding_says_so_once(town, capsys):
    town.claim("t-zhang")
    assert "已解绑 一小 张三 的 1 个微信身份" in unbind(town, "张三", "一小", capsys)
    assert town.store.find_person("oa", "t-zhang") is None  # a stranger again

    first, second = notice(town, "t-zhang"), notice(town, "t-zhang")

    assert "学校已经解除了这个绑定" in first and "绑定 张三 一小" in first
    assert first.endswith("\n\n（回答）") and second == "（回答）"


def test_a_silent_acknowledgement_keeps_the_notice_for_the_next_answer(town, capsys):
    unbind(town, "张三", "一小", capsys)
    assert notice(town, "t-zhang", None) is None
    assert "解除" in notice(town, "t-zhang")


def test_binding_again_brings_the_claims_back_and_nothing_to_tell(town, capsys):
    town.claim("t-zhang")
    unbind(town, "张三", "一小", capsys)

    assert "绑定成功" in town.say("t-zhang", "绑定 张三 一小")

    assert notice(town, "t-zhang") == "（回答）"
    assert "还差 48学时" in town.say("t-zhang", "查询")


def test_others_are_not_told_anything(town):
    assert notice(town, "t-li") == "（回答）"
    assert notice(town, "never-bound") == "（回答）"


def test_the_conversation_gives_the_notice(town, capsys):
    unbind(town, "张三", "一小", capsys)
    assert "学校已经解除了这个绑定" in town.say("t-zhang", "查询")


def test_a_checkers_todo_list_and_prompts_leave_out_his_own_claims(town):
    own = town.claim("r-yi")
    other = town.claim("t-li", "听课 10节")

    todo = town.say("r-yi", "待办")
    assert f"#{other} " in todo and f"#{own} " not in todo
    town.say("r-yi", "通过 全部")
    assert town.store.find_claim(own).status == "pending_check"  # not his to pass
    assert town.store.find_claim(other).status == "pending_approval"

    from handlers.prompts import queue_prompts
    from handlers.replies import Replies
    from scoring.standard import load_standards

    town.claim("t-li", "评课 3次")
    queue_prompts(town.store, load_standards(), Replies())
    prompts = [row["text"] for row in town.store.db["outbox"].rows]
    assert prompts and all(f"#{own} " not in text for text in prompts)
