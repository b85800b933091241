"""A district's standard, read from its TOML file and checked before use.

The file is the only place where items, rates, caps and readings live; the
engine and the parser take everything from the `Standard` built here.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from pathlib import Path

from scoring.numbers import to_fraction

BUILTIN_DIR = Path(__file__).parent / "standards"

# Facts a rate may depend on, and the values the parser can produce for them.
LEVELS = ("国家级", "省级", "市级", "县级", "区级", "片区", "镇级", "校级")
GRADES = ("特等奖", "一等奖", "二等奖", "三等奖", "优秀奖")
ROLES = ("主讲", "参加", "组织", "主持")
FACT_VALUES = {
    "level": LEVELS,
    "grade": GRADES,
    "role": ROLES,
    "published": (True, False),
}
BASES = ("count", "duration", "once")
DURATION_UNITS = ("小时", "学时", "课时", "天", "半天")
PERIOD_KINDS = ("school-year", "calendar-year", "dates")


class StandardError(Exception):
    """A standard file has problems; `problems` lists each with its place."""

    def __init__(self, source: str, problems: list[str]):
        super().__init__(f"{source}: " + "; ".join(problems))
        self.source = source
        self.problems = problems


@dataclass(frozen=True)
class Rate:
    """Hours per unit when every condition holds (a condition with no values: any)."""

    hours: Fraction
    when: tuple[tuple[str, tuple], ...] = ()

    def matches(self, facts: dict) -> bool:
        return all(facts.get(key) in allowed for key, allowed in self.when)


@dataclass(frozen=True)
class Name:
    """A name an item answers to, and the facts that name implies (片区公开课 → 片区)."""

    text: str
    implies: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True)
class Item:
    id: str
    name: str
    category: str | None
    names: tuple[Name, ...]
    measure: str
    basis: str
    rates: tuple[Rate, ...]
    convert: tuple[tuple[str, Fraction], ...] = ()
    cap: Fraction | None = None
    limit_count: int | None = None
    keep: str = "highest"
    highest_per_topic: bool = False
    reviewer_range: tuple[Fraction, Fraction] | None = None
    defaults: tuple[tuple[str, object], ...] = ()
    evidence: str = ""
    example: str = ""

    @property
    def needs(self) -> tuple[str, ...]:
        """Facts some rate depends on, in the order they first appear."""
        keys: list[str] = []
        for rate in self.rates:
            keys.extend(k for k, _ in rate.when if k not in keys)
        return tuple(keys)

    def choices(self, key: str) -> tuple:
        """The values of one fact that some rate accepts, in file order."""
        seen: list = []
        for rate in self.rates:
            for k, allowed in rate.when:
                if k == key:
                    seen.extend(v for v in allowed if v not in seen)
        return tuple(seen)


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    cap: Fraction | None = None


@dataclass(frozen=True)
class Target:
    id: str
    name: str
    hours: Fraction
    years: int = 1
    note: str = ""


@dataclass(frozen=True)
class PeriodSpan:
    label: str
    start: date
    end: date  # inclusive

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True)
class Period:
    kind: str
    start: tuple[int, int] = (9, 1)  # month, day
    deadline: tuple[int, int] = (12, 28)
    dates: tuple[date, date] | None = None

    def span_of(self, day: date) -> PeriodSpan:
        """The period that a day of activity belongs to."""
        if self.kind == "dates":
            first, last = self.dates
            return PeriodSpan(f"{first:%Y.%m.%d}-{last:%Y.%m.%d}", first, last)
        if self.kind == "calendar-year":
            return PeriodSpan(f"{day.year}年", date(day.year, 1, 1), date(day.year, 12, 31))
        year = day.year if (day.month, day.day) >= self.start else day.year - 1
        first = date(year, *self.start)
        last = date.fromordinal(date(year + 1, *self.start).toordinal() - 1)
        return PeriodSpan(f"{year}-{year + 1}学年", first, last)


@dataclass(frozen=True)
class Standard:
    id: str
    name: str
    version: str
    unit: str
    period: Period
    targets: tuple[Target, ...]
    categories: tuple[Category, ...]
    items: tuple[Item, ...]
    overall_cap: Fraction | None = None
    level_equivalents: tuple[tuple[str, str], ...] = ()
    note: str = ""
    _by_id: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        self._by_id.update({i.id: i for i in self.items})
        self._by_id.update({f"category:{c.id}": c for c in self.categories})

    def item(self, item_id: str) -> Item:
        return self._by_id[item_id]

    def category(self, category_id: str) -> Category:
        return self._by_id[f"category:{category_id}"]

    @property
    def target(self) -> Target:
        """The target the gap is shown against in chat (the first listed)."""
        return self.targets[0]


# --- loading -----------------------------------------------------------------


def load_standard(path: Path | str) -> Standard:
    """Read and check one standard file; raise StandardError listing every problem."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise StandardError(str(path), ["file not found"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise StandardError(str(path), [f"not valid TOML: {exc}"]) from None
    return build_standard(raw, source=str(path))


def load_standards(extra_dir: Path | None = None) -> dict[str, Standard]:
    """The built-in standards and any in `extra_dir`, by id; a broken file raises."""
    standards: dict[str, Standard] = {}
    folders = [BUILTIN_DIR] + ([Path(extra_dir)] if extra_dir else [])
    for folder in folders:
        for path in sorted(Path(folder).glob("*.toml")):
            standard = load_standard(path)
            if standard.id in standards:
                raise StandardError(str(path), [f"id {standard.id!r} is already used by another file"])
            standards[standard.id] = standard
    return standards


def build_standard(raw: dict, source: str = "<standard>") -> Standard:
    reader = _Reader(source)
    standard = reader.standard(raw)
    if reader.problems:
        raise StandardError(source, reader.problems)
    return standard


class _Reader:
    """Builds a Standard while collecting every problem instead of stopping at the first."""

    def __init__(self, source: str):
        self.source = source
        self.problems: list[str] = []

    def problem(self, where: str, text: str) -> None:
        self.problems.append(f"{where}: {text}")

    def standard(self, raw: dict) -> Standard | None:
        for key in ("id", "name", "version"):
            if not isinstance(raw.get(key), str) or not raw.get(key):
                self.problem(key, "expected non-empty text")
        unit = raw.get("unit", "学时")
        if unit not in ("学时", "学分"):
            self.problem("unit", f"expected 学时 or 学分, got {unit!r}")
        categories = tuple(self.category(i, c) for i, c in enumerate(self.tables(raw, "category")))
        category_ids = {c.id for c in categories}
        items = tuple(
            self.item(i, it, category_ids) for i, it in enumerate(self.tables(raw, "item"))
        )
        self.check_unique(items, categories)
        targets = tuple(self.target(i, t) for i, t in enumerate(self.tables(raw, "target")))
        if not targets:
            self.problem("target", "at least one [[target]] with hours is needed")
        equivalents = raw.get("level_equivalents", {})
        for alias, level in equivalents.items():
            if alias not in LEVELS or level not in LEVELS:
                self.problem(f"level_equivalents.{alias}", f"levels must be among {', '.join(LEVELS)}")
        if self.problems:
            return None
        return Standard(
            id=raw["id"],
            name=raw["name"],
            version=raw["version"],
            unit=unit,
            period=self.period(raw.get("period", {})),
            targets=targets,
            categories=categories,
            items=items,
            overall_cap=self.amount("overall_cap", raw.get("overall_cap")),
            level_equivalents=tuple(equivalents.items()),
            note=raw.get("note", ""),
        )

    def tables(self, raw: dict, key: str) -> list[dict]:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.problem(key, f"expected a list of [[{key}]] tables")
            return []
        return value

    def amount(self, where: str, value, *, optional: bool = True) -> Fraction | None:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(where, f"expected a number, got {value!r}")
            return None
        if value < 0:
            self.problem(where, f"expected a number of at least 0, got {value}")
            return None
        return to_fraction(value)

    def category(self, index: int, raw: dict) -> Category:
        where = f"category[{index}]"
        if not raw.get("id") or not raw.get("name"):
            self.problem(where, "a category needs an id and a name")
        return Category(
            id=raw.get("id", ""),
            name=raw.get("name", ""),
            cap=self.amount(f"{where}.cap", raw.get("cap")),
        )

    def item(self, index: int, raw: dict, category_ids: set[str]) -> Item:
        where = f"item[{index}] {raw.get('id', '?')}"
        known = {"id", "name", "category", "names", "measure", "basis", "rate", "rates",
                 "convert", "cap", "limit", "highest_per_topic", "reviewer_range",
                 "defaults", "evidence", "example"}  # fmt: skip
        for key in raw:
            if key not in known:
                self.problem(where, f"unknown key {key!r}")
        if not raw.get("id") or not raw.get("name"):
            self.problem(where, "an item needs an id and a name")
        category = raw.get("category")
        if category is not None and category not in category_ids:
            self.problem(where, f"category {category!r} is not a [[category]] of this standard")
        basis = raw.get("basis", "count")
        if basis not in BASES:
            self.problem(where, f"basis must be one of {', '.join(BASES)}, got {basis!r}")
        limit = raw.get("limit", {})
        return Item(
            id=raw.get("id", ""),
            name=raw.get("name", ""),
            category=category,
            names=self.names(where, raw),
            measure=raw.get("measure", "次"),
            basis=basis,
            rates=self.rates(where, raw),
            convert=self.convert(where, raw.get("convert", {}), basis),
            cap=self.amount(f"{where}.cap", raw.get("cap")),
            limit_count=limit.get("count"),
            keep=limit.get("keep", "highest"),
            highest_per_topic=bool(raw.get("highest_per_topic", False)),
            reviewer_range=self.reviewer_range(where, raw.get("reviewer_range")),
            defaults=tuple(self.facts(f"{where}.defaults", raw.get("defaults", {})).items()),
            evidence=raw.get("evidence", ""),
            example=raw.get("example", ""),
        )

    def names(self, where: str, raw: dict) -> tuple[Name, ...]:
        names = [Name(raw.get("name", ""))]
        for entry in raw.get("names", []):
            if isinstance(entry, str):
                names.append(Name(entry))
            elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
                implies = {k: v for k, v in entry.items() if k != "name"}
                facts = self.facts(f"{where}.names {entry['name']}", implies)
                names.append(Name(entry["name"], tuple(facts.items())))
            else:
                self.problem(where, f"a name must be text or {{name = ...}}, got {entry!r}")
        return tuple(n for n in names if n.text)

    def facts(self, where: str, raw: dict) -> dict:
        facts = {}
        for key, value in raw.items():
            if key not in FACT_VALUES:
                self.problem(where, f"unknown fact {key!r}; facts are {', '.join(FACT_VALUES)}")
            elif value not in FACT_VALUES[key]:
                self.problem(where, f"{key} {value!r} is not one of {FACT_VALUES[key]}")
            else:
                facts[key] = value
        return facts

    def rates(self, where: str, raw: dict) -> tuple[Rate, ...]:
        if "rate" in raw and "rates" in raw:
            self.problem(where, "give either rate or rates, not both")
        if "rate" in raw:
            hours = self.amount(f"{where}.rate", raw["rate"], optional=False)
            return (Rate(hours),) if hours is not None else ()
        rates = []
        for i, entry in enumerate(raw.get("rates", [])):
            place = f"{where}.rates[{i}]"
            if not isinstance(entry, dict) or "hours" not in entry:
                self.problem(place, "each rate needs hours (and conditions such as level)")
                continue
            hours = self.amount(f"{place}.hours", entry["hours"], optional=False)
            when = []
            for key, value in entry.items():
                if key == "hours":
                    continue
                values = tuple(value) if isinstance(value, list) else (value,)
                for v in values:
                    self.facts(place, {key: v})
                when.append((key, values))
            if hours is not None:
                rates.append(Rate(hours, tuple(when)))
        if not rates and not raw.get("reviewer_range"):
            self.problem(where, "no rate: give rate = N or [[rates]] with hours")
        return tuple(rates)

    def convert(self, where: str, raw: dict, basis: str) -> tuple[tuple[str, Fraction], ...]:
        if basis != "duration":
            if raw:
                self.problem(where, "convert only applies to basis = 'duration'")
            return ()
        if not raw:
            self.problem(where, "a duration item needs convert, e.g. {小时 = 1, 天 = 8}")
        pairs = []
        for unit, factor in raw.items():
            if unit not in DURATION_UNITS:
                self.problem(where, f"convert unit {unit!r} is not one of {DURATION_UNITS}")
            amount = self.amount(f"{where}.convert.{unit}", factor, optional=False)
            if amount is not None:
                pairs.append((unit, amount))
        return tuple(pairs)

    def reviewer_range(self, where: str, raw) -> tuple[Fraction, Fraction] | None:
        if raw is None:
            return None
        if not isinstance(raw, list) or len(raw) != 2:
            self.problem(where, "reviewer_range must be [lowest, highest]")
            return None
        low = self.amount(f"{where}.reviewer_range", raw[0], optional=False)
        high = self.amount(f"{where}.reviewer_range", raw[1], optional=False)
        if low is not None and high is not None and low > high:
            self.problem(where, "reviewer_range: lowest is above highest")
        return (low, high)

    def target(self, index: int, raw: dict) -> Target:
        where = f"target[{index}]"
        hours = self.amount(f"{where}.hours", raw.get("hours"), optional=False)
        return Target(
            id=raw.get("id", f"target{index}"),
            name=raw.get("name", ""),
            hours=hours or Fraction(0),
            years=int(raw.get("years", 1)),
            note=raw.get("note", ""),
        )

    def period(self, raw: dict) -> Period:
        kind = raw.get("kind", "school-year")
        if kind not in PERIOD_KINDS:
            self.problem("period.kind", f"expected one of {', '.join(PERIOD_KINDS)}, got {kind!r}")
        dates = None
        if kind == "dates":
            try:
                dates = (date.fromisoformat(raw["start"]), date.fromisoformat(raw["end"]))
            except (KeyError, ValueError):
                self.problem("period", "kind 'dates' needs start and end as YYYY-MM-DD")
        return Period(
            kind=kind,
            start=self.month_day("period.start", raw.get("start", "09-01"), kind != "dates"),
            deadline=self.month_day("period.deadline", raw.get("deadline", "12-28"), True),
            dates=dates,
        )

    def month_day(self, where: str, text, check: bool) -> tuple[int, int]:
        if not check:
            return (1, 1)
        try:
            month, day = (int(p) for p in str(text).split("-"))
            date(2024, month, day)  # a leap year accepts 02-29
            return (month, day)
        except ValueError:
            self.problem(where, f"expected MM-DD, got {text!r}")
            return (1, 1)

    def check_unique(self, items: tuple[Item, ...], categories: tuple[Category, ...]) -> None:
        owners: dict[str, str] = {}
        for item in items:
            for name in item.names:
                other = owners.setdefault(name.text, item.id)
                if other != item.id:
                    self.problem(f"item {item.id}", f"name {name.text!r} is also a name of item {other}")
        ids = [i.id for i in items] + [f"category {c.id}" for c in categories]
        for dup in {x for x in ids if ids.count(x) > 1}:
            self.problem(dup, "id used twice")
