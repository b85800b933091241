"""A stand-in for WeChat's servers: sign, encrypt and post a callback, read the answer.

Used by the tests, the benchmark and `python -m bot send`. It builds requests
the way the Official Account platform does, independently of bot/wechat.py,
so that the two check each other.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import secrets
import struct
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from xml.parsers.expat import ExpatError

import aiohttp
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException

from bot.config import MODES, Config, ConfigError, load_config, validate_wechat

DEFAULT_USER = "o_simulated_teacher"
# The Official Account's original id (gh_...), sent as ToUserName.
DEFAULT_ACCOUNT = "gh_0123456789ab"
# WeChat gives up on an answer after five seconds and delivers again.
REPLY_DEADLINE_SECONDS = 5

# Fields each kind of message carries besides the common ones; `text` is what
# the user typed or said.
_KIND_FIELDS = {
    "text": lambda text: {"Content": text or ""},
    "voice": lambda text: {
        "MediaId": "sim-voice-media-id",
        "Format": "amr",
        **({} if text is None else {"Recognition": text}),
    },
    "image": lambda text: {
        "PicUrl": "http://mmbiz.qpic.cn/sim/0",
        "MediaId": "sim-image-media-id",
    },
}
# Fields written without CDATA, as WeChat does.
_NUMERIC = {"CreateTime", "MsgId"}


# What a refused signature almost always means when one sends by hand.
SIGNATURE_HINT = (
    " (the token here differs from the server's: use the same --config, or the "
    "same XUESHI_WECHAT_TOKEN, as `serve`)"
)


class ReplyError(Exception):
    """The bot answered something WeChat would not accept."""


def build_request(
    config: Config,
    user: str,
    *,
    text: str | None = None,
    kind: str = "text",
    msg_id: int | str | None = None,
    event: str | None = None,
    mode: str | None = None,
    timestamp: int | str | None = None,
    nonce: str | None = None,
    fields: Mapping[str, str | None] | None = None,
    aes_key: str | None = None,
) -> tuple[dict[str, str], bytes]:
    """Query parameters and body of one delivery, signed (and encrypted) as WeChat does.

    `mode` defaults to the configured one. `fields` adds or replaces message
    fields (None removes one); `aes_key` encrypts with another key than the
    configured one, as WeChat does for a while after a key rotation.
    """
    mode = mode or config.wechat.mode
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    timestamp = str(timestamp if timestamp is not None else int(time.time()))
    nonce = nonce or str(secrets.randbelow(10**10))
    message = message_fields(user, kind=kind, text=text, msg_id=msg_id, event=event)
    message["CreateTime"] = timestamp
    message.update(fields or {})
    message = {name: value for name, value in message.items() if value is not None}

    if mode == "plain":
        params = sign_query(config, user, timestamp=timestamp, nonce=nonce)
        return params, render_xml(message).encode()
    encrypt = encrypt_message(config, render_xml(message), aes_key=aes_key)
    params = sign_query(config, user, timestamp=timestamp, nonce=nonce, encrypt=encrypt)
    if mode == "compatible":
        return params, render_xml({**message, "Encrypt": encrypt}).encode()
    envelope = {"ToUserName": message.get("ToUserName", ""), "Encrypt": encrypt}
    return params, render_xml(envelope).encode()


def message_fields(
    user: str,
    *,
    kind: str = "text",
    text: str | None = None,
    msg_id: int | str | None = None,
    event: str | None = None,
) -> dict[str, str]:
    """The plain fields of a message or event (`kind="event"`), before signing."""
    message = {
        "ToUserName": DEFAULT_ACCOUNT,
        "FromUserName": user,
        "CreateTime": str(int(time.time())),
        "MsgType": kind,
    }
    if kind == "event":
        # Events carry no MsgId.
        message["Event"] = event or "subscribe"
        return message
    message.update(_KIND_FIELDS.get(kind, lambda text: {})(text))
    message["MsgId"] = str(msg_id if msg_id is not None else _new_msg_id())
    return message


def render_xml(fields: Mapping[str, str]) -> str:
    """`<xml>` with one element per field, text in CDATA as WeChat writes it."""
    return "<xml>" + "".join(_element(k, v) for k, v in fields.items()) + "</xml>"


def sign_query(
    config: Config,
    user: str,
    *,
    timestamp: str,
    nonce: str,
    encrypt: str | None = None,
) -> dict[str, str]:
    """The query string WeChat sends; with `encrypt`, the safe-mode parameters too."""
    token = config.wechat.token
    params = {
        "signature": _sha1(token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": user,
    }
    if encrypt is not None:
        params["encrypt_type"] = "aes"
        params["msg_signature"] = _sha1(token, timestamp, nonce, encrypt)
    return params


def encrypt_message(config: Config, xml: str, *, aes_key: str | None = None) -> str:
    """The `Encrypt` value carrying `xml`, for the configured (or given) key."""
    key = aes_key or config.wechat.encoding_aes_key
    crypto = WeChatCrypto(config.wechat.token, key, config.wechat.app_id)
    sealed = xmltodict.parse(crypto.encrypt_message(xml, "0"))["xml"]
    return sealed["Encrypt"]


def parse_reply(config: Config, params: Mapping[str, str], body: bytes) -> str | None:
    """The reply's Content for the request sent with `params`; None for `success`.

    Raises ReplyError for anything WeChat would refuse: a plain answer to an
    encrypted request, a bad signature, another addressee, an empty Content.
    """
    if body.strip() in (b"", b"success"):
        return None
    reply = _parse(body)
    if params.get("encrypt_type") == "aes":
        reply = _open_reply(config, reply)

    if reply.get("MsgType") != "text":
        raise ReplyError(f"MsgType is {reply.get('MsgType')!r}, expected 'text'")
    if reply.get("ToUserName") != params.get("openid"):
        raise ReplyError("ToUserName is not the sender of the message")
    content = reply.get("Content")
    if not isinstance(content, str) or not content:
        raise ReplyError("Content is empty")
    return content


async def post(
    session: aiohttp.ClientSession,
    url: str,
    config: Config,
    params: Mapping[str, str],
    body: bytes,
) -> str | None:
    """Deliver a built request; the reply's Content, or None for `success`."""
    timeout = aiohttp.ClientTimeout(total=REPLY_DEADLINE_SECONDS)
    headers = {"Content-Type": "text/xml"}
    async with session.post(
        url, params=params, data=body, headers=headers, timeout=timeout
    ) as response:
        answer = await response.read()
        if response.status != 200:
            said = answer[:200].decode("utf-8", "replace")
            hint = SIGNATURE_HINT if response.status == 403 else ""
            raise ReplyError(f"HTTP {response.status}: {said}{hint}")
    return parse_reply(config, params, answer)


async def send(
    session: aiohttp.ClientSession,
    url: str,
    config: Config,
    user: str,
    text: str,
    *,
    mode: str | None = None,
    msg_id: int | str | None = None,
) -> str | None:
    """Send `text` from `user` as a text message; the reply text, or None."""
    params, body = build_request(config, user, text=text, mode=mode, msg_id=msg_id)
    return await post(session, url, config, params, body)


def default_url(config: Config) -> str:
    server = config.server
    return f"http://{server.host}:{server.port}{server.path}"


def send_main(argv: Sequence[str] | None = None) -> int:
    """`python -m bot send [--config PATH] [--url URL] [--user OPENID] [--mode M] TEXT`.

    `argv` is what follows `send`. Prints the reply text; returns the exit status.
    """
    args = _arguments().parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    if args.mode:
        try:
            # Encrypting needs the key and AppID the server decrypts with.
            validate_wechat(replace(config.wechat, mode=args.mode))
        except ConfigError as exc:
            print(f"error: {exc} (for --mode {args.mode})", file=sys.stderr)
            return 2
    url = args.url or default_url(config)
    try:
        reply = asyncio.run(_send_once(url, config, args.user, args.text, args.mode))
    except (TimeoutError, aiohttp.ClientError, ReplyError) as exc:
        print(f"error: {url}: {exc or type(exc).__name__}", file=sys.stderr)
        return 1
    if reply is not None:
        print(reply)
    return 0


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot send",
        description="Send one message to the bot as WeChat would; print the reply.",
    )
    parser.add_argument("--config", type=Path, help="TOML configuration file")
    parser.add_argument("--url", help="callback URL (default: from the config)")
    parser.add_argument("--user", default=DEFAULT_USER, help="sender's OpenID")
    parser.add_argument("--mode", choices=MODES, help="default: the configured mode")
    parser.add_argument("text", help="the message text")
    return parser


async def _send_once(
    url: str, config: Config, user: str, text: str, mode: str | None
) -> str | None:
    async with aiohttp.ClientSession() as session:
        return await send(session, url, config, user, text, mode=mode)


def _open_reply(config: Config, reply: dict) -> dict:
    if "Encrypt" not in reply:
        raise ReplyError("plain answer to an encrypted message")
    try:
        parts = (reply["Encrypt"], reply["TimeStamp"], reply["Nonce"])
        signature = reply["MsgSignature"]
    except KeyError as exc:
        raise ReplyError(f"encrypted answer without {exc.args[0]}") from None
    if _sha1(config.wechat.token, *parts) != signature:
        raise ReplyError("bad MsgSignature on the answer")

    # The bot answers with whichever key opened the request: try both.
    for key in (
        config.wechat.encoding_aes_key,
        config.wechat.previous_encoding_aes_key,
    ):
        if not key:
            continue
        crypto = WeChatCrypto(config.wechat.token, key, config.wechat.app_id)
        try:
            xml = crypto.decrypt_message(reply, signature, *parts[1:])
        except (InvalidAppIdException, ValueError, struct.error, IndexError):
            continue
        return _parse(xml.encode())
    raise ReplyError("cannot decrypt the answer")


def _parse(body: bytes) -> dict:
    try:
        reply = xmltodict.parse(body)["xml"]
    except (ExpatError, KeyError) as exc:
        raise ReplyError(f"answer is not WeChat XML: {body[:200]!r}") from exc
    if not isinstance(reply, dict):
        raise ReplyError("answer has an empty <xml>")
    return reply


def _element(name: str, value: str) -> str:
    if name in _NUMERIC:
        return f"<{name}>{value}</{name}>"
    return f"<{name}><![CDATA[{value.replace(']]>', ']]]]><![CDATA[>')}]]></{name}>"


def _sha1(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def _new_msg_id() -> int:
    # Real MsgIds are 64-bit numbers of about 19 digits.
    return secrets.randbelow(10**19)
