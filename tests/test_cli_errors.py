"""Bad settings and options on the real command line: one line naming them, no traceback.

Each case runs `python -m bot ...` in a child process, as a person would, so
that whatever escapes the command's error handling shows up as a traceback.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ENV_OVERRIDES
from storage.store import Store

PROJECT = Path(__file__).resolve().parent.parent

# Every serve case starts from a config that would run, then changes one setting.
GOOD = {
    "server": {"host": "127.0.0.1", "port": 0},
    "wechat": {"token": "abc123"},
    "storage": {"database": "TMP/x.db"},
}

# (what is wrong, (section, key, value), the setting the error names)
SERVE = [
    ("a host without an address", ("server", "host", "nonexistent.invalid"), "server.host"),
    ("a host that is no IPv4 address", ("server", "host", "999.1.1.1"), "server.host"),
    ("the health check's path", ("server", "path", "/healthz"), "server.path"),
    ("a path with a space", ("server", "path", "/we chat"), "server.path"),
    ("no room for a message", ("server", "max_body_bytes", 0), "server.max_body_bytes"),
    ("a negative clock skew", ("wechat", "max_clock_skew_seconds", -1),
     "wechat.max_clock_skew_seconds"),
    ("a token with a space", ("wechat", "token", "abc 123"), "wechat.token"),
    ("prompts less than yearly", ("reminders", "prompt_minutes", 10**15),
     "reminders.prompt_minutes"),
    ("a database that is a folder", ("storage", "database", "TMP"), "storage.database"),
    ("a database whose folder is a file",
     ("storage", "database", "TMP/config.toml/x.db"), "storage.database"),
    ("a database that is not SQLite", ("storage", "database", "TMP/config.toml"),
     "storage.database"),
    ("a missing standards folder", ("scoring", "standards_dir", "TMP/nowhere"),
     "scoring.standards_dir"),
    ("a standards folder that is a file", ("scoring", "standards_dir", "TMP/config.toml"),
     "scoring.standards_dir"),
]  # fmt: skip

# (what is wrong, the arguments after `python -m bot`, the option the error names)
OPTIONS = [
    ("a database that is a folder", ["chat", "--db", "TMP"], "--db"),
    ("an unknown standard", ["chat", "--standard", "nonexistent"], "--standard"),
    ("an empty standard", ["chat", "--standard", ""], "--standard"),
    ("a day that is not a date",
     ["standards", "rescore", "capped-50", "--on", "2026-13-01"], "--on"),
    ("encrypting without a key", ["send", "--mode", "safe", "查询"],
     "wechat.encoding_aes_key"),
]  # fmt: skip


def run_bot(tmp_path, *args: str) -> subprocess.CompletedProcess:
    """`python -m bot args` in `tmp_path`, without secrets from this environment."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_OVERRIDES}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(PROJECT)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def the_error(result: subprocess.CompletedProcess) -> str:
    """The one line a person reads on stderr; argparse prints its usage above it."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    if lines and lines[0].startswith("usage:"):
        lines = [line for line in lines if not line.startswith(("usage:", " "))]
    assert len(lines) == 1, result.stderr
    return lines[0]


def write_config(tmp_path, settings: dict) -> str:
    path = tmp_path / "config.toml"
    lines = []
    for section, values in settings.items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            if isinstance(value, str):  # a JSON string is a TOML basic string too
                value = json.dumps(value.replace("TMP", str(tmp_path)))
            lines.append(f"{key} = {value}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def serve(tmp_path, section: str, key: str, value) -> subprocess.CompletedProcess:
    settings = {name: dict(values) for name, values in GOOD.items()}
    settings.setdefault(section, {})[key] = value
    path = write_config(tmp_path, settings)
    # An existing database: a first start would log its migrations on stderr.
    Store(tmp_path / "x.db").close()
    return run_bot(tmp_path, "serve", "--config", path)


@pytest.mark.parametrize(
    ("wrong", "setting", "named"), SERVE, ids=[case[0] for case in SERVE]
)
def test_serve_stops_with_one_line_naming_the_setting(tmp_path, wrong, setting, named):
    result = serve(tmp_path, *setting)
    assert result.returncode == 2
    assert named in the_error(result)


def test_serve_names_the_port_another_program_holds(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = serve(tmp_path, "server", "port", port)
    assert result.returncode == 2
    assert f"server.port: {port} is already in use" in the_error(result)


def test_several_workers_stop_together_on_a_port_in_use(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = {**GOOD, "server": {"host": "127.0.0.1", "port": port, "workers": 2}}
        Store(tmp_path / "x.db").close()
        result = run_bot(
            tmp_path, "serve", "--config", write_config(tmp_path, settings)
        )
    assert result.returncode == 2
    assert f"server.port: {port} is already in use" in the_error(result)


@pytest.mark.parametrize(
    ("wrong", "args", "named"), OPTIONS, ids=[case[0] for case in OPTIONS]
)
def test_a_bad_option_is_one_line_naming_it(tmp_path, wrong, args, named):
    args = [arg.replace("TMP", str(tmp_path)) for arg in args]
    result = run_bot(tmp_path, *args)
    assert result.returncode == 2
    error = the_error(result)
    assert named in error and "scoring.standard" not in error


@pytest.mark.parametrize(
    ("wrong", "make", "says"),
    [
        ("a folder", lambda path: path.mkdir(), "this is a folder"),
        ("a byte-order mark",
         lambda path: path.write_bytes(b"\xef\xbb\xbfid = 'x'\n"),
         "file starts with a byte-order mark; save as UTF-8 without BOM"),
        ("no items", lambda path: path.write_text(
            'id = "x"\nname = "x"\nversion = "1"\n[[target]]\nhours = 1\n', "utf-8"),
         "no items"),
    ],
    ids=["a folder", "a byte-order mark", "no items"],
)  # fmt: skip
def test_standards_check_lists_the_problem(tmp_path, wrong, make, says):
    path = tmp_path / "district.toml"
    make(path)
    result = run_bot(tmp_path, "standards", "check", str(path))
    assert (result.returncode, result.stderr) == (1, "")
    assert says in result.stdout
