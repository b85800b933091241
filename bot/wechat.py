"""The Official Account (公众号) callback protocol: signatures, decryption, replies.

Pure functions over query parameters and body bytes; bot/app.py owns the HTTP.
Two exceptions say what to answer when a delivery cannot be used: `Rejected`
(an error status; the request is not an authentic, current delivery) and
`Unreadable` (an authentic delivery we cannot understand; acknowledge it).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.parsers.expat import ExpatError

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

from bot.config import Config
from handlers import inbound as kinds
from handlers.inbound import Inbound

CHANNEL = "oa"
# The literal acknowledgement: WeChat shows nothing to the user.
SUCCESS = b"success"

# Declarations are how XXE and billion-laughs payloads start; WeChat never sends them.
_DECLARATION = re.compile(r"<!(DOCTYPE|ENTITY)", re.IGNORECASE)

# Characters XML 1.0 forbids; expat stops at the first one, losing the message.
# (A pattern: str.translate walks a dict per character, ten times slower.)
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def without_forbidden(text: str) -> str:
    """`text` without the characters XML 1.0 forbids."""
    return _FORBIDDEN.sub("", text)


# What wechatpy's decryption raises for a wrong key, bad base64 or a cut body.
_DECRYPT_ERRORS = (
    InvalidAppIdException,
    InvalidSignatureException,
    ValueError,  # includes binascii.Error and UnicodeDecodeError
    struct.error,
    IndexError,
    TypeError,
)


class Rejected(Exception):
    """Not an authentic, current delivery: answer `status` with a short reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Unreadable(Exception):
    """An authentic delivery whose message cannot be understood: acknowledge it."""


@dataclass(frozen=True)
class Delivery:
    """A decoded POST: the message, and what the reply needs to address it."""

    inbound: Inbound
    account: str  # ToUserName, the Official Account's id; the reply's sender
    aes_key: str | None  # the key that decrypted the request; None when plain


@dataclass(frozen=True)
class _Kind:
    kind: str
    text: str | None = None  # field giving Inbound.text
    media: str | None = None  # field giving Inbound.media_id
    required: tuple[str, ...] = ()


_KINDS = {
    "text": _Kind(kinds.TEXT, text="Content", required=("Content",)),
    # Recognition is absent unless speech recognition is switched on for the
    # account, and empty when it understood nothing.
    "voice": _Kind(
        kinds.VOICE, text="Recognition", media="MediaId", required=("MediaId",)
    ),
    "image": _Kind(kinds.IMAGE, media="MediaId", required=("MediaId",)),
    "file": _Kind(kinds.FILE, media="MediaId"),
}
_OTHER = _Kind(kinds.OTHER)


def verify_url(config: Config, params: Mapping[str, str]) -> str:
    """Check a GET verification's signature and return `echostr` to answer."""
    _check_signature(config, params)
    echostr = params.get("echostr")
    if echostr is None:
        raise Rejected(400, "echostr missing")
    return echostr


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

    if _is_encrypted(config, params):
        xml, aes_key = _open_envelope(config, params, body, now)
    else:
        _check_signature(config, params)
        _check_clock(config, params, now)
        xml, aes_key = body, None

    text = _xml_text(xml)
    message = _parse(text)
    inbound = _inbound(message, text, now)
    return Delivery(inbound, _field(message, "ToUserName"), aes_key)


def encode_reply(
    config: Config,
    delivery: Delivery,
    text: str | None,
    *,
    now: datetime | None = None,
    nonce: str | None = None,
) -> bytes:
    """The passive reply body for `text`: `success` when there is nothing to show.

    Encrypted with the key that opened the request, when it was encrypted.
    """
    content = without_forbidden(text or "")
    if not content.strip():
        # XML with an empty Content makes WeChat show an error to the user.
        return SUCCESS

    created = str(int((now or datetime.now(UTC)).timestamp()))
    xml = reply_xml(delivery.inbound.user, delivery.account, content, created)
    if delivery.aes_key is None:
        return xml.encode("utf-8")

    crypto = WeChatCrypto(config.wechat.token, delivery.aes_key, config.wechat.app_id)
    return crypto.encrypt_message(xml, nonce or _nonce(), created).encode("utf-8")


def cdata(value: str) -> str:
    """`value` as CDATA; a `]]>` inside is split across two sections."""
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def reply_xml(user: str, account: str, content: str, created: str) -> str:
    """A passive text reply to `user` from `account` (an Official Account's or a
    WeCom corp's id), before any encryption."""
    return (
        "<xml>"
        f"<ToUserName>{cdata(user)}</ToUserName>"
        f"<FromUserName>{cdata(account)}</FromUserName>"
        f"<CreateTime>{created}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content>"
        "</xml>"
    )


def _check_signature(config: Config, params: Mapping[str, str]) -> None:
    try:
        check_signature(
            config.wechat.token,
            params.get("signature", ""),
            params.get("timestamp", ""),
            params.get("nonce", ""),
        )
    except InvalidSignatureException:
        raise Rejected(403, "bad signature") from None


def _check_clock(config: Config, params: Mapping[str, str], now: datetime) -> None:
    # A captured delivery replayed later carries its old timestamp.
    try:
        sent = int(params.get("timestamp", ""))
    except ValueError:
        raise Rejected(400, "bad timestamp") from None
    if abs(now.timestamp() - sent) > config.wechat.max_clock_skew_seconds:
        raise Rejected(400, "timestamp too far from now")


def _is_encrypted(config: Config, params: Mapping[str, str]) -> bool:
    encrypt_type = params.get("encrypt_type") or "raw"
    if encrypt_type not in ("raw", "aes"):
        raise Rejected(400, "unknown encrypt_type")
    if encrypt_type == "raw" and config.wechat.mode == "safe":
        # Whoever knows only the token must not get around the AES key.
        raise Rejected(400, "plain message refused in safe mode")
    if encrypt_type == "aes" and not config.wechat.encoding_aes_key:
        raise Rejected(400, "encrypted message but no encoding_aes_key")
    return encrypt_type == "aes"


def _open_envelope(
    config: Config, params: Mapping[str, str], body: bytes, now: datetime
) -> tuple[str, str]:
    """Check msg_signature and the clock; decrypt with the current or previous key."""
    try:
        envelope = _parse(_xml_text(body))
        encrypt = _field(envelope, "Encrypt")
    except Unreadable as exc:
        raise Rejected(400, f"cannot read the envelope: {exc}") from None

    timestamp = params.get("timestamp", "")
    nonce = params.get("nonce", "")
    expected = _sha1(config.wechat.token, timestamp, nonce, encrypt)
    given = params.get("msg_signature", "")
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise Rejected(403, "bad msg_signature")
    _check_clock(config, params, now)

    for key in _aes_keys(config):
        crypto = WeChatCrypto(config.wechat.token, key, config.wechat.app_id)
        try:
            xml = crypto.decrypt_message({"Encrypt": encrypt}, given, timestamp, nonce)
        except _DECRYPT_ERRORS:
            continue
        return xml, key
    raise Rejected(400, "cannot decrypt")


def _aes_keys(config: Config) -> list[str]:
    # The previous key keeps working after a rotation until the operator drops it.
    keys = [config.wechat.encoding_aes_key, config.wechat.previous_encoding_aes_key]
    return [key for key in keys if key]


def _xml_text(xml: bytes | str) -> str:
    """The XML as text, refused if it declares anything, without forbidden chars."""
    if isinstance(xml, bytes):
        try:
            # Strict UTF-8 also keeps out UTF-16 bodies that would hide a DOCTYPE.
            xml = xml.decode("utf-8")
        except UnicodeDecodeError:
            raise Unreadable("body is not UTF-8") from None
    if _DECLARATION.search(xml):
        raise Rejected(400, "DOCTYPE or ENTITY refused")
    return without_forbidden(xml)


def _parse(text: str) -> dict:
    try:
        document = xmltodict.parse(text)
    except (ExpatError, ValueError) as exc:
        raise Unreadable(f"not well-formed XML ({exc})") from None
    message = document.get("xml")
    if not isinstance(message, dict):
        raise Unreadable("root element is not <xml> with fields")
    return message


def _field(message: dict, name: str, *, required: bool = True) -> str:
    if name not in message:
        if required:
            raise Unreadable(f"{name} missing")
        return ""
    value = message[name]
    if value is None:
        return ""
    if not isinstance(value, str):
        # xmltodict gives a list for a repeated field, a dict for attributes.
        raise Unreadable(f"{name} is repeated or has attributes")
    return value


def _inbound(message: dict, text: str, now: datetime) -> Inbound:
    user = _field(message, "FromUserName")
    if not user:
        raise Unreadable("FromUserName empty")
    msg_type = _field(message, "MsgType").lower()
    if msg_type == "event":
        event = _field(message, "Event").lower()
        if not event:
            raise Unreadable("Event empty")
        # Events have no MsgId, and one user's events can share a CreateTime.
        key = _content_key(text)
        return Inbound(CHANNEL, user, kinds.EVENT, now, event=event, key=key)

    row = _KINDS.get(msg_type, _OTHER)
    values = {
        name: _field(message, name, required=name in row.required)
        for name in (row.text, row.media)
        if name
    }
    return Inbound(
        CHANNEL,
        user,
        row.kind,
        now,
        text=values.get(row.text, ""),
        media_id=values.get(row.media, ""),
        key=_message_key(message, user, text),
    )


def _message_key(message: dict, user: str, text: str) -> str:
    msg_id = _field(message, "MsgId", required=False)
    if not msg_id:
        return _content_key(text)
    if not (msg_id.isascii() and msg_id.isdigit()):
        raise Unreadable("MsgId is not a number")
    # Two users can receive the same MsgId.
    return f"{user}:{msg_id}"


def _content_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sha1(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def _nonce() -> str:
    return str(secrets.randbelow(10**10))
