"""Messages that are not text: events, voice without recognition, images, the rest."""

from __future__ import annotations

from handlers.context import Context


def welcome(ctx: Context) -> str:
    return ctx.render("welcome", example=_example(ctx))


def voice_without_text(ctx: Context) -> str:
    return ctx.render("voice_no_text", example=_example(ctx))


def other(ctx: Context) -> str:
    return ctx.render("other_kind", example=_example(ctx))


def _example(ctx: Context) -> str:
    return next((i.example for i in ctx.standard.items if i.example), "")
