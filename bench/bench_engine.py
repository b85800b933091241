"""How fast the engine builds ledgers: one teacher with 500 claims, and a rescore of
10,000 teachers with 60 claims each. Goal: under 1 ms per 60-claim ledger on one core.

    .venv/bin/python bench/bench_engine.py [--teachers 10000] [--claims 60]

Claims are drawn at random (fixed seed) from every item of each built-in
standard, with facts that its rates accept, quantities of 1 to 6 and days
across the period, so every rule of the standard gets work. "cold" clears
the engine's per-standard score memo before each ledger; "warm" is how a
running server or a rescore meets repeated claims.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scoring.engine import EngineClaim, build_ledger  # noqa: E402
from scoring.facts import Facts  # noqa: E402
from scoring.standard import Standard, load_standards  # noqa: E402


def claims_for(standard: Standard, count: int, rng: random.Random) -> list[EngineClaim]:
    start = standard.period.dates[0] if standard.period.dates else None
    first = start or standard.period.span_of(_a_day()).start
    items = [i for i in standard.items if i.rates or i.quota]
    claims = []
    for number in range(count):
        item = rng.choice(items)
        values = {}
        if item.rates:
            rate = rng.choice(item.rates)
            values = {key: rng.choice(allowed) for key, allowed in rate.when}
        quantity = Fraction(rng.randint(1, 6)) * (1000 if item.measure == "字" else 1)
        day = first + timedelta(days=rng.randint(0, 300))
        topic = rng.choice((None, None, "甲", "乙"))
        facts = Facts(item.id, quantity, item.measure, topic=topic, day=day, **values)
        claims.append(EngineClaim(number, facts, (day, number)))
    return claims


def _a_day():
    from datetime import date

    return date(2026, 10, 8)


def per_ledger_ms(
    standard: Standard, ledgers: list[list[EngineClaim]], cold: bool
) -> float:
    started = time.perf_counter()
    for claims in ledgers:
        if cold:
            standard.memo.clear()
        build_ledger(standard, claims)
    return (time.perf_counter() - started) * 1000 / len(ledgers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teachers", type=int, default=10_000)
    parser.add_argument("--claims", type=int, default=60)
    args = parser.parse_args()
    rng = random.Random(20240901)
    standards = load_standards()

    print("one teacher, 500 claims (ms per ledger, median of 20):")
    for sid, standard in sorted(standards.items()):
        claims = claims_for(standard, 500, rng)
        runs = sorted(per_ledger_ms(standard, [claims], cold=True) for _ in range(20))
        print(f"  {sid:22s} {runs[len(runs) // 2]:7.2f}")

    print(f"rescore: {args.teachers} teachers x {args.claims} claims (one core):")
    total_ledgers, total_seconds = 0, 0.0
    for sid, standard in sorted(standards.items()):
        ledgers = [claims_for(standard, args.claims, rng) for _ in range(args.teachers)]
        cold = per_ledger_ms(standard, ledgers[:1000], cold=True)
        standard.memo.clear()
        started = time.perf_counter()
        warm = per_ledger_ms(standard, ledgers, cold=False)
        seconds = time.perf_counter() - started
        total_ledgers += len(ledgers)
        total_seconds += seconds
        print(
            f"  {sid:22s} {warm:6.3f} ms/ledger warm, {cold:6.3f} cold, "
            f"{seconds:6.2f} s for {len(ledgers)} ledgers"
        )
    mean = total_seconds * 1000 / total_ledgers
    print(
        f"  all standards: {total_ledgers} ledgers in {total_seconds:.2f} s, "
        f"{mean:.3f} ms per ledger"
    )


if __name__ == "__main__":
    main()
