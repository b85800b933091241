"""The worked examples of shared/standards.md, through the engine and through the chat.

Each row is one teacher's claims in one school year, the claimed total after
every cap and the gap to the first target, exactly as the table gives them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest

from scoring.engine import EngineClaim, build_ledger
from scoring.facts import Facts
from scoring.standard import load_standards

ROOT = Path(__file__).resolve().parent.parent
STANDARDS = load_standards()

# (standard, claims as the engine sees them, messages a teacher sends, total, gap)
EXAMPLES = [
    ("capped-50", [Facts("open-lesson", level="县级")], ["公开课 县级 1次"], "2", "48"),
    (
        "capped-50",
        [Facts("open-lesson", level="县级"), Facts("open-lesson", level="省级")],
        ["公开课 县级 1次", "公开课 省级 1次"],
        "4",
        "46",
    ),
    ("capped-50", [Facts("observation", Fraction(12))], ["听课 12节"], "2.4", "47.6"),
    ("capped-50", [Facts("observation", Fraction(30))], ["听课 ×30"], "4", "46"),
    (
        "capped-50",
        [Facts("critique", Fraction(3)), Facts("reading-notes", Fraction(3))],
        ["评课 3次", "读书笔记 3篇"],
        "3.5",
        "46.5",
    ),
    (
        "capped-50",
        [Facts("achievement", level="省级"), Facts("achievement", level="市级")],
        ["研修成果 省级 1项", "研修成果 市级 1项"],
        "5",
        "45",
    ),
    (
        "annual-80",
        [Facts("central-training", Fraction(2), "天")],
        ["外出培训 2天"],
        "16",
        "64",
    ),
    (
        "annual-80",
        [
            Facts("school-training", Fraction(2), "小时", role="主讲"),
            Facts("school-training", Fraction(3), "小时", role="参加"),
        ],
        ["校本培训 主讲 2小时", "校本培训 参加 3小时"],
        "11",
        "69",
    ),
    ("annual-80", [Facts("narrative", Fraction(2))], ["教育叙事 2篇"], "4", "76"),
    (
        "annual-80",
        [
            Facts("paper", level="县级", grade="一等奖"),
            Facts("paper", level="省级", published=True),
        ],
        ["论文 县级 一等奖", "论文 省级 发表"],
        "16",
        "64",
    ),
]
IDS = [f"{row[0]}: {'; '.join(row[2])}" for row in EXAMPLES]


@pytest.mark.parametrize(
    ("standard_id", "claims", "texts", "total", "gap"), EXAMPLES, ids=IDS
)
def test_through_the_engine(standard_id, claims, texts, total, gap):
    standard = STANDARDS[standard_id]
    day = date(2026, 10, 8)
    engine_claims = [
        EngineClaim(n, facts.with_(day=day), (day, n)) for n, facts in enumerate(claims)
    ]
    ledger = build_ledger(standard, engine_claims)
    assert ledger.total == Fraction(total)
    assert ledger.gap() == Fraction(gap)
    assert ledger.gaps()[0].gap == Fraction(gap)


@pytest.mark.parametrize(
    ("standard_id", "claims", "texts", "total", "gap"), EXAMPLES, ids=IDS
)
def test_through_the_chat(tmp_path, standard_id, claims, texts, total, gap):
    records = chat(tmp_path / "xueshi.db", standard_id, texts)
    last = records[-1]
    assert Fraction(str(last["claimed"])) == Fraction(total), last["reply"]
    assert Fraction(str(last["gap"])) == Fraction(gap), last["reply"]


def chat(database: Path, standard_id: str, texts: list[str]) -> list[dict]:
    """Run `python -m bot chat --json` on a real SQLite file; one record per message."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "chat",
            "--json",
            "--user",
            "worked-example",
            "--standard",
            standard_id,
            "--db",
            str(database),
        ],
        input="\n".join(texts) + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(records) == len(texts), result.stderr
    return records
