"""The README's first two commands are the ones that work: CI runs the second."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(.+?)\n```", text)[:2]


def test_the_readme_starts_with_run_and_test_commands():
    run, test = readme_commands()
    assert "python -m bot serve" in run and "pip install" in run
    assert "pytest" in test and "ruff check" in test and "ruff format --check" in test


def test_ci_runs_the_readme_test_command():
    _, test = readme_commands()
    assert test.replace("-q ", "") in (ROOT / ".ci" / "run").read_text().replace(
        "-q ", ""
    )
