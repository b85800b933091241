"""Parser accuracy on the labelled corpus and parsing throughput (issue 4, item 6).

    .venv/bin/python bench/bench_parser.py [--seconds 3]

Accuracy is the share of corpus lines whose every outcome is exact (see
tests/test_corpus.py for how outcomes are made and judged). Misses are split
into "wrong record" (a claim recorded that the label does not hold) and
"asked instead" (a question or nothing where something else was expected: the
safe kind). Throughput is Parser.parse alone, looped over the corpus on one
core for a few seconds in short rounds; the median round is the figure, so a
neighbour's burst on a shared machine does not decide it (the range is shown).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scoring.standard import load_standards  # noqa: E402
from tests.test_corpus import (  # noqa: E402
    ASKED_INSTEAD,
    EXACT,
    WRONG_RECORD,
    build_parsers,
    describe_all,
    judge,
    load_corpus,
    outcomes_of,
)

GOAL_EXACT = 0.98
GOAL_RATE = 20_000
ROUND = 0.25  # seconds per measured round


def pin_to_one_core() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to cpu {cpu}"


def accuracy(lines, standards, parsers) -> dict[str, list]:
    verdicts: dict[str, list] = {EXACT: [], WRONG_RECORD: [], ASKED_INSTEAD: []}
    for line in lines:
        standard = standards[line.standard]
        actual = outcomes_of(parsers[line.standard], standard, line.text, line.today)
        verdicts[judge(line.expect, actual)].append((line, actual))
    return verdicts


def throughput(lines, parsers, seconds: float) -> tuple[int, float, list[float]]:
    """Parses done, time taken, and the rate of each round of about ROUND s."""
    work = [(parsers[line.standard], line.text, line.today) for line in lines]
    for parser, text, today in work:  # warm up caches and regexes
        parser.parse(text, today)
    count, rates, start = 0, [], time.perf_counter()
    deadline = start + seconds
    while True:
        round_start, done = time.perf_counter(), 0
        while time.perf_counter() - round_start < ROUND:
            for parser, text, today in work:
                parser.parse(text, today)
            done += len(work)
        now = time.perf_counter()
        rates.append(done / (now - round_start))
        count += done
        if now >= deadline:
            return count, now - start, rates


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--seconds", type=float, default=3.0)
    options.add_argument("--quiet", action="store_true", help="figures only")
    args = options.parse_args()

    standards = load_standards()
    parsers = build_parsers(standards)
    lines = load_corpus()
    verdicts = accuracy(lines, standards, parsers)

    total = len(lines)
    exact = len(verdicts[EXACT])
    sizes = Counter(line.standard for line in lines)
    print(
        f"corpus: {total} messages ("
        + ", ".join(f"{sid} {n}" for sid, n in sorted(sizes.items()))
        + ")"
    )
    for sid in sorted(sizes):
        ok = sum(1 for line, _ in verdicts[EXACT] if line.standard == sid)
        print(f"  {sid}: {ok}/{sizes[sid]} exact ({ok / sizes[sid]:.1%})")
    share = exact / total
    print(f"accuracy: {exact}/{total} exact = {share:.1%} (goal {GOAL_EXACT:.0%})")
    print(
        f"misses: {len(verdicts[WRONG_RECORD])} wrong record, "
        f"{len(verdicts[ASKED_INSTEAD])} asked instead (goal: 0 wrong records)"
    )
    if not args.quiet:
        for kind in (WRONG_RECORD, ASKED_INSTEAD):
            if verdicts[kind]:
                print(f"\n{kind}:")
            for line, actual in verdicts[kind]:
                text = line.text.replace("\n", "⏎")
                print(f"  L{line.number} [{line.standard}] {text}")
                print(f"      expected: {describe_all(line.expect)}")
                print(f"      got:      {describe_all(actual)}")

    pinned = pin_to_one_core()
    count, elapsed, rates = throughput(lines, parsers, args.seconds)
    rate = statistics.median(rates)
    print(
        f"\nthroughput: {rate:,.0f} messages/second, median of {len(rates)} rounds "
        f"(range {min(rates):,.0f}-{max(rates):,.0f}; {count} parses in "
        f"{elapsed:.2f} s, one core, {pinned}; goal {GOAL_RATE:,})"
    )
    met = share >= GOAL_EXACT and not verdicts[WRONG_RECORD] and rate >= GOAL_RATE
    print("goals met" if met else "goals not met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
