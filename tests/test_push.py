"""Pushing: the client against a local fake WeChat API, the outbox sender, restarts.

Time is a test clock: backoff is checked by moving it, never by sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import cli, wechat_sim
from bot.app import serving
from bot.config import Config, ConfigError, PushConfig, WecomConfig, load_config
from bot.outbox import OutboxSender, push_configured
from bot.push import (
    FINAL,
    ROUTES,
    SENT,
    TRANSIENT,
    UNKNOWN,
    WECOM_TEXT_BYTES,
    PushClient,
    cut_utf8,
)
from handlers.conversation import Conversation, note_contact
from handlers.inbound import EVENT, TEXT, Inbound
from scoring.standard import load_standards
from storage.store import Store
from tests.fake_wechat import DISCONNECT, FakeWeChat
from tests.support import AES_KEY, USER, make_config

OPENID = USER
USERID = "LiSi"
CORP_ID = "ww0123456789abcdef"
TEMPLATE_ID = "tpl-decision"


class Clock:
    """Now, as the test says; starts a little after the real now."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def push_config(tmp_path, **push):
    """Every route configured; `push` replaces [push] settings."""
    config = make_config(tmp_path, app_secret="oa-secret", template_id=TEMPLATE_ID)
    wecom = WecomConfig(
        corp_id=CORP_ID,
        agent_id=1000002,
        secret="wecom-secret",
        token="wecom-token",
        encoding_aes_key=AES_KEY,
    )
    return replace(config, wecom=wecom, push=replace(PushConfig(), **push))


@dataclass
class Bench:
    fake: FakeWeChat
    store: Store
    client: PushClient
    sender: OutboxSender
    clock: Clock
    config: Config

    def person(self, *, wecom=None, wrote_hours_ago=1.0) -> int:
        """A person with an OpenID (and a WeCom userid), who wrote that long ago."""
        person_id = self.store.person_for("oa", OPENID).id
        if wecom:
            self.store.db["identities"].insert(
                {"channel": "wecom", "external_id": wecom, "person_id": person_id}
            )
        if wrote_hours_ago is not None:
            wrote = self.clock() - timedelta(hours=wrote_hours_ago)
            self.store.note_inbound("oa", OPENID, wrote)
        return person_id

    async def drain(self) -> None:
        """Run rounds until nothing is due now."""
        for _ in range(100):
            if not await self.sender.run_once():
                return
        raise AssertionError("the queue never emptied")

    def queue(self, person_id: int, *keys: str) -> None:
        for key in keys:
            self.store.enqueue_push(person_id, f"通知 {key}", key)

    def row(self, key: str) -> dict:
        return next(self.store.db["outbox"].rows_where("key = ?", [key]))


@contextlib.asynccontextmanager
async def bench(tmp_path, **push):
    clock = Clock()
    async with FakeWeChat() as fake, aiohttp.ClientSession() as session:
        config = fake.configure(push_config(tmp_path, **push))
        store = Store(config.storage.database, clock=clock)
        client = PushClient(config, session, clock=clock)
        sender = OutboxSender(store, client, config.push, clock=clock)
        try:
            yield Bench(fake, store, client, sender, clock, config)
        finally:
            store.close()


def run(scenario):
    return asyncio.run(scenario())


# The client: tokens


def test_concurrent_sends_share_one_token_fetch(tmp_path):
    async def scenario():
        async with bench(tmp_path) as b:
            sends = [b.client.send("oa_custom", f"o{n}", "你好") for n in range(10)]
            outcomes = await asyncio.gather(*sends)
            return outcomes, b.fake.token_fetches("oa"), len(b.fake.sends())

    outcomes, fetches, sent = run(scenario)
    assert {o.status for o in outcomes} == {SENT}
    assert (fetches, sent) == (1, 10)


def test_token_is_renewed_shortly_before_it_expires(tmp_path):
    async def scenario():
        async with bench(tmp_path) as b:
            fetches = []
            for seconds in (0, 7200 - 300 - 1, 2):
                b.clock.advance(seconds=seconds)
                await b.client.send("oa_custom", OPENID, "你好")
                fetches.append(b.fake.token_fetches("oa"))
            return fetches

    assert run(scenario) == [1, 1, 2]


@pytest.mark.parametrize("errcode", [40001, 40014, 42001])
def test_refused_token_is_refreshed_once_and_the_send_retried_once(tmp_path, errcode):
    async def scenario():
        async with bench(tmp_path) as b:
            await b.client.send("oa_custom", OPENID, "一")
            b.fake.refuse_token("oa", errcode)
            outcome = await b.client.send("oa_custom", OPENID, "二")
            tokens = [call.query["access_token"] for call in b.fake.sends()]
            return outcome.status, b.fake.token_fetches("oa"), tokens

    status, fetches, tokens = run(scenario)
    assert (status, fetches) == (SENT, 2)
    assert tokens == ["oa-token-1", "oa-token-1", "oa-token-2"]


def test_a_token_refused_again_is_not_chased(tmp_path):
    async def scenario():
        async with bench(tmp_path) as b:
            b.fake.answer("oa_custom", {"errcode": 40001}, times=10)
            outcome = await b.client.send("oa_custom", OPENID, "你好")
            return outcome, b.fake.token_fetches("oa"), len(b.fake.sends())

    outcome, fetches, sends = run(scenario)
    assert (outcome.status, outcome.code) == (TRANSIENT, 40001)
    assert (fetches, sends) == (2, 2)


def test_many_refusals_of_one_token_make_one_refresh(tmp_path):
    async def scenario():
        async with bench(tmp_path) as b:
            await b.client.send("wecom", USERID, "一")
            b.fake.refuse_token("wecom", 42001)
            sends = [b.client.send("wecom", USERID, str(n)) for n in range(6)]
            outcomes = await asyncio.gather(*sends)
            return outcomes, b.fake.token_fetches("wecom")

    outcomes, fetches = run(scenario)
    assert {o.status for o in outcomes} == {SENT}
    assert fetches == 2


def test_no_token_is_transient_and_nothing_is_sent(tmp_path):
    async def scenario():
        async with bench(tmp_path) as b:
            b.fake.fail_token_fetch("oa", {"errcode": 40125, "errmsg": "bad secret"})
            outcome = await b.client.send("oa_custom", OPENID, "你好")
            return outcome, b.fake.sends()

    outcome, sends = run(scenario)
    assert outcome.status == TRANSIENT and "40125" in outcome.detail
    assert sends == []


def test_a_failed_token_fetch_is_not_repeated_at_once(tmp_path):
    async def scenario():
        async with bench(tmp_path) as b:
            b.fake.fail_token_fetch("oa", {"errcode": -1}, times=1)
            sends = [b.client.send("oa_custom", OPENID, str(n)) for n in range(5)]
            first = await asyncio.gather(*sends)
            fetches = b.fake.token_fetches("oa")
            b.clock.advance(seconds=10)
            later = await b.client.send("oa_custom", OPENID, "再试")
            return first, fetches, later, b.fake.token_fetches("oa")

    first, fetches, later, fetches_later = run(scenario)
    assert {o.status for o in first} == {TRANSIENT}
    assert fetches == 1
    assert (later.status, fetches_later) == (SENT, 2)


# The client: what answers mean


@pytest.mark.parametrize(
    "route, answer, status",
    [
        ("oa_custom", {"errcode": 0, "errmsg": "ok"}, SENT),
        ("oa_custom", {"errcode": 45015}, FINAL),
        ("oa_custom", {"errcode": 45047}, FINAL),
        ("oa_custom", {"errcode": 43004}, FINAL),
        ("oa_custom", {"errcode": 40003}, FINAL),
        ("oa_template", {"errcode": 43101}, FINAL),
        ("oa_template", {"errcode": 40037}, FINAL),
        ("oa_custom", {"errcode": 99999}, FINAL),
        ("oa_custom", {"errcode": -1}, TRANSIENT),
        ("oa_custom", {"errcode": 45009}, TRANSIENT),
        ("wecom", {"errcode": 45033}, TRANSIENT),
        ("oa_custom", 500, TRANSIENT),
        ("oa_custom", 503, TRANSIENT),
        ("oa_custom", 429, TRANSIENT),
        ("oa_custom", 404, FINAL),
        ("oa_custom", DISCONNECT, UNKNOWN),
        ("oa_custom", {"errcode": "x"}, UNKNOWN),
        ("wecom", {"errcode": 0, "invaliduser": USERID}, FINAL),
        ("wecom", {"errcode": 0, "invaliduser": ""}, SENT),
        ("wecom", {"errcode": 81013}, FINAL),
    ],
)
def test_answers_are_classified(tmp_path, route, answer, status):
    async def scenario():
        async with bench(tmp_path) as b:
            b.fake.answer(route, answer)
            recipient = USERID if route == "wecom" else OPENID
            return await b.client.send(route, recipient, "你好")

    assert run(scenario).status == status


def test_unreachable_api_is_transient(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = push_config(tmp_path)
    config = replace(
        config, wechat=replace(config.wechat, api_base_url=f"http://127.0.0.1:{port}/")
    )

    async def scenario():
        async with aiohttp.ClientSession() as session:
            return await PushClient(config, session).send("oa_custom", OPENID, "你好")

    assert run(scenario).status == TRANSIENT


# The client: what is sent


def test_bodies_of_the_three_routes(tmp_path):
    async def scenario():
        async with bench(tmp_path) as b:
            for route in ("oa_custom", "oa_template"):
                await b.client.send(route, OPENID, "已认定 3 学时")
            await b.client.send("wecom", USERID, "已认定 3 学时")
            return b.fake.sends()

    custom, template, wecom = run(scenario)
    assert custom.body == {
        "touser": OPENID,
        "msgtype": "text",
        "text": {"content": "已认定 3 学时"},
    }
    assert template.body == {
        "touser": OPENID,
        "template_id": TEMPLATE_ID,
        "data": {"content": {"value": "已认定 3 学时"}},
    }
    assert wecom.body == {
        "touser": USERID,
        "msgtype": "text",
        "agentid": 1000002,
        "text": {"content": "已认定 3 学时"},
    }
    # Chinese goes as UTF-8: some WeChat clients show \u escapes as they are.
    assert "已认定".encode() in custom.raw and b"\\u" not in custom.raw


@pytest.mark.parametrize(
    "text, expected_bytes",
    [
        ("a" * 2048, 2048),
        ("a" * 3000, 2048),
        ("学" * 682 + "a", 2047),  # 2047 bytes: untouched
        ("学" * 700, 2046),  # a cut inside the 683rd character drops it
        ("a" + "学" * 700, 2047),
        ("aa" + "学" * 700, 2048),
        ("😀" * 600, 2048),
        ("a" + "😀" * 600, 2045),
    ],
)
def test_wecom_text_is_cut_at_2048_bytes(tmp_path, text, expected_bytes):
    async def scenario():
        async with bench(tmp_path) as b:
            await b.client.send("wecom", USERID, text)
            return b.fake.sends("wecom")[0].text

    sent = run(scenario)
    assert len(sent.encode()) == expected_bytes
    assert text.startswith(sent)


@given(st.text(max_size=1200), st.integers(min_value=0, max_value=WECOM_TEXT_BYTES))
def test_cut_utf8_is_the_longest_prefix_that_fits(text, limit):
    cut = cut_utf8(text, limit)
    assert text.startswith(cut)
    assert len(cut.encode()) <= limit
    if cut != text:
        assert len(text[: len(cut) + 1].encode()) > limit


def test_route_names_match_the_configuration():
    from bot.config import PUSH_ROUTES

    assert set(ROUTES) == set(PUSH_ROUTES)


# The sender: each row once, routes, backoff, limits


def test_each_row_is_sent_once(tmp_path):
    async def scenario():
        async with bench(tmp_path) as b:
            teacher = b.person()
            b.queue(teacher, "k1", "k2", "k3")
            await b.sender.run_once()
            await b.sender.run_once()
            b.clock.advance(days=1)
            await b.sender.run_once()
            rows = [b.row(key) for key in ("k1", "k2", "k3")]
            return b.fake.sends(), rows, b.store.outbox_counts()

    sends, rows, counts = run(scenario)
    assert [call.text for call in sends] == ["通知 k1", "通知 k2", "通知 k3"]
    assert [(r["state"], r["channel"], r["attempts"]) for r in rows] == [
        ("sent", "oa_custom", 1)
    ] * 3
    assert counts["sent"] == 3 and counts["queued"] == 0


@pytest.mark.parametrize("errcode", [45015, 45047, 43004, 40003])
def test_a_final_answer_moves_the_push_to_the_template(tmp_path, errcode):
    async def scenario():
        async with bench(tmp_path) as b:
            b.queue(b.person(), "k")
            b.fake.answer("oa_custom", {"errcode": errcode})
            await b.sender.run_once()
            return [call.path for call in b.fake.sends()], b.row("k")

    paths, row = run(scenario)
    assert paths == ["cgi-bin/message/custom/send", "cgi-bin/message/template/send"]
    assert (row["state"], row["channel"]) == ("sent", "oa_template")
    assert row["failed_routes"] == "oa_custom"
    assert row["error"].startswith(f"oa_custom: {errcode}")


def test_a_final_answer_moves_the_push_to_wecom_when_the_person_has_it(tmp_path):
    async def scenario():
        async with bench(tmp_path) as b:
            b.queue(b.person(wecom=USERID), "k")
            b.fake.answer("oa_custom", {"errcode": 45015})
            await b.sender.run_once()
            return [(c.path, c.to) for c in b.fake.sends()], b.row("k")

    calls, row = run(scenario)
    assert calls == [
        ("cgi-bin/message/custom/send", OPENID),
        ("cgi-bin/message/send", USERID),
    ]
    assert (row["state"], row["channel"]) == ("sent", "wecom")


def test_when_every_route_refuses_the_push_is_undelivered(tmp_path):
    async def scenario():
        async with bench(tmp_path) as b:
            b.queue(b.person(wecom=USERID), "k")
            b.fake.answer("oa_custom", {"errcode": 45015})
            b.fake.answer("wecom", {"errcode": 0, "invaliduser": USERID})
            b.fake.answer("oa_template", {"errcode": 43004})
            await b.sender.run_once()
            b.clock.advance(days=1)
            await b.sender.run_once()
            return len(b.fake.sends()), b.row("k")

    sends, row = run(scenario)
    assert sends == 3
    assert row["state"] == "undelivered"
    assert row["failed_routes"] == "oa_custom,wecom,oa_template"
    assert "45015" in row["error"] and "43004" in row["error"]


def test_a_person_no_route_reaches_is_undelivered_without_a_call(tmp_path):
    async def scenario():
        async with bench(tmp_path) as b:
            person = b.store.person_for("chat", "本地教师").id
            b.queue(person, "k")
            await b.sender.run_once()
            return b.fake.calls, b.row("k")

    calls, row = run(scenario)
    assert calls == []
    assert row["state"] == "undelivered"
    assert row["error"] == "no configured route reaches this person"


def test_transient_failures_back_off_exponentially(tmp_path):
    async def scenario():
        async with bench(tmp_path, retry_base_seconds=30) as b:
            b.queue(b.person(), "k")
            b.fake.answer("oa_custom", {"errcode": -1}, times=2)
            start, seen = b.clock(), []
            # Move the clock second by second and note when calls happen.
            for _ in range(100):
                await b.sender.run_once()
                seen.append(len(b.fake.sends()))
                b.clock.advance(seconds=1)
            calls_at = [seen.index(n) for n in (1, 2, 3)]
            return calls_at, b.row("k"), b.clock() - start

    calls_at, row, _ = run(scenario)
    assert calls_at == [0, 30, 90]  # waits of 30 s, then 60 s
    assert (row["state"], row["attempts"], row["channel"]) == ("sent", 3, "oa_custom")


def test_transient_failures_give_up_the_route_after_max_attempts(tmp_path):
    async def scenario():
        async with bench(tmp_path, max_attempts=3, retry_max_seconds=60) as b:
            b.queue(b.person(), "k")
            b.fake.answer("oa_custom", 502, times=100)
            for _ in range(10):
                await b.sender.run_once()
                b.clock.advance(minutes=5)
            return [c.path for c in b.fake.sends()], b.row("k")

    paths, row = run(scenario)
    assert paths == ["cgi-bin/message/custom/send"] * 3 + [
        "cgi-bin/message/template/send"
    ]
    assert (row["state"], row["channel"]) == ("sent", "oa_template")
    assert "gave up after 3 tries (HTTP 502)" in row["error"]


def test_a_missing_token_backs_off_without_claiming(tmp_path):
    async def scenario():
        async with bench(tmp_path) as b:
            b.queue(b.person(), "k")
            b.fake.fail_token_fetch("oa", {"errcode": -1}, times=1)
            await b.sender.run_once()
            first = b.row("k")
            b.clock.advance(seconds=30)
            await b.sender.run_once()
            return first, b.row("k"), len(b.fake.sends())

    first, last, sends = run(scenario)
    assert (first["state"], first["attempts"], first["route_attempts"]) == (
        "queued",
        0,
        1,
    )
    assert (last["state"], sends) == ("sent", 1)


def test_an_unknown_outcome_is_never_sent_again(tmp_path):
    async def scenario():
        async with bench(tmp_path) as b:
            b.queue(b.person(wecom=USERID), "k")
            b.fake.answer("oa_custom", DISCONNECT)
            for _ in range(3):
                await b.sender.run_once()
                b.clock.advance(hours=1)
            return len(b.fake.sends()), b.row("k")

    sends, row = run(scenario)
    assert sends == 1
    assert row["state"] == "unknown"


@pytest.mark.parametrize(
    "wrote_hours_ago, route",
    [
        (0.1, "oa_custom"),
        (47.9, "oa_custom"),
        (48, "oa_template"),
        (200, "oa_template"),
        (None, "oa_template"),
    ],
)
def test_customer_service_only_inside_the_48_hour_window(
    tmp_path, wrote_hours_ago, route
):
    async def scenario():
        async with bench(tmp_path) as b:
            b.queue(b.person(wrote_hours_ago=wrote_hours_ago), "k")
            await b.sender.run_once()
            return [c.path for c in b.fake.sends()], b.row("k")

    paths, row = run(scenario)
    assert paths == [ROUTES[route].path]
    assert (row["state"], row["channel"]) == ("sent", route)


def test_customer_service_quota_per_window(tmp_path):
    async def scenario():
        async with bench(tmp_path) as b:
            teacher = b.person()
            b.queue(teacher, *[f"a{n}" for n in range(7)])
            await b.sender.run_once()
            before = [b.row(f"a{n}")["channel"] for n in range(7)]
            # The teacher writes again: a new window with a new quota.
            b.clock.advance(seconds=1)
            b.store.note_inbound("oa", OPENID, b.clock())
            b.queue(teacher, "b0")
            await b.sender.run_once()
            return before, b.row("b0")["channel"]

    before, after = run(scenario)
    assert before == ["oa_custom"] * 5 + ["oa_template"] * 2
    assert after == "oa_custom"


def test_wecom_members_get_at_most_30_a_minute(tmp_path):
    async def scenario():
        async with bench(tmp_path, routes=("wecom",)) as b:
            member = b.store.person_for("wecom", USERID).id
            b.queue(member, *[f"k{n:02}" for n in range(35)])
            counts = []
            for _ in range(4):
                await b.drain()
                counts.append(len(b.fake.sends()))
                b.clock.advance(seconds=30)
            return counts, b.store.outbox_counts()

    counts, states = run(scenario)
    assert counts == [30, 30, 30, 35]  # the minute ends after 60 s
    assert states["sent"] == 35


def test_wecom_members_get_at_most_the_hourly_cap(tmp_path):
    async def scenario():
        async with bench(tmp_path, routes=("wecom",), wecom_per_hour=4) as b:
            member = b.store.person_for("wecom", USERID).id
            b.queue(member, *[f"k{n}" for n in range(6)])
            counts = []
            for _ in range(3):
                await b.sender.run_once()
                counts.append(len(b.fake.sends()))
                b.clock.advance(minutes=40)
            return counts

    assert run(scenario) == [4, 4, 6]


def test_two_senders_on_one_database_send_each_row_once(tmp_path):
    async def scenario():
        async with bench(tmp_path) as b:
            b.queue(b.person(), *[f"k{n}" for n in range(8)])
            other = Store(b.config.storage.database)
            twin = OutboxSender(other, b.client, b.sender.settings, clock=b.clock)
            try:
                await asyncio.gather(b.sender.run_once(), twin.run_once())
            finally:
                other.close()
            return [call.text for call in b.fake.sends()]

    texts = run(scenario)
    assert sorted(texts) == [f"通知 k{n}" for n in range(8)]


def test_a_row_in_flight_at_start_is_not_sent_again(tmp_path):
    async def scenario():
        async with bench(tmp_path) as b:
            teacher = b.person()
            b.queue(teacher, "crashed", "waiting")
            crashed = b.row("crashed")["id"]
            assert b.store.claim_push(crashed, "oa_custom", OPENID, b.clock())
            b.sender.start()
            await b.sender.run_once()
            await b.sender.stop()
            return [c.text for c in b.fake.sends()], b.store.outbox_counts()

    texts, counts = run(scenario)
    assert texts == ["通知 waiting"]
    assert (counts["unknown"], counts["sent"]) == (1, 1)


@pytest.mark.parametrize(
    "kind, event, last_wrote",
    [
        (TEXT, "", "now"),
        (EVENT, "subscribe", "now"),
        (EVENT, "click", "now"),
        (EVENT, "scan", "now"),
        (EVENT, "view", "before"),
        (EVENT, "location", "before"),
        (EVENT, "templatesendjobfinish", "before"),
        (EVENT, "unsubscribe", None),
    ],
)
def test_which_messages_open_the_window(tmp_path, kind, event, last_wrote):
    async def scenario():
        async with bench(tmp_path) as b:
            person = b.person(wrote_hours_ago=10)
            times = {"now": b.clock(), "before": b.clock() - timedelta(hours=10)}
            note_contact(b.store, Inbound("oa", OPENID, kind, b.clock(), event=event))
            recipient = b.store.push_recipients(person)["oa"]
            return recipient.last_inbound_at, times.get(last_wrote)

    recorded, expected = run(scenario)
    assert recorded == expected


# Through the real app


class Pushing(Conversation):
    """The real conversation, except that each message queues one push to its sender."""

    def __init__(self, path) -> None:
        super().__init__(Store(path), load_standards(), "capped-50")

    def _draft(self, inbound):
        return None

    def _dispatch(self, inbound):
        person = self.store.person_for(inbound.channel, inbound.user)
        self.store.enqueue_push(person.id, f"回执 {inbound.text}", inbound.key)
        return "收到"


def test_the_webhook_opens_the_window_and_the_push_leaves_after_the_answer(tmp_path):
    async def scenario():
        async with FakeWeChat() as fake:
            config = fake.configure(push_config(tmp_path, routes=("oa_custom",)))
            async with (
                serving(config, Pushing(config.storage.database)) as base,
                aiohttp.ClientSession() as session,
            ):
                url = base + config.server.path
                fake.hold_sends()
                answer = await wechat_sim.send(session, url, config, OPENID, "证书")
                await fake.wait_for_sends(1)
                fake.release_sends()
                await _until_none(config, "sending")
            return answer, fake.sends()

    answer, sends = run(scenario)
    # The push was held by the fake, yet the answer came: it did not wait for it.
    assert answer == "收到"
    assert [(call.to, call.text) for call in sends] == [(OPENID, "回执 证书")]


def test_a_restart_in_the_middle_loses_no_push_and_sends_none_twice(tmp_path):
    keys = [f"decision:{n}" for n in range(5)]

    async def scenario():
        async with FakeWeChat() as fake:
            config = fake.configure(push_config(tmp_path, drain_seconds=0.2))
            store = Store(config.storage.database)
            teacher = store.person_for("oa", OPENID).id
            store.note_inbound("oa", OPENID, datetime.now(UTC))
            for key in keys:
                store.enqueue_push(teacher, key, key)

            # The third send hangs; the app stops while WeChat still holds it.
            fake.hold_sends(after=2)
            async with serving(config, Conversationless()):
                await fake.wait_for_sends(3)
            middle = store.outbox_counts()

            fake.release_sends()
            async with serving(config, Conversationless()):
                await _until_none(config, "queued")
            end = store.outbox_counts()
            states = {key: _state(store, key) for key in keys}
            store.close()
            return [call.text for call in fake.sends()], middle, end, states

    texts, middle, end, states = run(scenario)
    assert sorted(texts) == keys  # each key received exactly once
    assert (middle["sent"], middle["sending"], middle["queued"]) == (2, 1, 2)
    assert (end["sent"], end["unknown"], end["queued"]) == (4, 1, 0)
    assert states[keys[2]] == "unknown"


class Conversationless:
    def handle(self, inbound):
        return None

    def close(self):
        pass


def _state(store, key):
    return next(store.db["outbox"].rows_where("key = ?", [key]))["state"]


async def _until_none(config, state, timeout=5.0):
    """Wait until no row of the database is in `state`."""
    store = Store(config.storage.database)
    try:
        for _ in range(int(timeout / 0.02)):
            if not store.outbox_counts()[state]:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"rows still {state}")
    finally:
        store.close()


def test_no_app_sender_without_a_configured_route(tmp_path):
    assert not push_configured(make_config(tmp_path))
    assert push_configured(push_config(tmp_path, routes=("wecom",)))
    no_template = make_config(tmp_path, app_secret="s")
    only_template = PushConfig(routes=("oa_template",))
    assert not push_configured(replace(no_template, push=only_template))


def test_logs_above_debug_name_no_person_text_or_secret(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)

    async def scenario():
        async with bench(tmp_path) as b:
            b.queue(b.person(wecom=USERID), "k1", "k2")
            b.fake.answer("oa_custom", {"errcode": 45015})
            b.fake.answer("wecom", {"errcode": -1})
            await b.sender.run_once()

    run(scenario)
    info = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert info
    for secret in (OPENID, USERID, "通知", "oa-token", "oa-secret", "wecom-secret"):
        assert not [m for m in info if secret in m], secret


# The command line and the configuration


def test_outbox_command_prints_the_counts(tmp_path, capsys):
    database = tmp_path / "xueshi.db"
    store = Store(database)
    person = store.person_for("oa", OPENID).id
    store.enqueue_push(person, "一", "k1")
    store.enqueue_push(person, "二", "k2")
    first = store.pushes_due(datetime.now(UTC), 1)[0]
    store.claim_push(first.id, "oa_custom", OPENID, datetime.now(UTC))
    store.close()
    config = tmp_path / "xueshi.toml"
    config.write_text(f'[storage]\ndatabase = "{database}"\n', encoding="utf-8")

    assert cli.main(["outbox", "--config", str(config)]) == 0
    lines = capsys.readouterr().out.split("\n")
    assert [line.split() for line in lines if line] == [
        ["queued", "1"],
        ["sending", "1"],
        ["sent", "0"],
        ["undelivered", "0"],
        ["unknown", "0"],
    ]


@pytest.mark.parametrize(
    "toml, message",
    [
        ('[push]\nroutes = ["sms"]', "push.routes: unknown route 'sms'"),
        ('[push]\nroutes = "wecom"', "push.routes: expected a list of names"),
        ("[push]\nmax_attempts = 0", "push.max_attempts: expected a number above 0"),
        ("[push]\nbackoff = 3", "push.backoff: unknown setting"),
    ],
)
def test_push_settings_are_checked(tmp_path, toml, message):
    path = tmp_path / "c.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_config(path, env={})


def test_push_settings_and_template_from_the_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(
        '[wechat]\ntemplate_id = "T1"\ntemplate_field = "thing1"\n'
        '[push]\nroutes = ["oa_template"]\nwecom_per_minute = 20\n',
        encoding="utf-8",
    )
    config = load_config(path, env={})
    assert (config.wechat.template_id, config.wechat.template_field) == ("T1", "thing1")
    assert (config.push.routes, config.push.wecom_per_minute) == (("oa_template",), 20)
    assert config.push.oa_window_quota == PushConfig().oa_window_quota


def test_the_example_configuration_loads():
    config = load_config(Path(__file__).parents[1] / "config.example.toml", env={})
    assert not config.wecom.enabled
    assert config.push == PushConfig()
