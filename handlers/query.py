"""查询: the teacher's totals by category, claimed and approved, and the gap."""

from __future__ import annotations

from handlers.context import Context
from handlers.progress import current_progress


def handle(ctx: Context) -> str:
    return ctx.render("query", p=current_progress(ctx))
