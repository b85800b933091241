"""Deadline reminders: the schedule, who gets what on which day, restarts, 暂停提醒.

The clock is driven by the test, never slept on: the scheduler says when it
wants to look again and the test moves the clock there.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pytest

from bot import app as bot_app
from bot.config import (
    Config,
    ConfigError,
    RemindersConfig,
    SchoolReminders,
    StorageConfig,
    load_config,
)
from bot.roster import import_roster
from bot.scheduler import Calendar, build_scheduler, remind_now
from handlers.conversation import Conversation
from handlers.inbound import TEXT, Inbound
from handlers.reminders import CHINA, REVIEWERS, TEACHERS
from scoring.engine import score_claim
from scoring.facts import Facts
from scoring.numbers import display
from scoring.standard import load_standards
from storage.people import School
from storage.store import Store
from tests.support import make_config

ROOT = Path(__file__).resolve().parents[1]
ROSTER = """姓名,学校,中心校,角色,工号,标准
张三,一小,关庙镇中心校,教师,1001,capped-50
李梅,一小,关庙镇中心校,教师,1002,
王芳,一小,关庙镇中心校,教师,1003,
李四,一小,关庙镇中心校,学校核查,1009,
赵六,二小,关庙镇中心校,教师,2001,annual-80
孙七,二小,关庙镇中心校,教师,2002,annual-80
刘二,二小,关庙镇中心校,学校核查,2009,
王五,中心校,关庙镇中心校,中心校审定,9001,
"""
# Who binds, as (WeChat user, message); 孙七 never does.
BINDINGS = [
    ("u-zhang", "绑定 张三 一小"),
    ("u-li", "绑定 李梅 一小"),
    ("u-wang", "绑定 王芳 一小"),
    ("r-yi", "绑定 李四 一小 1009"),
    ("u-zhao", "绑定 赵六 二小"),
    ("r-er", "绑定 刘二 二小 2009"),
    ("a-town", "绑定 王五 中心校 9001"),
]
# 二小 hands in three days earlier; its reviewers then finish by 12-18.
SETTINGS = RemindersConfig(
    prompt_minutes=60, schools={"二小": SchoolReminders(deadline="12-25")}
)


def china(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=CHINA)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


class Town:
    """A roster, a conversation and a scheduler on one SQLite file."""

    def __init__(self, tmp_path: Path, start: str = "2026-11-20 08:00", **settings):
        self.path = tmp_path / "t.db"
        self.config = Config(
            storage=StorageConfig(database=self.path),
            reminders=replace(SETTINGS, **settings),
        )
        roster = tmp_path / "roster.csv"
        roster.write_text(ROSTER, encoding="utf-8")
        self.standards = load_standards()
        self.clock = Clock(china(start))
        store = Store(self.path)
        assert import_roster(store, roster, set(self.standards)).rejected == []
        self.conv = Conversation(store, self.standards, "capped-50", self.clock)
        self.start_scheduler()

    def start_scheduler(self) -> None:
        """A new scheduler on its own connection, as after a restart."""
        self.scheduler_store = Store(self.path, clock=self.clock)
        self.scheduler = build_scheduler(
            self.config, self.scheduler_store, clock=self.clock
        )

    def restart(self) -> None:
        self.scheduler_store.close()
        self.conv.close()
        self.conv = Conversation(
            Store(self.path), self.standards, "capped-50", self.clock
        )
        self.start_scheduler()

    def close(self) -> None:
        self.scheduler_store.close()
        self.conv.close()

    @property
    def store(self) -> Store:
        return self.conv.store

    def say(self, user: str, text: str) -> str:
        inbound = Inbound("oa", user, TEXT, self.clock(), text=text)
        return self.conv.handle(inbound)

    def run_until(self, moment: str) -> None:
        """Let the scheduler do what falls due up to `moment`, then stop there."""
        until = china(moment)
        while True:
            _, wake = self.scheduler.run_due()
            if wake >= until:
                break
            self.clock.now = max(wake, self.clock.now + timedelta(seconds=1))
        self.clock.now = until
        self.scheduler.run_due()

    def person(self, name: str) -> int:
        return self.store.db.execute(
            "SELECT id FROM people WHERE name = ?", [name]
        ).fetchone()[0]

    def max_out(self, name: str) -> None:
        """Claims filling every item a teacher can claim alone (49 under capped-50)."""
        standard = self.standards["capped-50"]
        today = self.clock().astimezone(CHINA).date()
        period = standard.period.span_of(today).start.isoformat()
        for item in standard.items:
            if item.reviewer_range is not None:
                continue
            values = {key: allowed[0] for key, allowed in item.rates[0].when}
            facts = Facts(item.id, Fraction(20), item.measure, day=today, **values)
            hours = score_claim(standard, facts).hours
            self.store.add_claim(self.person(name), period, facts, item.name,
                                 standard.id, standard.version, hours)  # fmt: skip

    def sent(self) -> list[tuple[str, str, str]]:
        """(day, name, kind) of every reminder queued, in order."""
        return [(r["day"], r["name"], r["kind"]) for r in self.store.reminder_log()]

    def texts(self, name: str) -> list[str]:
        rows = self.store.db.execute(
            "SELECT o.text FROM outbox o JOIN people p ON p.id = o.person_id "
            "WHERE p.name = ? AND o.key LIKE 'remind:%' ORDER BY o.id",
            [name],
        ).fetchall()
        return [row[0] for row in rows]


@pytest.fixture
def town(tmp_path):
    town = Town(tmp_path)
    for user, text in BINDINGS:
        assert "绑定成功" in town.say(user, text)
    yield town
    town.close()


# --- a whole season -----------------------------------------------------------------

# (day, name, kind) in the order they are queued, 11-20 to 12-28.
SEASON = [
    ("2026-11-25", "赵六", "gap"),  # 二小: 12-25 minus 30 days
    ("2026-11-28", "张三", "gap"),
    ("2026-11-28", "李梅", "bonus"),  # at 49: only the school's bonus is left
    ("2026-11-28", "王芳", "gap"),
    ("2026-12-04", "刘二", "check"),  # 二小's reviewers: 12-18 minus 14 days
    ("2026-12-07", "李四", "check"),
    ("2026-12-07", "王五", "approve"),
    ("2026-12-11", "赵六", "gap"),
    ("2026-12-11", "刘二", "check"),
    ("2026-12-14", "王芳", "congrats"),  # at target since 12-10; 张三 paused
    ("2026-12-14", "李四", "check"),
    ("2026-12-14", "王五", "approve"),
    ("2026-12-15", "刘二", "check"),
    ("2026-12-17", "刘二", "check"),
    ("2026-12-18", "赵六", "gap"),
    ("2026-12-18", "王五", "approve"),  # 李四 checked everything on 12-15
    ("2026-12-20", "王五", "approve"),
    ("2026-12-22", "赵六", "gap"),
    ("2026-12-24", "赵六", "gap"),
    ("2026-12-27", "张三", "gap"),  # resumed on 12-26
]


def play_season(town: Town) -> None:
    town.say("u-zhang", "公开课 县级 1次")
    town.max_out("李梅")
    town.say("u-wang", "听课 10节")
    town.say("u-zhao", "校本培训 参加 3小时")
    town.run_until("2026-12-10 10:00")
    town.max_out("王芳")
    town.say("u-wang", "学校特色研修成果")
    bonus = town.store.last_claim(town.person("王芳")).id
    assert "已改为 5学时" in town.say("r-yi", f"改 {bonus} 5学时 特色突出")
    town.run_until("2026-12-13 20:00")
    assert "不再发截止提醒" in town.say("u-zhang", "暂停提醒")
    town.run_until("2026-12-15 16:00")
    assert "已通过" in town.say("r-yi", "通过 全部")
    town.run_until("2026-12-26 12:00")
    assert "按时提醒" in town.say("u-zhang", "恢复提醒")
    town.run_until("2026-12-28 23:59")


def test_a_season_reminds_the_right_people_on_the_right_days(town):
    play_season(town)
    assert town.sent() == SEASON


def test_what_each_reminder_says(town):
    play_season(town)
    first, *_, last = town.texts("张三")
    assert "12月28日前报送，还有 30 天" in first
    assert "还差 48学时" in first and "还能记的：" in first
    assert "还有 1 天" in last

    (bonus,) = town.texts("李梅")
    assert "已申报 49学时" in bonus and "最后 1学时只能由学校加分" in bonus
    assert "学校特色研修成果" in bonus and "还能记的" not in bonus

    gap, congrats = town.texts("王芳")
    assert "还差 48学时" in gap
    assert "已达标" in congrats and "不再提醒" in congrats

    check = town.texts("李四")[0]  # 张三's claim and the 20 that filled 李梅's items
    assert "本校有 22 条申报等你核查" in check and "#1 张三：公开课" in check
    assert "12月21日前完成，还有 14 天" in check

    approve = town.texts("王五")[-1]
    assert "· 一小：达标 1/3 人，待核查 0 条，待审定" in approve
    assert "· 二小：达标 0/2 人" in approve
    assert "12月25日前报送" in town.texts("赵六")[0]


def test_nothing_leaves_in_quiet_hours_and_each_key_once(town):
    play_season(town)
    rows = town.store.db.execute(
        "SELECT key, created_at, next_attempt_at FROM outbox WHERE key LIKE 'remind:%'"
    ).fetchall()
    assert len(rows) == len(SEASON) == len({key for key, _, _ in rows})
    for _, created, leaves in rows:
        for stamp in (created, leaves):
            moment = datetime.fromisoformat(stamp).astimezone(CHINA).time()
            assert moment.strftime("%H:%M") == "09:00"


def test_teachers_at_target_get_one_congratulation_and_nothing_after(town):
    town.max_out("王芳")
    town.say("u-wang", "学校特色研修成果")
    bonus = town.store.last_claim(town.person("王芳")).id
    town.say("r-yi", f"改 {bonus} 5学时")
    town.run_until("2026-12-28 12:00")
    assert [kind for _, name, kind in town.sent() if name == "王芳"] == ["congrats"]


# --- restarts -------------------------------------------------------------------------


def test_a_restart_repeats_nothing(town):
    town.say("u-zhang", "公开课 县级 1次")
    town.run_until("2026-12-14 10:00")
    before = town.sent()
    town.restart()
    town.run_until("2026-12-14 18:00")
    assert town.sent() == before
    assert ("2026-12-14", "张三", "gap") in before


def test_a_round_missed_while_down_is_sent_on_return_after_quiet_hours(town):
    town.say("u-zhang", "公开课 县级 1次")
    town.run_until("2026-12-20 08:00")
    town.restart()
    # Down from 08:00 on 12-20 to 23:00 on 12-21: the 12-20 (reviewers) and
    # 12-21 (teachers) rounds were missed; 23:00 is in quiet hours.
    town.clock.now = china("2026-12-21 23:00")
    town.run_until("2026-12-22 07:29")
    assert [row for row in town.sent() if row[0] >= "2026-12-20"] == []
    town.run_until("2026-12-22 07:30")
    late = [r for r in town.store.reminder_log() if r["day"] >= "2026-12-20"]
    # The reviewers' deadline (12-21) has passed: their 12-20 round is not sent.
    assert {(r["day"], r["name"]) for r in late} == {
        ("2026-12-21", "张三"),
        ("2026-12-21", "李梅"),
        ("2026-12-21", "王芳"),
    }
    for row in late:
        assert datetime.fromisoformat(row["queued_at"]) == china("2026-12-22 07:30")
    assert "还有 6 天" in town.texts("张三")[-1]  # counted from the 22nd


def test_a_later_round_supersedes_one_missed_long_ago(town):
    town.say("u-zhang", "公开课 县级 1次")
    town.clock.now = china("2026-12-16 10:00")  # the server starts late
    town.scheduler.run_due()
    mine = [day for day, name, _ in town.sent() if name == "张三"]
    assert mine == ["2026-12-14"]  # not 11-28 as well


def test_a_round_that_fails_halfway_is_done_whole_after_a_restart(town, monkeypatch):
    for user in ("u-zhang", "u-wang"):
        town.say(user, "公开课 县级 1次")
    town.clock.now = china("2026-11-28 09:00")
    calls = []

    def failing(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("the disk is full")
        return Store.enqueue_push(town.scheduler_store, *args, **kwargs)

    monkeypatch.setattr(town.scheduler_store, "enqueue_push", failing)
    with pytest.raises(RuntimeError):
        town.scheduler.run_due()
    assert town.sent() == []  # the round's transaction was rolled back
    town.restart()
    town.scheduler.run_due()
    assert Counter(name for _, name, _ in town.sent()) == dict.fromkeys(
        ("张三", "李梅", "王芳", "赵六"), 1
    )


def test_the_scheduler_loop_runs_on_an_injected_clock(tmp_path):
    town = Town(tmp_path, start="2026-11-27 20:00")
    for user, text in BINDINGS:
        town.say(user, text)
    town.say("u-zhang", "公开课 县级 1次")
    end = china("2026-11-28 12:00")
    reached, release = asyncio.Event(), asyncio.Event()
    naps = []

    async def nap(seconds: float) -> None:
        naps.append(seconds)
        town.clock.now += timedelta(seconds=max(seconds, 1))
        if town.clock.now >= end:
            reached.set()
            await release.wait()

    async def scenario():
        scheduler = build_scheduler(
            town.config, town.scheduler_store, clock=town.clock, sleep=nap
        )
        scheduler.start()
        await reached.wait()
        stopping = asyncio.create_task(scheduler.stop())
        release.set()
        await stopping

    asyncio.run(scenario())
    assert ("2026-11-28", "张三", "gap") in town.sent()
    assert max(naps) <= 3600  # it looks at the clock at least hourly
    town.close()


# --- the command line -----------------------------------------------------------------


def write_config(town: Town, tmp_path: Path) -> Path:
    path = tmp_path / "xueshi.toml"
    path.write_text(
        f'[storage]\ndatabase = "{town.path}"\n'
        '[reminders.schools."二小"]\ndeadline = "12-25"\n',
        encoding="utf-8",
    )
    return path


def test_dry_run_json_lists_real_gaps_and_records_nothing(town, tmp_path):
    town.say("u-zhang", "公开课 县级 1次")
    town.say("u-zhao", "校本培训 参加 3小时")
    town.max_out("李梅")
    config = write_config(town, tmp_path)
    command = [sys.executable, "-m", "bot", "remind", "--dry-run", "--json",
               "--at", "2026-12-14 09:00", "--config", str(config)]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(m["to"], m["role"]) for m in lines] == [
        ("张三", "教师"),
        ("李梅", "教师"),
        ("王芳", "教师"),
        ("赵六", "教师"),
        ("李四", "学校核查"),
        ("刘二", "学校核查"),
        ("王五", "中心校审定"),
    ]
    texts = {m["to"]: m["text"] for m in lines}
    for name, user in (("张三", "u-zhang"), ("赵六", "u-zhao"), ("王芳", "u-wang")):
        gap = town.conv.summary("oa", user).gap
        assert f"还差 {display(gap)}学时" in texts[name]
    assert "12月25日前报送，还有 11 天" in texts["赵六"]
    assert "本校有 21 条申报" in texts["李四"] and "李梅" not in texts["刘二"]
    assert town.store.reminder_log() == []
    assert not town.store.db.execute(
        "SELECT 1 FROM outbox WHERE key LIKE 'remind:%'"
    ).fetchall()


def test_dry_run_text_and_argument_errors(town, tmp_path, capsys):
    from bot import cli

    config = str(write_config(town, tmp_path))
    assert cli.main(["remind", "--dry-run", "--at", "2026-12-14 23:00",
                     "--config", config]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert (
        "leaving 2026-12-15 07:30 China time" in out and "→ 王五（中心校审定）" in out
    )
    assert cli.main(["remind", "--at", "2026-12-14 09:00", "--config", config]) == 2
    with pytest.raises(SystemExit):
        cli.main(["remind", "--dry-run", "--at", "12-14 9点", "--config", config])


def test_remind_now_queues_once_and_holds_in_quiet_hours(town):
    town.say("u-zhang", "公开课 县级 1次")
    late = china("2026-12-10 23:00")
    first = remind_now(town.config, late, dry_run=False)
    again = remind_now(town.config, late, dry_run=False)
    assert first.queued == len(first.reminders) > 0 and again.queued == 0
    assert first.leave_at == china("2026-12-11 07:30")
    (leaves,) = town.store.db.execute(
        "SELECT next_attempt_at FROM outbox WHERE key = ?",
        [f"remind:{town.person('张三')}:2026-12-11:gap"],
    ).fetchone()
    assert datetime.fromisoformat(leaves) == china("2026-12-11 07:30")
    # 二小's scheduled round of 12-11 finds its people reminded that day already.
    before = town.sent()
    town.clock.now = china("2026-12-11 09:00")
    town.scheduler.run_due()
    assert town.sent() == before


# --- 暂停提醒 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, wanted",
    [
        ("暂停提醒", False),
        ("别提醒了", False),
        ("不要提醒", False),
        ("别再提醒我了！", False),
        ("不要再给我发提醒了", False),
        ("关闭提醒", False),
        ("恢复提醒", True),
        ("开启提醒", True),
        ("打开提醒", True),
        ("继续提醒吧", True),
    ],
)
def test_pause_and_resume_in_chat(town, text, wanted):
    me = town.person("张三")
    town.store.set_reminders(me, not wanted)
    reply = town.say("u-zhang", text)
    assert town.store.wants_reminders(me) is wanted
    assert ("恢复提醒" in reply) if not wanted else ("暂停提醒" in reply)


def test_a_paused_teacher_gets_nothing(town):
    town.say("u-zhang", "公开课 县级 1次")
    town.say("u-zhang", "别提醒了")
    town.run_until("2026-12-28 12:00")
    assert [row for row in town.sent() if row[1] == "张三"] == []


# --- standings ----------------------------------------------------------------------


def test_standings_follow_claims_and_decisions(town):
    me = town.person("张三")
    town.say("u-zhang", "公开课 县级 1次")
    assert town.store.standing(me).gap == 48  # kept by the claim's answer
    town.say("r-yi", "退回 1 材料不全")
    assert town.store.standing(me) is None  # the decision dropped it
    town.clock.now = china("2026-11-28 09:00")
    town.scheduler.run_due()
    assert town.store.standing(me).gap == 50  # worked out again for the round


def test_a_standing_changed_while_worked_out_is_not_saved(town):
    me = town.person("张三")
    town.say("u-zhang", "公开课 县级 1次")
    standing = town.store.standing(me)
    town.store.mark_standings([me])
    town.say("u-zhang", "听课 10节")  # its answer keeps a fresh standing
    town.store.settle_standings([(me, standing)])
    assert town.store.standing(me).claimed == 4
    town.store.mark_standings([me])
    town.store.db.execute(
        "UPDATE claims SET status = 'returned' WHERE person_id = ?", [me]
    )
    town.store.settle_standings([(me, standing)])
    assert town.store.standing(me) is None


# --- the calendar --------------------------------------------------------------------

SCHOOLS = [School(1, "一小", 1, "镇", None, "1"), School(2, "二小", 1, "镇", None, "2")]


@pytest.mark.parametrize(
    "moment, due",
    [
        ("2026-11-20 12:00", []),
        ("2026-11-25 08:59", []),
        ("2026-11-25 09:00", [(2, TEACHERS, "2026-11-25")]),
        ("2026-12-05 10:00", [(1, TEACHERS, "2026-11-28"), (2, TEACHERS, "2026-11-25"),
                              (2, REVIEWERS, "2026-12-04")]),
        ("2026-12-21 09:00", [(1, TEACHERS, "2026-12-21"), (2, TEACHERS, "2026-12-18")]),
        ("2026-12-27 22:00", [(1, TEACHERS, "2026-12-27")]),
        ("2026-12-28 09:00", []),  # the deadline: the season is over
        ("2027-01-05 09:00", []),
    ],
)  # fmt: skip
def test_which_rounds_are_due(moment, due):
    rounds, _ = Calendar(SETTINGS).rounds_due(SCHOOLS, china(moment))
    assert [(r.school_id, r.audience, r.day.isoformat()) for r in rounds] == due


def test_seasons_follow_the_general_and_the_school_settings():
    settings = RemindersConfig(
        reviewers_deadline="12-20",
        schools={
            "二小": SchoolReminders(deadline="12-25"),
            "三小": SchoolReminders(reviewers_deadline="12-15", days_before=(2,)),
        },
    )
    calendar = Calendar(settings)
    today = date(2026, 12, 1)
    one, two, three = (calendar.season(s, today) for s in ("一小", "二小", "三小"))
    assert (one.deadline, one.reviewers_deadline) == (
        date(2026, 12, 28),
        date(2026, 12, 20),
    )
    assert (two.deadline, two.reviewers_deadline) == (
        date(2026, 12, 25),
        date(2026, 12, 17),
    )
    assert three.reviewers_deadline == date(2026, 12, 15)
    assert three.teacher_days == (date(2026, 12, 26),)
    assert Calendar(RemindersConfig()).season("一小", today).reviewers_deadline == date(
        2026, 12, 21
    )
    # After the deadline, the next season.
    assert calendar.season("一小", date(2026, 12, 29)).deadline == date(2027, 12, 28)


@pytest.mark.parametrize(
    "quiet, moment, leaves",
    [
        ("21:30-07:30", "2026-12-10 21:29", "2026-12-10 21:29"),
        ("21:30-07:30", "2026-12-10 21:30", "2026-12-11 07:30"),
        ("21:30-07:30", "2026-12-11 03:00", "2026-12-11 07:30"),
        ("21:30-07:30", "2026-12-11 07:30", "2026-12-11 07:30"),
        ("12:00-14:00", "2026-12-11 13:00", "2026-12-11 14:00"),
        ("", "2026-12-11 03:00", "2026-12-11 03:00"),
    ],
)
def test_quiet_hours_in_china_time(quiet, moment, leaves):
    calendar = Calendar(RemindersConfig(quiet_hours=quiet))
    # The same moment given in UTC: the server's zone does not matter.
    assert calendar.leave_at(china(moment).astimezone(UTC)) == china(leaves)


# --- configuration ------------------------------------------------------------------


@pytest.mark.parametrize(
    "toml, message",
    [
        ('deadline = "12-32"', 'reminders.deadline: expected a value such as "12-28"'),
        ('deadline = "02-29"', "reminders.deadline: expected a value such as"),
        ("days_before = [30, 0]", "reminders.days_before: expected days from 1 to 365"),
        ('days_before = ["30"]', "reminders.days_before: expected a list of whole"),
        ('send_at = "9点"', 'reminders.send_at: expected a value such as "09:00"'),
        ('quiet_hours = "22:00"', "reminders.quiet_hours: expected a value such as"),
        ('send_at = "23:00"', "reminders.send_at: 23:00 falls in quiet_hours"),
        ("prompt_minutes = -1", "reminders.prompt_minutes: expected 0 (off) or more"),
        ('reviewers_deadline = "12-29"',
         "reminders.reviewers_deadline: expected a day at most 120 days before"),
        ("when = 3", "reminders.when: unknown setting"),
        ('schools = "一小"', "reminders.schools: expected tables such as"),
        ('[reminders.schools."一小"]\ndeadline = "1228"',
         "reminders.schools.一小.deadline: expected a value such as"),
        ('[reminders.schools."一小"]\nsend_at = "08:00"',
         "reminders.schools.一小.send_at: unknown setting"),
    ],
)  # fmt: skip
def test_reminder_settings_are_checked_in_one_line(tmp_path, toml, message):
    path = tmp_path / "c.toml"
    path.write_text("[reminders]\n" + toml + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_reminder_settings_from_the_file_and_the_example(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(
        '[reminders]\ndays_before = [7, 1]\nquiet_hours = ""\n'
        '[reminders.schools."一小"]\ndeadline = "12-25"\nreviewer_days = []\n',
        encoding="utf-8",
    )
    reminders = load_config(path, env={}).reminders
    assert reminders.days_before == (7, 1) and reminders.quiet_hours == ""
    assert reminders.schools == {
        "一小": SchoolReminders(deadline="12-25", reviewer_days=())
    }
    example = load_config(ROOT / "config.example.toml", env={})
    assert example.reminders == RemindersConfig()


# --- the app and the logs ---------------------------------------------------------


def test_the_scheduler_runs_with_the_app_when_a_push_route_is_set(tmp_path):
    config = make_config(tmp_path, app_secret="secret")

    async def scenario():
        app = bot_app.create_app(config, _Quiet())
        runner = bot_app.web.AppRunner(app)
        await runner.setup()
        try:
            return isinstance(app.get(bot_app.SCHEDULER), bot_app.scheduler.Scheduler)
        finally:
            await runner.cleanup()

    assert asyncio.run(scenario())


class _Quiet:
    def handle(self, inbound):
        return None

    def close(self):
        pass


def test_logs_above_debug_name_nobody(town, caplog):
    caplog.set_level(logging.INFO)
    play_season(town)
    names = [line.split(",")[0] for line in ROSTER.splitlines()[1:]]
    for record in caplog.records:
        message = record.getMessage()
        assert not [n for n in names if n in message], message
        assert "老师" not in message
