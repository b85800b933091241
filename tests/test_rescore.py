"""`standards rescore`: a new version of a standard, shown per teacher, applied on demand."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest

from bot.cli import main
from scoring.facts import Facts
from storage.store import Store

DAY = date(2026, 10, 8)
PERIOD = "2026-09-01"


@pytest.fixture
def setup(tmp_path):
    """Two teachers scored under capped-50 2024.1, and a file of version 2024.2."""
    database = tmp_path / "xueshi.db"
    store = Store(database)
    first = store.person_for("chat", "first").id
    second = store.person_for("chat", "second").id
    for person, facts, hours in (
        (first, Facts("observation", Fraction(12), "节", day=DAY), Fraction(12, 5)),
        (first, Facts("open-lesson", level="县级", day=DAY), Fraction(2)),
        (second, Facts("critique", Fraction(3), "次", day=DAY), Fraction(3, 2)),
    ):
        store.add_claim(person, PERIOD, facts, "text", "capped-50", "2024.1", hours)
    store.close()
    folder = tmp_path / "standards"
    folder.mkdir()
    text = Path("scoring/standards/capped-50.toml").read_text(encoding="utf-8")
    newer = text.replace('version = "2024.1"', 'version = "2024.2"')
    newer = newer.replace("rate = 0.2\n", "rate = 0.25\n", 1)  # 听课 0.25 a lesson
    (folder / "capped-50.toml").write_text(newer, encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[scoring]\nstandards_dir = "{folder}"\n[storage]\ndatabase = "{database}"\n',
        encoding="utf-8",
    )
    return config, database, first, second


def rescore(config: Path, *extra: str) -> int:
    return main(
        [
            "standards",
            "rescore",
            "capped-50",
            "--config",
            str(config),
            "--on",
            DAY.isoformat(),
            *extra,
        ]
    )


def test_a_dry_run_shows_each_change_and_writes_nothing(setup, capsys):
    config, database, first, second = setup
    assert rescore(config) == 0
    out = capsys.readouterr().out
    assert "2 teacher(s), 2 with changes" in out
    assert f"#{first}: 4.4 → 5 学时 (+0.6; 2 claim(s); was version 2024.1)" in out
    assert f"#{second}: 1.5 → 1.5 学时 (+0; 1 claim(s); was version 2024.1)" in out
    assert "nothing written" in out
    store = Store(database)
    assert {c.standard_version for c in store.claims_for(first, PERIOD)} == {"2024.1"}
    assert store.rescorings("capped-50") == []


def test_applying_writes_the_hours_and_version_and_records_it(setup, capsys):
    config, database, first, second = setup
    assert rescore(config, "--apply") == 0
    assert "applied and recorded as rescoring #1" in capsys.readouterr().out
    store = Store(database)
    claims = store.claims_for(first, PERIOD)
    assert [(c.hours_raw, c.hours_counted, c.standard_version) for c in claims] == [
        (Fraction(3), Fraction(3), "2024.2"),
        (Fraction(2), Fraction(2), "2024.2"),
    ]
    [run] = store.rescorings("capped-50")
    assert (
        run["standard_version"],
        run["period"],
        run["teachers"],
        run["changed"],
    ) == ("2024.2", PERIOD, 2, 2)
    assert [
        (c["person_id"], c["hours_before"], c["hours_after"]) for c in run["changes"]
    ] == [(first, "22/5", "5"), (second, "3/2", "3/2")]
    logged = store.decisions(claims[0].id)
    assert [(d["action"], d["hours_before"], d["hours_after"]) for d in logged] == [
        ("rescore", "12/5", "3")
    ]


def test_a_second_run_finds_nothing_to_change(setup, capsys):
    config, database, _, _ = setup
    rescore(config, "--apply")
    capsys.readouterr()
    assert rescore(config, "--apply") == 0
    assert "2 teacher(s), 0 with changes" in capsys.readouterr().out
    assert len(Store(database).rescorings("capped-50")) == 1


def test_a_claim_the_new_file_cannot_score_is_shown_not_written(setup, capsys):
    config, database, first, _ = setup
    folder = config.parent / "standards"
    text = (folder / "capped-50.toml").read_text(encoding="utf-8")
    (folder / "capped-50.toml").write_text(
        text.replace('id = "observation"', 'id = "watching"'), encoding="utf-8"
    )
    assert rescore(config, "--apply") == 1
    assert f"#{first}: cannot rescore" in capsys.readouterr().out
    versions = {c.standard_version for c in Store(database).claims_for(first, PERIOD)}
    assert versions == {"2024.1"}
