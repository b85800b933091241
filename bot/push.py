"""Active messages through WeChat's HTTP API: one client, shared access tokens.

Three routes, by name: `oa_custom` (the Official Account's customer-service
message, only inside the 48-hour window), `oa_template` (a template message)
and `wecom` (a WeCom app's message). Each send ends in an `Outcome`: sent;
final for this message on this route (try the next route); transient (try
again later); or unknown (the request may have reached WeChat: never repeat).

Sent with aiohttp's own client: wechatpy's is synchronous, retries a refused
token without a limit and fetches tokens from a fixed host.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp

from bot.config import Config

logger = logging.getLogger(__name__)

SENT = "sent"
FINAL = "final"
TRANSIENT = "transient"
UNKNOWN = "unknown"

# WeCom cuts text beyond this many bytes itself, possibly inside a character.
WECOM_TEXT_BYTES = 2048
# A token is renewed this long before WeChat says it expires.
TOKEN_MARGIN = timedelta(minutes=5)
# After a failed fetch, sends fail at once for this long: fetches are counted
# per day, and an outage should not use them up.
TOKEN_RETRY_PAUSE = timedelta(seconds=10)

# The token was refused (40001 invalid, 40014 malformed, 42001 expired).
TOKEN_REFUSED = frozenset({40001, 40014, 42001})
# Worth another try later: WeChat was busy or a rate limit was hit.
TRANSIENT_CODES = {
    -1: "system busy",
    45009: "API daily limit",
    45011: "API minute limit",
    45033: "API concurrency limit",
}
# Final for the message on this route; any other error code is final too.
FINAL_CODES = {
    40003: "bad OpenID",
    40037: "bad template_id",
    43004: "not following the account",
    43019: "blocked the account",
    43101: "no consent for the subscription message",
    45002: "text too long",
    45015: "outside the 48-hour window",
    45047: "over the window quota",
    47003: "bad template data",
    48001: "API not authorised for this account",
    60111: "no such member",
    81013: "no valid recipient",
}
# Network errors that prove the request never left: safe to send again.
_NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
# WeChat shows \u escapes literally in some clients: send UTF-8 as it is.
_JSON = {"Content-Type": "application/json; charset=utf-8"}


@dataclass(frozen=True)
class Outcome:
    """What became of one send; `detail` names the cause, never the person."""

    status: str  # SENT, FINAL, TRANSIENT or UNKNOWN
    detail: str
    code: int | None = None


@dataclass(frozen=True)
class Route:
    """One way to push: the platform (also the identity channel) and the API path."""

    name: str
    platform: str  # "oa" or "wecom", as in identities.channel
    path: str
    body: Callable[[Config, str, str], dict]


class TokenUnavailable(Exception):
    """No access token could be had; the message was not sent."""


def cut_utf8(text: str, limit: int) -> str:
    """The longest prefix of `text` whose UTF-8 form has at most `limit` bytes."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    # A character cut in two leaves a partial sequence at the end only.
    return data[:limit].decode("utf-8", errors="ignore")


def _custom_body(config: Config, openid: str, text: str) -> dict:
    return {"touser": openid, "msgtype": "text", "text": {"content": text}}


def _template_body(config: Config, openid: str, text: str) -> dict:
    wechat = config.wechat
    return {
        "touser": openid,
        "template_id": wechat.template_id,
        "data": {wechat.template_field: {"value": text}},
    }


def _wecom_body(config: Config, userid: str, text: str) -> dict:
    return {
        "touser": userid,
        "msgtype": "text",
        "agentid": config.wecom.agent_id,
        "text": {"content": cut_utf8(text, WECOM_TEXT_BYTES)},
    }


ROUTES = {
    route.name: route
    for route in (
        Route("oa_custom", "oa", "cgi-bin/message/custom/send", _custom_body),
        Route("oa_template", "oa", "cgi-bin/message/template/send", _template_body),
        Route("wecom", "wecom", "cgi-bin/message/send", _wecom_body),
    )
}


def configured_routes(config: Config) -> tuple[Route, ...]:
    """The routes of `[push] routes` whose settings are all there, in that order."""
    wechat, wecom = config.wechat, config.wecom
    oa = bool(wechat.app_id and wechat.app_secret)
    ready = {
        "oa_custom": oa,
        "oa_template": oa and bool(wechat.template_id),
        "wecom": bool(wecom.enabled and wecom.secret and wecom.agent_id),
    }
    return tuple(ROUTES[name] for name in config.push.routes if ready[name])


class AccessToken:
    """One platform's access token, fetched when needed and shared by every send.

    Fetching a new token invalidates the old one, and fetches are counted per
    day: one fetch at a time, and none while the cached token is good.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        params: dict[str, str],
        clock: Callable[[], datetime],
        timeout: aiohttp.ClientTimeout,
    ) -> None:
        self._session = session
        self._url = url
        self._params = params
        self._clock = clock
        self._timeout = timeout
        self._lock = asyncio.Lock()
        self._value: str | None = None
        self._renew_at = datetime.min.replace(tzinfo=UTC)
        self._failed_at: datetime | None = None

    async def get(self) -> str:
        """The cached token, or a new one when it is about to expire."""
        if self._good():
            return self._value
        async with self._lock:
            if not self._good():  # another send may have fetched it meanwhile
                await self._fetch()
            return self._value

    async def refresh(self, refused: str) -> str:
        """A token other than `refused`; fetched only if nobody replaced it yet."""
        async with self._lock:
            if self._value in (None, refused):
                await self._fetch()
            return self._value

    def _good(self) -> bool:
        return self._value is not None and self._clock() < self._renew_at

    async def _fetch(self) -> None:
        now = self._clock()
        if self._failed_at and now - self._failed_at < TOKEN_RETRY_PAUSE:
            raise TokenUnavailable("the last fetch failed moments ago")
        self._value = None
        self._failed_at = now  # until the fetch succeeds
        try:
            async with self._session.get(
                self._url, params=self._params, timeout=self._timeout
            ) as response:
                answer = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise TokenUnavailable(type(exc).__name__) from None
        if not isinstance(answer, dict) or not answer.get("access_token"):
            code = answer.get("errcode") if isinstance(answer, dict) else None
            raise TokenUnavailable(f"token endpoint answered errcode {code}")

        lifetime = _seconds(answer.get("expires_in"), default=7200)
        margin = min(TOKEN_MARGIN, timedelta(seconds=lifetime / 2))
        self._renew_at = self._clock() + timedelta(seconds=lifetime) - margin
        self._value = str(answer["access_token"])
        self._failed_at = None
        logger.info("fetched an access token from %s", self._url)


@dataclass(frozen=True)
class Media:
    """A downloaded photo or file."""

    content: bytes
    content_type: str


class PushClient:
    """Sends one text over one route; tokens are cached per platform."""

    def __init__(
        self,
        config: Config,
        session: aiohttp.ClientSession,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._config = config
        self._session = session
        timeout_seconds = config.push.timeout_seconds
        self._timeout = aiohttp.ClientTimeout(
            total=timeout_seconds, sock_connect=timeout_seconds
        )
        self.routes = configured_routes(config)
        clock = clock or (lambda: datetime.now(UTC))
        wechat, wecom = config.wechat, config.wecom
        token_sources = {
            "oa": (wechat.api_base_url, "cgi-bin/token",
                   {"grant_type": "client_credential", "appid": wechat.app_id,
                    "secret": wechat.app_secret}),
            "wecom": (wecom.api_base_url, "cgi-bin/gettoken",
                      {"corpid": wecom.corp_id, "corpsecret": wecom.secret}),
        }  # fmt: skip
        self._bases = {name: base for name, (base, _, _) in token_sources.items()}
        self._tokens = {
            name: AccessToken(session, _join(base, path), params, clock, self._timeout)
            for name, (base, path, params) in token_sources.items()
            if any(route.platform == name for route in self.routes)
        }

    async def token(self, platform: str) -> str:
        """The shared access token of "oa" or "wecom" (raises TokenUnavailable)."""
        return await self._tokens[platform].get()

    async def prepare(self, route: str) -> Outcome | None:
        """Have a token ready before a send is claimed; a TRANSIENT outcome if not."""
        try:
            await self.token(ROUTES[route].platform)
        except TokenUnavailable as exc:
            return Outcome(TRANSIENT, f"no access token ({exc})")
        return None

    async def send(self, route: str, recipient: str, text: str) -> Outcome:
        """Send `text` to `recipient` (OpenID or WeCom userid) over `route`."""
        chosen = ROUTES[route]
        tokens = self._tokens[chosen.platform]
        body = chosen.body(self._config, recipient, text)
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            token = await tokens.get()
            outcome = await self._post(chosen, token, data)
            if outcome.code in TOKEN_REFUSED:
                # One refresh and one retry; a second refusal is not chased.
                token = await tokens.refresh(token)
                outcome = await self._post(chosen, token, data)
        except TokenUnavailable as exc:
            return Outcome(TRANSIENT, f"no access token ({exc})")
        return outcome

    async def fetch_media(self, platform: str, media_id: str) -> Media | Outcome:
        """Download a photo or file a person sent ("oa" or "wecom"), or why not."""
        tokens = self._tokens.get(platform)
        if tokens is None:
            return Outcome(FINAL, f"no push route configured for {platform}")
        try:
            token = await tokens.get()
            result = await self._get_media(platform, token, media_id)
            if isinstance(result, Outcome) and result.code in TOKEN_REFUSED:
                token = await tokens.refresh(token)
                result = await self._get_media(platform, token, media_id)
        except TokenUnavailable as exc:
            return Outcome(TRANSIENT, f"no access token ({exc})")
        return result

    async def _get_media(
        self, platform: str, token: str, media_id: str
    ) -> Media | Outcome:
        url = _join(self._bases[platform], "cgi-bin/media/get")
        try:
            async with self._session.get(
                url,
                params={"access_token": token, "media_id": media_id},
                timeout=self._timeout,
            ) as response:
                if response.status != 200:
                    return _http_outcome(response.status)
                body = await response.read()
                kind = response.content_type
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Outcome(TRANSIENT, type(exc).__name__)
        if kind in ("application/json", "text/plain"):
            # WeChat answers errors (40007 invalid media_id …) as JSON.
            try:
                return classify(ROUTES["oa_custom"], json.loads(body))
            except ValueError:
                return Outcome(TRANSIENT, "unreadable media answer")
        return Media(body, kind)

    async def _post(self, route: Route, token: str, data: bytes) -> Outcome:
        url = _join(self._bases[route.platform], route.path)
        try:
            async with self._session.post(
                url,
                params={"access_token": token},
                data=data,
                headers=_JSON,
                timeout=self._timeout,
            ) as response:
                if response.status != 200:
                    return _http_outcome(response.status)
                answer = await response.json(content_type=None)
        except _NOT_SENT as exc:
            return Outcome(TRANSIENT, type(exc).__name__)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            # The request may have reached WeChat: sending again could repeat it.
            return Outcome(UNKNOWN, type(exc).__name__)
        return classify(route, answer)


def classify(route: Route, answer: object) -> Outcome:
    """The outcome of WeChat's JSON answer to a send over `route`."""
    if not isinstance(answer, dict):
        return Outcome(UNKNOWN, "answer is not a JSON object")
    code = answer.get("errcode", 0)
    if isinstance(code, bool) or not isinstance(code, int):
        return Outcome(UNKNOWN, f"errcode is not a number: {code!r}")
    if code == 0:
        # WeCom answers 0 and lists recipients it dropped.
        if route.platform == "wecom" and (
            answer.get("invaliduser") or answer.get("unlicenseduser")
        ):
            return Outcome(FINAL, "member not in the app's range or unlicensed", 0)
        return Outcome(SENT, "ok", 0)
    if code in TOKEN_REFUSED:
        return Outcome(TRANSIENT, f"{code} access token refused", code)
    if code in TRANSIENT_CODES:
        return Outcome(TRANSIENT, f"{code} {TRANSIENT_CODES[code]}", code)
    return Outcome(FINAL, f"{code} {FINAL_CODES.get(code, 'refused')}", code)


def _http_outcome(status: int) -> Outcome:
    if status >= 500 or status == 429:
        return Outcome(TRANSIENT, f"HTTP {status}")
    return Outcome(FINAL, f"HTTP {status}")


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path


def _seconds(value: object, *, default: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return default
