"""绑定 姓名 学校: a chat identity becomes a person on the school's roster."""

from __future__ import annotations

import logging
import re

from handlers.context import Context
from handlers.inbound import Inbound
from handlers.replies import Replies
from scoring.parser import normalize
from storage.people import TEACHER
from storage.store import Store

logger = logging.getLogger(__name__)

START_RE = re.compile(r"^(?:绑定|綁定)")
BIND_RE = re.compile(
    r"^(?:绑定|綁定)\s*(?P<name>\S+?)\s+(?P<school>\S+)(?:\s+(?P<staff>\S+))?$"
)


def handle(ctx: Context) -> str:
    match = BIND_RE.match(normalize(ctx.inbound.text).strip())
    if match is None:
        return ctx.render("bind_how")
    if ctx.person.bound:
        return ctx.render("bind_already", person=ctx.person)
    name, school_text, staff = match.group("name", "school", "staff")
    schools = ctx.store.schools_matching(school_text)
    if not schools:
        return ctx.render("bind_no_school", school=school_text)
    people = ctx.store.people_named(name, [s.id for s in schools])
    if staff:
        people = [p for p in people if p["staff_no"] == staff]
    if not people:
        return ctx.render("bind_not_found", name=name, schools=schools)
    if len(people) > 1:
        return ctx.render("bind_ambiguous", name=name, people=people, schools=schools)
    target = people[0]
    if target["role"] != TEACHER and not staff:
        # A reviewer's rights must not go to whoever knows the name and the school.
        return ctx.render("bind_need_staff", name=name, school=schools[0].name)
    if ctx.store.identity_of(target["id"], ctx.inbound.channel):
        return ctx.render("bind_taken", name=name)
    ctx.store.bind(ctx.inbound.channel, ctx.inbound.user, ctx.person.id, target["id"])
    person = ctx.store.person(target["id"])
    logger.info("identity bound to person %s", person.id)
    return ctx.render("bind_done", person=person)


def with_removal_notice(
    store: Store, replies: Replies, inbound: Inbound, reply: str | None
) -> str | None:
    """The reply, led by a notice the first time an unbound identity writes again.

    `roster unbind` leaves the identity with an empty guest: without a word,
    the teacher would take it for the bot forgetting their hours. Call inside
    the message's transaction: the notice is given once.
    """
    if reply is None:  # a silent acknowledgement: tell them with the next answer
        return None
    removed = store.take_removed_binding(inbound.channel, inbound.user)
    if removed is None:
        return reply
    logger.info("identity told its binding was removed")
    return replies.render("bind_removed", **removed) + "\n\n" + reply
