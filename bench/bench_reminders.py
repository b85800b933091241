"""How fast the reminder list is built: 100,000 teachers with 30 claims each.

    .venv/bin/python bench/bench_reminders.py [--teachers 100000] [--claims 30]
        [--db PATH] [--workers N]

The data goes straight into SQLite (towns of 20 schools, 100 teachers a
school, a school reviewer each, an approver per town, every one bound;
claims drawn at random from the items of capped-50 and annual-80, in mixed
review states). Then the list of a manual run on 2026-12-14 09:00 (every
school, teachers and reviewers) is built three times:

- cold, one process: no standing kept, each teacher scored again in-process;
- cold, N processes: the same, the scoring shared by N worker processes;
- warm: standings current, as the server keeps them (goal: under 10 s).

--db keeps the generated file for the next run (delete it to start afresh).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import claims_for  # noqa: E402

from bot.config import Config  # noqa: E402
from bot.scheduler import Calendar, parallel_standings  # noqa: E402
from handlers.reminders import CHINA, ReminderBuilder, compute_standings  # noqa: E402
from scoring.standard import load_standards  # noqa: E402
from storage.store import Store  # noqa: E402

AT = datetime(2026, 12, 14, 9, 0, tzinfo=CHINA)
PERIOD = "2026-09-01"
PER_SCHOOL = 100
SCHOOLS_PER_TOWN = 20
# Review states in mid-December: most claims checked, many approved.
STATES = ["approved"] * 5 + ["pending_approval"] * 3 + ["pending_check"] * 2
FACT_POOL = 20_000


def generate(path: Path, teachers: int, claims: int, rng: random.Random) -> None:
    """Towns, schools, people, identities and claims, inserted in bulk."""
    standards = load_standards()
    pools = {
        sid: [
            json.dumps(c.facts.to_json(), ensure_ascii=False)
            for c in claims_for(standards[sid], FACT_POOL, rng)
        ]
        for sid in ("capped-50", "annual-80")
    }
    store = Store(path)
    conn, now = store.db.conn, datetime.now(UTC).isoformat(timespec="seconds")
    schools = -(-teachers // PER_SCHOOL)
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO towns (id, name) VALUES (?, ?)",
        [(t, f"镇{t}") for t in range(1, schools // SCHOOLS_PER_TOWN + 2)],
    )
    conn.executemany(
        "INSERT INTO schools (id, name, town_id, standard, invite_code) "
        "VALUES (?, ?, ?, ?, ?)",
        [(s, f"学校{s}", 1 + (s - 1) // SCHOOLS_PER_TOWN,
          "annual-80" if s % 10 < 3 else "capped-50", f"{s:06d}")
         for s in range(1, schools + 1)],
    )  # fmt: skip
    people = [
        (p, f"教师{p}", "教师", 1 + (p - 1) // PER_SCHOOL)
        for p in range(1, teachers + 1)
    ]
    people += [(teachers + s, f"核查{s}", "学校核查", s) for s in range(1, schools + 1)]
    people += [
        (
            teachers + schools + t,
            f"审定{t}",
            "中心校审定",
            1 + (t - 1) * SCHOOLS_PER_TOWN,
        )
        for t in range(1, (schools - 1) // SCHOOLS_PER_TOWN + 2)
    ]
    conn.executemany(
        "INSERT INTO people (id, name, role, school, school_id, staff_no, standard, "
        "reminders, created_at) VALUES (?, ?, ?, NULL, ?, ?, NULL, 1, ?)",
        [
            (pid, name, role, school, str(pid), now)
            for pid, name, role, school in people
        ],
    )
    conn.executemany(
        "INSERT INTO identities (channel, external_id, person_id, created_at) "
        "VALUES ('oa', ?, ?, ?)",
        [(f"o{pid}", pid, now) for pid, *_ in people],
    )
    standard_of = {
        s: "annual-80" if s % 10 < 3 else "capped-50" for s in range(1, schools + 1)
    }
    rows = (
        (pid, n, PERIOD, "item", rng.choice(pools[standard_of[1 + (pid - 1) // PER_SCHOOL]]),
         "…", standard_of[1 + (pid - 1) // PER_SCHOOL], "2024.1", "1", "1",
         rng.choice(STATES), now, now)
        for pid in range(1, teachers + 1)
        for n in range(1, claims + 1)
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO claims (person_id, number, period, item, facts, text, standard_id, "
        "standard_version, hours_raw, hours_counted, status, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.execute("COMMIT")
    store.close()


def build(path: Path, compute=None) -> tuple[float, int]:
    """Seconds to build the manual run's list at AT, and how many messages."""
    standards = load_standards()
    store = Store(path)
    try:
        builder = ReminderBuilder(store, standards, "capped-50", compute=compute)
        calendar = Calendar(Config().reminders)
        started = time.perf_counter()
        rounds = calendar.rounds_on(store.all_schools(), AT.date())
        reminders = builder.build(rounds, AT)
        return time.perf_counter() - started, len(reminders)
    finally:
        store.close()


def forget_standings(path: Path) -> None:
    store = Store(path)
    store.db.execute("DELETE FROM standings")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teachers", type=int, default=100_000)
    parser.add_argument("--claims", type=int, default=30)
    parser.add_argument("--db", type=Path, help="keep the generated data here")
    parser.add_argument("--workers", type=int, default=min(os.cpu_count() or 1, 8))
    args = parser.parse_args()

    folder = tempfile.TemporaryDirectory()
    path = args.db or Path(folder.name) / "bench.db"
    if not path.exists():
        started = time.perf_counter()
        generate(path, args.teachers, args.claims, random.Random(20261214))
        print(f"generated {args.teachers} teachers x {args.claims} claims "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip

    print(f"reminder list at {AT:%Y-%m-%d %H:%M} China time, every school:")
    forget_standings(path)
    standards = load_standards()

    def single(jobs):
        store = Store(path)
        try:
            return compute_standings(store, standards, jobs)
        finally:
            store.close()

    seconds, count = build(path, single)
    print(f"  cold, 1 process:    {seconds:6.2f} s  ({count} messages)")
    forget_standings(path)

    def shared(jobs):
        return parallel_standings(path, None, jobs, args.workers)

    seconds, count = build(path, shared)
    print(f"  cold, {args.workers} processes: {seconds:6.2f} s  ({count} messages)")
    seconds, count = build(path)
    verdict = "ok" if seconds < 10 else "over the 10 s goal"
    print(f"  warm:               {seconds:6.2f} s  ({count} messages) — {verdict}")
    folder.cleanup()


if __name__ == "__main__":
    main()
