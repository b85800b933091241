"""What to ask when a claim lacks a fact its standard needs. Pure; no I/O.

A question offers the values that some rate of the item accepts, given what
the teacher did say. When the rates still open need different facts (a paper
that was either awarded or published), the choices mix them, so that one
answer always moves the claim forward.
"""

from __future__ import annotations

from dataclasses import dataclass

from scoring.engine import effective_facts
from scoring.facts import Facts
from scoring.standard import Item, Rate, Standard


@dataclass(frozen=True)
class Choice:
    key: str  # level, grade, role or published
    value: object


@dataclass(frozen=True)
class Question:
    item: Item
    key: str  # the fact mainly asked about; "duration" asks for a length
    choices: tuple[Choice, ...]
    refused: object = None  # a said value that the standard does not rate


def question_for(standard: Standard, facts: Facts) -> Question | None:
    """The question a claim needs before it can be scored, or None if it can be."""
    item = standard.item(facts.item)
    if item.basis == "duration" and facts.unit not in dict(item.convert):
        # 外出培训 with no length: a guessed day would be a wrong record.
        return Question(item, "duration", ())
    if item.reviewer_range is not None or not item.rates:
        return None
    known = effective_facts(standard, item, facts)
    if any(rate.matches(known) for rate in item.rates):
        return None
    refused_key = _refused_key(item, known)
    if refused_key:
        known = {**known, refused_key: None}
    open_rates = [r for r in item.rates if _consistent(r, known)]
    missing = [k for k in item.needs if known.get(k) is None and _values(open_rates, k)]
    if not missing:
        return None
    key = max(missing, key=lambda k: len(_values(open_rates, k)))
    choices = [Choice(key, v) for v in _values(open_rates, key)]
    for rate in open_rates:
        if key in dict(rate.when):
            continue
        other = next(k for k, _ in rate.when if known.get(k) is None)
        choices.extend(
            Choice(other, v)
            for v in dict(rate.when)[other]
            if Choice(other, v) not in choices
        )
    refused = getattr(facts, refused_key) if refused_key else None
    return Question(item, refused_key or key, tuple(choices), refused)


def _refused_key(item: Item, known: dict) -> str | None:
    """A fact the teacher said that the item's rates require and none accepts.

    (公开课 县级 under a standard rating only 校级 and 片区.) A fact that some
    rate does not look at (没发表, for a paper that may be rated by its award)
    refuses nothing.
    """
    for key in item.needs:
        required = all(key in dict(rate.when) for rate in item.rates)
        if (
            required
            and known.get(key) is not None
            and known[key] not in item.choices(key)
        ):
            return key
    return None


def _consistent(rate: Rate, known: dict) -> bool:
    return all(
        known.get(k) is None or known.get(k) in allowed for k, allowed in rate.when
    )


def _values(rates: list[Rate], key: str) -> list:
    values: list = []
    for rate in rates:
        for value in dict(rate.when).get(key, ()):
            if value not in values:
                values.append(value)
    return values
