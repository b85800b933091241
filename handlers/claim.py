"""A teacher's message read as claims: parse, score, store, answer.

A claim that lacks a fact its standard needs is not guessed: the bot asks one
question with numbered choices and keeps the claim waiting for the answer.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from fractions import Fraction

from handlers.context import Context
from handlers.progress import progress_over, recounted, standing_of
from scoring.engine import Line, ScoringError, score_claim
from scoring.facts import Facts
from scoring.numbers import parse_number
from scoring.parser import ParsedClaim, normalize, read_qualifiers
from scoring.questions import Choice, Question, question_for
from storage.reminders import Standing
from storage.store import PENDING_CHECK, ClaimRecord, Person, Store

logger = logging.getLogger(__name__)

# How long a question waits for its answer; after that a reply is read afresh.
QUESTION_LIFETIME = timedelta(minutes=30)
# Beyond these a message is more likely a slip than a record: the bot asks again.
MOST_UNITS = 1000  # of any one claim (节, 次, 小时 …)
# Units that run higher: a study note's length is thousands of characters.
MOST_OF_UNIT = {"字": 1_000_000}
MOST_CLAIMS = 10  # in one message
_CHOICE_RE = re.compile(
    r"^(?:选|第)?\s*(\d{1,2}|[一二三四五六七八九十])\s*(?:个|项|条|种)?$"
)


@dataclass(frozen=True)
class Recorded:
    number: int
    claim: ParsedClaim
    line: Line


# Ids a draft's claims carry until they are written: after every stored id, in
# the order they will be written (the engine orders claims by date, then id).
_DRAFT_IDS = 1 << 62


@dataclass(frozen=True)
class Draft:
    """A message's claims scored and its answer rendered, before anything is stored.

    Worked out from the person, their claims of the period and their next
    number as read then; `holds` tells whether those are still the same, and
    `write` stores the claims (with the hours they count), the question asked
    and the standing, and returns the answer.
    """

    reply: str
    person: Person
    period: str = ""
    stored: tuple[ClaimRecord, ...] | None = None  # None: nothing was read
    new: tuple[ClaimRecord, ...] = ()
    standing: Standing | None = None
    question: tuple[dict, datetime] | None = None  # payload, expiry
    recounted: tuple[tuple[int, Fraction], ...] = ()  # stored claims' new hours

    def holds(self, store: Store, channel: str, user: str, now: datetime) -> bool:
        """Whether the draft, read earlier, is what the database would give now:
        the same person (whose revision moves with any change to their claims)
        and still no question open."""
        return (
            store.find_person(channel, user) == self.person
            and store.open_question(self.person.id, now) is None
        )

    def write(self, store: Store) -> str:
        person_id = self.person.id
        if self.question is not None:
            store.ask(person_id, *self.question)
        written = [
            # A number taken meanwhile fails the unique (person, number) index.
            store.add_claim(
                person_id,
                claim.period,
                claim.facts,
                claim.text,
                claim.standard_id,
                claim.standard_version,
                claim.hours_raw,
                claim.hours_counted,
                claim.number,
            )  # fmt: skip
            for claim in self.new
        ]
        for claim_id, hours in self.recounted:
            store.set_counted(claim_id, hours)
        if written:
            # The sender's next message starts from what was just written.
            hours = dict(self.recounted)
            stored = [c if c.id not in hours else replace(c, hours_counted=hours[c.id])
                      for c in self.stored]  # fmt: skip
            store.kept_claims(person_id, self.period, stored + written,
                              written[-1].number + 1)  # fmt: skip
        if self.standing is not None:
            store.save_standings([(person_id, self.standing)])
        if self.new:
            logger.info("recorded %d claim(s) for person %s", len(self.new), person_id)
        return self.reply


def handle(ctx: Context) -> str:
    return draft_message(ctx).write(ctx.store)


def draft_message(ctx: Context) -> Draft:
    """A message read as claims: what it would record and answer. Reads only."""
    parse = ctx.parser.parse(ctx.inbound.text, ctx.today)
    if not parse.understood and not parse.unclear:
        reply = ctx.render("not_understood", stray=parse.stray, examples=_examples(ctx))
        return Draft(reply, ctx.person)
    if len(parse.claims) > MOST_CLAIMS:
        reply = ctx.render("too_many_claims", count=len(parse.claims), most=MOST_CLAIMS)
        return Draft(reply, ctx.person)
    # An amount read as 十几节 or -5节 is never guessed: the teacher is asked for it.
    unclear = [{"kind": "amount", "item": ctx.standard.item(c.facts.item), "claim": c}
               for c in parse.unclear]  # fmt: skip
    return draft(ctx, [_dated(c, ctx) for c in parse.claims], unclear)


def record(
    ctx: Context, claims: list[ParsedClaim], problems: list | None = None
) -> str:
    """Store the claims that can be scored; ask about the first that cannot."""
    return draft(ctx, claims, problems).write(ctx.store)


def draft(
    ctx: Context, claims: list[ParsedClaim], problems: list | None = None
) -> Draft:
    """What record() would store and answer, worked out without writing."""
    period = ctx.standard.period.span_of(ctx.today)
    accepted, problems = [], list(problems or [])
    for claim in claims:
        problem = problem_of(ctx, claim, period)
        (problems if problem else accepted).append(problem or claim)
    question = next((p for p in problems if p["kind"] == "question"), None)
    asked = _question(ctx, question) if question else None
    if question:
        # One question at a time: the others wait for the teacher to send them again.
        for later in problems:
            if later["kind"] == "question" and later is not question:
                later["kind"] = "question_later"
    if not accepted:
        reply = ctx.render("claim_problems", problems=problems, question=question)
        return Draft(reply, ctx.person, question=asked)

    period_key = period.start.isoformat()
    stored, first = ctx.store.claims_of(ctx.person, period_key)
    new = [_new_claim(ctx, c, period_key, _DRAFT_IDS + k, first + k)
           for k, c in enumerate(accepted)]  # fmt: skip
    progress = progress_over(ctx.standard, period.label, stored + new)
    lines = [progress.claimed.line(c.id) for c in new]
    # A new claim can take an earlier one's place under a cap (caps go by date).
    # Stored hours can also be behind for other reasons (a claim deleted, a
    # reviewer's value): all are brought up to date, and only those this claim
    # changed are shown.
    now = progress.claimed.lines
    stale = [c for c in progress.claims
             if c.id < _DRAFT_IDS and now[c.id].counted != c.hours_counted]  # fmt: skip
    moved = []
    if stale:
        before = progress_over(ctx.standard, period.label, stored).claimed
        moved = recounted(progress, before)
    standing = standing_of(progress, period_key)
    reply = ctx.render(
        "claim_recorded",
        recorded=[Recorded(c.number, claim, line)
                  for c, claim, line in zip(new, accepted, lines, strict=True)],
        recounted=moved,
        problems=problems,
        question=question,
        p=progress,
    )  # fmt: skip
    return Draft(
        reply,
        ctx.person,
        period_key,
        tuple(stored),
        tuple(
            replace(c, hours_counted=ln.counted)
            for c, ln in zip(new, lines, strict=True)
        ),
        standing,
        asked,
        tuple((c.id, now[c.id].counted) for c in stale),
    )


def answer(ctx: Context, pending: dict) -> str | None:
    """Complete a waiting claim from the teacher's answer; None if this is no answer."""
    choices = [Choice(k, v) for k, v in pending["choices"]]
    if pending.get("key") == "duration":
        return _answer_duration(ctx, pending)
    parse = ctx.parser.parse(ctx.inbound.text, ctx.today)
    if parse.understood:
        choice = _named_item(parse, choices)
        if choice is None:
            return None  # a new claim, not an answer
    else:
        choice = _chosen(ctx.inbound.text, choices)
        if choice is None and _CHOICE_RE.match(
            normalize(ctx.inbound.text).strip(" .。!！~")
        ):
            # A number that is not one of the choices: ask again, keep the claim waiting.
            ctx.store.ask(ctx.person.id, pending, ctx.now + QUESTION_LIFETIME)
            return ctx.render("question_range", count=len(choices))
    if choice is None:
        return None
    facts = Facts.from_json(pending["facts"]).with_(**{choice.key: choice.value})
    claim = ParsedClaim(facts, pending["source"], pending["name"], frozenset())
    return record(ctx, [claim])


def _answer_duration(ctx: Context, pending: dict) -> str | None:
    """A length such as 2天 or 3小时 completes a timed claim; anything else is no answer."""
    facts = Facts.from_json(pending["facts"])
    if ctx.parser.parse(ctx.inbound.text, ctx.today).understood:
        return None  # a claim of its own (外出培训 2天), not the length asked for
    said = read_qualifiers(normalize(ctx.inbound.text))
    item = ctx.standard.item(facts.item)
    if said.get("unit") not in dict(item.convert):
        if "unit" not in said:
            return None
        # A length in a unit this item is not counted in: ask again, keep the claim.
        ctx.store.ask(ctx.person.id, pending, ctx.now + QUESTION_LIFETIME)
        return ctx.render("question_unit", item=item, unit=said["unit"])
    facts = facts.with_(quantity=said["quantity"], unit=said["unit"])
    return record(
        ctx, [ParsedClaim(facts, pending["source"], pending["name"], frozenset())]
    )


def _named_item(parse, choices: list[Choice]) -> Choice | None:
    """An answer to "which item" that names one of the offered items and nothing more."""
    if len(parse.claims) != 1 or "quantity" in parse.claims[0].said:
        return None
    wanted = Choice("item", parse.claims[0].facts.item)
    return wanted if wanted in choices else None


def _chosen(text: str, choices: list[Choice]) -> Choice | None:
    words = normalize(text).strip(" .。!！~")
    number = _CHOICE_RE.match(words)
    if number:
        index = parse_number(number.group(1))
        if index is not None and 1 <= index <= len(choices):
            return choices[int(index) - 1]
        return None
    said = read_qualifiers(words)
    return next((c for c in choices if said.get(c.key) == c.value), None)


def _dated(claim: ParsedClaim, ctx: Context) -> ParsedClaim:
    """The claim with today's date if none was said, and the item's defaults shown.

    A default (校本培训 counts as 参加 unless 主讲 is said) is written into the
    facts, so the answer says what was assumed and the teacher can correct it.
    """
    facts = claim.facts
    if facts.day is None:
        facts = facts.with_(day=ctx.today)
    if claim.candidates:
        return replace(claim, facts=facts)
    item = ctx.standard.item(facts.item)
    assumed = {k: v for k, v in item.defaults if getattr(facts, k, None) is None}
    return replace(claim, facts=facts.with_(**assumed) if assumed else facts)


def problem_of(ctx: Context, claim: ParsedClaim, period) -> dict | None:
    """Why a claim can't be recorded as it stands, as template values; None if it can."""
    item = ctx.standard.item(claim.facts.item)
    if claim.candidates:
        choices = tuple(Choice("item", i) for i in claim.candidates)
        question = Question(None, "item", choices, refused=claim.name)
        return {"kind": "question", "item": item, "claim": claim, "q": question}
    if claim.facts.day not in period:
        return {"kind": "out_of_period", "item": item, "claim": claim, "period": period,
                "future": claim.facts.day > ctx.today}  # fmt: skip
    most = MOST_OF_UNIT.get(claim.facts.unit or item.measure, MOST_UNITS)
    if not 0 < claim.facts.quantity <= most:
        return {"kind": "quantity", "item": item, "claim": claim}
    question = question_for(ctx.standard, claim.facts)
    if question:
        return {"kind": "question", "item": item, "claim": claim, "q": question}
    try:
        score_claim(ctx.standard, claim.facts)
    except ScoringError:
        return {"kind": "unit", "item": item, "claim": claim}
    return None


def _question(ctx: Context, problem: dict) -> tuple[dict, datetime]:
    """What is kept of a question while it waits for its answer, and until when."""
    claim, question = problem["claim"], problem["q"]
    payload = {
        "facts": claim.facts.to_json(),
        "source": claim.source,
        "name": claim.name,
        "key": question.key,
        "choices": [[c.key, c.value] for c in question.choices],
    }
    return payload, ctx.now + QUESTION_LIFETIME


def _new_claim(
    ctx: Context, claim: ParsedClaim, period_key: str, draft_id: int, number: int
) -> ClaimRecord:
    """The claim as it will be stored, under an id that stands in until then."""
    hours = score_claim(ctx.standard, claim.facts).hours
    return ClaimRecord(
        draft_id, ctx.person.id, number, period_key, claim.facts, ctx.inbound.text,
        ctx.standard.id, ctx.standard.version, hours, hours, None, PENDING_CHECK,
        ctx.store.stamp(),
    )  # fmt: skip


def _examples(ctx: Context) -> list[str]:
    return [item.example for item in ctx.standard.items if item.example][:3]
