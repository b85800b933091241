"""A stand-in for WeCom's servers: encrypt, sign and post a callback, read the answer.

Built from the WeCom rules in wechat.md, independently of bot/wecom.py, so
that the two check each other. Used by the tests.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Mapping
from xml.parsers.expat import ExpatError

import aiohttp
import xmltodict
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.config import Config
from bot.wechat_sim import REPLY_DEADLINE_SECONDS, ReplyError, render_xml

DEFAULT_USER = "ZhangSan"

# Fields each kind of message carries besides the common ones.
_KIND_FIELDS = {
    "text": lambda text: {"Content": text or ""},
    "voice": lambda text: {
        "MediaId": "sim-wecom-voice",
        "Format": "amr",
        **({} if text is None else {"Recognition": text}),
    },
    "image": lambda text: {
        "PicUrl": "https://wework.qpic.cn/sim/0",
        "MediaId": "sim-wecom-image",
    },
}


def message_fields(
    config: Config,
    user: str,
    *,
    kind: str = "text",
    text: str | None = None,
    msg_id: int | str | None = None,
    event: str | None = None,
) -> dict[str, str]:
    """The plain fields of a WeCom app message or event (`kind="event"`)."""
    message = {
        "ToUserName": config.wecom.corp_id,
        "FromUserName": user,
        "CreateTime": str(int(time.time())),
        "MsgType": kind,
    }
    if kind == "event":
        message["Event"] = event or "enter_agent"
        message["EventKey"] = ""
    else:
        message.update(_KIND_FIELDS.get(kind, lambda text: {})(text))
        message["MsgId"] = str(
            msg_id if msg_id is not None else secrets.randbelow(10**19)
        )
    message["AgentID"] = str(config.wecom.agent_id)
    return message


def build_request(
    config: Config,
    user: str = DEFAULT_USER,
    *,
    text: str | None = None,
    kind: str = "text",
    msg_id: int | str | None = None,
    event: str | None = None,
    timestamp: int | str | None = None,
    nonce: str | None = None,
    fields: Mapping[str, str | None] | None = None,
    xml: str | None = None,
) -> tuple[dict[str, str], bytes]:
    """Query parameters and body of one encrypted POST, as WeCom sends it.

    `fields` adds or replaces message fields (None removes one); `xml`
    replaces the whole plaintext.
    """
    timestamp = str(timestamp if timestamp is not None else int(time.time()))
    nonce = nonce or str(secrets.randbelow(10**10))
    if xml is None:
        message = message_fields(
            config, user, kind=kind, text=text, msg_id=msg_id, event=event
        )
        message.update(fields or {})
        xml = render_xml({k: v for k, v in message.items() if v is not None})
    encrypt = encrypt_text(config, xml)
    params = signed_query(config, encrypt, timestamp=timestamp, nonce=nonce)
    envelope = {
        "ToUserName": config.wecom.corp_id,
        "Encrypt": encrypt,
        "AgentID": str(config.wecom.agent_id),
    }
    return params, render_xml(envelope).encode()


def verification_query(
    config: Config, echo: str, *, timestamp: str | None = None, nonce: str = "1"
) -> dict[str, str]:
    """A GET verification whose echostr carries `echo`, encrypted and signed."""
    timestamp = timestamp or str(int(time.time()))
    echostr = encrypt_text(config, echo)
    params = signed_query(config, echostr, timestamp=timestamp, nonce=nonce)
    return {**params, "echostr": echostr}


def signed_query(
    config: Config, encrypt: str, *, timestamp: str, nonce: str
) -> dict[str, str]:
    """msg_signature over the token, timestamp, nonce and the encrypted text."""
    parts = sorted([config.wecom.token, timestamp, nonce, encrypt])
    signature = hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()
    return {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}


def encrypt_text(config: Config, text: str) -> str:
    """`text` encrypted for the app, as the value of Encrypt or echostr."""
    wecom = config.wecom
    crypto = WeChatCrypto(wecom.token, wecom.encoding_aes_key, wecom.corp_id)
    return xmltodict.parse(crypto.encrypt_message(text, "0"))["xml"]["Encrypt"]


def parse_reply(config: Config, body: bytes) -> dict[str, str] | None:
    """The decrypted reply's fields; None for an empty acknowledgement."""
    if not body.strip():
        return None
    try:
        reply = xmltodict.parse(body)["xml"]
        encrypt, timestamp, nonce = reply["Encrypt"], reply["TimeStamp"], reply["Nonce"]
        signature = reply["MsgSignature"]
    except (ExpatError, KeyError, TypeError) as exc:
        raise ReplyError(f"not an encrypted WeCom reply: {body[:200]!r}") from exc
    expected = signed_query(config, encrypt, timestamp=timestamp, nonce=nonce)
    if expected["msg_signature"] != signature:
        raise ReplyError("bad MsgSignature on the answer")
    wecom = config.wecom
    crypto = WeChatCrypto(wecom.token, wecom.encoding_aes_key, wecom.corp_id)
    xml = crypto.decrypt_message(reply, signature, timestamp, nonce)
    return xmltodict.parse(xml)["xml"]


async def send(
    session: aiohttp.ClientSession,
    url: str,
    config: Config,
    user: str,
    text: str,
    *,
    msg_id: int | str | None = None,
) -> str | None:
    """Send `text` from `user` to the app; the reply's Content, or None."""
    params, body = build_request(config, user, text=text, msg_id=msg_id)
    timeout = aiohttp.ClientTimeout(total=REPLY_DEADLINE_SECONDS)
    async with session.post(url, params=params, data=body, timeout=timeout) as response:
        answer = await response.read()
        if response.status != 200:
            raise ReplyError(f"HTTP {response.status}: {answer[:200]!r}")
    reply = parse_reply(config, answer)
    if reply is None:
        return None
    if reply.get("ToUserName") != user or reply.get("MsgType") != "text":
        raise ReplyError("reply is not a text to the sender")
    return reply.get("Content")
