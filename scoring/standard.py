"""A district's standard, read from its TOML file and checked before use.

The file is the only place where items, rates, caps and readings live; the
engine and the parser take everything from the `Standard` built here. The
reader collects every problem with its place instead of stopping at the
first, so that `standards check` can list them all at once.
"""

from __future__ import annotations

import math
import re
import sys
import tomllib
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from pathlib import Path

from scoring.numbers import to_fraction

BUILTIN_DIR = Path(__file__).parent / "standards"
BOM = "\ufeff"  # what a UTF-8 byte-order mark reads as

# Facts a rate may depend on, and the values the parser can produce for them.
LEVELS = ("国家级", "省级", "市级", "县级", "区级", "片区", "镇级", "校级")
GRADES = ("特等奖", "一等奖", "二等奖", "三等奖", "优秀奖")
ROLES = ("主讲", "参加", "组织", "主持")
RESULTS = ("优秀", "良好", "合格", "不合格", "A级", "B级", "C级", "D级")
FACT_VALUES = {
    "level": LEVELS,
    "grade": GRADES,
    "role": ROLES,
    "published": (True, False),
    "result": RESULTS,
}
BASES = ("count", "duration", "once")
DURATION_UNITS = ("小时", "学时", "课时", "节", "分钟", "天", "半天")
PERIOD_KINDS = ("school-year", "calendar-year", "semester", "dates")
UNITS = ("学时", "学分")
KEEPS = ("highest", "first")
QUOTA_SPANS = ("period", "claim")
TARGET_WHO = ("all", "new")


class StandardError(Exception):
    """A standard file has problems; `problems` lists each with its place."""

    def __init__(self, source: str, problems: list[str]):
        super().__init__(f"{source}: " + "; ".join(problems))
        self.source = source
        self.problems = problems


# --- the language ------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """Amount per unit when every condition holds (a condition lists allowed values)."""

    hours: Fraction
    when: tuple[tuple[str, tuple], ...] = ()

    def matches(self, facts: dict) -> bool:
        return all(facts.get(key) in allowed for key, allowed in self.when)


@dataclass(frozen=True)
class Factor:
    """A multiplier on a claim's amount when its conditions hold (协研 = 主研 × 1/3)."""

    times: Fraction
    when: tuple[tuple[str, tuple], ...] = ()

    def matches(self, facts: dict) -> bool:
        return all(facts.get(key) in allowed for key, allowed in self.when)


@dataclass(frozen=True)
class Name:
    """A name an item answers to, and the facts that name implies (片区公开课 → 片区)."""

    text: str
    implies: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True)
class Quota:
    """A threshold or quota on an item's units in a period (or in each claim).

    Below `units` the item earns nothing, or `hours` less `short` per missing
    unit when `short` is set; at `units` it earns `hours`, and each unit
    beyond earns the item's rate (nothing when the item has no rate).
    """

    units: Fraction
    hours: Fraction = Fraction(0)
    short: Fraction | None = None
    per: str = "period"


@dataclass(frozen=True)
class Later:
    """After the first `after` units of a period, each further unit earns `hours`."""

    after: Fraction
    hours: Fraction


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
    factors: tuple[Factor, ...] = ()
    event_cap: Fraction | None = None
    year_cap: Fraction | None = None
    quota: Quota | None = None
    later: Later | None = None
    batch: int | None = None
    credit_hours: Fraction | None = None
    review: str = ""

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

    @property
    def pooled(self) -> bool:
        """Whether the item's units are scored together over a period."""
        period_quota = self.quota is not None and self.quota.per == "period"
        return period_quota or self.later is not None or self.batch is not None


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    cap: Fraction | None = None
    note: str = ""


@dataclass(frozen=True)
class Group:
    """Items that share a count limit, a same-topic rule or a cap."""

    id: str
    name: str
    items: tuple[str, ...]
    limit_count: int | None = None
    keep: str = "highest"
    highest_per_topic: bool = False
    cap: Fraction | None = None
    note: str = ""


@dataclass(frozen=True)
class Target:
    id: str
    name: str
    hours: Fraction
    years: int = 1
    note: str = ""
    who: str = "all"
    minimums: tuple[tuple[str, Fraction], ...] = ()  # (category id, amount)


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
    second: tuple[int, int] = (3, 1)  # a semester standard's spring term
    year_start: tuple[int, int] | None = None  # where a year cap's year begins

    def span_of(self, day: date) -> PeriodSpan:
        """The period that a day of activity belongs to."""
        if self.kind == "dates":
            first, last = self.dates
            return PeriodSpan(f"{first:%Y.%m.%d}-{last:%Y.%m.%d}", first, last)
        if self.kind == "calendar-year":
            return PeriodSpan(
                f"{day.year}年", date(day.year, 1, 1), date(day.year, 12, 31)
            )
        year, first, last = _school_year(day, self.start)
        if self.kind == "semester":
            return self._semester(day, year, first, last)
        return PeriodSpan(f"{year}-{year + 1}学年", first, last)

    def _semester(self, day: date, year: int, first: date, last: date) -> PeriodSpan:
        spring = date(year + 1, *self.second)
        label = f"{year}-{year + 1}学年"
        if day < spring:
            return PeriodSpan(f"{label}第一学期", first, _day_before(spring))
        return PeriodSpan(f"{label}第二学期", spring, last)

    def year_of(self, day: date) -> str:
        """The year a year cap counts in: a school year unless the file says otherwise."""
        start = self.year_start
        if start is None:
            start = (1, 1) if self.kind == "calendar-year" else self.start
        year, _, _ = _school_year(day, start)
        return str(year) if start == (1, 1) else f"{year}-{year + 1}"


def _school_year(day: date, start: tuple[int, int]) -> tuple[int, date, date]:
    year = day.year if (day.month, day.day) >= start else day.year - 1
    first = date(year, *start)
    return year, first, _day_before(date(year + 1, *start))


def _day_before(day: date) -> date:
    return date.fromordinal(day.toordinal() - 1)


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
    groups: tuple[Group, ...] = ()
    year_cap: Fraction | None = None
    source: str = ""
    _by_id: dict = field(default_factory=dict, compare=False, repr=False)
    # Whatever the engine works out once per standard (see engine._plan).
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        self._by_id.update({i.id: i for i in self.items})
        self._by_id.update({f"category:{c.id}": c for c in self.categories})
        self._by_id.update({f"group:{g.id}": g for g in self.groups})
        for item in self.items:
            owners = tuple(g for g in self.groups if item.id in g.items)
            self._by_id[f"groups:{item.id}"] = owners
            self._by_id.setdefault(f"name:{item.name}", item)

    def item(self, item_id: str) -> Item:
        return self._by_id[item_id]

    def item_named(self, name: str) -> Item | None:
        """The item a rule's explanation names (the first, if two share a name)."""
        return self._by_id.get(f"name:{name}")

    def category(self, category_id: str) -> Category:
        return self._by_id[f"category:{category_id}"]

    def group(self, group_id: str) -> Group:
        return self._by_id[f"group:{group_id}"]

    def groups_of(self, item_id: str) -> tuple[Group, ...]:
        """The groups an item belongs to, in file order."""
        return self._by_id.get(f"groups:{item_id}", ())

    @property
    def target(self) -> Target:
        """The target the gap is shown against in chat (the first listed)."""
        return self.targets[0]


# --- loading -----------------------------------------------------------------


def load_standard(path: Path | str) -> Standard:
    """Read and check one standard file; raise StandardError listing every problem."""
    path = Path(path)
    text = _read_text(path)
    if text.startswith(BOM):
        problem = "file starts with a byte-order mark; save as UTF-8 without BOM"
        raise StandardError(str(path), [problem])
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StandardError(str(path), [f"not valid TOML: {exc}"]) from None
    except RecursionError:
        problem = "arrays or tables are nested too deeply to read"
        raise StandardError(str(path), [problem]) from None
    except ValueError:
        # tomllib lets int()'s limit on digits through as a plain ValueError.
        problem = f"a number has more than {sys.get_int_max_str_digits()} digits"
        raise StandardError(str(path), [problem]) from None
    return build_standard(raw, source=str(path), text=text)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StandardError(str(path), ["file not found"]) from None
    except IsADirectoryError:
        problem = "this is a folder; expected a standard file (.toml)"
        raise StandardError(str(path), [problem]) from None
    except OSError as exc:
        raise StandardError(
            str(path), [f"cannot be read: {exc.strerror or exc}"]
        ) from None
    except UnicodeDecodeError:
        raise StandardError(str(path), ["the file is not UTF-8 text"]) from None


def load_standards(extra_dir: Path | None = None) -> dict[str, Standard]:
    """The built-in standards and any in `extra_dir`, by id; a broken file raises.

    A file in `extra_dir` with the id of a built-in standard replaces it: that
    is how a district adopts a new version without touching the code.
    """
    standards = _load_folder(BUILTIN_DIR)
    if extra_dir:
        standards.update(_load_folder(Path(extra_dir)))
    return standards


def _load_folder(folder: Path) -> dict[str, Standard]:
    standards: dict[str, Standard] = {}
    for path in sorted(folder.glob("*.toml")):
        standard = load_standard(path)
        if standard.id in standards:
            problem = f"id {standard.id!r} is already used by another file here"
            raise StandardError(str(path), [problem])
        standards[standard.id] = standard
    return standards


def build_standard(raw: dict, source: str = "<standard>", text: str = "") -> Standard:
    reader = _Reader(source, text)
    standard = reader.standard(raw)
    if reader.problems:
        raise StandardError(source, reader.problems)
    return standard


# Value kinds a key may hold; checked before anything is built.
TEXT, NUMBER, INTEGER, BOOLEAN, LIST, TABLE, AMOUNT = (
    "text",
    "number",
    "whole number",
    "true or false",
    "list",
    "table",
    'number or fraction text such as "1/3"',
)
_KIND_TESTS = {
    TEXT: lambda v: isinstance(v, str),
    NUMBER: lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    INTEGER: lambda v: isinstance(v, int) and not isinstance(v, bool),
    BOOLEAN: lambda v: isinstance(v, bool),
    LIST: lambda v: isinstance(v, list),
    TABLE: lambda v: isinstance(v, dict),
    AMOUNT: lambda v: (
        (isinstance(v, int | float) and not isinstance(v, bool))
        or (isinstance(v, str) and _FRACTION_RE.match(v) is not None)
    ),
}
_FRACTION_RE = re.compile(r"^\s*(?:\d+(?:\.\d+)?|\d+\s*/\s*[1-9]\d*)\s*$")

_TOP_KEYS = {
    "id": TEXT,
    "name": TEXT,
    "version": TEXT,
    "unit": TEXT,
    "note": TEXT,
    "source": TEXT,
    "period": TABLE,
    "target": LIST,
    "category": LIST,
    "item": LIST,
    "group": LIST,
    "overall_cap": AMOUNT,
    "year_cap": AMOUNT,
    "level_equivalents": TABLE,
}
_CATEGORY_KEYS = {"id": TEXT, "name": TEXT, "cap": AMOUNT, "note": TEXT}
_TARGET_KEYS = {
    "id": TEXT,
    "name": TEXT,
    "hours": AMOUNT,
    "years": INTEGER,
    "note": TEXT,
    "who": TEXT,
    "minimums": TABLE,
}
_PERIOD_KEYS = {
    "kind": TEXT,
    "start": TEXT,
    "end": TEXT,
    "deadline": TEXT,
    "second": TEXT,
    "year_start": TEXT,
}
_GROUP_KEYS = {
    "id": TEXT,
    "name": TEXT,
    "items": LIST,
    "limit": TABLE,
    "highest_per_topic": BOOLEAN,
    "cap": AMOUNT,
    "note": TEXT,
}
_ITEM_KEYS = {
    "id": TEXT,
    "name": TEXT,
    "category": TEXT,
    "names": LIST,
    "measure": TEXT,
    "basis": TEXT,
    "rate": AMOUNT,
    "rates": LIST,
    "factors": LIST,
    "convert": TABLE,
    "cap": AMOUNT,
    "event_cap": AMOUNT,
    "year_cap": AMOUNT,
    "limit": TABLE,
    "highest_per_topic": BOOLEAN,
    "quota": TABLE,
    "later": TABLE,
    "batch": INTEGER,
    "credit_hours": AMOUNT,
    "reviewer_range": LIST,
    "defaults": TABLE,
    "evidence": TEXT,
    "review": TEXT,
    "example": TEXT,
}
_LIMIT_KEYS = {"count": INTEGER, "keep": TEXT}
_QUOTA_KEYS = {"units": AMOUNT, "hours": AMOUNT, "short": AMOUNT, "per": TEXT}
_LATER_KEYS = {"after": AMOUNT, "hours": AMOUNT}


class _Reader:
    """Builds a Standard while collecting every problem instead of stopping at the first."""

    def __init__(self, source: str, text: str = ""):
        self.source = source
        self.problems: list[str] = []
        self.lines = _table_lines(text)

    # --- reporting --------------------------------------------------------

    def problem(self, where: str, text: str) -> None:
        self.problems.append(f"{where}: {text}")

    def place(self, table: str, index: int, raw: dict) -> str:
        """A place a person can find: the table, its id and the line it starts on."""
        ident = raw.get("id") if isinstance(raw.get("id"), str) else f"#{index + 1}"
        line = self.lines.get((table, index))
        return f"[[{table}]] {ident}" + (f" (line {line})" if line else "")

    def keys(self, where: str, raw: dict, schema: dict) -> dict:
        """The entries of a table whose keys are known and values of the right kind."""
        good = {}
        for key, value in raw.items():
            kind = schema.get(key)
            if kind is None:
                known = ", ".join(schema)
                self.problem(where, f"unknown key {key!r}; known keys are {known}")
            elif not _KIND_TESTS[kind](value):
                self.problem(where, f"{key} should be {kind}, got {value!r}")
            else:
                good[key] = value
        return good

    # --- the whole file ---------------------------------------------------

    def standard(self, raw: dict) -> Standard | None:
        top = self.keys("top level", raw, _TOP_KEYS)
        for key in ("id", "name", "version"):
            if key not in raw:
                self.problem("top level", f"{key} is missing (text)")
            elif key in top and not top[key].strip():
                self.problem("top level", f"{key} is empty")
        unit = top.get("unit", "学时")
        if unit not in UNITS:
            self.problem("unit", f"expected 学时 or 学分, got {unit!r}")
        categories = self.all("category", top, self.category)
        items = self.all("item", top, lambda i, r: self.item(i, r, unit))
        if not items:
            self.problem(
                "top level", "no items: a standard needs at least one [[item]]"
            )
        groups = self.all("group", top, self.group)
        targets = self.all("target", top, self.target)
        if not targets:
            self.problem("target", "at least one [[target]] with hours is needed")
        period = self.period(top.get("period", {}))
        equivalents = self.equivalents(top.get("level_equivalents", {}))
        _Consistency(self, items, categories, groups, targets).check()
        overall_cap = self.amount("overall_cap", top.get("overall_cap"))
        year_cap = self.amount("year_cap", top.get("year_cap"))
        if self.problems:
            return None
        return Standard(
            id=top["id"],
            name=top["name"],
            version=top["version"],
            unit=unit,
            period=period,
            targets=targets,
            categories=categories,
            items=items,
            overall_cap=overall_cap,
            level_equivalents=equivalents,
            note=top.get("note", ""),
            groups=groups,
            year_cap=year_cap,
            source=top.get("source", ""),
        )

    def all(self, table: str, top: dict, build) -> tuple:
        entries = top.get(table, [])
        built = []
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                self.problem(table, f"each [[{table}]] must be a table, got {entry!r}")
                continue
            built.append(build(index, entry))
        return tuple(built)

    def amount(self, where: str, value, *, optional: bool = True) -> Fraction | None:
        if value is None:
            if not optional:
                self.problem(where, "missing (a number is needed)")
            return None
        if not _KIND_TESTS[AMOUNT](value):
            self.problem(where, f"expected a number, got {value!r}")
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.problem(where, f"expected a finite number, got {value}")
            return None
        try:
            amount = to_fraction(
                value.replace(" ", "") if isinstance(value, str) else value
            )
        except ValueError:  # past int()'s limit on digits
            limit = sys.get_int_max_str_digits()
            self.problem(where, f"expected a number of at most {limit} digits")
            return None
        if amount < 0:
            self.problem(where, f"expected a number of at least 0, got {value}")
            return None
        return amount

    def equivalents(self, raw: dict) -> tuple[tuple[str, str], ...]:
        for alias, level in raw.items():
            if alias not in LEVELS or level not in LEVELS:
                levels = ", ".join(LEVELS)
                self.problem(
                    f"level_equivalents.{alias}", f"levels must be among {levels}"
                )
        return tuple(raw.items())

    # --- tables -----------------------------------------------------------

    def category(self, index: int, raw: dict) -> Category:
        where = self.place("category", index, raw)
        good = self.keys(where, raw, _CATEGORY_KEYS)
        if not good.get("id") or not good.get("name"):
            self.problem(where, "a category needs an id and a name")
        return Category(
            id=good.get("id", ""),
            name=good.get("name", ""),
            cap=self.amount(f"{where} cap", good.get("cap")),
            note=good.get("note", ""),
        )

    def group(self, index: int, raw: dict) -> Group:
        where = self.place("group", index, raw)
        good = self.keys(where, raw, _GROUP_KEYS)
        if not good.get("id"):
            self.problem(where, "a group needs an id")
        members = good.get("items", [])
        if not members or not all(isinstance(m, str) for m in members):
            self.problem(where, "items should list the ids of the group's items")
        count, keep = self.limit(where, good.get("limit", {}))
        cap = self.amount(f"{where} cap", good.get("cap"))
        if count is None and cap is None and not good.get("highest_per_topic"):
            self.problem(where, "a group needs a limit, a cap or highest_per_topic")
        return Group(
            id=good.get("id", ""),
            name=good.get("name", good.get("id", "")),
            items=tuple(m for m in members if isinstance(m, str)),
            limit_count=count,
            keep=keep,
            highest_per_topic=good.get("highest_per_topic", False),
            cap=cap,
            note=good.get("note", ""),
        )

    def limit(self, where: str, raw: dict) -> tuple[int | None, str]:
        good = self.keys(f"{where} limit", raw, _LIMIT_KEYS)
        count = good.get("count")
        if count is not None and count < 1:
            self.problem(f"{where} limit", f"count should be 1 or more, got {count}")
        keep = good.get("keep", "highest")
        if keep not in KEEPS:
            self.problem(f"{where} limit", f"keep must be one of {', '.join(KEEPS)}")
        return count, keep

    def target(self, index: int, raw: dict) -> Target:
        where = self.place("target", index, raw)
        good = self.keys(where, raw, _TARGET_KEYS)
        hours = self.amount(
            f"{where} hours", good.get("hours"), optional="hours" in raw
        )
        years = good.get("years", 1)
        if years < 1:
            self.problem(where, f"years should be 1 or more, got {years}")
        who = good.get("who", "all")
        if who not in TARGET_WHO:
            self.problem(
                where, f"who must be one of {', '.join(TARGET_WHO)}, got {who!r}"
            )
        minimums = []
        for category, amount in good.get("minimums", {}).items():
            value = self.amount(f"{where} minimums.{category}", amount, optional=False)
            if value is not None:
                minimums.append((category, value))
        return Target(
            id=good.get("id", f"target{index}"),
            name=good.get("name", ""),
            hours=hours or Fraction(0),
            years=years,
            note=good.get("note", ""),
            who=who,
            minimums=tuple(minimums),
        )

    def period(self, raw: dict) -> Period:
        good = self.keys("[period]", raw, _PERIOD_KEYS)
        kind = good.get("kind", "school-year")
        if kind not in PERIOD_KINDS:
            kinds = ", ".join(PERIOD_KINDS)
            self.problem("[period] kind", f"expected one of {kinds}, got {kind!r}")
        dates = None
        if kind == "dates":
            dates = self.dates(good)
        elif "end" in good:
            self.problem("[period] end", "only a period of kind 'dates' has an end")
        year_start = good.get("year_start")
        period = Period(
            kind=kind,
            start=self.month_day(
                "[period] start", good.get("start", "09-01"), kind != "dates"
            ),
            deadline=self.month_day(
                "[period] deadline", good.get("deadline", "12-28"), True
            ),
            dates=dates,
            second=self.month_day("[period] second", good.get("second", "03-01"), True),
            year_start=self.month_day("[period] year_start", year_start, True)
            if year_start
            else None,
        )
        if kind == "semester" and not (period.second < period.start):
            self.problem(
                "[period] second", "the spring term must start before the autumn one"
            )
        return period

    def dates(self, good: dict) -> tuple[date, date] | None:
        try:
            first = date.fromisoformat(good["start"])
            last = date.fromisoformat(good["end"])
        except (KeyError, ValueError):
            self.problem("[period]", "kind 'dates' needs start and end as YYYY-MM-DD")
            return None
        if last < first:
            self.problem("[period]", "end is before start")
        return first, last

    def month_day(self, where: str, text, check: bool) -> tuple[int, int]:
        """A day that comes back every year, such as 09-01."""
        if not check:
            return (1, 1)
        try:
            month, day = (int(p) for p in str(text).split("-"))
            date(_LEAP_YEAR, month, day)
        except ValueError:
            self.problem(where, f"expected MM-DD, got {text!r}")
            return (1, 1)
        try:
            date(_COMMON_YEAR, month, day)
        except ValueError:
            self.problem(
                where,
                f"{text} is missing from years that are not leap years, so a "
                "yearly date cannot fall on it; use 02-28 or 03-01",
            )
            return (1, 1)
        return (month, day)

    # --- items ------------------------------------------------------------

    def item(self, index: int, raw: dict, unit: str) -> Item:
        where = self.place("item", index, raw)
        good = self.keys(where, raw, _ITEM_KEYS)
        if not good.get("id") or not good.get("name"):
            self.problem(where, "an item needs an id and a name")
        basis = good.get("basis", "count")
        if basis not in BASES:
            self.problem(
                where, f"basis must be one of {', '.join(BASES)}, got {basis!r}"
            )
        count, keep = self.limit(where, good.get("limit", {}))
        item = Item(
            id=good.get("id", ""),
            name=good.get("name", ""),
            category=good.get("category"),
            names=self.names(where, good),
            measure=good.get("measure", "次"),
            basis=basis,
            rates=self.rates(where, good, raw),
            convert=self.convert(where, good.get("convert", {}), basis),
            cap=self.amount(f"{where} cap", good.get("cap")),
            limit_count=count,
            keep=keep,
            highest_per_topic=good.get("highest_per_topic", False),
            reviewer_range=self.reviewer_range(where, good.get("reviewer_range")),
            defaults=tuple(
                self.facts(f"{where} defaults", good.get("defaults", {})).items()
            ),
            evidence=good.get("evidence", ""),
            example=good.get("example", ""),
            factors=self.factors(where, good.get("factors", [])),
            event_cap=self.amount(f"{where} event_cap", good.get("event_cap")),
            year_cap=self.amount(f"{where} year_cap", good.get("year_cap")),
            quota=self.quota(where, good.get("quota")),
            later=self.later(where, good.get("later")),
            batch=self.batch(where, good.get("batch")),
            credit_hours=self.credit_hours(where, good.get("credit_hours"), unit),
            review=good.get("review", ""),
        )
        _ItemRules(self, where, item).check()
        return item

    def names(self, where: str, good: dict) -> tuple[Name, ...]:
        names = [Name(good.get("name", ""))]
        for entry in good.get("names", []):
            if isinstance(entry, str):
                names.append(Name(entry))
            elif isinstance(entry, dict) and isinstance(entry.get("name"), str):
                implies = {k: v for k, v in entry.items() if k != "name"}
                facts = self.facts(f"{where} names {entry['name']}", implies)
                names.append(Name(entry["name"], tuple(facts.items())))
            else:
                self.problem(
                    where, f"a name must be text or {{name = ...}}, got {entry!r}"
                )
        return tuple(n for n in names if n.text)

    def facts(self, where: str, raw: dict) -> dict:
        facts = {}
        for key, value in raw.items():
            if key not in FACT_VALUES:
                known = ", ".join(FACT_VALUES)
                self.problem(where, f"unknown fact {key!r}; facts are {known}")
            elif value not in FACT_VALUES[key]:
                allowed = ", ".join(str(v) for v in FACT_VALUES[key])
                self.problem(where, f"{key} {value!r} is not one of {allowed}")
            else:
                facts[key] = value
        return facts

    def conditions(self, place: str, entry: dict, amount_key: str) -> tuple:
        """The fact conditions of a rate or factor entry, each checked."""
        when = []
        for key, value in entry.items():
            if key == amount_key:
                continue
            values = tuple(value) if isinstance(value, list) else (value,)
            for v in values:
                self.facts(place, {key: v})
            when.append((key, values))
        return tuple(when)

    def rates(self, where: str, good: dict, raw: dict) -> tuple[Rate, ...]:
        if "rate" in good and "rates" in good:
            self.problem(where, "give either rate or rates, not both")
        if "rate" in good:
            hours = self.amount(f"{where} rate", good["rate"], optional=False)
            return (Rate(hours),) if hours is not None else ()
        rates = []
        for i, entry in enumerate(good.get("rates", [])):
            place = f"{where} rates[{i}]"
            if not isinstance(entry, dict) or "hours" not in entry:
                self.problem(
                    place, "each rate needs hours (and conditions such as level)"
                )
                continue
            hours = self.amount(f"{place} hours", entry["hours"], optional=False)
            when = self.conditions(place, entry, "hours")
            if hours is not None:
                rates.append(Rate(hours, when))
        # A rate of the wrong kind is reported already; say "no rate" only when none is given.
        given = ("rate", "rates", "reviewer_range", "quota")
        if not rates and not any(key in raw for key in given):
            self.problem(
                where, "no rate: give rate = N or rates = [{ ..., hours = N }]"
            )
        return tuple(rates)

    def factors(self, where: str, raw: list) -> tuple[Factor, ...]:
        factors = []
        for i, entry in enumerate(raw):
            place = f"{where} factors[{i}]"
            if not isinstance(entry, dict) or "times" not in entry or len(entry) < 2:
                self.problem(place, "a factor needs times and at least one condition")
                continue
            times = self.amount(f"{place} times", entry["times"], optional=False)
            when = self.conditions(place, entry, "times")
            if times is not None:
                factors.append(Factor(times, when))
        return tuple(factors)

    def convert(
        self, where: str, raw: dict, basis: str
    ) -> tuple[tuple[str, Fraction], ...]:
        if basis == "duration" and not raw:
            self.problem(
                where, "a duration item needs convert, e.g. {小时 = 1, 天 = 8}"
            )
        if basis == "once" and raw:
            self.problem(where, "convert does not apply to basis = 'once'")
        pairs = []
        for unit, factor in raw.items():
            if basis == "duration" and unit not in DURATION_UNITS:
                units = ", ".join(DURATION_UNITS)
                self.problem(
                    where, f"convert unit {unit!r} is not a duration ({units})"
                )
            amount = self.amount(f"{where} convert.{unit}", factor, optional=False)
            if amount is not None:
                pairs.append((unit, amount))
        return tuple(pairs)

    def reviewer_range(self, where: str, raw) -> tuple[Fraction, Fraction] | None:
        if raw is None:
            return None
        if len(raw) != 2:
            self.problem(where, "reviewer_range must be [lowest, highest]")
            return None
        low = self.amount(f"{where} reviewer_range", raw[0], optional=False)
        high = self.amount(f"{where} reviewer_range", raw[1], optional=False)
        if low is not None and high is not None and low > high:
            self.problem(where, "reviewer_range: lowest is above highest")
        return (low, high)

    def quota(self, where: str, raw: dict | None) -> Quota | None:
        if raw is None:
            return None
        good = self.keys(f"{where} quota", raw, _QUOTA_KEYS)
        units = self.amount(f"{where} quota.units", good.get("units"), optional=False)
        if units is not None and units <= 0:
            self.problem(f"{where} quota", "units should be above 0")
        per = good.get("per", "period")
        if per not in QUOTA_SPANS:
            self.problem(
                f"{where} quota", f"per must be one of {', '.join(QUOTA_SPANS)}"
            )
        return Quota(
            units=units or Fraction(1),
            hours=self.amount(f"{where} quota.hours", good.get("hours")) or Fraction(0),
            short=self.amount(f"{where} quota.short", good.get("short")),
            per=per,
        )

    def later(self, where: str, raw: dict | None) -> Later | None:
        if raw is None:
            return None
        good = self.keys(f"{where} later", raw, _LATER_KEYS)
        after = self.amount(
            f"{where} later.after", good.get("after", 1), optional=False
        )
        hours = self.amount(f"{where} later.hours", good.get("hours"), optional=False)
        if after is None or hours is None:
            return None
        return Later(after, hours)

    def batch(self, where: str, raw: int | None) -> int | None:
        if raw is not None and raw < 2:
            self.problem(where, f"batch should be 2 or more units, got {raw}")
        return raw

    def credit_hours(self, where: str, raw, unit: str) -> Fraction | None:
        if raw is None:
            return None
        if unit != "学分":
            self.problem(
                where, "credit_hours converts 学时 to 学分; this standard counts 学时"
            )
        amount = self.amount(f"{where} credit_hours", raw, optional=False)
        if amount == 0:
            self.problem(where, "credit_hours should be above 0")
            return None
        return amount


class _ItemRules:
    """Checks that the parts of one item fit together."""

    def __init__(self, reader: _Reader, where: str, item: Item):
        self.reader = reader
        self.where = where
        self.item = item

    def problem(self, text: str) -> None:
        self.reader.problem(self.where, text)

    def check(self) -> None:
        self.pooled_rules()
        self.implied_facts()
        if self.item.reviewer_range and (self.item.rates or self.item.pooled):
            self.problem("a reviewer-set item takes no rate, quota, later or batch")

    def pooled_rules(self) -> None:
        item = self.item
        shapes = [
            k
            for k, v in (
                ("quota", item.quota),
                ("later", item.later),
                ("batch", item.batch),
            )
            if v is not None  # batch = 0 is reported already, but is still a batch
        ]
        if len(shapes) > 1:
            self.problem(
                f"use one of quota, later and batch, not {' and '.join(shapes)}"
            )
        conditional = len(item.rates) > 1 or any(r.when for r in item.rates)
        if item.pooled and (conditional or item.factors):
            self.problem(f"{shapes[0]} needs one plain rate (no conditions or factors)")
        if item.pooled and item.event_cap is not None:
            self.problem(f"event_cap cannot be combined with {shapes[0]}")
        if item.later and not item.rates:
            self.problem("later needs a rate for the first units")
        if item.batch and not item.rates:
            self.problem("batch needs a rate per batch")

    def implied_facts(self) -> None:
        """A name or default that sets a fact no rate accepts would never score."""
        item = self.item
        implied = [(f"name {n.text}", n.implies) for n in item.names]
        implied.append(("defaults", item.defaults))
        for source, facts in implied:
            for key, value in facts:
                if key in item.needs and value not in item.choices(key):
                    choices = "/".join(str(v) for v in item.choices(key))
                    self.problem(
                        f"{source} sets {key} {value}, but the rates only "
                        f"cover {choices}"
                    )


class _Consistency:
    """Checks across tables: ids, names and references."""

    def __init__(self, reader: _Reader, items, categories, groups, targets):
        self.reader = reader
        self.items = items
        self.categories = categories
        self.groups = groups
        self.targets = targets

    def check(self) -> None:
        self.unique_ids()
        self.unique_names()
        self.references()

    def unique_ids(self) -> None:
        for table, rows in (
            ("item", self.items),
            ("category", self.categories),
            ("group", self.groups),
            ("target", self.targets),
        ):
            ids = [row.id for row in rows if row.id]
            for dup in sorted({x for x in ids if ids.count(x) > 1}):
                self.reader.problem(f"[[{table}]] {dup}", "this id is used twice")

    def unique_names(self) -> None:
        owners: dict[str, str] = {}
        for item in self.items:
            for name in item.names:
                other = owners.setdefault(name.text, item.id)
                if other != item.id:
                    self.reader.problem(
                        f"[[item]] {item.id}",
                        f"name {name.text!r} is also a name of item {other}; "
                        "a message naming it could not be told apart",
                    )

    def references(self) -> None:
        categories = {c.id for c in self.categories}
        items = {i.id for i in self.items}
        for item in self.items:
            if item.category is not None and item.category not in categories:
                self.reader.problem(
                    f"[[item]] {item.id}",
                    f"category {item.category!r} is not a [[category]]",
                )
        for group in self.groups:
            for member in group.items:
                if member not in items:
                    self.reader.problem(
                        f"[[group]] {group.id}",
                        f"items names {member!r}, which is not an item",
                    )
        for target in self.targets:
            for category, _ in target.minimums:
                if category not in categories:
                    self.reader.problem(
                        f"[[target]] {target.id}",
                        f"minimums name {category!r}, not a [[category]]",
                    )


# A month-day is read in a leap year, to tell "no such day" from "not every year".
_LEAP_YEAR, _COMMON_YEAR = 2024, 2023

_HEADER_RE = re.compile(r"^\s*\[\[\s*([A-Za-z_]+)\s*\]\]")


def _table_lines(text: str) -> dict[tuple[str, int], int]:
    """The line each [[table]] starts on, by (table, index), for problem places."""
    seen: dict[str, int] = {}
    lines = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _HEADER_RE.match(line)
        if match:
            table = match.group(1)
            index = seen.get(table, 0)
            lines[(table, index)] = number
            seen[table] = index + 1
    return lines
