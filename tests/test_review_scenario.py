"""A season through chat over real HTTP, with a local fake of WeChat's API.

A teacher binds, claims and sends a photo; the school reviewer is prompted and
approves; the central-school approver approves; the teacher is told and sees
the approved hours. The photo is fetched into the data folder. A teacher's
通过 is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import replace
from pathlib import Path

import aiohttp

from bot import wechat_sim
from bot.roster import import_roster
from bot.runtime import build_conversation
from handlers.prompts import queue_prompts
from handlers.replies import Replies
from scoring.standard import load_standards
from storage.store import Store
from tests.fake_wechat import FakeWeChat
from tests.support import make_config, running_app

ROSTER = """姓名,学校,中心校,角色,工号
张三,一小,关庙镇中心校,教师,1001
李四,一小,关庙镇中心校,学校核查,1002
王五,中心校,关庙镇中心校,中心校审定,9001
"""
PHOTO = b"\x89PNG\r\n\x1a\n" + b"certificate" * 50


def prepare(tmp_path: Path, fake: FakeWeChat):
    config = make_config(tmp_path, app_secret="s3cret")
    config = fake.configure(replace(config, push=replace(config.push, poll_seconds=1)))
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    store = Store(config.storage.database)
    import_roster(store, roster, set(load_standards()))
    store.close()
    return config


async def wait_for(condition, timeout: float = 10) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


def prompt_reviewers(config) -> int:
    store = Store(config.storage.database)
    try:
        return queue_prompts(store, load_standards(), Replies())
    finally:
        store.close()


def test_a_season_over_http(tmp_path):
    async def scenario():
        async with FakeWeChat() as fake:
            fake.media["m-photo"] = (PHOTO, "image/png")
            config = prepare(tmp_path, fake)
            conversation = build_conversation(config)
            async with (
                running_app(config, conversation) as base,
                aiohttp.ClientSession() as session,
            ):
                url = base + config.server.path
                ids = iter(range(1, 100))

                async def say(user, text, **extra):
                    params, body = wechat_sim.build_request(
                        config, user, text=text, msg_id=next(ids), **extra
                    )
                    status, answer = await post(session, url, params, body)
                    assert status == 200
                    return wechat_sim.parse_reply(config, params, answer)

                assert "绑定成功" in await say("o-teacher", "绑定 张三 一小")
                assert "绑定成功" in await say("o-checker", "绑定 李四 一小 1002")
                assert "绑定成功" in await say("o-approver", "绑定 王五 中心校 9001")

                assert "→ 2学时" in await say("o-teacher", "公开课 县级 1次")
                params, body = wechat_sim.build_request(
                    config,
                    "o-teacher",
                    kind="image",
                    msg_id=next(ids),
                    fields={"MediaId": "m-photo", "PicUrl": "http://x/p.png"},
                )
                status, answer = await post(session, url, params, body)
                assert "已附到第 1 条" in wechat_sim.parse_reply(config, params, answer)

                assert prompt_reviewers(config) == 1
                await wait_for(lambda: fake.sends(to="o-checker"))
                prompt = fake.sends(to="o-checker")[0].text
                assert "张三" in prompt and "公开课" in prompt and "📎1" in prompt

                assert "只有学校核查" in await say("o-teacher", "通过 1")
                assert "已转中心校审定" in await say("o-checker", "通过 1")
                assert prompt_reviewers(config) == 1
                await wait_for(lambda: fake.sends(to="o-approver"))
                assert "已认定" in await say("o-approver", "通过 全部")

                await wait_for(lambda: len(fake.sends(to="o-teacher")) == 2)
                notices = [call.text for call in fake.sends(to="o-teacher")]
                assert "已通过学校核查" in notices[0] and "已认定" in notices[1]
                assert "已认定 2" in await say("o-teacher", "查询")
                await wait_for(lambda: fake.media_fetches())
                return config

    config = asyncio.run(scenario())

    store = Store(config.storage.database)
    (evidence,) = list(store.db["evidence"].rows)
    store.close()
    assert evidence["state"] == "fetched"
    assert evidence["sha256"] == hashlib.sha256(PHOTO).hexdigest()
    assert Path(evidence["path"]).read_bytes() == PHOTO
    assert evidence["size"] == len(PHOTO)


async def post(session, url, params, body):
    async with session.post(url, params=params, data=body) as response:
        return response.status, await response.read()
