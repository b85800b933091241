"""The facts of one claim, as the parser reads them and storage keeps them."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date
from fractions import Fraction


@dataclass(frozen=True)
class Facts:
    """What a teacher claims: an item of the standard and what qualifies it.

    `unit` is the measure word as written (天, 小时, 节 …); `quantity` counts it.
    Facts left None were not said; the standard decides whether they matter.
    """

    item: str
    quantity: Fraction = Fraction(1)
    unit: str = ""
    level: str | None = None
    grade: str | None = None
    role: str | None = None
    published: bool | None = None
    topic: str | None = None
    day: date | None = None
    result: str | None = None  # 合格, 不合格, 优秀 …, for rates that depend on a result

    def as_rate_facts(self) -> dict:
        """The facts a rate condition can test."""
        return {"level": self.level, "grade": self.grade, "role": self.role,
                "published": self.published, "result": self.result}  # fmt: skip

    def with_(self, **changes) -> Facts:
        return replace(self, **changes)

    def to_json(self) -> dict:
        # Not dataclasses.asdict: it deep-copies every value, on every stored claim.
        data = {f: getattr(self, f) for f in _FIELDS if getattr(self, f) is not None}
        data["quantity"] = str(self.quantity)
        if self.day:
            data["day"] = self.day.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict) -> Facts:
        values = {k: v for k, v in data.items() if k in _FIELDS}
        values["quantity"] = Fraction(values.get("quantity", "1"))
        if values.get("day"):
            values["day"] = date.fromisoformat(values["day"])
        return cls(**values)


_FIELDS = tuple(f.name for f in fields(Facts))
