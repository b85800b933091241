"""The whole path over real HTTP: signed WeChat XML in, scored answer out, claims in SQLite."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot import wechat_sim
from bot.config import ScoringConfig
from bot.runtime import build_conversation
from storage.store import Store
from tests.support import USER, make_config, raw_post, run_against_app
from tests.test_wechat_protocol import HOSTILE

# The worked examples of shared/standards.md, as teachers would type them.
WORKED = [
    ("capped-50", ["公开课 县级 1次"], "2", "48"),
    ("capped-50", ["公开课 县级 1次", "公开课 省级 1次"], "4", "46"),
    ("capped-50", ["听课 12节"], "2.4", "47.6"),
    ("capped-50", ["听课 30节"], "4", "46"),
    ("capped-50", ["评课 3次", "读书笔记 3篇"], "3.5", "46.5"),
    ("capped-50", ["研修成果 省级", "研修成果 市级"], "5", "45"),
    ("annual-80", ["外出培训 2天"], "16", "64"),
    ("annual-80", ["校本培训 主讲 2小时", "校本培训 参加 3小时"], "11", "69"),
    ("annual-80", ["教育叙事 2篇"], "4", "76"),
    ("annual-80", ["论文 县级 一等奖", "论文 省级 发表"], "16", "64"),
]


def bot_config(tmp_path, mode, standard="capped-50"):
    config = make_config(tmp_path, mode=mode)
    return replace(config, scoring=ScoringConfig(standard=standard))


def claims_in(config):
    store = Store(config.storage.database)
    try:
        return list(store.db["claims"].rows)
    finally:
        store.close()


@pytest.mark.parametrize("mode", ["plain", "safe"])
@pytest.mark.parametrize("standard, texts, total, gap", WORKED)
def test_worked_examples_over_http(tmp_path, mode, standard, texts, total, gap):
    config = bot_config(tmp_path, mode, standard)

    async def scenario(session, url):
        replies = []
        for number, text in enumerate(texts, start=1):
            reply = await wechat_sim.send(
                session, url, config, USER, text, mode=mode, msg_id=number
            )
            replies.append(reply)
        return replies

    replies = run_against_app(config, build_conversation(config), scenario)

    assert all("✅ 已记录" in reply for reply in replies)
    assert f"已申报 {total}学时" in replies[-1]
    assert f"还差 {gap}学时" in replies[-1]
    assert len(claims_in(config)) == len(texts)


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_three_deliveries_make_one_claim_and_one_answer(tmp_path, mode):
    config = bot_config(tmp_path, mode)

    async def scenario(session, url):
        return [
            await wechat_sim.send(
                session, url, config, USER, "公开课 县级 1次", mode=mode, msg_id=42
            )
            for _ in range(3)
        ]

    replies = run_against_app(config, build_conversation(config), scenario)

    assert replies[0] == replies[1] == replies[2]
    assert "还差 48学时" in replies[0]
    assert len(claims_in(config)) == 1


def test_a_claim_is_committed_before_its_answer(tmp_path):
    config = bot_config(tmp_path, "plain")

    async def scenario(session, url):
        await wechat_sim.send(session, url, config, USER, "听课 12节", msg_id=1)
        # Read the file from another connection while the server still runs.
        return claims_in(config)

    rows = run_against_app(config, build_conversation(config), scenario)

    assert [(r["item"], r["hours_raw"], r["status"]) for r in rows] == [
        ("observation", "12/5", "pending_check")
    ]


@pytest.mark.parametrize(
    "mode, build, status",
    [
        pytest.param(mode, build, status, id=name)
        for name, mode, build, status in HOSTILE
    ],
)
def test_hostile_input_changes_nothing(tmp_path, mode, build, status):
    config = bot_config(tmp_path, mode)
    params, body = build(config)

    async def scenario(session, url):
        refused = await raw_post(session, url, params, body)
        before = claims_in(config)
        after = await wechat_sim.send(session, url, config, USER, "公开课 县级 1次")
        return refused, before, after

    (got, _), before, after = run_against_app(
        config, build_conversation(config), scenario
    )

    assert got == status
    assert before == []
    assert "还差 48学时" in after


def test_keys_of_old_messages_are_forgotten_when_the_server_starts(tmp_path):
    config = bot_config(tmp_path, "plain")
    store = Store(config.storage.database)
    old = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="seconds")
    recent = (datetime.now(UTC) - timedelta(hours=3)).isoformat(timespec="seconds")
    for key, when in (("old:1", old), ("recent:1", recent)):
        store.db["inbox"].insert({"key": key, "answer": "好", "created_at": when})
    store.close()

    async def scenario(session, url):
        # The server answers at once; the keys go in the background.
        for _ in range(100):
            if not answered(config, "old:1"):
                break
            await asyncio.sleep(0.05)
        return await wechat_sim.send(
            session, url, config, USER, "公开课 县级 1次", msg_id=7
        )

    reply = run_against_app(config, build_conversation(config), scenario)

    assert "✅ 已记录" in reply
    assert not answered(config, "old:1")
    assert answered(config, "recent:1") and answered(config, f"{USER}:7")


def answered(config, key):
    store = Store(config.storage.database)
    try:
        return store.answered(key)[0]
    finally:
        store.close()


def test_a_refused_signature_is_explained_as_a_token_that_differs(tmp_path):
    config = bot_config(tmp_path, "plain")
    other = replace(config, wechat=replace(config.wechat, token="anothertoken"))

    async def scenario(session, url):
        with pytest.raises(wechat_sim.ReplyError) as refused:
            await wechat_sim.send(session, url, other, USER, "查询")
        return str(refused.value)

    error = run_against_app(config, build_conversation(config), scenario)
    assert error.startswith("HTTP 403: ") and "b'" not in error
    assert error.endswith(wechat_sim.SIGNATURE_HINT)
