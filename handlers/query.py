"""查询: the teacher's totals by category, claimed and approved, and the gap."""

from __future__ import annotations

from handlers.context import Context
from handlers.progress import progress_of


def handle(ctx: Context) -> str:
    period = ctx.standard.period.span_of(ctx.today)
    progress = progress_of(ctx.store, ctx.person.id, ctx.standard,
                           period.start.isoformat(), period.label)  # fmt: skip
    return ctx.render("query", p=progress)
