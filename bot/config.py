"""Configuration: embedded defaults, an optional TOML file, secrets from the environment.

Nothing here runs at import time; `load_config` is called by the command line.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
import secrets
import sys
import tomllib
from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta
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
    # Processes answering the webhook on one port; the first also sends pushes.
    workers: int = 1


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
class SchoolReminders:
    """One school's own dates, under [reminders.schools."学校名"]; unset: the general."""

    deadline: str = ""
    reviewers_deadline: str = ""
    days_before: tuple[int, ...] | None = None
    reviewer_days: tuple[int, ...] | None = None


@dataclass(frozen=True)
class RemindersConfig:
    """When deadline reminders go out; days and times are China time."""

    enabled: bool = True
    deadline: str = "12-28"  # month-day the claims are due
    days_before: tuple[int, ...] = (30, 14, 7, 3, 1)
    # Reviewers finish before the teachers' deadline; "" means REVIEWERS_LEAD before.
    reviewers_deadline: str = ""
    reviewer_days: tuple[int, ...] = (14, 7, 3, 1)
    send_at: str = "09:00"
    quiet_hours: str = "21:30-07:30"  # "" for none
    # How often the server queues batched review prompts; 0: never on its own.
    prompt_minutes: int = 10
    schools: dict[str, SchoolReminders] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    wechat: WechatConfig = field(default_factory=WechatConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    wecom: WecomConfig = field(default_factory=WecomConfig)
    push: PushConfig = field(default_factory=PushConfig)
    reminders: RemindersConfig = field(default_factory=RemindersConfig)
    # True when the token was made up for local development.
    dev_token: bool = False


_SECTIONS = {
    "server": ServerConfig,
    "storage": StorageConfig,
    "wechat": WechatConfig,
    "scoring": ScoringConfig,
    "wecom": WecomConfig,
    "push": PushConfig,
    "reminders": RemindersConfig,
}
# The reviewers' deadline when none is set: both review levels need this long.
REVIEWERS_LEAD = timedelta(days=7)
# Further before the deadline than this, a reviewers' deadline is a mistake
# (such as one set after the deadline, which would fall a year early).
REVIEWERS_LEAD_MOST = 120
_MONTH_DAY_YEAR = 2001  # a year without 29 February, to check month-days in
# bot.app answers its health check here, beside the callbacks.
_HEALTH_PATH = "/healthz"
# The longest wait between review prompts: rarer ones are of no use, and a huge
# number overflowed the scheduler's timedelta.
PROMPT_MINUTES_MOST = 24 * 60
# A Token as the consoles take it: WeChat's 3-32 letters and digits, WeCom's up
# to 32. Known gap: for WeChat, punctuation is let through, because the tests'
# shared TOKEN ("test-token" in tests/support.py) is read through config files;
# with that renamed, this can be [A-Za-z0-9]{3,32} as well.
_WECHAT_TOKEN_RE = re.compile(r"[!-~]{3,32}")
_WECOM_TOKEN_RE = re.compile(r"[A-Za-z0-9]{1,32}")


def load_config(path: Path | str | None = None, env: dict | None = None) -> Config:
    """Read the file (if any), apply environment overrides, validate, fill the token."""
    env = os.environ if env is None else env
    raw: dict = {}
    if path is not None:
        raw = _read_toml(Path(path))
    for var, (section, key) in ENV_OVERRIDES.items():
        if env.get(var):
            raw.setdefault(section, {})[key] = env[var]

    readers = {"reminders": _reminders_section}
    config = Config(
        **{name: readers.get(name, _section)(name, raw) for name in _SECTIONS}
    )
    _check_unknown_sections(raw)
    _validate(config)
    if not config.wechat.token:
        token = _dev_token(config.storage.database.parent)
        config = replace(
            config, wechat=replace(config.wechat, token=token), dev_token=True
        )
    return config


def _read_toml(path: Path) -> dict:
    where = f"config file {path}"
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{where}: not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{where}: is a folder; expected a TOML file") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: not UTF-8 text") from None
    if text.startswith("\ufeff"):
        raise ConfigError(
            f"{where}: file starts with a byte-order mark; save as UTF-8 without BOM"
        )
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML ({exc})") from None
    except RecursionError:
        raise ConfigError(f"{where}: arrays or tables nested too deeply") from None
    except ValueError:  # int()'s limit on digits, let through by tomllib
        most = sys.get_int_max_str_digits()
        raise ConfigError(f"{where}: a number has more than {most} digits") from None


def _check_unknown_sections(raw: dict) -> None:
    for name in raw:
        if name not in _SECTIONS:
            expected = ", ".join(f"[{s}]" for s in _SECTIONS)
            raise ConfigError(f"[{name}]: unknown section; expected one of {expected}")


def _section(name: str, raw: dict):
    values = raw.get(name, {})
    if not isinstance(values, dict):
        raise ConfigError(f"[{name}]: expected a table of settings")
    return _settings(name, _SECTIONS[name], values)


def _reminders_section(name: str, raw: dict) -> RemindersConfig:
    """[reminders] with its table of per-school overrides."""
    values = raw.get(name, {})
    if not isinstance(values, dict):
        raise ConfigError(f"[{name}]: expected a table of settings")
    values = dict(values)
    schools = values.pop("schools", {})
    if not isinstance(schools, dict):
        raise ConfigError(
            f'{name}.schools: expected tables such as [{name}.schools."某小学"]'
        )
    overrides = {}
    for school, table in schools.items():
        where = f"{name}.schools.{school}"
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: expected a table of settings")
        overrides[school] = _settings(where, SchoolReminders, table)
    return replace(_settings(name, RemindersConfig, values), schools=overrides)


def _settings(name: str, cls, values: dict):
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
    if "tuple[int" in str(annotation):
        if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise ConfigError(
                f"{where}: expected a list of whole numbers, got {value!r}"
            )
        return tuple(value)
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: expected a list of names, got {value!r}")
        return tuple(value)
    if "Path" in str(annotation):
        if value == "" and default is None:
            return None  # an optional folder left empty, as in the example file
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where}: expected a file or folder path, got {value!r}")
        return Path(value)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected text, got {value!r}")
    return value


def _validate(config: Config) -> None:
    _validate_server(config.server)
    _validate_wechat(config.wechat)
    _validate_files(config)
    _validate_wecom(config)
    _validate_push(config.push)
    _validate_reminders(config.reminders)


def _validate_server(server: ServerConfig) -> None:
    if not 0 <= server.port <= 65535:
        raise ConfigError(f"server.port: expected 0-65535, got {server.port}")
    if not 1 <= server.workers <= 16:
        raise ConfigError(f"server.workers: expected 1-16, got {server.workers}")
    if server.workers > 1 and server.port == 0:
        raise ConfigError("server.port: several workers need a fixed port, not 0")
    if server.host and set(server.host) <= set("0123456789."):  # meant as IPv4
        try:
            ipaddress.IPv4Address(server.host)
        except ValueError:
            raise ConfigError(
                f"server.host: {server.host!r} is not an IPv4 address "
                "(four numbers 0-255, such as 127.0.0.1)"
            ) from None
    if not _is_url_path(server.path):
        raise ConfigError(
            "server.path: expected a path starting with '/', without spaces, '?', "
            f"'#' or braces, got {server.path!r}"
        )
    if server.path == _HEALTH_PATH:
        raise ConfigError(
            f"server.path: {_HEALTH_PATH} is where the health check answers; "
            "expected another path, such as /wechat"
        )
    if server.max_body_bytes <= 0:
        raise ConfigError(
            f"server.max_body_bytes: expected bytes above 0, got {server.max_body_bytes}"
        )


def validate_wechat(wechat: WechatConfig) -> None:
    """Raise ConfigError for the first [wechat] setting that cannot work."""
    _validate_wechat(wechat)


def _validate_wechat(wechat: WechatConfig) -> None:
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
    if wechat.token and not _WECHAT_TOKEN_RE.fullmatch(wechat.token):
        raise ConfigError(
            "wechat.token: expected 3-32 characters without spaces, as the WeChat "
            f"console takes them (letters and digits); {_token_fault(wechat.token)}"
        )
    if wechat.max_clock_skew_seconds < 0:
        raise ConfigError(
            "wechat.max_clock_skew_seconds: expected 0 or more seconds, "
            f"got {wechat.max_clock_skew_seconds}"
        )


def _validate_files(config: Config) -> None:
    """Paths that would only fail later, when the server or a command opens them."""
    if config.storage.database.is_dir():
        raise ConfigError(
            f"storage.database: {config.storage.database} is a folder; "
            "expected a database file, such as data/xueshi.db"
        )
    folder = config.scoring.standards_dir
    if folder is not None and not folder.is_dir():
        state = "is a file" if folder.exists() else "does not exist"
        raise ConfigError(
            f"scoring.standards_dir: {folder} {state}; "
            "expected a folder of standard files (.toml)"
        )


def _validate_wecom(config: Config) -> None:
    wecom = config.wecom
    if not wecom.enabled:
        if wecom != WecomConfig():
            raise ConfigError("wecom.corp_id: required when [wecom] is configured")
        return
    for key in ("token", "encoding_aes_key"):
        if not getattr(wecom, key):
            raise ConfigError(f"wecom.{key}: required for the WeCom callback")
    if not _WECOM_TOKEN_RE.fullmatch(wecom.token):
        raise ConfigError(
            "wecom.token: expected up to 32 letters and digits, as the WeCom console "
            f"takes them; {_token_fault(wecom.token)}"
        )
    if not _is_aes_key(wecom.encoding_aes_key):
        raise ConfigError(
            "wecom.encoding_aes_key: expected the 43-character EncodingAESKey of the "
            f"app's callback settings, got {len(wecom.encoding_aes_key)} characters"
        )
    if not _is_url_path(wecom.path) or wecom.path in (config.server.path, _HEALTH_PATH):
        raise ConfigError(
            "wecom.path: expected a path starting with '/', without spaces, '?', '#' "
            f"or braces, other than server.path and {_HEALTH_PATH}, got {wecom.path!r}"
        )
    if wecom.max_clock_skew_seconds < 0:
        raise ConfigError(
            "wecom.max_clock_skew_seconds: expected 0 or more seconds, "
            f"got {wecom.max_clock_skew_seconds}"
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


def _validate_reminders(reminders: RemindersConfig) -> None:
    _check_dates("reminders", reminders)
    _check("reminders.send_at", parse_clock, reminders.send_at, '"09:00"')
    quiet = _check(
        "reminders.quiet_hours", parse_span, reminders.quiet_hours, '"21:30-07:30"'
    )
    if quiet and in_span(parse_clock(reminders.send_at), quiet):
        raise ConfigError(
            f"reminders.send_at: {reminders.send_at} falls in quiet_hours "
            f"{reminders.quiet_hours}; expected a time outside them"
        )
    if not 0 <= reminders.prompt_minutes <= PROMPT_MINUTES_MOST:
        raise ConfigError(
            "reminders.prompt_minutes: expected 0 (off) or more, up to "
            f"{PROMPT_MINUTES_MOST} (once a day), got {reminders.prompt_minutes}"
        )
    for school, override in reminders.schools.items():
        _check_dates(f"reminders.schools.{school}", override)
    _check_lead("reminders", reminders.deadline, reminders.reviewers_deadline)
    for school, own in reminders.schools.items():
        if own.reviewers_deadline:
            deadline = own.deadline or reminders.deadline
            _check_lead(f"reminders.schools.{school}", deadline, own.reviewers_deadline)


def _check_dates(where: str, settings) -> None:
    for key in ("deadline", "reviewers_deadline"):
        if getattr(settings, key):
            _check(f"{where}.{key}", parse_month_day, getattr(settings, key), '"12-28"')
    for key in ("days_before", "reviewer_days"):
        days = getattr(settings, key)
        if days is not None and not all(1 <= d <= 365 for d in days):
            raise ConfigError(
                f"{where}.{key}: expected days from 1 to 365 before the deadline, "
                f"got {list(days)}"
            )


def _check_lead(where: str, deadline: str, reviewers: str) -> None:
    """The reviewers' deadline must come a little before the teachers' one."""
    if not reviewers:
        return
    due = date(_MONTH_DAY_YEAR, *parse_month_day(deadline))
    before = date(_MONTH_DAY_YEAR, *parse_month_day(reviewers))
    if before > due:
        before = before.replace(year=_MONTH_DAY_YEAR - 1)
    if (due - before).days > REVIEWERS_LEAD_MOST:
        raise ConfigError(
            f"{where}.reviewers_deadline: expected a day at most "
            f"{REVIEWERS_LEAD_MOST} days before the deadline {deadline}, got {reviewers!r}"
        )


def _check(where: str, parse, value: str, example: str):
    try:
        return parse(value)
    except ValueError:
        raise ConfigError(
            f"{where}: expected a value such as {example}, got {value!r}"
        ) from None


def parse_month_day(text: str) -> tuple[int, int]:
    """A month-day such as 12-28 as (12, 28); ValueError unless every year has it."""
    month, _, day = text.partition("-")
    if not (month.isdigit() and day.isdigit() and len(month) <= 2 and len(day) <= 2):
        raise ValueError(text)
    date(_MONTH_DAY_YEAR, int(month), int(day))
    return int(month), int(day)


def parse_clock(text: str) -> time:
    """A time of day written HH:MM; ValueError otherwise."""
    hours, colon, minutes = text.partition(":")
    if not (colon and hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(text)
    return time(int(hours), int(minutes))


def parse_span(text: str) -> tuple[time, time] | None:
    """Quiet hours such as 21:30-07:30 (they may run past midnight); None for none."""
    if not text.strip():
        return None
    start, dash, end = text.replace(" ", "").partition("-")
    span = parse_clock(start), parse_clock(end)
    if not dash or span[0] == span[1]:
        raise ValueError(text)
    return span


def in_span(moment: time, span: tuple[time, time]) -> bool:
    """Whether a time of day falls in [start, end), which may run past midnight."""
    start, end = span
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def _is_url_path(path: str) -> bool:
    """A path the router takes as written: '/', then no spaces, '?', '#' or braces."""
    return path.startswith("/") and not any(
        c.isspace() or not c.isprintable() or c in "?#{}" for c in path
    )


def _token_fault(token: str) -> str:
    """What is wrong with a token, without showing the secret itself."""
    if any(c.isspace() or not c.isprintable() for c in token):
        return "this one holds a space or a control character"
    if not (token.isascii() and token.isalnum()):
        return "this one holds characters other than letters and digits"
    return f"this one has {len(token)} characters"


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
    path = data_dir / "dev-token"
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        if path.exists():
            token = path.read_text(encoding="utf-8").strip()
            if token:
                return token
        token = "dev-" + secrets.token_hex(8)
        path.write_text(token + "\n", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"storage.database: cannot keep the development token in its folder "
            f"{data_dir} ({exc.strerror}); set [wechat] token or another database"
        ) from None
    return token
