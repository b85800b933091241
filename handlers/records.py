"""明细, 撤销, 删除 N, 修改 N …: a teacher sees and corrects their own claims.

Only claims still waiting for the school's check can change; once the review
has started they are locked, and the answer says so.
"""

from __future__ import annotations

import logging
import re

from handlers.claim import problem_of
from handlers.context import Context
from handlers.progress import current_progress, keep_counted, recounted
from scoring.engine import score_claim
from scoring.parser import ParsedClaim, normalize, read_qualifiers
from scoring.questions import question_for
from storage.store import PENDING_CHECK, RETURNED, WITHDRAWN, ClaimRecord

logger = logging.getLogger(__name__)

_NUMBER = r"(?:第|#|＃|no\.?)?\s*(?P<number>\d{1,4})\s*(?:条|号)?"
# Each command also matches its word without a usable number (删除, 删除 abc,
# 修改 1), so that the teacher is shown how to write it instead of a greeting.
# The atomic groups keep 删掉上一条 from matching as 删 + 掉上一条: the words
# for undoing the last claim belong to the word table of handlers.conversation.
DELETE_RE = re.compile(
    rf"^(?:删除|删掉|删|去掉|作废|撤销|撤回|取消)\s*{_NUMBER}$"
    r"|^(?>删除|删掉|删)(?!\s*(?:上一条|刚才))(?P<other>.*)$"
)
RESUBMIT_RE = re.compile(
    rf"^(?:重新提交|重新申报|再次提交|重交)\s*{_NUMBER}$"
    r"|^(?>重新提交|重新申报|再次提交|重交)(?P<other>.*)$"
)
CHANGE_RE = re.compile(
    rf"^(?:修改|改成|改为|改|更正)\s*{_NUMBER}\s*(?:为|成|:)?\s*(?P<rest>.*)$"
    r"|^(?>修改|更正)(?P<other>.*)$"
)


def details(ctx: Context) -> str:
    progress = current_progress(ctx)
    evidence = {c.id: ctx.store.evidence_count(c.id) for c in progress.claims}
    period = ctx.standard.period.span_of(ctx.today).start.isoformat()
    returned = [
        (c, _last_reason(ctx, c.id))
        for c in ctx.store.claims_for(ctx.person.id, period, (RETURNED,))
    ]
    return ctx.render("details", p=progress, evidence=evidence, returned=returned)


def _last_reason(ctx: Context, claim_id: int) -> str:
    returns = [d for d in ctx.store.decisions(claim_id) if d["action"] == "return"]
    return returns[-1]["reason"] if returns else ""


def undo(ctx: Context) -> str:
    claim = ctx.store.last_claim(ctx.person.id)
    if claim is None:
        return ctx.render("record_missing", number=None)
    return _withdraw(ctx, claim)


def delete(ctx: Context) -> str:
    match = DELETE_RE.match(_words(ctx))
    if match.group("number") is None:
        return _how(ctx, "删除")
    number = int(match.group("number"))
    claim = ctx.store.claim_by_number(ctx.person.id, number)
    if claim is None or claim.status == WITHDRAWN:
        return ctx.render("record_missing", number=number)
    return _withdraw(ctx, claim)


def change(ctx: Context) -> str:
    match = CHANGE_RE.match(_words(ctx))
    if match.group("number") is None:
        return _how(ctx, "修改")
    number = int(match.group("number"))
    claim = ctx.store.claim_by_number(ctx.person.id, number)
    if claim is None or claim.status == WITHDRAWN:
        return ctx.render("record_missing", number=number)
    if claim.status not in (PENDING_CHECK, RETURNED):
        return ctx.render("record_locked", claim=claim, action="修改")
    if claim.standard_id != ctx.standard.id:
        return ctx.render("record_old_standard", claim=claim)
    if not rest_of(match):
        return _how(ctx, "修改", claim)
    facts, ignored = _corrected(ctx, claim, match.group("rest"))
    if facts is None:
        return ctx.render("record_change_unread", claim=claim, ignored=ignored)
    question = question_for(ctx.standard, facts)
    if question:
        return ctx.render("record_change_unread", claim=claim, q=question)
    period = ctx.standard.period.span_of(ctx.today)
    problem = problem_of(
        ctx, ParsedClaim(facts, rest_of(match), "", frozenset()), period
    )
    if problem:
        return ctx.render(
            "claim_problems", problems=[problem], question=None, changing=number
        )
    hours = score_claim(ctx.standard, facts).hours
    before = current_progress(ctx).claimed
    ctx.store.change_claim(claim.id, facts, ctx.inbound.text, hours)
    if claim.status == RETURNED:  # corrected after a return: back to the school
        ctx.store.set_status(claim.id, PENDING_CHECK)
    progress = current_progress(ctx)
    line = progress.claimed.line(claim.id)
    keep_counted(ctx.store, progress)
    # The audit shows what the claim counts, after the caps, as the teacher is told.
    ctx.store.log_decision(claim.id, ctx.person.id, "change", claim.status, PENDING_CHECK,
                           claim.hours_counted, line.counted)  # fmt: skip
    logger.info("person %s changed claim %s", ctx.person.id, claim.number)
    return ctx.render(
        "record_changed", number=number, facts=facts, line=line, p=progress,
        recounted=recounted(progress, before, claim.id),
    )  # fmt: skip


def rest_of(match) -> str:
    return match.group("rest").strip()


def _corrected(ctx: Context, claim: ClaimRecord, rest: str):
    """New facts: a whole new claim if the text names an item, else changed qualifiers
    (None if none), and the facts said that the item is not rated or counted by."""
    parse = ctx.parser.parse(rest, ctx.today)
    if parse.claims:
        new: ParsedClaim = parse.claims[0]
        day = new.facts.day or claim.facts.day
        return new.facts.with_(day=day), {}
    said = read_qualifiers(normalize(rest))
    item = ctx.standard.item(claim.facts.item)
    # 县级 on an item not rated by level changes nothing: it is not taken as a change.
    used = {*item.needs, *(k for f in item.factors for k, _ in f.when),
            *(k for k, _ in item.defaults), *_ALWAYS_CHANGEABLE}  # fmt: skip
    if said.get("unit") not in (None, "", item.measure, *dict(item.convert)):
        used = used - {"quantity", "unit"}  # 24节 for a claim counted in 次
    kept = {key: value for key, value in said.items() if key in used}
    ignored = {key: value for key, value in said.items() if key not in kept}
    return (claim.facts.with_(**kept) if kept else None), ignored


# Facts every claim has, whatever its item is rated by.
_ALWAYS_CHANGEABLE = ("quantity", "unit", "day", "topic")


def resubmit(ctx: Context) -> str:
    """重新提交 N: a returned claim goes back to the school as it is (new evidence added)."""
    match = RESUBMIT_RE.match(_words(ctx))
    if match.group("number") is None:
        return _how(ctx, "重新提交")
    number = int(match.group("number"))
    claim = ctx.store.claim_by_number(ctx.person.id, number)
    if claim is None or claim.status == WITHDRAWN:
        return ctx.render("record_missing", number=number)
    if claim.status != RETURNED:
        return ctx.render("record_not_returned", claim=claim)
    ctx.store.decide(claim.id, ctx.person.id, "resubmit", PENDING_CHECK,
                     hours_after=claim.hours_counted)  # fmt: skip
    return ctx.render("record_resubmitted", claim=claim, p=current_progress(ctx))


def _how(ctx: Context, action: str, claim: ClaimRecord | None = None) -> str:
    """How to write a command that came without a usable number or change.

    The example is drawn from the claim named, else from the latest one, when
    it was scored under the teacher's current standard.
    """
    if claim is None or claim.status == WITHDRAWN:
        claim = ctx.store.last_claim(ctx.person.id)
    if claim is not None and claim.standard_id != ctx.standard.id:
        claim = None
    return ctx.render("record_how", action=action, claim=claim)


def _withdraw(ctx: Context, claim: ClaimRecord) -> str:
    if claim.status not in (PENDING_CHECK, RETURNED):
        return ctx.render("record_locked", claim=claim, action="删除")
    before = current_progress(ctx).claimed
    ctx.store.decide(claim.id, ctx.person.id, "withdraw", WITHDRAWN, hours_after=0)
    logger.info("person %s withdrew claim %s", ctx.person.id, claim.number)
    progress = current_progress(ctx)
    keep_counted(ctx.store, progress)
    return ctx.render("record_withdrawn", claim=claim, p=progress,
                      recounted=recounted(progress, before))  # fmt: skip


def _words(ctx: Context) -> str:
    return normalize(ctx.inbound.text).strip()
