"""The conversation: finds the intent of a message in a table and answers it.

The same object serves the Official Account, the local simulator and tests;
it knows nothing of HTTP or WeChat.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime

from handlers import (
    binding,
    claim,
    evidence,
    help,
    media,
    query,
    records,
    reminder_switch,
    review,
)
from handlers.context import Context
from handlers.inbound import EVENT, FILE, IMAGE, TEXT, VOICE, Inbound
from handlers.progress import progress_of
from handlers.replies import CHINA, Replies
from scoring.parser import Parser, normalize
from scoring.standard import Standard
from storage.store import Person, Store

logger = logging.getLogger(__name__)


# Commands by the words teachers use for them; anything else is read as a claim.
COMMANDS: dict[str, Callable[[Context], str]] = {}
_COMMAND_WORDS = {
    help.handle: ("帮助", "help", "?", "怎么用", "怎么写", "使用说明", "说明", "菜单",
                  "能记什么", "记什么", "有哪些项目", "项目", "标准"),
    records.details: ("明细", "清单", "记录", "我的记录", "列表", "明细列表", "查看明细",
                      "查明细", "都记了什么", "记了哪些", "记了什么", "我记了什么", "查询明细",
                      "明细查询", "看明细", "查记录", "查询记录", "查看记录"),
    records.undo: ("撤销", "撤回", "取消", "撤销上一条", "撤回上一条", "删除上一条",
                   "删掉上一条", "删掉刚才那条", "删除刚才那条", "刚才那条不对",
                   "上一条不算", "上一条删掉", "撤销刚才那条", "不算", "记错了", "撤消",
                   "撤消上一条"),
    query.handle: ("查询", "查", "进度", "统计", "我的学时", "学时", "查学时", "查询学时",
                   "查看", "合计", "总计", "汇总", "还差多少", "差多少", "查进度",
                   "查询进度", "我的进度", "看看进度", "看进度", "我还差多少", "还差几个学时",
                   "查寻", "我有多少学时"),
}  # fmt: skip
for _handler, _words in _COMMAND_WORDS.items():
    for _word in _words:
        COMMANDS[_word] = _handler

# Events that want a visible answer; the rest are acknowledged silently.
EVENTS: dict[str, Callable[[Context], str]] = {
    "subscribe": media.welcome,
    "click": help.handle,
}
_FILLER_RE = re.compile(r"[\s,.;:!?，。；：！？、~～]+|一下|吧|呢|啊")


# Commands with arguments (删除 3, 修改 3 县级, 附件 3, 绑定 张三 某小学) or many
# phrasings (暂停提醒, 别再提醒我了).
PATTERN_COMMANDS = [
    (records.DELETE_RE, records.delete),
    (records.RESUBMIT_RE, records.resubmit),
    (records.CHANGE_RE, records.change),
    (evidence.ATTACH_RE, evidence.attach),
    (binding.START_RE, binding.handle),
    (reminder_switch.PAUSE_RE, reminder_switch.pause),
    (reminder_switch.RESUME_RE, reminder_switch.resume),
]
REVIEWERS = set(review.STAGES)
# Events that open the Official Account's 48-hour window, as WeChat lists them.
WINDOW_EVENTS = frozenset({"subscribe", "scan", "click"})


def command_of(text: str, role: str | None = None) -> Callable[[Context], str] | None:
    """The command a message asks for, if it is one.

    Review commands (通过 17, 改 17 3学时) come first for reviewers; a teacher's
    "改 3 …" changes their own claim, and their "通过 17" is refused with a reason.
    """
    words = normalize(text).strip()
    if review.is_review_command(words) and (
        role in REVIEWERS or not records.CHANGE_RE.match(words)
    ):
        return review.handle
    for pattern, handler in PATTERN_COMMANDS:
        if pattern.match(words):
            return handler
    word = _FILLER_RE.sub("", words)
    if not word:
        # A bare "?" asks for help; emoji, dots or nothing at all are read as a
        # message without content and get the short pointer of an unread claim.
        return help.handle if "?" in words else None
    return COMMANDS.get(word)


class Conversation:
    """Answers one person's message; the answer is committed before it is returned."""

    def __init__(self, store: Store, standards: dict[str, Standard], default_standard: str,
                 clock: Callable[[], datetime] | None = None):  # fmt: skip
        if default_standard not in standards:
            raise KeyError(default_standard)
        self.store = store
        self.standards = standards
        self.default_standard = default_standard
        self.clock = clock or (lambda: datetime.now(UTC))
        store.clock = self.clock
        self.replies = Replies()
        self.parsers = {sid: Parser(std) for sid, std in standards.items()}

    def close(self) -> None:
        self.store.close()

    def handle(self, inbound: Inbound) -> str | None:
        """The reply text, or None to acknowledge without a visible reply."""
        return self.complete(inbound, self.prepare(inbound))

    def prepare(self, inbound: Inbound) -> tuple[claim.Draft, int] | None:
        """A claim's answer worked out without the write lock, so that worker
        processes score in parallel and take turns only to write; None for
        anything else. complete() then checks that it still holds."""
        try:
            return self._draft(inbound)
        except Exception:
            # The locked path will meet the same fault and answer it.
            logger.exception("could not prepare a %s message", inbound.kind)
            return None

    def complete(
        self, inbound: Inbound, drafted: tuple[claim.Draft, int] | None
    ) -> str | None:
        """Answer the message, writing the prepared draft if it still holds."""
        try:
            # The duplicate check sits inside the write transaction, so that two
            # deliveries reaching two worker processes at once are still one.
            with self.store.transaction():
                note_contact(self.store, inbound)
                seen, answer = (
                    self.store.answered(inbound.key) if inbound.key else (False, None)
                )
                if seen:
                    logger.info(
                        "duplicate delivery %s answered again", _short(inbound.key)
                    )
                    return answer
                if drafted is not None and self._holds(*drafted, inbound):
                    reply = drafted[0].write(self.store)
                else:
                    reply = self._dispatch(inbound)
                reply = binding.with_removal_notice(
                    self.store, self.replies, inbound, reply
                )
                if inbound.key:
                    self.store.remember_answer(inbound.key, reply)
        except Exception:
            logger.exception("failed to handle a %s message", inbound.kind)
            return self.replies.render("error")
        return reply

    def _draft(self, inbound: Inbound) -> tuple[claim.Draft, int] | None:
        """A claim's answer read without the write lock, and the data version then.

        None for anything but a claim from someone known with no open question.
        """
        if (
            not inbound.key
            or inbound.kind not in (TEXT, VOICE)
            or not inbound.text.strip()
        ):
            return None
        with self.store.snapshot() as version:
            person = self.store.find_person(inbound.channel, inbound.user)
            # A repeated delivery (WeChat repeats one it waited 5 s for) is not
            # worked out again; complete() answers it as before.
            if person is None or self.store.answered(inbound.key)[0]:
                return None
            ctx = self.context(inbound, person)
            if command_of(inbound.text, person.role) is not None:
                return None
            if self.store.open_question(person.id, ctx.now) is not None:
                return None
            return claim.draft_message(ctx), version

    def _holds(self, draft: claim.Draft, version: int, inbound: Inbound) -> bool:
        """Whether nobody has written since the draft, or what it read is unchanged."""
        if self.store.data_version() == version:
            return True
        return draft.holds(self.store, inbound.channel, inbound.user, self.clock())

    def _dispatch(self, inbound: Inbound) -> str | None:
        ctx = self.context(inbound)
        if inbound.kind == TEXT or (inbound.kind == VOICE and inbound.text.strip()):
            return self._text(ctx)
        if inbound.kind == VOICE:
            return media.voice_without_text(ctx)
        if inbound.kind in (IMAGE, FILE):
            return evidence.received(ctx)
        if inbound.kind == EVENT:
            handler = EVENTS.get(inbound.event)
            return handler(ctx) if handler else None
        return media.other(ctx)

    def _text(self, ctx: Context) -> str:
        command = command_of(ctx.inbound.text, ctx.person.role)
        pending = self.store.open_question(ctx.person.id, ctx.now)
        if pending is not None and "choices" in pending:
            self.store.clear_question(ctx.person.id)
            if command is None:
                answered = claim.answer(ctx, pending)
                if answered is not None:
                    return answered
        return (command or claim.handle)(ctx)

    def context(self, inbound: Inbound, person: Person | None = None) -> Context:
        if person is None:
            person = self.store.person_for(inbound.channel, inbound.user)
        standard_id = next(
            (
                s
                for s in (person.standard, person.school_standard)
                if s in self.standards
            ),
            self.default_standard,
        )
        now = self.clock()
        return Context(
            inbound=inbound,
            person=person,
            standard=self.standards[standard_id],
            standards=self.standards,
            parser=self.parsers[standard_id],
            store=self.store,
            replies=self.replies,
            now=now,
            today=now.astimezone(CHINA).date(),
        )

    def use_standard(self, channel: str, user: str, standard_id: str) -> None:
        """Put one person under a standard (the simulator's --standard)."""
        with self.store.transaction():
            person = self.store.person_for(channel, user)
            self.store.set_person_standard(person.id, standard_id)

    def summary(self, channel: str, user: str):
        """The person's current Progress (claimed, approved, target, gap)."""
        ctx = self.context(Inbound(channel, user, TEXT, self.clock()))
        period = ctx.standard.period.span_of(ctx.today)
        return progress_of(self.store, ctx.person.id, ctx.standard,
                           period.start.isoformat(), period.label)  # fmt: skip


def note_contact(store: Store, inbound: Inbound) -> None:
    """Keep when the person last wrote: WeChat lets the account answer for 48 hours.

    Any message opens that window, and so do the events WeChat lists; an
    unsubscribe closes it; other events leave it as it was.
    """
    if inbound.kind != EVENT or inbound.event in WINDOW_EVENTS:
        store.note_inbound(inbound.channel, inbound.user, inbound.received_at)
    elif inbound.event == "unsubscribe":
        store.note_inbound(inbound.channel, inbound.user, None)


def _short(key: str) -> str:
    """A log-safe handle for a message key (which starts with an OpenID)."""
    return key.rsplit(":", 1)[-1][:16]
