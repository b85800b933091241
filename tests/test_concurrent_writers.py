"""Claims worked out outside the write lock stay right when others write meanwhile.

A claim's answer is prepared from a read-only snapshot, then written under the
lock only if what it read still holds; otherwise it is worked out again. Two
Conversations on one SQLite file stand for two worker processes here, and one
test runs `python -m bot serve` with two real workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import aiohttp
import pytest

from bot import wechat_sim
from bot.config import Config, ServerConfig, StorageConfig, WechatConfig
from handlers.conversation import Conversation
from handlers.inbound import TEXT, Inbound
from scoring.standard import load_standards
from storage.store import Store

NOW = datetime(2026, 12, 3, 4, 0, tzinfo=UTC)  # 12:00 in China
STANDARDS = load_standards()


@pytest.fixture
def pair(tmp_path):
    """Two conversations, each with its own connection to one database file."""
    convs = [
        Conversation(Store(tmp_path / "x.db"), STANDARDS, "capped-50", lambda: NOW)
        for _ in range(2)
    ]
    yield convs
    for conv in convs:
        conv.close()


def message(text, user="u1", key=None):
    return Inbound("oa", user, TEXT, NOW, text=text, key=key or f"{user}:{text}")


def numbers(conv, user="u1"):
    person = conv.store.find_person("oa", user)
    rows = conv.store.db.query(
        "SELECT number FROM claims WHERE person_id = ? ORDER BY number", [person.id]
    )
    return [row["number"] for row in rows]


def fresh_total(tmp_path, user="u1"):
    """The claimed total worked out again by a third, new connection."""
    conv = Conversation(Store(tmp_path / "x.db"), STANDARDS, "capped-50", lambda: NOW)
    try:
        return conv.summary("oa", user).claimed.total
    finally:
        conv.close()


def test_a_claim_written_meanwhile_is_counted_and_numbered_before_the_draft(
    pair, tmp_path
):
    a, b = pair
    a.handle(message("公开课 县级 1次"))
    prepared = a.prepare(message("听课 12节"))
    assert prepared is not None and "#2 听课" in prepared[0].reply

    assert "#2 评课" in b.handle(message("评课 3次"))
    reply = a.complete(message("听课 12节"), prepared)

    # Worked out again: the number and the total include the other worker's claim.
    assert "#3 听课" in reply
    assert numbers(a) == [1, 2, 3]
    assert "已申报 5.9学时" in reply
    assert fresh_total(tmp_path) == Fraction(59, 10)


def test_a_draft_others_did_not_touch_is_written_as_prepared(pair, tmp_path):
    a, b = pair
    a.handle(message("公开课 县级 1次"))
    prepared = a.prepare(message("读书笔记 2篇"))
    b.handle(message("公开课 县级 1次", user="u2"))  # another teacher

    assert a.complete(message("读书笔记 2篇"), prepared) == prepared[0].reply
    assert numbers(a) == [1, 2]
    assert "已申报 4学时" in prepared[0].reply
    assert fresh_total(tmp_path) == Fraction(4)


def test_a_question_asked_meanwhile_sends_the_message_down_the_locked_path(pair):
    a, b = pair
    a.handle(message("听课 2节"))
    prepared = a.prepare(message("公开课 县级 1次"))
    b.handle(message("公开课"))  # asks which level
    person = a.store.find_person("oa", "u1")
    assert a.store.open_question(person.id, NOW) is not None

    reply = a.complete(message("公开课 县级 1次"), prepared)

    # The locked path saw the question, and the full claim replaced it.
    assert "#2 公开课" in reply
    assert a.store.open_question(person.id, NOW) is None


def test_a_delivery_answered_by_another_worker_meanwhile_is_answered_the_same(pair):
    a, b = pair
    a.handle(message("公开课 县级 1次"))
    again = message("听课 12节", key="u1:42")
    prepared = a.prepare(again)
    first = b.handle(again)

    assert a.complete(again, prepared) == first
    assert numbers(a) == [1, 2]


def test_preparing_writes_nothing(pair):
    a, b = pair
    a.handle(message("公开课 县级 1次"))
    version = b.store.data_version()
    before = _dump(b.store)

    assert a.prepare(message("听课 12节")) is not None
    assert b.store.data_version() == version
    assert _dump(b.store) == before


def test_only_claims_from_known_people_without_a_question_are_prepared(pair):
    a, _ = pair
    assert a.prepare(message("公开课 县级 1次", user="new")) is None
    a.handle(message("听课 2节"))
    assert a.prepare(message("查询")) is None
    assert a.prepare(message("   ")) is None
    a.handle(message("公开课"))  # an open question
    assert a.prepare(message("县级")) is None


def test_data_version_moves_only_for_other_connections(pair):
    a, b = pair
    start = a.store.data_version()
    a.handle(message("公开课 县级 1次"))
    assert a.store.data_version() == start
    b.handle(message("听课 2节", user="u2"))
    assert a.store.data_version() != start


def _dump(store):
    tables = ("claims", "standings", "questions", "inbox", "contacts", "people")
    return {t: [tuple(r.values()) for r in store.db[t].rows] for t in tables}


# --- two real worker processes ---------------------------------------------------


@contextlib.contextmanager
def _two_workers(tmp_path):
    """`python -m bot serve` with two workers, once it says it listens."""
    config = Config(
        server=ServerConfig(host="127.0.0.1", port=_free_port()),
        storage=StorageConfig(database=tmp_path / "xueshi.db"),
        wechat=WechatConfig(mode="plain", token="workertoken"),
    )
    path = tmp_path / "config.toml"
    path.write_text(_toml(config, workers=2), encoding="utf-8")
    argv = [sys.executable, "-m", "bot", "serve", "--config", str(path)]
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as server:
        try:
            _wait_for_line(server, "listening on")
            yield config, server
        finally:
            server.kill()  # whatever the test did; Popen then waits for it


TEXTS = ("公开课 县级 1次", "听课 12节", "评课 3次", "读书笔记 2篇", "教学反思 2篇")
TEACHERS = [f"o{n:027d}" for n in range(4)]


def test_two_worker_processes_record_each_claim_once_with_its_own_number(tmp_path):
    with _two_workers(tmp_path) as (config, server):
        try:
            replies = asyncio.run(_deliver_all(config))
        finally:
            server.terminate()
            server.wait(timeout=20)

    store = Store(tmp_path / "xueshi.db")
    try:
        for user in TEACHERS:
            person = store.find_person("oa", user)
            rows = list(store.db.query(
                "SELECT number, text FROM claims WHERE person_id = ? ORDER BY number",
                [person.id]))  # fmt: skip
            # Each message once (every one was delivered twice), numbered 1..n.
            assert [r["number"] for r in rows] == list(range(1, len(TEXTS) + 1))
            assert sorted(r["text"] for r in rows) == sorted(TEXTS)
            shown = [re.search(r"#(\d+) ", replies[user, t]).group(1) for t in TEXTS]
            assert sorted(map(int, shown)) == list(range(1, len(TEXTS) + 1))
    finally:
        store.close()
    conv = Conversation(Store(tmp_path / "xueshi.db"), STANDARDS, "capped-50")
    try:
        single = Conversation(Store(tmp_path / "one.db"), STANDARDS, "capped-50")
        for text in TEXTS:
            single.handle(Inbound("oa", "x", TEXT, datetime.now(UTC), text=text))
        for user in TEACHERS:
            # The same claims in any order reach the same total.
            assert (
                conv.summary("oa", user).claimed.total
                == single.summary("oa", "x").claimed.total
            )
        single.close()
    finally:
        conv.close()


async def _deliver_all(config: Config) -> dict[tuple[str, str], str]:
    url = wechat_sim.default_url(config)
    # A new connection per request: the kernel spreads them over both workers.
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        jobs = [
            (user, text, 10**9 + 100 * n + k)
            for n, user in enumerate(TEACHERS)
            for k, text in enumerate(TEXTS)
        ]
        deliveries = [(u, t, wechat_sim.build_request(config, u, text=t, msg_id=m))
                      for u, t, m in jobs for _ in range(2)]  # fmt: skip

        async def one(user, text, request):
            params, body = request
            return user, text, await wechat_sim.post(session, url, config, params, body)

        answers = await asyncio.gather(*(one(*d) for d in deliveries))
    replies: dict[tuple[str, str], str] = {}
    for user, text, reply in answers:
        # Both deliveries of a message get the same answer.
        assert replies.setdefault((user, text), reply) == reply
    return replies


def _wait_for_line(process: subprocess.Popen, text: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    lines = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if text in line:
            return
    raise AssertionError("server did not start:\n" + "".join(lines))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _toml(config: Config, workers: int) -> str:
    values = {
        "server": {"host": "127.0.0.1", "port": config.server.port, "workers": workers},
        "storage": {"database": str(config.storage.database)},
        "wechat": {"mode": "plain", "token": config.wechat.token},
    }
    return "".join(
        f"[{section}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in table.items())
        for section, table in values.items()
    )


def test_a_dead_worker_is_replaced_and_workers_stop_with_serve(tmp_path):
    # Left alone, a worker would keep answering on the port with nobody to stop it.
    with _two_workers(tmp_path) as (config, server):
        try:
            workers = _workers_of(server.pid)
            assert len(workers) == 1
            # A worker that dies is replaced while `serve` runs.
            os.kill(workers[0], signal.SIGKILL)
            _wait_for_line(server, "starting another")
            deadline = time.monotonic() + 15
            while (
                _workers_of(server.pid) in ([], workers) and time.monotonic() < deadline
            ):
                time.sleep(0.1)
            workers = _workers_of(server.pid)
            assert len(workers) == 1 and _alive(workers)
            server.kill()
            server.wait(timeout=10)
            deadline = time.monotonic() + 15
            while _alive(workers) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not _alive(workers)
        finally:
            server.kill()


def _workers_of(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == parent and b"spawn_main" in cmdline:
            found.append(int(stat.parent.name))
    return found


def _alive(pids: list[int]) -> bool:
    alive = False
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        alive = alive or state != "Z"  # a zombie has stopped; its parent is gone
    return alive


# --- a teacher's claims kept between messages ------------------------------------------


def test_the_claims_kept_after_a_message_are_those_the_database_holds(pair):
    a, _ = pair
    for text in (
        "公开课 市级 1次",
        "10月18日 公开课 县级 1次",
        "听课 12节",
        "评课 3次",
    ):
        a.handle(message(text))
        person = a.store.find_person("oa", "u1")
        kept = a.store.claims_of(person, "2026-09-01")
        fresh = (
            a.store.claims_for(person.id, "2026-09-01"),
            a.store.next_number(person.id),
        )
        assert kept == fresh


@pytest.mark.parametrize(
    "change",
    [
        "INSERT INTO claims (person_id, number, period, item, facts, status, "
        "standard_id, hours_raw, hours_counted) SELECT person_id, 99, period, item, "
        "facts, status, standard_id, hours_raw, hours_counted FROM claims "
        "WHERE person_id = :p",
        "UPDATE claims SET status = 'approved' WHERE person_id = :p",
        "UPDATE claims SET hours_counted = '1' WHERE person_id = :p",
        "DELETE FROM claims WHERE person_id = :p",
    ],
    ids=["insert", "status", "hours", "delete"],
)
def test_any_change_to_a_teachers_claims_moves_their_revision(pair, change):
    a, b = pair
    a.handle(message("公开课 县级 1次"))
    before = a.store.find_person("oa", "u1")
    a.store.claims_of(before, "2026-09-01")  # kept in a's process
    with b.store.transaction():
        b.store.db.execute(change, {"p": before.id})
    after = a.store.find_person("oa", "u1")
    assert after.revision != before.revision
    assert a.store.claims_of(after, "2026-09-01") == (
        a.store.claims_for(after.id, "2026-09-01"),
        a.store.next_number(after.id),
    )


def test_claims_kept_from_a_rolled_back_write_are_not_used(pair):
    a, b = pair
    a.handle(message("公开课 县级 1次"))
    prepared = a.prepare(message("听课 12节"))
    person = a.store.find_person("oa", "u1")
    with pytest.raises(RuntimeError), a.store.transaction():
        prepared[0].write(a.store)  # keeps #1 and #2 under the revision it wrote
        raise RuntimeError("the answer could not be kept")
    # Another process makes as many changes: the revision comes back to the same.
    b.handle(message("评课 3次"))
    after = a.store.find_person("oa", "u1")
    assert after.revision == person.revision + 1
    assert a.store.claims_of(after, "2026-09-01") == (
        a.store.claims_for(after.id, "2026-09-01"),
        a.store.next_number(after.id),
    )
