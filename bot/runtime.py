"""Builds the parts of a running bot from its configuration."""

from __future__ import annotations

from bot.config import Config, ConfigError
from handlers.conversation import Conversation
from scoring.standard import load_standards
from storage.store import Store


def build_conversation(config: Config, standard: str | None = None) -> Conversation:
    """Load the standards (a broken file raises StandardError) and open storage."""
    standards = load_standards(config.scoring.standards_dir)
    default = standard or config.scoring.standard
    if default not in standards:
        known = ", ".join(sorted(standards))
        raise ConfigError(
            f"scoring.standard: unknown standard {default!r}; expected one of {known}"
        )
    return Conversation(Store(config.storage.database), standards, default)
