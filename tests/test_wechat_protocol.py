"""The Official Account callback over real HTTP, with a recording conversation."""

from __future__ import annotations

import hashlib
import logging
import socket
import time
from dataclasses import replace
from pathlib import Path

import pytest
import xmltodict
from hypothesis import given, settings
from hypothesis import strategies as st
from wechatpy.crypto import WeChatCrypto

from bot import wechat, wechat_sim
from bot.config import load_config
from bot.wechat_sim import (
    DEFAULT_ACCOUNT,
    message_fields,
    render_xml,
    send_main,
    sign_query,
)
from tests.support import (
    AES_KEY,
    APP_ID,
    TOKEN,
    USER,
    app_in_thread,
    make_config,
    raw_post,
    run_against_app,
)

ANSWER = "已登记：县级培训 3 天，计 24 学时。"


class Recorder:
    """A conversation that records every message and answers from a script."""

    def __init__(self, answer: str | None | Exception = ANSWER) -> None:
        self.answer = answer
        self.inbounds = []
        self.closed = False

    def handle(self, inbound):
        self.inbounds.append(inbound)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def close(self):
        self.closed = True


def reply_fields(config, params, body):
    """The reply XML's fields, decrypted when the request was encrypted."""
    reply = xmltodict.parse(body)["xml"]
    if params.get("encrypt_type") != "aes":
        return reply
    crypto = WeChatCrypto(TOKEN, config.wechat.encoding_aes_key, APP_ID)
    xml = crypto.decrypt_message(
        reply, reply["MsgSignature"], reply["TimeStamp"], reply["Nonce"]
    )
    return xmltodict.parse(xml)["xml"]


def exchange(config, conversation, params, body):
    """POST one request to the real app; its status and body."""

    async def scenario(session, url):
        return await raw_post(session, url, params, body)

    return run_against_app(config, conversation, scenario)


# Requests built by hand

GOOD = message_fields(USER, text="参加县级培训3天", msg_id=1)


def plain(config, body, **query):
    """A correctly signed plain-mode request carrying `body` as it is."""
    now = str(int(time.time()))
    params = {**sign_query(config, USER, timestamp=now, nonce="77"), **query}
    return params, body.encode() if isinstance(body, str) else body


def good_with(**fields):
    return render_xml({**GOOD, **fields})


def without(name, fields=GOOD):
    return render_xml({k: v for k, v in fields.items() if k != name})


def envelope(config, encrypt, **query):
    """A safe-mode request whose (signed) Encrypt is `encrypt`."""
    now = str(int(time.time()))
    params = sign_query(config, USER, timestamp=now, nonce="77", encrypt=encrypt)
    body = render_xml({"ToUserName": DEFAULT_ACCOUNT, "Encrypt": encrypt})
    return {**params, **query}, body.encode()


def sealed(config, xml, **options):
    return envelope(config, wechat_sim.encrypt_message(config, xml, **options))


def stamped(config, timestamp):
    params = sign_query(config, USER, timestamp=timestamp, nonce="77")
    return params, good_with().encode()


def sealed_with(config, **query):
    params, body = sealed(config, good_with())
    return {**params, **query}, body


def sealed_stale(config):
    return wechat_sim.build_request(config, USER, text="学时", timestamp=STALE)


# GET verification


@pytest.mark.parametrize(
    "change, status, answer",
    [
        ({}, 200, b"5927782489442352469"),
        ({"signature": "0" * 40}, 403, b"bad signature"),
        ({"nonce": "42"}, 403, b"bad signature"),
        ({"signature": None}, 403, b"bad signature"),
        ({"echostr": None}, 400, b"echostr missing"),
    ],
)
def test_get_verification(tmp_path, change, status, answer):
    config = make_config(tmp_path, mode="safe")
    params = sign_query(config, USER, timestamp="1714037059", nonce="486452656")
    del params["openid"]
    params["echostr"] = "5927782489442352469"
    params.update(change)
    params = {name: value for name, value in params.items() if value is not None}

    async def scenario(session, url):
        async with session.get(url, params=params) as response:
            return response.status, await response.read()

    assert run_against_app(config, Recorder(), scenario) == (status, answer)


def test_health_and_close(tmp_path):
    config = make_config(tmp_path)
    recorder = Recorder()

    async def scenario(session, url):
        async with session.get(url.removesuffix(config.server.path) + "/healthz") as r:
            return r.status, await r.text()

    assert run_against_app(config, recorder, scenario) == (200, "ok")
    assert recorder.closed


# Text messages in each mode


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
def test_text_message_gets_the_answer(tmp_path, mode):
    config = make_config(tmp_path, mode=mode)
    recorder = Recorder()
    params, body = wechat_sim.build_request(
        config, USER, text="参加县级培训3天", msg_id=24397890123456789
    )

    status, answer = exchange(config, recorder, params, body)

    assert status == 200
    reply = reply_fields(config, params, answer)
    assert reply["ToUserName"] == USER
    assert reply["FromUserName"] == DEFAULT_ACCOUNT
    assert reply["MsgType"] == "text"
    assert reply["Content"] == ANSWER
    assert abs(int(reply["CreateTime"]) - time.time()) < 60
    assert wechat_sim.parse_reply(config, params, answer) == ANSWER
    (inbound,) = recorder.inbounds
    assert (inbound.channel, inbound.user, inbound.kind) == ("oa", USER, "text")
    assert inbound.text == "参加县级培训3天"
    assert inbound.key == f"{USER}:24397890123456789"
    assert inbound.received_at.tzinfo is not None


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_cdata_end_in_the_answer_is_split(tmp_path, mode):
    config = make_config(tmp_path, mode=mode)
    answer = "第一]]>第二]]><b>第三</b>]]>"
    params, body = wechat_sim.build_request(config, USER, text="查询")

    status, raw = exchange(config, Recorder(answer), params, body)

    assert status == 200
    reply = reply_fields(config, params, raw)
    assert reply["Content"] == answer
    if mode == "plain":
        assert b"]]]]><![CDATA[>" in raw


@pytest.mark.parametrize("answer", [None, "", "  \n", "\x01\x02"])
def test_nothing_to_say_is_success(tmp_path, answer):
    config = make_config(tmp_path, mode="safe")
    recorder = Recorder(answer)
    params, body = wechat_sim.build_request(config, USER, text="好")

    assert exchange(config, recorder, params, body) == (200, b"success")
    assert len(recorder.inbounds) == 1


def test_failing_conversation_is_success_and_the_next_is_served(tmp_path):
    config = make_config(tmp_path)
    recorder = Recorder(RuntimeError("database is locked"))

    async def scenario(session, url):
        first = await raw_post(session, url, *wechat_sim.build_request(config, USER))
        recorder.answer = ANSWER
        second = await wechat_sim.send(session, url, config, USER, "再试")
        return first, second

    assert run_against_app(config, recorder, scenario) == ((200, b"success"), ANSWER)


# Kinds of message


@pytest.mark.parametrize(
    "request_args, expected",
    [
        (
            {"kind": "voice", "text": "听课两节"},
            {"kind": "voice", "text": "听课两节", "media_id": "sim-voice-media-id"},
        ),
        ({"kind": "voice", "text": None}, {"kind": "voice", "text": ""}),
        ({"kind": "voice", "text": ""}, {"kind": "voice", "text": ""}),
        (
            {"kind": "image"},
            {"kind": "image", "text": "", "media_id": "sim-image-media-id"},
        ),
        (
            {"kind": "file", "fields": {"Title": "证书.pdf", "FileKey": "k1"}},
            {"kind": "file", "text": "", "media_id": ""},
        ),
        (
            {"kind": "location", "fields": {"Location_X": "23.1", "Label": "学校"}},
            {"kind": "other", "text": "", "event": ""},
        ),
        ({"kind": "event"}, {"kind": "event", "event": "subscribe"}),
        (
            {
                "kind": "event",
                "event": "subscribe",
                "fields": {"EventKey": "qrscene_7"},
            },
            {"kind": "event", "event": "subscribe"},
        ),
        (
            {"kind": "event", "event": "CLICK", "fields": {"EventKey": "QUERY"}},
            {"kind": "event", "event": "click"},
        ),
        (
            {"kind": "event", "event": "unsubscribe"},
            {"kind": "event", "event": "unsubscribe"},
        ),
        (
            {"kind": "event", "event": "TEMPLATESENDJOBFINISH"},
            {"kind": "event", "event": "templatesendjobfinish"},
        ),
    ],
)
@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_kinds_become_inbound(tmp_path, mode, request_args, expected):
    config = make_config(tmp_path, mode=mode)
    recorder = Recorder()
    params, body = wechat_sim.build_request(config, USER, **request_args)

    assert exchange(config, recorder, params, body)[0] == 200

    (inbound,) = recorder.inbounds
    assert inbound.user == USER
    for name, value in expected.items():
        assert getattr(inbound, name) == value


def test_event_key_is_the_hash_of_the_whole_xml(tmp_path):
    config = make_config(tmp_path)
    params, body = wechat_sim.build_request(config, USER, kind="event", event="CLICK")
    delivery = wechat.decode_post(config, params, body)
    assert delivery.inbound.key == hashlib.sha256(body).hexdigest()


def test_duplicate_keys(tmp_path):
    config = make_config(tmp_path, mode="safe")
    now = str(int(time.time()))

    def key(user, **request_args):
        params, body = wechat_sim.build_request(
            config, user, timestamp=now, **request_args
        )
        return wechat.decode_post(config, params, body).inbound.key

    # A delivery repeated by WeChat is encrypted afresh but keeps its key.
    assert key(USER, msg_id=7) == key(USER, msg_id=7) == f"{USER}:7"
    assert key(USER, msg_id=7) != key("o_other_teacher", msg_id=7)
    click = {"kind": "event", "event": "CLICK"}
    assert key(USER, **click) == key(USER, **click)
    other_click = {**click, "fields": {"EventKey": "OTHER"}}
    assert key(USER, **click) != key(USER, **other_click)


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_control_characters_are_stripped(tmp_path, mode):
    config = make_config(tmp_path, mode=mode)
    recorder = Recorder()
    params, body = wechat_sim.build_request(
        config, USER, text="\x01参加\x0b培训\x1f2天\x7f"
    )

    assert exchange(config, recorder, params, body)[0] == 200
    assert recorder.inbounds[0].text == "参加培训2天\x7f"


@pytest.mark.parametrize("query, expected", [({}, "明文"), ({"aes": True}, "密文")])
def test_compatible_body_is_read_as_encrypt_type_says(tmp_path, query, expected):
    config = make_config(tmp_path, mode="compatible")
    secret = render_xml(message_fields(USER, text="密文"))
    encrypt = wechat_sim.encrypt_message(config, secret)
    body = render_xml({**message_fields(USER, text="明文"), "Encrypt": encrypt})
    now = str(int(time.time()))
    params = sign_query(
        config, USER, timestamp=now, nonce="5", encrypt=encrypt if query else None
    )

    delivery = wechat.decode_post(config, params, body.encode())

    assert delivery.inbound.text == expected
    assert (delivery.aes_key is not None) == bool(query)


@pytest.mark.parametrize("extra, refused", [(0, False), (1, True)])
def test_body_limit_is_inclusive(tmp_path, extra, refused):
    config = make_config(tmp_path)
    body = good_with().encode()
    config = replace(
        config, server=replace(config.server, max_body_bytes=len(body) - extra)
    )
    params, body = plain(config, body)

    async def scenario(session, url):
        return await raw_post(session, url, params, body)

    recorder = Recorder()
    status, _ = run_against_app(config, recorder, scenario)
    assert (status, len(recorder.inbounds)) == ((413, 0) if refused else (200, 1))


def test_no_openid_or_text_at_info_level(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    config = make_config(tmp_path, mode="safe")

    async def scenario(session, url):
        await wechat_sim.send(session, url, config, USER, "参加县级培训3天")
        await raw_post(session, url, *plain(config, good_with()))

    run_against_app(config, Recorder(), scenario)

    info = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    debug = [r.getMessage() for r in caplog.records if r.levelno < logging.INFO]
    assert info and not [m for m in info if USER in m or "培训" in m]
    assert [m for m in debug if USER in m]


# The send command


def write_config(tmp_path, mode):
    path = tmp_path / "xueshi.toml"
    path.write_text(
        f"""
[storage]
database = "{tmp_path / "xueshi.db"}"
[wechat]
mode = "{mode}"
token = "{TOKEN}"
app_id = "{APP_ID}"
encoding_aes_key = "{AES_KEY}"
""",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_send_command_prints_the_reply(tmp_path, capsys, mode):
    path = write_config(tmp_path, mode)
    config = load_config(path, env={})
    recorder = Recorder()

    with app_in_thread(config, recorder) as base_url:
        argv = ["--config", str(path), "--url", base_url + config.server.path]
        status = send_main([*argv, "--user", "o_cli", "听评课 2 节"])

    assert (status, capsys.readouterr().out) == (0, ANSWER + "\n")
    assert [(i.user, i.text) for i in recorder.inbounds] == [("o_cli", "听评课 2 节")]


def test_send_command_reports_an_unreachable_server(tmp_path, capsys):
    path = write_config(tmp_path, "plain")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    status = send_main(
        ["--config", str(path), "--url", f"http://127.0.0.1:{port}/wechat", "hi"]
    )

    captured = capsys.readouterr()
    assert status == 1
    assert captured.out == ""
    assert captured.err.startswith("error: http://127.0.0.1:")


# Hostile and broken input

XXE = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    + good_with(Content="&xxe;").replace("<![CDATA[&xxe;]]>", "&xxe;")
)
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    ).replace("&lol0;", "&lol;")
    + "]><xml><Content>&lol9;</Content></xml>"
)
STALE = str(int(time.time()) - 3600)
SOON = str(int(time.time()) + 3600)

HOSTILE = [
    # (name, mode, build(config) -> (params, body), status)
    ("doctype xxe", "plain", lambda c: plain(c, XXE), 400),
    ("billion laughs", "plain", lambda c: plain(c, LAUGHS), 400),
    (
        "lower-case doctype",
        "plain",
        lambda c: plain(c, "<!doctype x>" + good_with()),
        400,
    ),
    (
        "bare entity",
        "plain",
        lambda c: plain(c, good_with(Content="<!ENTITY a 'b'>")),
        400,
    ),
    (
        "utf-16 doctype",
        "plain",
        lambda c: plain(c, ("<!DOCTYPE x>" + good_with()).encode("utf-16")),
        200,
    ),
    (
        "doctype inside encryption",
        "safe",
        lambda c: sealed(c, "<!DOCTYPE x>" + good_with()),
        400,
    ),
    ("oversize", "plain", lambda c: plain(c, good_with(Content="学" * 30000)), 413),
    ("missing FromUserName", "plain", lambda c: plain(c, without("FromUserName")), 200),
    ("missing ToUserName", "plain", lambda c: plain(c, without("ToUserName")), 200),
    ("missing MsgType", "plain", lambda c: plain(c, without("MsgType")), 200),
    ("missing Content", "plain", lambda c: plain(c, without("Content")), 200),
    (
        "image without MediaId",
        "plain",
        lambda c: plain(c, without("MediaId", message_fields(USER, kind="image"))),
        200,
    ),
    (
        "duplicated Content",
        "plain",
        lambda c: plain(
            c, good_with().replace("</xml>", "<Content>又一条</Content></xml>")
        ),
        200,
    ),
    (
        "duplicated FromUserName",
        "plain",
        lambda c: plain(
            c, good_with().replace("</xml>", "<FromUserName>o2</FromUserName></xml>")
        ),
        200,
    ),
    ("non-numeric MsgId", "plain", lambda c: plain(c, good_with(MsgId="abc")), 200),
    ("full-width MsgId", "plain", lambda c: plain(c, good_with(MsgId="１２３")), 200),
    ("negative MsgId", "plain", lambda c: plain(c, good_with(MsgId="-5")), 200),
    (
        "attributes on Content",
        "plain",
        lambda c: plain(c, good_with().replace("<Content>", '<Content lang="zh">')),
        200,
    ),
    (
        "wrong root",
        "plain",
        lambda c: plain(c, good_with().replace("xml>", "root>")),
        200,
    ),
    ("empty root", "plain", lambda c: plain(c, "<xml/>"), 200),
    ("not XML", "plain", lambda c: plain(c, "学时 24"), 200),
    ("empty body", "plain", lambda c: plain(c, b""), 200),
    ("cut XML", "plain", lambda c: plain(c, good_with()[:60]), 200),
    ("two roots", "plain", lambda c: plain(c, good_with() + good_with()), 200),
    ("not UTF-8", "plain", lambda c: plain(c, good_with().encode("gbk")), 200),
    (
        "bad signature",
        "plain",
        lambda c: plain(c, good_with(), signature="0" * 40),
        403,
    ),
    ("no signature", "plain", lambda c: ({}, good_with().encode()), 403),
    ("stale timestamp", "plain", lambda c: stamped(c, STALE), 400),
    ("future timestamp", "plain", lambda c: stamped(c, SOON), 400),
    ("timestamp not a number", "plain", lambda c: stamped(c, "yesterday"), 400),
    (
        "unknown encrypt_type",
        "plain",
        lambda c: plain(c, good_with(), encrypt_type="des"),
        400,
    ),
    ("plain in safe mode", "safe", lambda c: plain(c, good_with()), 400),
    ("garbage Encrypt", "safe", lambda c: envelope(c, "x" * 64), 400),
    ("bad base64 Encrypt", "safe", lambda c: envelope(c, "abc"), 400),
    ("short Encrypt", "safe", lambda c: envelope(c, "AAAAAAAAAAAAAAAAAAAAAA=="), 400),
    ("empty Encrypt", "safe", lambda c: envelope(c, ""), 400),
    (
        "missing Encrypt",
        "safe",
        lambda c: (envelope(c, "")[0], without("Encrypt").encode()),
        400,
    ),
    ("envelope not XML", "safe", lambda c: (envelope(c, "")[0], b"Encrypt=1"), 400),
    (
        "bad msg_signature",
        "safe",
        lambda c: sealed_with(c, msg_signature="0" * 40),
        403,
    ),
    ("stale safe timestamp", "safe", lambda c: sealed_stale(c), 400),
    ("wrong key", "safe", lambda c: sealed(c, good_with(), aes_key="k" * 43), 400),
    ("garbage inside encryption", "safe", lambda c: sealed(c, "学时 24"), 200),
    (
        "missing field inside encryption",
        "safe",
        lambda c: sealed(c, without("MsgType")),
        200,
    ),
]


@pytest.mark.parametrize(
    "mode, build, status",
    [
        pytest.param(mode, build, status, id=name)
        for name, mode, build, status in HOSTILE
    ],
)
def test_hostile_input_is_refused_and_the_server_goes_on(tmp_path, mode, build, status):
    config = make_config(tmp_path, mode=mode)
    recorder = Recorder()
    params, body = build(config)

    async def scenario(session, url):
        refused = await raw_post(session, url, params, body)
        reached = len(recorder.inbounds)
        answer = await wechat_sim.send(session, url, config, USER, "下一条")
        return refused, reached, answer

    (got_status, got_body), reached, answer = run_against_app(
        config, recorder, scenario
    )

    assert got_status == status
    if status == 200:
        assert got_body == b"success"
    else:
        assert got_body and b"<" not in got_body
    assert reached == 0
    assert answer == ANSWER
    assert [inbound.text for inbound in recorder.inbounds] == ["下一条"]


# Whatever arrives, decoding ends in a Delivery, Rejected or Unreadable.

FUZZ_CONFIG = make_config(Path("unused"), mode="compatible")
FIELD_NAMES = [*GOOD, "Event", "MediaId", "Recognition", "Encrypt", "xml"]
MSG_TYPES = st.sampled_from(["text", "voice", "image", "file", "event", "EVENT"])


def decode_cleanly(params, body):
    try:
        delivery = wechat.decode_post(FUZZ_CONFIG, params, body)
    except (wechat.Rejected, wechat.Unreadable):
        return None
    reply = wechat.encode_reply(FUZZ_CONFIG, delivery, "好")
    assert reply_fields(FUZZ_CONFIG, params, reply)["Content"] == "好"
    return delivery


@settings(max_examples=300, deadline=None)
@given(
    msg_type=MSG_TYPES,
    fields=st.lists(st.tuples(st.sampled_from(FIELD_NAMES), st.text(max_size=12))),
)
def test_any_fields_decode_cleanly(msg_type, fields):
    elements = [("FromUserName", USER), ("MsgType", msg_type), *fields]
    xml = "".join(f"<{name}>{wechat.cdata(value)}</{name}>" for name, value in elements)
    decode_cleanly(*plain(FUZZ_CONFIG, f"<xml>{xml}</xml>"))
    decode_cleanly(*sealed(FUZZ_CONFIG, f"<xml>{xml}</xml>"))


@settings(max_examples=300, deadline=None)
@given(start=st.integers(0, 300), length=st.integers(0, 20), noise=st.binary())
def test_any_bytes_decode_cleanly(start, length, noise):
    body = good_with().encode()
    body = body[:start] + noise + body[start + length :]
    decode_cleanly(*plain(FUZZ_CONFIG, body))
    decode_cleanly(*sealed(FUZZ_CONFIG, body.decode("utf-8", "replace")))
    decode_cleanly(envelope(FUZZ_CONFIG, "x")[0], body)


@settings(max_examples=100, deadline=None)
@given(encrypt=st.text(alphabet="ABCDEFGHabcdefgh0123456789+/=", max_size=200))
def test_any_encrypt_decodes_cleanly(encrypt):
    assert decode_cleanly(*envelope(FUZZ_CONFIG, encrypt)) is None
