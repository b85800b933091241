"""Builds the parts of a running bot from its configuration."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.config import Config, ConfigError
from handlers.conversation import Conversation
from scoring.standard import load_standards
from storage.store import Store


def build_conversation(
    config: Config, standard: str | None = None, database: Path | None = None
) -> Conversation:
    """Load the standards (a broken file raises StandardError) and open storage.

    `standard` and `database` are the command line's --standard and --db, in
    place of scoring.standard and storage.database; a ConfigError names the
    one that was used.
    """
    standards = load_standards(config.scoring.standards_dir)
    default, setting = (
        (config.scoring.standard, "scoring.standard")
        if standard is None
        else (standard, "--standard")
    )
    if default not in standards:
        known = ", ".join(sorted(standards))
        raise ConfigError(
            f"{setting}: unknown standard {default!r}; expected one of {known}"
        )
    if database is None:
        store = open_store(config.storage.database, "storage.database")
    else:
        store = open_store(database, "--db")
    return Conversation(store, standards, default)


def open_store(path: Path, setting: str) -> Store:
    """The database at `path`; a ConfigError naming `setting` if it cannot be opened."""
    if path.is_dir():
        raise ConfigError(
            f"{setting}: {path} is a folder; expected a database file, such as "
            "data/xueshi.db"
        )
    try:
        return Store(path)
    except (sqlite3.Error, OSError) as exc:
        raise ConfigError(f"{setting}: cannot open {path} ({exc})") from None
