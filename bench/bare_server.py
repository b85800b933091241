"""Baseline (a): the least an aiohttp callback can do.

It checks the signature and answers `success`, nothing else: no XML parsing,
no storage, no logging. The gap between this and the bot is the bot's own
work; the gap between this and infinity is aiohttp and the client.

    python bench/bare_server.py --port 8081 --token TOKEN
"""

from __future__ import annotations

import argparse

from aiohttp import web
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

TOKEN = web.AppKey("token", str)


def create_app(token: str, path: str) -> web.Application:
    app = web.Application()
    app[TOKEN] = token
    app.router.add_get(path, _verify)
    app.router.add_post(path, _receive)
    return app


def _signed(request: web.Request) -> bool:
    query = request.query
    try:
        check_signature(
            request.app[TOKEN],
            query.get("signature", ""),
            query.get("timestamp", ""),
            query.get("nonce", ""),
        )
    except InvalidSignatureException:
        return False
    return True


async def _verify(request: web.Request) -> web.Response:
    if not _signed(request):
        return web.Response(status=403, text="bad signature")
    return web.Response(text=request.query.get("echostr", ""))


async def _receive(request: web.Request) -> web.Response:
    if not _signed(request):
        return web.Response(status=403, text="bad signature")
    # Read the body as a real handler must, so the comparison stays fair.
    await request.read()
    return web.Response(body=b"success", content_type="text/plain")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--path", default="/wechat")
    args = parser.parse_args()
    app = create_app(args.token, args.path)
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
