"""Pytest setup shared by all tests."""

import sys
from pathlib import Path

# The project is not installed into the venv and pyproject sets no pythonpath,
# so make `bot`, `handlers`, ... and `tests.support` importable from here.
# `pythonpath = ["."]` under [tool.pytest.ini_options] would replace this.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
