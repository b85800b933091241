"""The review chain in chat: 待办, 通过, 退回, 改 — for school reviewers and approvers.

待核查 → (学校核查 通过) → 待审定 → (中心校审定 通过) → 已认定; either level may
return a claim (已退回) with a reason. Each decision is appended to the audit
log and the teacher is told through the outbox.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from fractions import Fraction

from handlers.context import Context
from handlers.progress import counted_now
from scoring.engine import ScoringError, score_claim
from scoring.parser import normalize
from storage.people import APPROVER, CHECKER
from storage.store import APPROVED, PENDING_APPROVAL, PENDING_CHECK, RETURNED

logger = logging.getLogger(__name__)

APPROVE_RE = re.compile(
    r"^(?:通过|同意|批准|审核通过)\s*(?P<which>全部|所有|[\d\s,，、]+)$"
)
RETURN_RE = re.compile(
    r"^(?:退回|驳回|不通过|打回)\s*(?P<id>\d{1,9})\s*(?P<reason>.*)$"
)
ADJUST_RE = re.compile(
    r"^(?:改|调整|赋分)\s*(?P<id>\d{1,9})\s*(?:为|成)?\s*(?P<hours>\d+(?:\.\d+)?)\s*(?:学时|学分)"
    r"\s*(?P<reason>.*)$"
)
QUEUE_WORDS = ("待办", "待审", "待核查", "待审定", "审核", "队列", "待处理")
# Most claims one 待办 answer lists; a chat bubble holds little.
QUEUE_SHOWN = 15


@dataclass(frozen=True)
class Stage:
    """What one reviewer role acts on, and where an approval sends the claim."""

    waiting: str
    approved: str
    level: str  # for the teacher's notice: 核查 or 审定


STAGES = {
    CHECKER: Stage(PENDING_CHECK, PENDING_APPROVAL, "学校核查"),
    APPROVER: Stage(PENDING_APPROVAL, APPROVED, "中心校审定"),
}


def is_review_command(text: str) -> bool:
    words = normalize(text).strip()
    return (
        bool(
            APPROVE_RE.match(words) or RETURN_RE.match(words) or ADJUST_RE.match(words)
        )
        or words in QUEUE_WORDS
    )


def handle(ctx: Context) -> str:
    stage = STAGES.get(ctx.person.role)
    if stage is None or not ctx.person.bound:
        return ctx.render("review_refused", reason="role", person=ctx.person)
    words = normalize(ctx.inbound.text).strip()
    if match := APPROVE_RE.match(words):
        return _approve(ctx, stage, match.group("which"))
    if match := RETURN_RE.match(words):
        return _return(
            ctx, stage, int(match.group("id")), match.group("reason").strip()
        )
    if match := ADJUST_RE.match(words):
        hours = Fraction(match.group("hours"))
        return _adjust(
            ctx, stage, int(match.group("id")), hours, match.group("reason").strip()
        )
    return queue(ctx, stage)


def queue(ctx: Context, stage: Stage) -> str:
    waiting = _waiting(ctx, stage)
    shown = [_view(ctx, w.claim_id) for w in waiting[:QUEUE_SHOWN]]
    return ctx.render("review_queue", stage=stage, shown=shown, total=len(waiting))


def _waiting(ctx: Context, stage: Stage):
    """The claims waiting for this reviewer: never their own."""
    if ctx.person.role == CHECKER:
        waiting = ctx.store.waiting(stage.waiting, school_id=ctx.person.school_id)
    else:
        town = ctx.store.school_by_id(ctx.person.school_id).town_id
        waiting = ctx.store.waiting(stage.waiting, town_id=town)
    return [w for w in waiting if w.person_id != ctx.person.id]


def _approve(ctx: Context, stage: Stage, which: str) -> str:
    mine = {w.claim_id for w in _waiting(ctx, stage)}
    everything = which in ("全部", "所有")
    said = re.findall(r"\d+", which)
    # Each claim once, in the order given; a number too long for an id matches none.
    ids = (
        sorted(mine)
        if everything
        else list(dict.fromkeys(int(x) for x in said if len(x) < 10))
    )
    ids += [0] * sum(len(x) >= 10 for x in said)
    done, refused = [], []
    for claim_id in ids:
        reason = _refusal(ctx, stage, claim_id, mine)
        if reason is None and _needs_value(ctx, claim_id):
            reason = "needs_value"
        if reason:
            refused.append((claim_id, reason))
            continue
        counted = counted_now(ctx.store, ctx.standards, ctx.store.claim(claim_id))
        ctx.store.set_counted(claim_id, counted)
        ctx.store.decide(claim_id, ctx.person.id, "approve", stage.approved,
                         hours_after=counted)  # fmt: skip
        _notify(ctx, claim_id, "approve", stage)
        done.append(_view(ctx, claim_id))
    logger.info("reviewer %s approved %d claim(s)", ctx.person.id, len(done))
    return ctx.render("review_done", action="approve", stage=stage, done=done,
                      refused=refused, left=len(_waiting(ctx, stage)))  # fmt: skip


def _return(ctx: Context, stage: Stage, claim_id: int, reason: str) -> str:
    refusal = _refusal(ctx, stage, claim_id, {w.claim_id for w in _waiting(ctx, stage)})
    if refusal:
        return ctx.render("review_done", action="return", stage=stage, done=[],
                          refused=[(claim_id, refusal)], left=None)  # fmt: skip
    if not reason:
        return ctx.render("review_need_reason", claim_id=claim_id)
    # Shown as it stood: what it counted until now, not the 0 of a returned claim.
    view = _view(ctx, claim_id)
    ctx.store.decide(claim_id, ctx.person.id, "return", RETURNED, reason=reason,
                     hours_after=Fraction(0))  # fmt: skip
    _notify(ctx, claim_id, "return", stage, reason)
    return ctx.render("review_done", action="return", stage=stage, done=[view],
                      refused=[], left=len(_waiting(ctx, stage)), reason=reason)  # fmt: skip


def _adjust(
    ctx: Context, stage: Stage, claim_id: int, hours: Fraction, reason: str
) -> str:
    refusal = _refusal(ctx, stage, claim_id, {w.claim_id for w in _waiting(ctx, stage)})
    if refusal:
        return ctx.render("review_done", action="adjust", stage=stage, done=[],
                          refused=[(claim_id, refusal)], left=None)  # fmt: skip
    claim = ctx.store.claim(claim_id)
    setting_a_value = _standard_of(ctx, claim).item(claim.facts.item).reviewer_range
    if not reason and setting_a_value is None:  # lowering a claim needs a why
        return ctx.render("review_need_reason", claim_id=claim_id, adjust=True)
    low, high = _allowed(ctx, claim)
    if not low <= hours <= high:
        return ctx.render("review_adjust_range", claim_id=claim_id, low=low, high=high)
    ctx.store.decide(claim_id, ctx.person.id, "adjust", claim.status, reason=reason,
                     hours_after=hours, reviewer_hours=hours)  # fmt: skip
    _notify(ctx, claim_id, "adjust", stage, reason)
    return ctx.render("review_done", action="adjust", stage=stage, done=[_view(ctx, claim_id)],
                      refused=[], left=None, hours=hours)  # fmt: skip


def _refusal(ctx: Context, stage: Stage, claim_id: int, mine: set[int]) -> str | None:
    """Why this reviewer may not act on the claim now, as a reason code."""
    claim = ctx.store.find_claim(claim_id) if 0 < claim_id < 10**9 else None
    if claim is not None and claim.person_id == ctx.person.id:
        return "own"  # nobody checks their own claim
    if claim_id in mine:
        return None
    if claim is None:
        return "missing"
    if claim.status != stage.waiting:
        return "state"
    return "elsewhere"


def _allowed(ctx: Context, claim) -> tuple[Fraction, Fraction]:
    """Hours a reviewer may set: the item's range, or from 0 up to what its rule gives."""
    standard = _standard_of(ctx, claim)
    item = standard.item(claim.facts.item)
    if item.reviewer_range is not None:
        return item.reviewer_range
    try:
        return Fraction(0), score_claim(standard, claim.facts).hours
    except ScoringError:
        return Fraction(0), Fraction(0)


def _needs_value(ctx: Context, claim_id: int) -> bool:
    claim = ctx.store.claim(claim_id)
    item = _standard_of(ctx, claim).item(claim.facts.item)
    return item.reviewer_range is not None and claim.reviewer_hours is None


def _standard_of(ctx: Context, claim):
    return ctx.standards[claim.standard_id]


def _view(ctx: Context, claim_id: int) -> dict:
    return claim_view(ctx.store, ctx.standards, claim_id)


def claim_view(store, standards: dict, claim_id: int) -> dict:
    """A claim with its teacher, standard, item, hours now and evidence, for reviewers."""
    claim = store.claim(claim_id)
    standard = standards[claim.standard_id]
    return {"claim": claim, "teacher": store.person(claim.person_id), "standard": standard,
            "item": standard.item(claim.facts.item),
            "counted": counted_now(store, standards, claim),
            "evidence": store.evidence_count(claim_id)}  # fmt: skip


def _notify(
    ctx: Context, claim_id: int, action: str, stage: Stage, reason: str = ""
) -> None:
    view = _view(ctx, claim_id)
    text = ctx.replies.render("decision_notice", action=action, stage=stage, reason=reason,
                              **view)  # fmt: skip
    count = len(ctx.store.decisions(claim_id))
    ctx.store.enqueue_push(view["teacher"].id, text, key=f"decision:{claim_id}:{count}")
