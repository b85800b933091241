"""暂停提醒 / 恢复提醒: a person turns deadline reminders off and on again."""

from __future__ import annotations

import logging
import re

from handlers.context import Context

logger = logging.getLogger(__name__)

# How people say it: 暂停提醒, 别再提醒我了, 不要提醒, 关闭提醒 … and 恢复提醒, 开启提醒 ….
_END = r"(?:我)?\s*(?:了|吧|啦|哈)?[\s!！。.~～]*$"
PAUSE_RE = re.compile(
    r"^\s*(?:请\s*)?(?:暂停|停止|关闭|关掉|取消|别|不要|不用|无需|不需要)\s*(?:再\s*)?"
    r"(?:给我\s*)?(?:发\s*)?提醒" + _END
)
RESUME_RE = re.compile(
    r"^\s*(?:请\s*)?(?:恢复|开启|打开|开通|重新开启|继续|还是要|需要)\s*"
    r"(?:给我\s*)?(?:发\s*)?提醒" + _END
)


def pause(ctx: Context) -> str:
    ctx.store.set_reminders(ctx.person.id, False)
    logger.info("person %s paused reminders", ctx.person.id)
    return ctx.render("remind_paused")


def resume(ctx: Context) -> str:
    ctx.store.set_reminders(ctx.person.id, True)
    logger.info("person %s resumed reminders", ctx.person.id)
    return ctx.render("remind_resumed")
