"""The local simulator: one teacher types, and sees what the phone would show."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TextIO

from handlers.conversation import Conversation
from handlers.inbound import TEXT, Inbound
from scoring.numbers import to_json_number

CHANNEL = "chat"


def answer(conversation: Conversation, user: str, text: str) -> str:
    inbound = Inbound(CHANNEL, user, TEXT, datetime.now(UTC), text=text)
    return conversation.handle(inbound) or ""


def run_json(
    conversation: Conversation, user: str, stdin: TextIO, stdout: TextIO
) -> None:
    """One message per input line, one JSON object per output line.

    An empty line is sent as an empty message, so that the n-th output line
    always answers the n-th input line.
    """
    for raw in stdin:
        text = raw.rstrip("\r\n")
        reply = answer(conversation, user, text)
        progress = conversation.summary(CHANNEL, user)
        record = {
            "reply": reply,
            "claimed": to_json_number(progress.claimed.total),
            "approved": to_json_number(progress.approved.total),
            "target": to_json_number(progress.target),
            "gap": to_json_number(progress.gap),
        }
        stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        stdout.flush()


def run_interactive(conversation: Conversation, user: str) -> None:
    print("学时助手 本地模拟：像在微信里一样输入，空行或 Ctrl-D 退出。")
    print(_bubble(answer(conversation, user, "帮助")))
    while True:
        try:
            text = input("\n你 > ")
        except (EOFError, KeyboardInterrupt):
            print()
            return
        if not text.strip():
            return
        print(_bubble(answer(conversation, user, text)))


def _bubble(reply: str) -> str:
    lines = reply.splitlines() or [""]
    return "\n".join("  │ " + line for line in lines)


def main(conversation: Conversation, user: str, as_json: bool) -> int:
    try:
        if as_json:
            run_json(conversation, user, sys.stdin, sys.stdout)
        else:
            run_interactive(conversation, user)
    finally:
        conversation.close()
    return 0
