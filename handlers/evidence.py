"""Photos and files as evidence: they attach to the claim they were sent for.

An image sent shortly after a claim attaches to it; `附件 N` points the next
images (and any just sent) at claim N. The file itself is fetched from WeChat
after the answer, by the server.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from handlers.context import Context
from scoring.parser import normalize
from storage.store import APPROVED, PENDING_APPROVAL, PENDING_CHECK, RETURNED

logger = logging.getLogger(__name__)

# How long after a claim (or 附件 N) an image still belongs to it.
ATTACH_WINDOW = timedelta(minutes=10)
ATTACH_RE = re.compile(r"^(?:附件|补材料|上传材料|材料)\s*(?:第|#)?\s*(\d{1,4})\s*条?$")
_OPEN = (PENDING_CHECK, PENDING_APPROVAL, RETURNED)


def received(ctx: Context) -> str:
    """An image or file arrived: attach it, or keep it and ask which claim it is for."""
    target = _target(ctx)
    claim_id = target.id if target else None
    ctx.store.add_evidence(
        ctx.person.id,
        claim_id,
        ctx.inbound.media_id,
        ctx.inbound.kind,
        ctx.inbound.channel,
    )
    if target is None:
        return ctx.render(
            "evidence_loose", has_claims=ctx.store.last_claim(ctx.person.id)
        )
    logger.info("evidence attached to claim %s", target.id)
    return _attached(ctx, target)


def attach(ctx: Context) -> str:
    """附件 N: attach what was just sent to claim N, and what comes next."""
    number = int(ATTACH_RE.match(normalize(ctx.inbound.text).strip()).group(1))
    claim = ctx.store.claim_by_number(ctx.person.id, number)
    if claim is None or claim.status not in (*_OPEN, APPROVED):
        return ctx.render("record_missing", number=number)
    if claim.status == APPROVED:
        return ctx.render("record_locked", claim=claim, action="补充材料")
    loose = ctx.store.loose_evidence(ctx.person.id, ctx.now - ATTACH_WINDOW)
    ctx.store.attach_evidence(loose, claim.id)
    ctx.store.ask(ctx.person.id, {"attach": claim.id}, ctx.now + ATTACH_WINDOW)
    return _attached(ctx, ctx.store.claim(claim.id), waiting=not loose)


def _target(ctx: Context):
    pending = ctx.store.open_question(ctx.person.id, ctx.now)
    if pending and "attach" in pending:
        claim = ctx.store.claim(pending["attach"])
        return claim if claim.status in _OPEN else None
    last = ctx.store.last_claim(ctx.person.id)
    if last is None or last.status not in _OPEN:
        return None
    created = datetime.fromisoformat(last.created_at)
    return last if ctx.now - created <= ATTACH_WINDOW else None


def _attached(ctx: Context, claim, waiting: bool = False) -> str:
    standard = ctx.standards[claim.standard_id]
    return ctx.render(
        "evidence_attached",
        claim=claim,
        item=standard.item(claim.facts.item),
        count=ctx.store.evidence_count(claim.id),
        waiting=waiting,
    )
