"""帮助: how to write a claim, with examples and items from the teacher's standard."""

from __future__ import annotations

from handlers.context import Context


def handle(ctx: Context) -> str:
    groups = []
    for category in ctx.standard.categories:
        items = [i for i in ctx.standard.items if i.category == category.id]
        groups.append((category.name, items))
    loose = [i for i in ctx.standard.items if i.category is None]
    if loose:
        groups.append(("", loose))
    examples = [items[0].example for _, items in groups if items and items[0].example]
    return ctx.render("help", groups=groups, examples=examples[:4])
