"""A local fake of WeChat's HTTP API: access tokens and the three send endpoints.

A real aiohttp server on a free loopback port, for the Official Account
(`cgi-bin/token`, `message/custom/send`, `message/template/send`) and WeCom
(`cgi-bin/gettoken`, `message/send`). It records every call and answers from
a script:

    async with FakeWeChat() as fake:
        config = fake.configure(config)
        fake.answer("oa_custom", {"errcode": 45015}, to=OPENID, times=2)
        fake.refuse_token("oa")          # the current token is expired
        fake.hold_sends(after=2)         # later sends wait for release_sends()
        ...
        assert [call.body for call in fake.sends("oa_custom")] == [...]
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field, replace

from aiohttp import web

from bot.config import Config

# Route name → (platform, path) as bot/push.py names them.
SEND_PATHS = {
    "oa_custom": ("oa", "cgi-bin/message/custom/send"),
    "oa_template": ("oa", "cgi-bin/message/template/send"),
    "wecom": ("wecom", "cgi-bin/message/send"),
}
TOKEN_PATHS = {"oa": "cgi-bin/token", "wecom": "cgi-bin/gettoken"}
MEDIA_PATH = "cgi-bin/media/get"
# What a send answers when nothing is scripted.
OK = {"errcode": 0, "errmsg": "ok"}
# A scripted answer that closes the connection without a response.
DISCONNECT = "disconnect"


@dataclass(frozen=True)
class Call:
    """One request the fake received; `body` is the JSON of a POST."""

    path: str  # without the leading slash, e.g. "cgi-bin/message/send"
    query: dict[str, str]
    body: dict | None
    raw: bytes = b""

    @property
    def to(self) -> str | None:
        return (self.body or {}).get("touser")

    @property
    def text(self) -> str | None:
        body = self.body or {}
        if "text" in body:
            return body["text"]["content"]
        data = body.get("data") or {}
        return next((value["value"] for value in data.values()), None)


@dataclass
class _Scripted:
    route: str
    answer: dict | int | str
    to: str | None
    times: int


@dataclass
class _Platform:
    tokens: itertools.count = field(default_factory=lambda: itertools.count(1))
    current: str | None = None
    refused: dict[str, int] = field(default_factory=dict)  # token → errcode


class FakeWeChat:
    """The fake API server; `url` is its root, set once it has started."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.url = ""
        self._script: list[_Scripted] = []
        self._platforms = {"oa": _Platform(), "wecom": _Platform()}
        self._token_errors: dict[str, list[dict]] = {"oa": [], "wecom": []}
        self._gate = asyncio.Event()
        self._gate.set()
        self._hold_after = 0
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        # media_id → (bytes, content type) that media/get serves; others are 40007.
        self.media: dict[str, tuple[bytes, str]] = {}

    async def __aenter__(self) -> FakeWeChat:
        app = web.Application()
        for platform, path in TOKEN_PATHS.items():
            app.router.add_get("/" + path, self._token_handler(platform))
        for route, (_, path) in SEND_PATHS.items():
            app.router.add_post("/" + path, self._send_handler(route))
        app.router.add_get("/" + MEDIA_PATH, self._media)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/"
        return self

    async def __aexit__(self, *exc_info) -> None:
        self.release_sends()
        await self._runner.cleanup()

    def configure(self, config: Config) -> Config:
        """`config` with both API roots pointing here."""
        return replace(
            config,
            wechat=replace(config.wechat, api_base_url=self.url),
            wecom=replace(config.wecom, api_base_url=self.url),
        )

    # --- scripting ----------------------------------------------------------

    def answer(
        self,
        route: str,
        answer: dict | int | str,
        *,
        to: str | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` sends over `route` (to `to`, if given) get `answer`.

        `answer` is a JSON object, an HTTP status, or DISCONNECT.
        """
        self._script.append(_Scripted(route, answer, to, times))

    def refuse_token(self, platform: str, errcode: int = 42001) -> None:
        """The token now in use is refused with `errcode` from now on."""
        current = self._platforms[platform].current
        if current is not None:
            self._platforms[platform].refused[current] = errcode

    def fail_token_fetch(self, platform: str, answer: dict, *, times: int = 1) -> None:
        """The next `times` token fetches answer `answer` instead of a token."""
        self._token_errors[platform].extend([answer] * times)

    def hold_sends(self, *, after: int = 0) -> None:
        """Sends after the first `after` are recorded, then wait for release_sends()."""
        self._hold_after = after
        self._gate.clear()

    def release_sends(self) -> None:
        self._gate.set()

    # --- what was received --------------------------------------------------

    def sends(self, route: str | None = None, *, to: str | None = None) -> list[Call]:
        paths = {
            path for name, (_, path) in SEND_PATHS.items() if route in (None, name)
        }
        return [
            call for call in self.calls if call.path in paths and to in (None, call.to)
        ]

    def token_fetches(self, platform: str) -> int:
        return sum(1 for call in self.calls if call.path == TOKEN_PATHS[platform])

    async def wait_for_sends(self, count: int, timeout: float = 5) -> None:
        """Until at least `count` sends have arrived."""
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(self.sends()) >= count), timeout
            )

    # --- handlers -----------------------------------------------------------

    async def _media(self, request: web.Request) -> web.Response:
        await self._record(request)
        found = self.media.get(request.query.get("media_id", ""))
        if found is None:
            return web.json_response({"errcode": 40007, "errmsg": "invalid media_id"})
        content, kind = found
        return web.Response(body=content, content_type=kind)

    def media_fetches(self) -> list[Call]:
        return [call for call in self.calls if call.path == MEDIA_PATH]

    def _token_handler(self, platform: str):
        async def handler(request: web.Request) -> web.Response:
            await self._record(request)
            errors = self._token_errors[platform]
            if errors:
                return web.json_response(errors.pop(0))
            state = self._platforms[platform]
            state.current = f"{platform}-token-{next(state.tokens)}"
            return web.json_response(
                {"errcode": 0, "access_token": state.current, "expires_in": 7200}
            )

        return handler

    def _send_handler(self, route: str):
        platform = SEND_PATHS[route][0]

        async def handler(request: web.Request) -> web.StreamResponse:
            raw = await request.read()
            body = json.loads(raw)
            await self._record(request, body, raw)
            if len(self.sends()) > self._hold_after:
                await self._gate.wait()
            refused = self._token_refusal(platform, request.query.get("access_token"))
            if refused is not None:
                return web.json_response(refused)
            answer = self._scripted(route, body.get("touser"))
            if answer == DISCONNECT:
                request.transport.abort()
                return web.Response()
            if isinstance(answer, int):
                return web.Response(status=answer, text="fake server error")
            return web.json_response(answer)

        return handler

    def _token_refusal(self, platform: str, token: str | None) -> dict | None:
        state = self._platforms[platform]
        if token in state.refused:
            return {"errcode": state.refused[token], "errmsg": "access_token expired"}
        if token != state.current:
            return {"errcode": 40001, "errmsg": "invalid credential"}
        return None

    def _scripted(self, route: str, to: str | None) -> dict | int | str:
        for entry in self._script:
            if entry.route == route and entry.to in (None, to) and entry.times > 0:
                entry.times -= 1
                return entry.answer
        return dict(OK)

    async def _record(
        self, request: web.Request, body: dict | None = None, raw: bytes = b""
    ) -> None:
        call = Call(request.path.lstrip("/"), dict(request.query), body, raw)
        async with self._arrived:
            self.calls.append(call)
            self._arrived.notify_all()
