"""What a handler needs to answer one message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from handlers.inbound import Inbound
from handlers.replies import Replies
from scoring.parser import Parser
from scoring.standard import Standard
from storage.store import Person, Store


@dataclass(frozen=True)
class Context:
    inbound: Inbound
    person: Person
    standard: Standard
    standards: dict[str, Standard]
    parser: Parser
    store: Store
    replies: Replies
    now: datetime  # aware
    today: date  # China time

    def render(self, template: str, /, **values) -> str:
        return self.replies.render(
            template, **{"standard": self.standard, "person": self.person, **values}
        )
