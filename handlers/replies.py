"""Every text a person reads is rendered here from templates/."""

from __future__ import annotations

from pathlib import Path

import jinja2

import templates
from scoring.numbers import display

_TEMPLATE_DIR = Path(templates.__file__).parent


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

    def render(self, template: str, /, **values) -> str:
        text = self.env.get_template(f"{template}.j2").render(**values)
        return text.strip()
