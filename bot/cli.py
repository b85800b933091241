"""Command line: serve, chat, send, standards."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from dataclasses import replace
from pathlib import Path

from bot.config import ConfigError, load_config
from scoring.standard import StandardError

logger = logging.getLogger(__name__)

# Commands whose output is for a person or a script: only warnings on stderr.
_QUIET = {"chat": logging.WARNING, "standards": logging.WARNING}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["send"]:  # its options are its own (see bot.wechat_sim)
        from bot.wechat_sim import send_main

        return send_main(argv[1:])
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else _QUIET.get(args.command, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.run(args)
    except ConfigError as exc:
        print(f"配置错误 / config error: {exc}", file=sys.stderr)
        return 2
    except StandardError as exc:
        print(f"standard error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="学时助手")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the WeChat webhook server")
    serve.add_argument("--config", type=Path)
    serve.set_defaults(run=_serve)

    chat = commands.add_parser("chat", help="chat locally as one teacher")
    chat.add_argument("--config", type=Path)
    chat.add_argument(
        "--json", action="store_true", help="one message per line in, JSON out"
    )
    chat.add_argument(
        "--user", default="本地教师", help="the teacher's name in the simulator"
    )
    chat.add_argument("--standard", help="standard id, e.g. capped-50 or annual-80")
    chat.add_argument("--db", type=Path, help="SQLite file (default: from config)")
    chat.set_defaults(run=_chat)

    commands.add_parser("send", help="send a signed message to a running server (-h)")

    standards = commands.add_parser("standards", help="check or show standard files")
    which = standards.add_subparsers(dest="action", required=True)
    check = which.add_parser("check", help="check a standard file")
    check.add_argument("file", type=Path)
    check.set_defaults(run=_standards_check)
    show = which.add_parser("show", help="print a standard as a table")
    show.add_argument("id")
    show.add_argument("--config", type=Path)
    show.set_defaults(run=_standards_show)
    return parser


def _serve(args) -> int:
    from bot.app import run_server
    from bot.runtime import build_conversation

    config = load_config(args.config)
    conversation = build_conversation(config)
    wechat = config.wechat

    def ready(base_url: str) -> None:
        print(f"学时助手 listening on {base_url}{config.server.path}", flush=True)
        print(f"  mode={wechat.mode} standard={config.scoring.standard} "
              f"database={config.storage.database}")  # fmt: skip
        if config.dev_token:
            print(
                f"  development token: {wechat.token}  (set [wechat] token for production)"
            )
        print("  try it: python -m bot send '公开课 县级 1次'", flush=True)

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the way to stop
        asyncio.run(run_server(config, conversation, on_ready=ready))
    return 0


def _chat(args) -> int:
    from bot import chat
    from bot.runtime import build_conversation

    config = load_config(args.config)
    if args.db:
        config = replace(config, storage=replace(config.storage, database=args.db))
    conversation = build_conversation(config, args.standard)
    if args.standard:
        conversation.use_standard(chat.CHANNEL, args.user, args.standard)
    return chat.main(conversation, args.user, args.json)


def _standards_check(args) -> int:
    from scoring.standard import load_standard

    try:
        standard = load_standard(args.file)
    except StandardError as exc:
        print(f"{exc.source}: {len(exc.problems)} problem(s)")
        for problem in exc.problems:
            print(f"  - {problem}")
        return 1
    print(
        f"{args.file}: ok — {standard.id} {standard.version}, {len(standard.items)} items"
    )
    return 0


def _standards_show(args) -> int:
    from handlers.replies import Replies
    from scoring.standard import load_standards

    config = load_config(args.config)
    standards = load_standards(config.scoring.standards_dir)
    if args.id not in standards:
        print(f"unknown standard {args.id!r}; known: {', '.join(sorted(standards))}")
        return 1
    print(Replies().render("standard_table", standard=standards[args.id]))
    return 0
