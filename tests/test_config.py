"""Configuration: defaults without a file, one-line errors naming the setting."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_config

AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_runs_on_embedded_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(None, env={})
    assert (config.server.host, config.server.port, config.server.path) == (
        "127.0.0.1",
        8080,
        "/wechat",
    )
    assert config.wechat.mode == "plain" and config.scoring.standard == "capped-50"
    assert config.dev_token and config.wechat.token.startswith("dev-")
    # The made-up token is kept, so a restart does not change it.
    assert load_config(None, env={}).wechat.token == config.wechat.token


def test_the_example_file_loads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from pathlib import Path

    example = Path(__file__).parent.parent / "config.example.toml"
    assert load_config(example, env={}).server.path == "/wechat"


def test_the_example_file_names_every_setting():
    import tomllib
    from dataclasses import fields
    from pathlib import Path

    from bot.config import _SECTIONS

    text = (Path(__file__).parent.parent / "config.example.toml").read_text("utf-8")
    written = tomllib.loads(text)
    for section, settings in _SECTIONS.items():
        missing = {f.name for f in fields(settings)} - set(written.get(section, {}))
        # Tables of their own (one per school …) are shown as a commented example.
        missing = {name for name in missing if f"[{section}.{name}." not in text}
        # A setting missing here is one an operator never hears of.
        assert missing == set(), section


def test_secrets_from_the_environment(tmp_path):
    path = write(tmp_path, '[wechat]\nmode = "safe"\napp_id = "wx1"\n')
    env = {"XUESHI_WECHAT_TOKEN": "t0k", "XUESHI_WECHAT_ENCODING_AES_KEY": AES}
    config = load_config(path, env=env)
    assert (config.wechat.token, config.wechat.encoding_aes_key) == ("t0k", AES)
    assert not config.dev_token


@pytest.mark.parametrize(
    "text, named",
    [
        ('[wechat]\nmode = "secret"\n', "wechat.mode"),
        ("[server]\nport = 70000\n", "server.port"),
        ('[server]\nport = "80"\n', "server.port"),
        ('[server]\npath = "wechat"\n', "server.path"),
        ("[server]\nworkers = 2\nport = 0\n", "server.port"),
        ('[server]\nhots = "x"\n', "server.hots"),
        ("[serverr]\n", "[serverr]"),
        (
            '[wechat]\nmode = "safe"\ntoken = "t"\napp_id = "wx1"\n',
            "wechat.encoding_aes_key",
        ),
        (
            f'[wechat]\nmode = "safe"\ntoken = "t"\nencoding_aes_key = "{AES}"\n',
            "wechat.app_id",
        ),
        ('[wechat]\nencoding_aes_key = "short"\n', "wechat.encoding_aes_key"),
        (
            '[wechat]\nencoding_aes_key = "' + "!" * 43 + '"\n',
            "wechat.encoding_aes_key",
        ),
        ('[wechat]\napi_base_url = "ftp://x"\n', "wechat.api_base_url"),
        ("[wechat\n", "not valid TOML"),
        # Settings that used to pass here and fail later with a traceback.
        ('[server]\nhost = "999.1.1.1"\n', "server.host"),
        ('[server]\nhost = "8080"\n', "server.host"),
        ('[server]\npath = "/healthz"\n', "server.path"),
        ('[server]\npath = "/we chat"\n', "server.path"),
        ('[server]\npath = "/wechat?x=1"\n', "server.path"),
        ('[server]\npath = "/wechat#top"\n', "server.path"),
        ('[server]\npath = "/wechat/{id}"\n', "server.path"),
        ("[server]\nmax_body_bytes = 0\n", "server.max_body_bytes"),
        ("[server]\nmax_body_bytes = -1\n", "server.max_body_bytes"),
        ("[reminders]\nprompt_minutes = 100000000000000\n", "reminders.prompt_minutes"),
        ("[wechat]\nmax_clock_skew_seconds = -1\n", "wechat.max_clock_skew_seconds"),
        (
            f'[wecom]\ncorp_id = "ww1"\ntoken = "t"\nencoding_aes_key = "{AES}"\n'
            "max_clock_skew_seconds = -1\n",
            "wecom.max_clock_skew_seconds",
        ),
        (
            f'[wecom]\ncorp_id = "ww1"\ntoken = "t"\nencoding_aes_key = "{AES}"\n'
            'path = "/qy?"\n',
            "wecom.path",
        ),
        ('[scoring]\nstandards_dir = "TMP/nowhere"\n', "scoring.standards_dir"),
        ('[scoring]\nstandards_dir = "TMP/config.toml"\n', "scoring.standards_dir"),
        ('[storage]\ndatabase = "TMP"\n', "storage.database"),
        # The development token is kept beside the database: its folder must be made.
        ('[storage]\ndatabase = "TMP/config.toml/x.db"\n', "storage.database"),
        ('[wechat]\ntoken = "ab"\n', "wechat.token"),
        ('[wechat]\ntoken = "' + "a" * 33 + '"\n', "wechat.token"),
        ('[wechat]\ntoken = "abc def"\n', "wechat.token"),
        ('[wechat]\ntoken = "abc\\u0000"\n', "wechat.token"),
        ('[wechat]\ntoken = "令牌令牌"\n', "wechat.token"),
        (
            f'[wecom]\ncorp_id = "ww1"\ntoken = "t-t"\nencoding_aes_key = "{AES}"\n',
            "wecom.token",
        ),
        ("\ufeff[server]\n", "byte-order mark"),
        ("id = " + "[" * 2000 + "]" * 2000 + "\n", "nested too deeply"),
        ("[server]\nport = " + "9" * 5000 + "\n", "more than 4300 digits"),
    ],
)
def test_a_bad_setting_stops_with_one_line_naming_it(tmp_path, text, named):
    path = write(tmp_path, text.replace("TMP", str(tmp_path)))
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    message = str(caught.value)
    assert named in message and "\n" not in message


def test_a_bad_token_is_named_but_not_shown(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, '[wechat]\ntoken = "my secret"\n'), env={})
    assert "wechat.token" in str(caught.value) and "secret" not in str(caught.value)


def test_a_config_path_that_is_a_folder_is_named(tmp_path):
    with pytest.raises(ConfigError, match="is a folder; expected a TOML file"):
        load_config(tmp_path, env={})


@pytest.mark.parametrize(
    "database",
    [
        "TMP/config.toml/x.db",  # a folder that cannot be made
        "TMP/config.toml",  # a file that is no database
    ],
)
def test_a_database_that_cannot_be_opened_is_named(tmp_path, database):
    from bot.runtime import build_conversation

    text = f'[wechat]\ntoken = "abc123"\n[storage]\ndatabase = "{database}"\n'
    config = load_config(write(tmp_path, text.replace("TMP", str(tmp_path))), env={})
    with pytest.raises(ConfigError) as caught:
        build_conversation(config)
    message = str(caught.value)
    assert message.startswith("storage.database: cannot open") and "\n" not in message


def test_an_unknown_standard_is_named(tmp_path):
    from bot.runtime import build_conversation

    path = write(
        tmp_path,
        f'[scoring]\nstandard = "nowhere"\n[storage]\ndatabase = "{tmp_path}/x.db"\n',
    )
    with pytest.raises(ConfigError, match="scoring.standard"):
        build_conversation(load_config(path, env={}))


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml", env={})
