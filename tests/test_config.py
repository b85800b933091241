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
    ],
)
def test_a_bad_setting_stops_with_one_line_naming_it(tmp_path, text, named):
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), env={})
    message = str(caught.value)
    assert named in message and "\n" not in message


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
