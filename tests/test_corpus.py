"""The labelled corpus of teachers' messages, run as a table (issue 4, item 5).

Each line of corpus/messages.jsonl holds what a careful human reader records
for one message: the claims with their facts, the question the bot must ask,
or "not_claim". A message passes when the parser, followed by the same checks
the claim handler makes (candidates, period, then the question the standard
needs), yields exactly those outcomes in message order. A question is labelled
by what the bot asks: "item" for candidates, else `question_for(...).key`.
bench/bench_parser.py reuses the functions below to report accuracy and
throughput.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest

from scoring import engine
from scoring.parser import Parser
from scoring.questions import question_for
from scoring.standard import FACT_VALUES, Standard, load_standards

CORPUS = Path(__file__).parent / "corpus" / "messages.jsonl"
NOT_CLAIM = "not_claim"
CLAIM_KEYS = ("item", "units", "level", "grade", "role", "published", "topic", "day")
EXACT, WRONG_RECORD, ASKED_INSTEAD = "exact", "wrong record", "asked instead"


@dataclass(frozen=True)
class Line:
    """One labelled message of the corpus."""

    number: int  # line number in the file, from 1
    standard: str
    today: date
    text: str
    expect: tuple[dict, ...]  # empty for a message that is not a claim
    note: str = ""

    @property
    def id(self) -> str:
        return f"L{self.number}:{self.text}".replace("\n", "⏎")


def load_corpus(path: Path = CORPUS) -> list[Line]:
    lines = []
    with path.open(encoding="utf-8") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            data = json.loads(raw)
            expect = data["expect"]
            if expect != NOT_CLAIM and not isinstance(expect, list):
                raise ValueError(
                    f"line {number}: expect must be a list or {NOT_CLAIM!r}"
                )
            entries = () if expect == NOT_CLAIM else tuple(map(_expected, expect))
            lines.append(
                Line(
                    number=number,
                    standard=data["standard"],
                    today=date.fromisoformat(data["today"]),
                    text=data["text"],
                    expect=entries,
                    note=data.get("note", ""),
                )
            )
    return lines


def _expected(entry: dict) -> dict:
    """A label as an outcome: questions keep the keys given, claims get every key."""
    if "ask" in entry:
        outcome = dict(entry)
        if "choices" in outcome:
            outcome["choices"] = frozenset(outcome["choices"])
        return outcome
    unknown = set(entry) - set(CLAIM_KEYS)
    if unknown or "item" not in entry:
        raise ValueError(f"bad claim label {entry!r}")
    outcome = {key: entry.get(key) for key in CLAIM_KEYS}
    outcome["units"] = Fraction(entry.get("units", "1"))
    if outcome["day"] is not None:
        outcome["day"] = date.fromisoformat(outcome["day"])
    return outcome


def build_parsers(standards: dict[str, Standard]) -> dict[str, Parser]:
    return {sid: Parser(standard) for sid, standard in standards.items()}


def outcomes_of(
    parser: Parser, standard: Standard, text: str, today: date
) -> list[dict]:
    """What the bot makes of a message: one outcome per parsed claim, in order."""
    span = standard.period.span_of(today)
    outcomes = []
    for claim in parser.parse(text, today).claims:
        facts = claim.facts
        if claim.candidates:
            outcomes.append({"ask": "item", "choices": frozenset(claim.candidates)})
            continue
        if facts.day is not None and facts.day not in span:
            outcomes.append({"ask": "period", "item": facts.item})
            continue
        question = question_for(standard, facts)
        if question is not None:
            outcomes.append({"ask": question.key, "item": facts.item})
            continue
        try:
            engine.score_claim(standard, facts)
        except engine.ScoringError:
            outcomes.append({"ask": "unit", "item": facts.item})
            continue
        item = standard.item(facts.item)
        outcome = {key: getattr(facts, key) for key in CLAIM_KEYS if key != "units"}
        outcome["units"] = engine.units_of(item, facts)
        outcomes.append(outcome)
    return outcomes


def _matches(expected: dict, actual: dict) -> bool:
    if "ask" in expected:  # a question: the keys the label gives
        return "ask" in actual and all(actual.get(k) == v for k, v in expected.items())
    return "ask" not in actual and actual == expected


def judge(expected: tuple[dict, ...], actual: list[dict]) -> str:
    """EXACT, WRONG_RECORD (some claim recorded that the label does not hold) or
    ASKED_INSTEAD (nothing recorded wrongly: a question or nothing instead)."""
    if len(expected) == len(actual) and all(map(_matches, expected, actual)):
        return EXACT
    wanted = Counter(_key(e) for e in expected if "ask" not in e)
    for outcome in actual:
        if "ask" in outcome:
            continue
        if wanted[_key(outcome)] <= 0:
            return WRONG_RECORD
        wanted[_key(outcome)] -= 1
    return ASKED_INSTEAD


def _key(outcome: dict) -> tuple:
    return tuple(sorted(outcome.items(), key=lambda kv: kv[0]))


def describe(outcome: dict) -> str:
    """One outcome as text: `open-lesson ×1 level=县级 day=2026-10-18`, `ask level`."""
    if "ask" in outcome:
        if "choices" in outcome:
            return "ask item " + "/".join(sorted(outcome["choices"]))
        item = f" ({outcome['item']})" if outcome.get("item") else ""
        return f"ask {outcome['ask']}{item}"
    facts = [f"{k}={outcome[k]}" for k in CLAIM_KEYS[2:] if outcome.get(k) is not None]
    return " ".join([f"{outcome['item']} ×{outcome['units']}", *facts])


def describe_all(outcomes) -> str:
    return "; ".join(map(describe, outcomes)) or NOT_CLAIM


STANDARDS = load_standards()
PARSERS = build_parsers(STANDARDS)
LINES = load_corpus()


def test_corpus_is_large_and_covers_both_standards():
    per_standard = Counter(line.standard for line in LINES)
    assert len(LINES) >= 300
    assert set(per_standard) == {"capped-50", "annual-80"}


def test_labels_use_items_and_fact_values_of_their_standard():
    asks = {"item", "period", "duration", *FACT_VALUES}
    for line in LINES:
        standard = STANDARDS[line.standard]
        ids = {item.id for item in standard.items}
        for entry in line.expect:
            where = f"L{line.number} {entry}"
            named = set(entry.get("choices", ())) | {entry.get("item")} - {None}
            assert named <= ids, f"{where}: {named - ids} not in {standard.id}"
            if "ask" in entry:
                assert entry["ask"] in asks, where
                continue
            for key, values in FACT_VALUES.items():
                assert entry.get(key) is None or entry[key] in values, where


@pytest.mark.parametrize("line", LINES, ids=[line.id for line in LINES])
def test_message(line: Line):
    standard = STANDARDS[line.standard]
    actual = outcomes_of(PARSERS[line.standard], standard, line.text, line.today)
    verdict = judge(line.expect, actual)
    assert verdict == EXACT, (
        f"{verdict}: {line.text!r} ({line.standard}, today {line.today})\n"
        f"  expected: {describe_all(line.expect)}\n"
        f"  got:      {describe_all(actual)}"
    )
