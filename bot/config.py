"""Configuration: embedded defaults, an optional TOML file, secrets from the environment.

Nothing here runs at import time; `load_config` is called by the command line.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

MODES = ("plain", "compatible", "safe")
DEFAULT_API_BASE_URL = "https://api.weixin.qq.com/"
DEFAULT_WECOM_API_BASE_URL = "https://qyapi.weixin.qq.com/"
# Ways to push a message, by name; [push] routes orders them (see bot/push.py).
PUSH_ROUTES = ("oa_custom", "oa_template", "wecom")
DEFAULT_DATA_DIR = Path("data")

# Environment variables that may carry secrets instead of the file.
ENV_OVERRIDES = {
    "XUESHI_WECHAT_TOKEN": ("wechat", "token"),
    "XUESHI_WECHAT_APP_ID": ("wechat", "app_id"),
    "XUESHI_WECHAT_APP_SECRET": ("wechat", "app_secret"),
    "XUESHI_WECHAT_ENCODING_AES_KEY": ("wechat", "encoding_aes_key"),
    "XUESHI_WECHAT_PREVIOUS_ENCODING_AES_KEY": ("wechat", "previous_encoding_aes_key"),
    "XUESHI_WECOM_CORP_ID": ("wecom", "corp_id"),
    "XUESHI_WECOM_SECRET": ("wecom", "secret"),
    "XUESHI_WECOM_TOKEN": ("wecom", "token"),
    "XUESHI_WECOM_ENCODING_AES_KEY": ("wecom", "encoding_aes_key"),
}


class ConfigError(Exception):
    """A setting is missing or invalid; the message names it and what is expected."""


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    path: str = "/wechat"
    max_body_bytes: int = 64 * 1024


@dataclass(frozen=True)
class StorageConfig:
    database: Path = DEFAULT_DATA_DIR / "xueshi.db"


@dataclass(frozen=True)
class WechatConfig:
    mode: str = "plain"
    token: str = ""
    app_id: str = ""
    app_secret: str = ""
    encoding_aes_key: str = ""
    previous_encoding_aes_key: str = ""
    api_base_url: str = DEFAULT_API_BASE_URL
    # Requests whose timestamp is further than this from now are refused.
    max_clock_skew_seconds: int = 600
    # A template message (模板消息) for pushes outside the 48-hour window: the
    # template's id, and the data field that carries the text.
    template_id: str = ""
    template_field: str = "content"


@dataclass(frozen=True)
class WecomConfig:
    """A WeCom (企业微信) self-built app; configured when `corp_id` is set."""

    corp_id: str = ""
    agent_id: int = 0
    secret: str = ""  # the app's Secret, for pushing messages
    token: str = ""
    encoding_aes_key: str = ""
    path: str = "/wecom"
    api_base_url: str = DEFAULT_WECOM_API_BASE_URL
    max_clock_skew_seconds: int = 600

    @property
    def enabled(self) -> bool:
        return bool(self.corp_id)


@dataclass(frozen=True)
class PushConfig:
    """How the outbox sends; the limits are WeChat's, as of wechat.md."""

    # Tried in this order; a route whose settings are missing is left out.
    routes: tuple[str, ...] = ("oa_custom", "wecom", "oa_template")
    poll_seconds: int = 5
    # Transient failures on one route before it counts as failed.
    max_attempts: int = 6
    retry_base_seconds: int = 30
    retry_max_seconds: int = 3600
    timeout_seconds: int = 10
    # On shutdown, how long a send in flight may take to finish.
    drain_seconds: int = 5
    oa_window_hours: int = 48
    oa_window_quota: int = 5
    wecom_per_minute: int = 30
    wecom_per_hour: int = 1000


@dataclass(frozen=True)
class ScoringConfig:
    standard: str = "capped-50"
    # Extra folder of district standard files, read beside the built-in ones.
    standards_dir: Path | None = None


@dataclass(frozen=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    wechat: WechatConfig = field(default_factory=WechatConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    wecom: WecomConfig = field(default_factory=WecomConfig)
    push: PushConfig = field(default_factory=PushConfig)
    # True when the token was made up for local development.
    dev_token: bool = False


_SECTIONS = {
    "server": ServerConfig,
    "storage": StorageConfig,
    "wechat": WechatConfig,
    "scoring": ScoringConfig,
    "wecom": WecomConfig,
    "push": PushConfig,
}


def load_config(path: Path | str | None = None, env: dict | None = None) -> Config:
    """Read the file (if any), apply environment overrides, validate, fill the token."""
    env = os.environ if env is None else env
    raw: dict = {}
    if path is not None:
        raw = _read_toml(Path(path))
    for var, (section, key) in ENV_OVERRIDES.items():
        if env.get(var):
            raw.setdefault(section, {})[key] = env[var]

    config = Config(**{name: _section(name, raw) for name in _SECTIONS})
    _check_unknown_sections(raw)
    _validate(config)
    if not config.wechat.token:
        token = _dev_token(config.storage.database.parent)
        config = replace(
            config, wechat=replace(config.wechat, token=token), dev_token=True
        )
    return config


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path}: not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: not valid TOML ({exc})") from None


def _check_unknown_sections(raw: dict) -> None:
    for name in raw:
        if name not in _SECTIONS:
            expected = ", ".join(f"[{s}]" for s in _SECTIONS)
            raise ConfigError(f"[{name}]: unknown section; expected one of {expected}")


def _section(name: str, raw: dict):
    cls = _SECTIONS[name]
    values = raw.get(name, {})
    if not isinstance(values, dict):
        raise ConfigError(f"[{name}]: expected a table of settings")
    defaults = cls()
    kwargs = {}
    for key, value in values.items():
        if not hasattr(defaults, key):
            known = ", ".join(defaults.__dataclass_fields__)
            raise ConfigError(f"{name}.{key}: unknown setting; expected one of {known}")
        kwargs[key] = _coerce(f"{name}.{key}", getattr(defaults, key), value, cls, key)
    return cls(**kwargs)


def _coerce(where: str, default, value, cls, key):
    annotation = cls.__dataclass_fields__[key].type
    if isinstance(default, bool) or annotation == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: expected a list of names, got {value!r}")
        return tuple(value)
    if "Path" in str(annotation):
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where}: expected a file or folder path, got {value!r}")
        return Path(value)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected text, got {value!r}")
    return value


def _validate(config: Config) -> None:
    server, wechat = config.server, config.wechat
    if not 0 <= server.port <= 65535:
        raise ConfigError(f"server.port: expected 0-65535, got {server.port}")
    if not server.path.startswith("/"):
        raise ConfigError(
            f"server.path: expected a path starting with '/', got {server.path!r}"
        )
    if wechat.mode not in MODES:
        raise ConfigError(
            f"wechat.mode: expected one of {', '.join(MODES)}, got {wechat.mode!r}"
        )
    if not wechat.api_base_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"wechat.api_base_url: expected an http(s) URL, got {wechat.api_base_url!r}"
        )
    for key in ("encoding_aes_key", "previous_encoding_aes_key"):
        value = getattr(wechat, key)
        if value and not _is_aes_key(value):
            raise ConfigError(
                f"wechat.{key}: expected the 43-character EncodingAESKey from the "
                f"WeChat console (letters and digits), got {len(value)} characters"
            )
    if wechat.mode != "plain":
        if not wechat.encoding_aes_key:
            raise ConfigError(
                f"wechat.encoding_aes_key: required in {wechat.mode} mode (43 characters)"
            )
        if not wechat.app_id:
            raise ConfigError(
                f"wechat.app_id: required in {wechat.mode} mode (the AppID, wx...)"
            )
        if not wechat.token:
            raise ConfigError(f"wechat.token: required in {wechat.mode} mode")
    _validate_wecom(config)
    _validate_push(config.push)


def _validate_wecom(config: Config) -> None:
    wecom = config.wecom
    if not wecom.enabled:
        if wecom != WecomConfig():
            raise ConfigError("wecom.corp_id: required when [wecom] is configured")
        return
    for key in ("token", "encoding_aes_key"):
        if not getattr(wecom, key):
            raise ConfigError(f"wecom.{key}: required for the WeCom callback")
    if not _is_aes_key(wecom.encoding_aes_key):
        raise ConfigError(
            "wecom.encoding_aes_key: expected the 43-character EncodingAESKey of the "
            f"app's callback settings, got {len(wecom.encoding_aes_key)} characters"
        )
    if not wecom.path.startswith("/") or wecom.path in (config.server.path, "/healthz"):
        raise ConfigError(
            "wecom.path: expected a path starting with '/', other than server.path "
            f"and /healthz, got {wecom.path!r}"
        )
    if not wecom.api_base_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"wecom.api_base_url: expected an http(s) URL, got {wecom.api_base_url!r}"
        )
    if wecom.secret and wecom.agent_id <= 0:
        raise ConfigError(
            "wecom.agent_id: required with wecom.secret (the app's AgentId, a number)"
        )


def _validate_push(push: PushConfig) -> None:
    for name in push.routes:
        if name not in PUSH_ROUTES:
            raise ConfigError(
                f"push.routes: unknown route {name!r}; expected some of "
                f"{', '.join(PUSH_ROUTES)}"
            )
    for key in push.__dataclass_fields__:
        value = getattr(push, key)
        if isinstance(value, int) and value <= 0:
            raise ConfigError(f"push.{key}: expected a number above 0, got {value}")


def _is_aes_key(value: str) -> bool:
    """43 base64 characters that decode to the 32 bytes of an AES-256 key."""
    if len(value) != 43:
        return False
    try:
        return len(base64.b64decode(value + "=", validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def _dev_token(data_dir: Path) -> str:
    """A random token kept in the data folder, so it stays the same across restarts."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "dev-token"
    if path.exists():
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return token
    token = "dev-" + secrets.token_hex(8)
    path.write_text(token + "\n", encoding="utf-8")
    return token
