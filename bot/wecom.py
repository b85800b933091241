"""The WeCom (企业微信) self-built app callback: verification, decryption, replies.

Pure functions over query parameters and body bytes, like bot/wechat.py, whose
`Rejected` (answer an error status) and `Unreadable` (acknowledge) mean the
same here. Everything WeCom sends is encrypted: GET carries an encrypted
`echostr`, POST an envelope of ToUserName (the CorpID), Encrypt and AgentID.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.parsers.expat import ExpatError

import xmltodict
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from bot.config import Config
from bot.wechat import (
    Rejected,
    Unreadable,
    _nonce,
    _xml_text,
    reply_xml,
    without_forbidden,
)
from handlers import inbound as kinds
from handlers.inbound import Inbound

CHANNEL = "wecom"
# WeCom's acknowledgement without a reply is an empty body.
ACK = b""

# What wechatpy's decryption raises for a wrong key, bad base64 or a cut body.
_DECRYPT_ERRORS = (
    InvalidCorpIdException,
    ValueError,  # includes binascii.Error and UnicodeDecodeError
    struct.error,
    IndexError,
    TypeError,
)
# What wechatpy's parser and fields raise for a message of the wrong shape.
_PARSE_ERRORS = (ExpatError, KeyError, AttributeError, TypeError, ValueError)

# wechatpy's message type → the conversation's kind, and the attributes giving
# Inbound.text and Inbound.media_id.
_KINDS = {
    "text": (kinds.TEXT, "content", None),
    "voice": (kinds.VOICE, "recognition", "media_id"),
    "image": (kinds.IMAGE, None, "media_id"),
}


@dataclass(frozen=True)
class Delivery:
    """A decoded POST: the message, and the CorpID that sends the reply."""

    inbound: Inbound
    corp_id: str


def verify_url(config: Config, params: Mapping[str, str]) -> str:
    """Check a GET verification and return the decrypted `echostr` to answer.

    `echostr` is part of the signature, so a `+` turned into a space fails here.
    """
    echostr = params.get("echostr")
    if echostr is None:
        raise Rejected(400, "echostr missing")
    _check_signature(config, params, echostr)
    try:
        return _crypto(config).check_signature(
            params["msg_signature"], params["timestamp"], params["nonce"], echostr
        )
    except _DECRYPT_ERRORS:
        raise Rejected(400, "cannot decrypt echostr") from None


def decode_post(
    config: Config,
    params: Mapping[str, str],
    body: bytes,
    *,
    now: datetime | None = None,
) -> Delivery:
    """Authenticate, decrypt and parse one callback POST.

    Raises `Rejected` or `Unreadable`; nothing else for any body or parameters.
    """
    now = now or datetime.now(UTC)
    if len(body) > config.server.max_body_bytes:
        raise Rejected(413, "body too large")

    encrypt = _envelope(body)
    _check_signature(config, params, encrypt)
    _check_clock(config, params, now)
    try:
        xml = _crypto(config).decrypt_message(
            {"Encrypt": encrypt},
            params["msg_signature"],
            params["timestamp"],
            params["nonce"],
        )
    except (*_DECRYPT_ERRORS, InvalidSignatureException):
        raise Rejected(400, "cannot decrypt") from None

    text = _xml_text(xml)
    inbound = _inbound(config, _fields(text), _message(text), text, now)
    return Delivery(inbound, config.wecom.corp_id)


def encode_reply(
    config: Config,
    delivery: Delivery,
    text: str | None,
    *,
    now: datetime | None = None,
    nonce: str | None = None,
) -> bytes:
    """The encrypted passive reply for `text`; `ACK` when there is nothing to show."""
    content = without_forbidden(text or "")
    if not content.strip():
        return ACK
    created = str(int((now or datetime.now(UTC)).timestamp()))
    xml = reply_xml(delivery.inbound.user, delivery.corp_id, content, created)
    nonce = nonce or _nonce()
    return _crypto(config).encrypt_message(xml, nonce, created).encode("utf-8")


def _crypto(config: Config) -> WeChatCrypto:
    wecom = config.wecom
    return WeChatCrypto(wecom.token, wecom.encoding_aes_key, wecom.corp_id)


def _check_signature(config: Config, params: Mapping[str, str], encrypt: str) -> None:
    parts = [params.get(name) for name in ("timestamp", "nonce", "msg_signature")]
    if not all(isinstance(part, str) and part for part in parts):
        raise Rejected(403, "msg_signature, timestamp or nonce missing")
    timestamp, nonce, given = parts
    joined = "".join(sorted([config.wecom.token, timestamp, nonce, encrypt]))
    expected = hashlib.sha1(joined.encode("utf-8")).hexdigest()
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8")):
        raise Rejected(403, "bad msg_signature")


def _check_clock(config: Config, params: Mapping[str, str], now: datetime) -> None:
    # A captured delivery replayed later carries its old timestamp.
    try:
        sent = int(params["timestamp"])
    except ValueError:
        raise Rejected(400, "bad timestamp") from None
    if abs(now.timestamp() - sent) > config.wecom.max_clock_skew_seconds:
        raise Rejected(400, "timestamp too far from now")


def _envelope(body: bytes) -> str:
    """The envelope's Encrypt; an envelope we cannot read is refused."""
    try:
        envelope = _fields(_xml_text(body))
    except Unreadable as exc:
        raise Rejected(400, f"cannot read the envelope: {exc}") from None
    encrypt = envelope.get("Encrypt")
    if not encrypt:
        raise Rejected(400, "cannot read the envelope: Encrypt missing")
    return encrypt


def _fields(text: str) -> dict[str, str | None]:
    """The message's fields; each must occur once, as text, without attributes.

    wechatpy's parser checks none of this: a repeated field would reach the
    conversation as a list.
    """
    try:
        document = xmltodict.parse(text)
    except (ExpatError, ValueError) as exc:
        raise Unreadable(f"not well-formed XML ({exc})") from None
    fields = document.get("xml")
    if not isinstance(fields, dict):
        raise Unreadable("root element is not <xml> with fields")
    for name, value in fields.items():
        if value is not None and not isinstance(value, str):
            raise Unreadable(f"{name} is repeated or has attributes")
    return fields


def _message(text: str):
    """wechatpy's typed view of a WeCom message or event."""
    try:
        return parse_message(text)
    except _PARSE_ERRORS as exc:
        raise Unreadable(f"not a WeCom message ({type(exc).__name__})") from None


def _inbound(
    config: Config, fields: dict, message, text: str, now: datetime
) -> Inbound:
    user = fields.get("FromUserName")
    if not user:
        raise Unreadable("FromUserName missing")
    _check_agent(config, fields)
    if (fields.get("MsgType") or "").lower() == "event":
        # wechatpy knows few WeCom events (not enter_agent): read the name itself.
        event = (fields.get("Event") or "").lower()
        if not event:
            raise Unreadable("Event empty")
        key = "wecom:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
        return Inbound(CHANNEL, user, kinds.EVENT, now, event=event, key=key)

    kind, text_attr, media_attr = _KINDS.get(message.type, (kinds.OTHER, None, None))
    return Inbound(
        CHANNEL,
        user,
        kind,
        now,
        text=(getattr(message, text_attr) or "") if text_attr else "",
        media_id=(getattr(message, media_attr) or "") if media_attr else "",
        key=_message_key(fields, user, text),
    )


def _check_agent(config: Config, fields: dict) -> None:
    agent = fields.get("AgentID")
    expected = config.wecom.agent_id
    if agent and expected and agent != str(expected):
        raise Unreadable("message for another agent")


def _message_key(fields: dict, user: str, text: str) -> str:
    msg_id = fields.get("MsgId")
    if not msg_id:
        return "wecom:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
    if not (msg_id.isascii() and msg_id.isdigit()):
        raise Unreadable("MsgId is not a number")
    # userids are unique within one corporation only; the channel keeps them apart.
    return f"wecom:{user}:{msg_id}"
