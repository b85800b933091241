"""Helpers for tests that run the real app and talk to it over loopback HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import aiohttp

from bot.app import Conversation, serving
from bot.config import Config, ServerConfig, StorageConfig, WechatConfig

T = TypeVar("T")

TOKEN = "test-token"
APP_ID = "wx1234567890abcdef"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
PREVIOUS_AES_KEY = "GFEDCBA9876543210zyxwvutsrqponmlkjihgfedcba"
USER = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"


def make_config(tmp_path: Path, *, mode: str = "plain", **wechat: object) -> Config:
    """A config with a fixed token, AppID and AES key; storage under `tmp_path`.

    Keyword arguments replace [wechat] settings, e.g. previous_encoding_aes_key.
    """
    settings = {
        "mode": mode,
        "token": TOKEN,
        "app_id": APP_ID,
        "encoding_aes_key": AES_KEY,
        **wechat,
    }
    return Config(
        server=ServerConfig(host="127.0.0.1", port=0),
        storage=StorageConfig(database=tmp_path / "xueshi.db"),
        wechat=WechatConfig(**settings),
    )


@contextlib.asynccontextmanager
async def running_app(config: Config, conversation: Conversation) -> AsyncIterator[str]:
    """Serve the real app on a free loopback port for the block; yield its base URL.

    The callback endpoint is `base_url + config.server.path`.
    """
    loopback = replace(config.server, host="127.0.0.1", port=0)
    async with serving(replace(config, server=loopback), conversation) as base_url:
        yield base_url


def run_against_app(
    config: Config,
    conversation: Conversation,
    scenario: Callable[[aiohttp.ClientSession, str], Awaitable[T]],
) -> T:
    """Run `scenario(session, callback_url)` against the real app, in a fresh loop."""

    async def main() -> T:
        async with (
            running_app(config, conversation) as base_url,
            aiohttp.ClientSession() as session,
        ):
            return await scenario(session, base_url + config.server.path)

    return asyncio.run(main())


async def raw_post(
    session: aiohttp.ClientSession, url: str, params: dict, body: bytes
) -> tuple[int, bytes]:
    """POST exactly `body`; the status and the answer's bytes."""
    async with session.post(url, params=params, data=body) as response:
        return response.status, await response.read()


@contextlib.contextmanager
def app_in_thread(config: Config, conversation: Conversation) -> Iterator[str]:
    """Serve the real app from a background thread; yield its base URL.

    For code under test that runs its own event loop, such as `send_main`.
    """
    ready: queue.Queue = queue.Queue()

    async def serve() -> None:
        stop = asyncio.Event()
        try:
            async with running_app(config, conversation) as base_url:
                ready.put((base_url, asyncio.get_running_loop(), stop))
                await stop.wait()
        except Exception as exc:  # handed to the waiting test thread
            ready.put(exc)

    thread = threading.Thread(target=asyncio.run, args=(serve(),))
    thread.start()
    started = ready.get(timeout=10)
    if isinstance(started, Exception):
        thread.join()
        raise started
    base_url, loop, stop = started
    try:
        yield base_url
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)
