"""The aiohttp app: the Official Account (and WeCom) callbacks before the conversation.

When a push route is configured, the outbox sender runs with the app, and so
does the scheduler (deadline reminders, batched review prompts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Protocol

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from bot import outbox, scheduler, wechat, wecom
from bot.config import Config
from handlers.inbound import Inbound
from storage.store import Store

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
# WeChat repeats a delivery within seconds; its key and answer are kept far longer.
ANSWERS_KEPT = timedelta(days=2)
HOUSEKEEPING_SECONDS = 6 * 3600


class Conversation(Protocol):
    """What the app needs of the conversation: a fast, synchronous answer."""

    def handle(self, inbound: Inbound) -> str | None: ...

    def close(self) -> None: ...


CONFIG = web.AppKey("config", Config)
CONVERSATION = web.AppKey("conversation", Conversation)
SENDER = web.AppKey("sender", outbox.OutboxSender)
SCHEDULER = web.AppKey("scheduler", scheduler.Scheduler)


def create_app(
    config: Config, conversation: Conversation, *, background: bool = True
) -> web.Application:
    """The callback app; `conversation.close()` runs when the app is cleaned up.

    `background`: this process also sends pushes and follows the schedule; with
    several workers only the first one does.
    """
    app = web.Application(client_max_size=config.server.max_body_bytes)
    app[CONFIG] = config
    app[CONVERSATION] = conversation
    app.router.add_get(config.server.path, _verify)
    app.router.add_post(config.server.path, _receive)
    app.router.add_get(HEALTH_PATH, _health)
    if config.wecom.enabled:
        app.router.add_get(config.wecom.path, _wecom_verify)
        app.router.add_post(config.wecom.path, _wecom_receive)
    if background:
        app.cleanup_ctx.append(_housekeeping)
    if background and outbox.push_configured(config):
        app.cleanup_ctx.append(_outbox_sender)
        # After the sender: it starts later and stops sooner, so it can wake it.
        app.cleanup_ctx.append(_scheduler)
    app.on_cleanup.append(_close_conversation)
    return app


@contextlib.asynccontextmanager
async def serving(
    config: Config, conversation: Conversation, *, background: bool = True
) -> AsyncIterator[str]:
    """Serve on `config.server.host`/`port` (0: any free port); yield the base URL."""
    app = create_app(config, conversation, background=background)
    runner = web.AppRunner(app, access_log_class=_AccessLogger)
    await runner.setup()
    try:
        # Several worker processes share the port; the kernel spreads connections.
        shared = config.server.workers > 1
        site = web.TCPSite(
            runner, config.server.host, config.server.port, reuse_port=shared or None
        )
        await site.start()
        yield _base_url(runner.addresses[0])
    finally:
        await runner.cleanup()


async def run_server(
    config: Config,
    conversation: Conversation,
    *,
    on_ready: Callable[[str], None] | None = None,
    background: bool = True,
) -> None:
    """Serve until cancelled (Ctrl-C under asyncio.run); `on_ready` gets the base URL.

    Nothing is printed: the command line says where the server listens.
    """
    async with serving(config, conversation, background=background) as base_url:
        if on_ready is not None:
            on_ready(base_url)
        await asyncio.Event().wait()


async def _verify(request: web.Request) -> web.Response:
    return _verification(request, wechat)


async def _wecom_verify(request: web.Request) -> web.Response:
    return _verification(request, wecom)


async def _receive(request: web.Request) -> web.Response:
    return await _delivery(request, wechat, wechat.SUCCESS)


async def _wecom_receive(request: web.Request) -> web.Response:
    return await _delivery(request, wecom, wecom.ACK)


def _verification(request: web.Request, protocol: ModuleType) -> web.Response:
    """A GET from the console's URL check: `protocol` is bot.wechat or bot.wecom."""
    try:
        echostr = protocol.verify_url(request.app[CONFIG], request.query)
    except wechat.Rejected as exc:
        logger.warning("refused a verification: %s", exc.reason)
        return web.Response(status=exc.status, text=exc.reason)
    return web.Response(text=echostr)


async def _delivery(
    request: web.Request, protocol: ModuleType, ack: bytes
) -> web.Response:
    """A POSTed message, decoded and answered by `protocol` (wechat or wecom)."""
    config = request.app[CONFIG]
    body = await _read_body(request)
    try:
        delivery = protocol.decode_post(config, request.query, body)
    except wechat.Rejected as exc:
        logger.warning("refused a delivery: %s (%s)", exc.reason, exc.status)
        return web.Response(status=exc.status, text=exc.reason)
    except wechat.Unreadable as exc:
        logger.warning("acknowledged an unreadable message: %s", exc)
        return _success(ack)

    inbound = delivery.inbound
    # One info line per message comes from its handler (recorded, answered …).
    logger.debug(
        "received a %s message %s from %s", inbound.kind, inbound.key, inbound.user
    )
    # Handled in the event loop: duplicate deliveries then run one after another.
    answer = _answer(request.app[CONVERSATION], inbound)
    reply = protocol.encode_reply(config, delivery, answer)
    if SENDER in request.app:
        # Pushes the answer queued leave once this response is on its way.
        request.app[SENDER].wake()
    if reply == ack:
        return _success(ack)
    return web.Response(body=reply, content_type="application/xml", charset="utf-8")


async def _read_body(request: web.Request) -> bytes:
    try:
        # Beyond client_max_size this stops reading and answers 413.
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        logger.warning("refused a delivery over %s bytes", request.client_max_size)
        raise


def _answer(conversation: Conversation, inbound: Inbound) -> str | None:
    try:
        return conversation.handle(inbound)
    except Exception:
        # An error page would make WeChat tell the user the account is broken.
        logger.exception("conversation failed on a %s message", inbound.kind)
        return None


async def _health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _close_conversation(app: web.Application) -> None:
    app[CONVERSATION].close()


async def _housekeeping(app: web.Application) -> AsyncIterator[None]:
    """Old message keys are forgotten at start and every few hours after."""
    task = asyncio.create_task(_forget_answers_regularly(app[CONFIG]))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _forget_answers_regularly(config: Config) -> None:
    while True:
        try:
            # A connection of its own, in a thread: the event loop keeps answering.
            await asyncio.to_thread(_forget_answers, config.storage.database)
        except (sqlite3.Error, OSError) as exc:
            logger.warning("could not forget old message keys: %s", exc)
        await asyncio.sleep(HOUSEKEEPING_SECONDS)


def _forget_answers(database) -> None:
    store = Store(database)
    before, after, forgotten = datetime.now(UTC) - ANSWERS_KEPT, "", 0
    try:
        while after is not None:
            # One short write at a time: messages are answered in between.
            with store.transaction():
                gone, after = store.forget_answers(before, after)
            forgotten += gone
            time.sleep(0.005)
    finally:
        store.close()
    if forgotten:
        logger.info("forgot %d processed message key(s)", forgotten)


async def _outbox_sender(app: web.Application) -> AsyncIterator[None]:
    """The sender runs from startup to cleanup, with its own connection and session."""
    async with outbox.running_sender(app[CONFIG]) as sender:
        app[SENDER] = sender
        yield


async def _scheduler(app: web.Application) -> AsyncIterator[None]:
    """Reminders and review prompts are queued on time from startup to cleanup."""
    async with scheduler.running_scheduler(
        app[CONFIG], on_queued=app[SENDER].wake
    ) as running:
        app[SCHEDULER] = running
        yield


def _success(ack: bytes = wechat.SUCCESS) -> web.Response:
    return web.Response(body=ack, content_type="text/plain")


def _base_url(address: tuple) -> str:
    host, port = address[0], address[1]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class _AccessLogger(AbstractAccessLogger):
    """Method, path and status only: the query string carries the user's OpenID."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float):
        # Refusals are worth a line; each good request is already logged by its handler.
        log = self.logger.info if response.status >= 400 else self.logger.debug
        log("%s %s %s %.3fs", request.method, request.path, response.status, time)

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
