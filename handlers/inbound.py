"""What the conversation sees of a message, whatever channel brought it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# Kinds of inbound message the conversation distinguishes.
TEXT = "text"
VOICE = "voice"
IMAGE = "image"
FILE = "file"
EVENT = "event"
OTHER = "other"


@dataclass(frozen=True)
class Inbound:
    """One message from one person.

    `key` identifies a delivery for duplicate detection (None: never a duplicate).
    `text` is the typed text, or a voice message's recognition (empty if none).
    """

    channel: str  # "oa" (Official Account), "wecom", "chat" (simulator)
    user: str  # OpenID, WeCom user id, or the simulator's user name
    kind: str
    received_at: datetime
    text: str = ""
    event: str = ""  # subscribe, unsubscribe, click ... (lower case)
    media_id: str = ""
    key: str | None = None
