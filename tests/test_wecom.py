"""The WeCom (企业微信) app callback: the vector, HTTP, hostile input, settings."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
import xmltodict
import yarl
from hypothesis import given, settings
from hypothesis import strategies as st
from wechatpy.enterprise.crypto import WeChatCrypto

from bot import wechat, wecom, wecom_sim
from bot.config import ConfigError, WecomConfig, load_config
from bot.wechat_sim import render_xml
from storage.store import Store
from tests.support import AES_KEY, make_config, raw_post, run_against_app

# wecom_verify_url of /work/shared/wechat-vectors.json.
VECTOR = {
    "token": "123456",
    "encoding_aes_key": "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
    "corp_id": "wx49f0ab532d5d035a",
    "msg_signature": "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96",
    "timestamp": "1411443780",
    "nonce": "437374425",
    "echostr": "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6"
    "co6Yh9Bv41n7hOchLF6p+Q==",
    "must_fail_with_nonce": "437374424",
    "echostr_plain": "5927782489442352469",
}
USER = "ZhangSan"
ANSWER = "已登记：县级公开课 1 次。"


def wecom_config(tmp_path, **settings):
    """The vector's app, with an AgentId; `settings` replace [wecom] ones."""
    wecom_settings = {
        "corp_id": VECTOR["corp_id"],
        "token": VECTOR["token"],
        "encoding_aes_key": VECTOR["encoding_aes_key"],
        "agent_id": 1000002,
        **settings,
    }
    return replace(make_config(tmp_path), wecom=WecomConfig(**wecom_settings))


def vector_query(**change):
    names = ("msg_signature", "timestamp", "nonce", "echostr")
    return {**{name: VECTOR[name] for name in names}, **change}


class Recorder:
    """A conversation that records each message and answers from a script."""

    def __init__(self, answer: str | None = ANSWER) -> None:
        self.answer = answer
        self.inbounds = []

    def handle(self, inbound):
        self.inbounds.append(inbound)
        return self.answer

    def close(self):
        pass


def exchange(config, conversation, params, body):
    async def scenario(session, url):
        return await raw_post(session, _wecom_url(url, config), params, body)

    return run_against_app(config, conversation, scenario)


def _wecom_url(url, config):
    return url.removesuffix(config.server.path) + config.wecom.path


def get(config, query_string):
    """GET the WeCom path with exactly this query string (no re-encoding)."""

    async def scenario(session, url):
        target = yarl.URL(f"{_wecom_url(url, config)}?{query_string}", encoded=True)
        async with session.get(target) as response:
            return response.status, await response.read()

    return run_against_app(config, Recorder(), scenario)


# URL verification


def test_the_vector_verifies(tmp_path):
    config = wecom_config(tmp_path)
    assert wecom.verify_url(config, vector_query()) == VECTOR["echostr_plain"]


def test_the_vector_fails_with_the_other_nonce(tmp_path):
    config = wecom_config(tmp_path)
    query = vector_query(nonce=VECTOR["must_fail_with_nonce"])
    with pytest.raises(wechat.Rejected) as refused:
        wecom.verify_url(config, query)
    assert refused.value.status == 403


def test_the_vector_over_http_answers_the_bare_plaintext(tmp_path):
    config = wecom_config(tmp_path)
    # urlencode escapes + / = as WeCom does; the server decodes once.
    assert get(config, urlencode(vector_query())) == (200, b"5927782489442352469")


def test_a_literal_plus_in_echostr_fails(tmp_path):
    config = wecom_config(tmp_path)
    query = vector_query()
    # "+" left raw arrives as a space, which is not the echostr that was signed.
    raw = "&".join(f"{k}={quote(v, safe='+/=')}" for k, v in query.items())
    assert "+" in raw
    assert get(config, raw)[0] == 403


@pytest.mark.parametrize(
    "change, status",
    [
        ({"echostr": None}, 400),
        ({"msg_signature": None}, 403),
        ({"msg_signature": "0" * 40}, 403),
        ({"timestamp": "1411443781"}, 403),
    ],
)
def test_verification_refusals(tmp_path, change, status):
    config = wecom_config(tmp_path)
    query = {k: v for k, v in vector_query(**change).items() if v is not None}
    assert get(config, urlencode(query))[0] == status


def test_a_signed_echostr_that_does_not_decrypt_is_refused(tmp_path):
    config = wecom_config(tmp_path)
    query = wecom_sim.signed_query(
        config, "bm90IGVuY3J5cHRlZA==", timestamp="1", nonce="2"
    )
    query["echostr"] = "bm90IGVuY3J5cHRlZA=="
    assert get(config, urlencode(query))[0] == 400


def test_verification_of_a_fresh_echostr(tmp_path):
    config = wecom_config(tmp_path)
    query = wecom_sim.verification_query(config, "1234567890123456789")
    assert get(config, urlencode(query)) == (200, b"1234567890123456789")


def test_no_wecom_path_without_a_corp_id(tmp_path):
    config = make_config(tmp_path)
    assert get(config, urlencode(vector_query()))[0] == 404


# Messages


def test_a_text_message_gets_an_encrypted_answer(tmp_path):
    config = wecom_config(tmp_path)
    recorder = Recorder()
    params, body = wecom_sim.build_request(
        config, USER, text="公开课 县级 1次", msg_id=42
    )

    status, answer = exchange(config, recorder, params, body)

    assert status == 200
    assert b"Encrypt" in answer and "已登记".encode() not in answer
    reply = wecom_sim.parse_reply(config, answer)
    assert reply["ToUserName"] == USER
    assert reply["FromUserName"] == VECTOR["corp_id"]
    assert (reply["MsgType"], reply["Content"]) == ("text", ANSWER)
    assert abs(int(reply["CreateTime"]) - time.time()) < 60
    (inbound,) = recorder.inbounds
    assert (inbound.channel, inbound.user, inbound.kind) == ("wecom", USER, "text")
    assert inbound.text == "公开课 县级 1次"
    assert inbound.key == f"wecom:{USER}:42"


def test_the_simulator_reads_the_answer(tmp_path):
    config = wecom_config(tmp_path)

    async def scenario(session, url):
        return await wecom_sim.send(
            session, _wecom_url(url, config), config, USER, "好"
        )

    assert run_against_app(config, Recorder(), scenario) == ANSWER


@pytest.mark.parametrize("answer", [None, "", " \n", "\x01"])
def test_nothing_to_say_is_an_empty_answer(tmp_path, answer):
    config = wecom_config(tmp_path)
    params, body = wecom_sim.build_request(config, USER, text="好")
    assert exchange(config, Recorder(answer), params, body) == (200, b"")


@pytest.mark.parametrize(
    "request_args, expected",
    [
        (
            {"kind": "voice", "text": "听课两节"},
            {"kind": "voice", "text": "听课两节", "media_id": "sim-wecom-voice"},
        ),
        ({"kind": "voice"}, {"kind": "voice", "text": ""}),
        ({"kind": "image"}, {"kind": "image", "media_id": "sim-wecom-image"}),
        ({"kind": "location", "fields": {"Label": "学校"}}, {"kind": "other"}),
        ({"kind": "video", "fields": {"MediaId": "v"}}, {"kind": "other"}),
        ({"kind": "event"}, {"kind": "event", "event": "enter_agent"}),
        (
            {"kind": "event", "event": "subscribe"},
            {"kind": "event", "event": "subscribe"},
        ),
        (
            {"kind": "event", "event": "click", "fields": {"EventKey": "HELP"}},
            {"kind": "event", "event": "click"},
        ),
    ],
)
def test_kinds_become_inbound(tmp_path, request_args, expected):
    config = wecom_config(tmp_path)
    recorder = Recorder()
    params, body = wecom_sim.build_request(config, USER, **request_args)

    assert exchange(config, recorder, params, body)[0] == 200

    (inbound,) = recorder.inbounds
    assert (inbound.channel, inbound.user) == ("wecom", USER)
    for name, value in expected.items():
        assert getattr(inbound, name) == value


def test_duplicate_keys(tmp_path):
    config = wecom_config(tmp_path)

    def key(user, **request_args):
        params, body = wecom_sim.build_request(config, user, **request_args)
        return wecom.decode_post(config, params, body).inbound.key

    assert key(USER, msg_id=7) == key(USER, msg_id=7) == f"wecom:{USER}:7"
    assert key(USER, msg_id=7) != key("LiSi", msg_id=7)
    fields = wecom_sim.message_fields(config, USER, kind="event", event="click")
    xml = render_xml({**fields, "CreateTime": "1700000000"})
    assert key(USER, xml=xml) == key(USER, xml=xml)
    assert key(USER, xml=xml) != key(USER, xml=xml.replace("click", "view"))


def test_control_characters_are_stripped(tmp_path):
    config = wecom_config(tmp_path)
    recorder = Recorder()
    params, body = wecom_sim.build_request(config, USER, text="\x01参加\x0b培训\x1f2天")
    assert exchange(config, recorder, params, body)[0] == 200
    assert recorder.inbounds[0].text == "参加培训2天"


# Hostile and broken input


def good_xml(config, **fields):
    message = {**wecom_sim.message_fields(config, USER, text="好", msg_id=5), **fields}
    return render_xml({k: v for k, v in message.items() if v is not None})


def signed_envelope(config, encrypt, envelope=None):
    now = str(int(time.time()))
    params = wecom_sim.signed_query(config, encrypt, timestamp=now, nonce="9")
    fields = envelope or {"ToUserName": config.wecom.corp_id, "Encrypt": encrypt}
    return params, render_xml(fields).encode()


def with_query(**change):
    def build(config):
        params, body = wecom_sim.build_request(config, USER)
        params = {k: v for k, v in {**params, **change}.items() if v is not None}
        return params, body

    return build


def with_body(body):
    return lambda config: (wecom_sim.build_request(config, USER)[0], body)


def from_another_corporation(config):
    crypto = WeChatCrypto(config.wecom.token, config.wecom.encoding_aes_key, "wwx")
    sealed = xmltodict.parse(crypto.encrypt_message(good_xml(config), "0"))
    return signed_envelope(config, sealed["xml"]["Encrypt"])


REFUSED = {
    "bad signature": (with_query(msg_signature="0" * 40), 403),
    "no signature": (with_query(msg_signature=None), 403),
    "no nonce": (with_query(nonce=None), 403),
    "stale timestamp": (lambda c: wecom_sim.build_request(c, USER, timestamp=1), 400),
    "bad timestamp": (lambda c: wecom_sim.build_request(c, USER, timestamp="x"), 400),
    "doctype envelope": (
        with_body(b'<!DOCTYPE x [<!ENTITY a "b">]><xml><Encrypt>&a;</Encrypt></xml>'),
        400,
    ),
    "envelope not xml": (with_body(b"{}"), 400),
    "envelope not utf-8": (with_body("<xml>好</xml>".encode("utf-16")), 400),
    "no Encrypt": (lambda c: signed_envelope(c, "", {"ToUserName": "x"}), 400),
    "garbage Encrypt": (lambda c: signed_envelope(c, "bm90IGVuY3J5cHRlZA=="), 400),
    "another corporation": (from_another_corporation, 400),
    "doctype inside": (
        lambda c: wecom_sim.build_request(
            c, USER, xml='<!DOCTYPE xml [<!ENTITY e "x">]><xml><a>&e;</a></xml>'
        ),
        400,
    ),
}


@pytest.mark.parametrize("build, status", REFUSED.values(), ids=REFUSED.keys())
def test_refused_requests_change_nothing(tmp_path, build, status):
    config = wecom_config(tmp_path)
    recorder = Recorder()
    params, body = build(config)
    assert exchange(config, recorder, params, body)[0] == status
    assert recorder.inbounds == []


ACKNOWLEDGED = {
    "no FromUserName": {"FromUserName": None},
    "empty FromUserName": {"FromUserName": ""},
    "no MsgType": {"MsgType": None},
    "MsgId not a number": {"MsgId": "12a"},
    "another agent": {"AgentID": "1000003"},
    "event without a name": {"MsgType": "event", "Event": ""},
}


@pytest.mark.parametrize("fields", ACKNOWLEDGED.values(), ids=ACKNOWLEDGED.keys())
def test_unreadable_messages_are_acknowledged(tmp_path, fields):
    config = wecom_config(tmp_path)
    recorder = Recorder()
    params, body = wecom_sim.build_request(config, USER, xml=good_xml(config, **fields))
    assert exchange(config, recorder, params, body) == (200, b"")
    assert recorder.inbounds == []


@pytest.mark.parametrize(
    "xml",
    [
        "<xml><ToUserName>a</ToUserName><FromUserName>u</FromUserName>"
        "<FromUserName>v</FromUserName><MsgType>text</MsgType></xml>",
        "<xml><FromUserName>u</FromUserName><MsgType>text</MsgType>"
        '<Content x="1">a</Content></xml>',
        "<other><FromUserName>u</FromUserName></other>",
        "<xml>text</xml>",
        "<xml/>",
        "not xml at all",
        "<xml><FromUserName>u</FromUserName><MsgType>text",
    ],
)
def test_broken_messages_are_acknowledged(tmp_path, xml):
    config = wecom_config(tmp_path)
    recorder = Recorder()
    params, body = wecom_sim.build_request(config, USER, xml=xml)
    assert exchange(config, recorder, params, body) == (200, b"")
    assert recorder.inbounds == []


def test_body_limit(tmp_path):
    config = wecom_config(tmp_path)
    params, body = wecom_sim.build_request(config, USER, text="好" * 2000)
    small = replace(config, server=replace(config.server, max_body_bytes=len(body) - 1))
    assert exchange(small, Recorder(), params, body)[0] == 413


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_any_plaintext_is_a_delivery_or_a_named_refusal(plaintext):
    config = wecom_config(Path("unused"))
    params, body = wecom_sim.build_request(config, USER, xml=plaintext)
    try:
        delivery = wecom.decode_post(config, params, body)
    except (wechat.Rejected, wechat.Unreadable):
        return
    assert delivery.inbound.channel == "wecom"


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_any_body_is_refused_by_name(body):
    config = wecom_config(Path("unused"))
    params = wecom_sim.signed_query(
        config, "x", timestamp=str(int(time.time())), nonce="1"
    )
    with pytest.raises((wechat.Rejected, wechat.Unreadable)):
        wecom.decode_post(config, params, body)


def test_no_user_or_text_at_info_level(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    config = wecom_config(tmp_path)
    params, body = wecom_sim.build_request(config, USER, text="参加县级培训3天")
    exchange(config, Recorder(), params, body)
    info = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any(USER in m for m in debug)  # who wrote is there, at debug only
    assert not [m for m in info if USER in m or "培训" in m]


# The real conversation behind WeCom


def test_the_conversation_answers_a_wecom_member(tmp_path):
    # Imported here: the rest of this file tests the protocol alone.
    from bot.runtime import build_conversation

    config = wecom_config(tmp_path)
    conversation = build_conversation(config)

    async def scenario(session, url):
        target = _wecom_url(url, config)
        return await wecom_sim.send(session, target, config, USER, "帮助")

    answer = run_against_app(config, conversation, scenario)
    assert answer
    store = Store(config.storage.database)
    try:
        identities = store.db.execute(
            "SELECT channel FROM identities WHERE external_id = ?", [USER]
        ).fetchall()
    finally:
        store.close()
    assert identities == [("wecom",)]


# Settings


def write(tmp_path, text):
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_wecom_settings_from_file_and_environment(tmp_path):
    path = write(
        tmp_path,
        f'[wecom]\ncorp_id = "ww1"\nagent_id = 1000002\ntoken = "t"\n'
        f'encoding_aes_key = "{AES_KEY}"\npath = "/qy"\n',
    )
    config = load_config(path, env={"XUESHI_WECOM_SECRET": "from-env"})
    assert config.wecom.enabled
    assert (config.wecom.corp_id, config.wecom.agent_id) == ("ww1", 1000002)
    assert (config.wecom.secret, config.wecom.path) == ("from-env", "/qy")
    assert config.wecom.api_base_url == "https://qyapi.weixin.qq.com/"


def test_wecom_entirely_from_the_environment(tmp_path):
    env = {
        "XUESHI_WECOM_CORP_ID": "ww1",
        "XUESHI_WECOM_TOKEN": "t",
        "XUESHI_WECOM_ENCODING_AES_KEY": AES_KEY,
    }
    assert load_config(None, env=env).wecom.enabled


@pytest.mark.parametrize(
    "settings, message",
    [
        ('token = "t"', "wecom.corp_id: required when [wecom] is configured"),
        ('corp_id = "ww1"', "wecom.token: required for the WeCom callback"),
        (f'corp_id = "ww1"\ntoken = "t"\nencoding_aes_key = "{AES_KEY[:-1]}"',
         "wecom.encoding_aes_key: expected the 43-character"),
        (f'corp_id = "ww1"\ntoken = "t"\nencoding_aes_key = "{AES_KEY}"\npath = "/wechat"',
         "wecom.path: expected a path"),
        (f'corp_id = "ww1"\ntoken = "t"\nencoding_aes_key = "{AES_KEY}"\nsecret = "s"',
         "wecom.agent_id: required with wecom.secret"),
        (f'corp_id = "ww1"\ntoken = "t"\nencoding_aes_key = "{AES_KEY}"\n'
         'api_base_url = "qyapi"', "wecom.api_base_url: expected an http"),
        ('agent_id = "1000002"', "wecom.agent_id: expected a whole number"),
    ],
)  # fmt: skip
def test_wecom_settings_are_checked(tmp_path, settings, message):
    path = write(tmp_path, f"[wecom]\n{settings}\n")
    with pytest.raises(ConfigError) as error:
        load_config(path, env={})
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)
