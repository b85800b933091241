"""Every text a person reads is rendered here from templates/."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2

import templates
from scoring.numbers import display

_TEMPLATE_DIR = Path(templates.__file__).parent


CHINA = ZoneInfo("Asia/Shanghai")


def china_time(stamp: str) -> str:
    """A stored UTC time as a person reads it: China time, to the minute."""
    return datetime.fromisoformat(stamp).astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


class Replies:
    """Renders the Chinese texts; one instance for the life of the process."""

    def __init__(self):
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(_TEMPLATE_DIR),
            autoescape=False,  # plain chat text, never HTML
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
            auto_reload=False,  # templates ship with the code; no stat() per reply
        )
        self.env.filters["h"] = display
        self.env.filters["china"] = china_time
        self.env.filters["fraction"] = Fraction
        self._templates: dict[str, jinja2.Template] = {}

    def render(self, template: str, /, **values) -> str:
        found = self._templates.get(template)
        if found is None:
            # Kept here: jinja's own lookup costs more than a render's share.
            found = self._templates[template] = self.env.get_template(f"{template}.j2")
        return found.render(**values).strip()
