"""A teacher's message read as claims: parse, score, store, answer."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from handlers.context import Context
from handlers.progress import progress_of
from scoring.engine import Line, ScoringError, Unrated, score_claim
from scoring.parser import ParsedClaim

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recorded:
    number: int
    claim: ParsedClaim
    line: Line


def handle(ctx: Context) -> str:
    parse = ctx.parser.parse(ctx.inbound.text, ctx.today)
    if not parse.understood:
        return ctx.render("not_understood", stray=parse.stray, examples=_examples(ctx))

    period = ctx.standard.period.span_of(ctx.today)
    accepted, problems = [], []
    for claim in parse.claims:
        claim = _dated(claim, ctx)
        problem = _check(ctx, claim, period)
        if problem:
            problems.append(problem)
        else:
            accepted.append(claim)
    if not accepted:
        return ctx.render("claim_problems", problems=problems)

    records = [_store(ctx, c, period.start.isoformat()) for c in accepted]
    progress = progress_of(ctx.store, ctx.person.id, ctx.standard,
                           period.start.isoformat(), period.label)  # fmt: skip
    recorded = []
    for record, claim in zip(records, accepted, strict=True):
        line = progress.claimed.line(record.id)
        ctx.store.set_counted(record.id, line.counted)
        recorded.append(Recorded(record.number, claim, line))
    logger.info("recorded %d claim(s) for person %s", len(recorded), ctx.person.id)
    return ctx.render(
        "claim_recorded", recorded=recorded, problems=problems, p=progress
    )


def _dated(claim: ParsedClaim, ctx: Context) -> ParsedClaim:
    if claim.facts.day is not None:
        return claim
    return ParsedClaim(claim.facts.with_(day=ctx.today), claim.source, claim.name)


def _check(ctx: Context, claim: ParsedClaim, period) -> dict | None:
    """Why a claim can't be recorded as it stands, as template values; None if it can."""
    item = ctx.standard.item(claim.facts.item)
    if claim.facts.day not in period:
        return {"kind": "out_of_period", "item": item, "claim": claim, "period": period}
    try:
        score_claim(ctx.standard, claim.facts)
    except Unrated as exc:
        return {"kind": "unrated", "item": item, "claim": claim, "key": exc.key,
                "choices": exc.choices, "missing": exc.missing}  # fmt: skip
    except ScoringError:
        return {"kind": "unit", "item": item, "claim": claim}
    return None


def _store(ctx: Context, claim: ParsedClaim, period_key: str):
    score = score_claim(ctx.standard, claim.facts)
    return ctx.store.add_claim(
        ctx.person.id, period_key, claim.facts, ctx.inbound.text,
        ctx.standard.id, ctx.standard.version, score.hours,
    )  # fmt: skip


def _examples(ctx: Context) -> list[str]:
    return [item.example for item in ctx.standard.items if item.example][:3]
