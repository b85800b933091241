"""From a teacher's message to claims: item names come from the standard file;
levels, grades, roles, numbers, units and dates are shared knowledge here.

The parser never guesses silently: each claim carries the text it came from,
and a message with facts but no item comes back as `Unread` with what was seen.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from fractions import Fraction

from scoring.facts import Facts
from scoring.numbers import NUMBER_PATTERN, parse_number
from scoring.standard import Standard

# Full forms first; a bare single character counts only where it stands alone.
_LEVEL_WORDS = [
    ("国家级", "国家级"), ("全国", "国家级"), ("国家", "国家级"),
    ("省级", "省级"), ("省里", "省级"), ("在省", "省级"),
    ("地市级", "市级"), ("市级", "市级"), ("市里", "市级"), ("地市", "市级"), ("在市", "市级"),
    ("县级", "县级"), ("县里", "县级"), ("在县", "县级"),
    ("区级", "区级"), ("区里", "区级"),
    ("片区", "片区"),
    ("镇级", "镇级"), ("镇里", "镇级"), ("中心校", "镇级"),
    ("校级", "校级"), ("校内", "校级"), ("本校", "校级"), ("学校", "校级"),
]  # fmt: skip
_LEVEL_CHARS = {"国": "国家级", "省": "省级", "市": "市级", "县": "县级", "区": "区级",
                "镇": "镇级", "校": "校级"}  # fmt: skip
# What may follow a bare level letter: 区一等奖, 省发表, 县获奖.
_LEVEL_MARK_RE = re.compile(r"级|里|(特|一|二|三)等|优秀|发表|获")
_GRADE_RE = re.compile(r"(特等|一等|二等|三等|优秀)奖?")
_UNPUBLISHED_RE = re.compile(r"未发表|没发表|没有发表|未刊发|没有刊发")
_PUBLISHED_RE = re.compile(r"发表|刊发|刊登|见刊")
_ROLE_WORDS = [
    ("主讲人", "主讲"), ("主讲", "主讲"), ("授课", "主讲"), ("讲课", "主讲"),
    ("参加", "参加"), ("参与", "参加"), ("参培", "参加"), ("参训", "参加"), ("听讲", "参加"),
    ("组织者", "组织"), ("组织", "组织"), ("策划", "组织"),
    ("主持人", "主持"), ("主持", "主持"), ("负责人", "主持"),
]  # fmt: skip
_UNITS = ("个半小时", "小时", "学时", "课时", "半天", "天", "节", "次", "篇", "份", "个",
          "项", "门", "本", "场", "堂", "学期", "期", "回", "遍")  # fmt: skip
_QUANTITY_RE = re.compile(
    rf"(?P<n>{NUMBER_PATTERN})\s*(?P<u>{'|'.join(_UNITS)})"
    r"|[x×*]\s*(?P<times>\d+(?:\.\d+)?)"
)
_BARE_NUMBER_RE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)(?![\d.])")
_HALF_DAY_RE = re.compile(r"(?<![一二两三四五六七八九十\d])半天")
_TOPIC_RE = re.compile(r"《([^》]{1,60})》")
_MONTH_DAY_RE = re.compile(r"(\d{1,2})月(\d{1,2})[日号]?")
_LEADING_DOT_DATE_RE = re.compile(
    r"^(\d{1,2})\.(\d{1,2})(?=\s|[^\d.\s小学课天节次篇份个项])"
)
_RELATIVE_DAYS = {"今天": 0, "昨天": 1, "前天": 2}
_WEEKDAYS = "一二三四五六日天"
_WEEK_RE = re.compile(rf"(上|这|本)周([{_WEEKDAYS}])")
_SEPARATORS_RE = re.compile(r"[，,；;。!！?？\n、：:]+")


@dataclass(frozen=True)
class ParsedClaim:
    """One claim read from a message, with the words it came from.

    `said` names the facts the message stated (the rest are defaults);
    `corrected` is the name a one-character slip was read as, if any.
    """

    facts: Facts
    source: str  # the part of the message this claim was read from
    name: str  # the item name as matched
    said: frozenset = frozenset()
    corrected: str | None = None
    candidates: tuple[str, ...] = ()  # items a generic word may mean; ask which

    def updated(self, facts: dict) -> ParsedClaim:
        return replace(
            self, facts=self.facts.with_(**facts), said=self.said | set(facts)
        )


@dataclass(frozen=True)
class Parse:
    """What a message said: claims, and facts seen outside any claim."""

    claims: tuple[ParsedClaim, ...] = ()
    stray: dict = field(default_factory=dict)

    @property
    def understood(self) -> bool:
        return bool(self.claims)


def normalize(text: str) -> str:
    """Full-width to half-width, lower case, emoji and symbols to spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char in "×*《》" or not (
            category.startswith("S") or category.startswith("C")
        ):
            kept.append(char)
        else:
            kept.append(" " if char not in "\n" else "\n")
    return "".join(kept)


_QUALIFIERS = ("level", "grade", "role", "published")
# Endings too common in everyday talk to read as "one of these items".
_TOO_GENERIC = {"活动", "学习", "研修", "成果"}
# Characters teachers' input methods put for 课 (same sound).
_SOUND_ALIKE = {"客": "课", "刻": "课", "克": "课", "科": "课", "棵": "课"}
_PRODUCT_RE = re.compile(
    rf"(?P<n1>{NUMBER_PATTERN})\s*个?(?:场|次|天|晚上|期|回|节|讲)(?P<mid>[^\d]{{0,6}}?)"
    rf"每(?:场|次|天|晚|个晚上|期|回|节|讲)?\s*(?P<n2>{NUMBER_PATTERN})\s*"
    r"(?P<u>小时|学时|课时)"
)


class Parser:
    """Reads messages under one standard; build once per standard and reuse."""

    def __init__(self, standard: Standard):
        self.standard = standard
        self._names: dict[str, tuple[str, tuple]] = {}
        for item in standard.items:
            for name in item.names:
                self._names[normalize(name.text)] = (item.id, name.implies)
        ordered = sorted(self._names, key=len, reverse=True)
        self._name_re = re.compile("|".join(re.escape(n) for n in ordered))
        self._fuzzy = [n for n in ordered if len(n) >= 2]
        self._generic = _shared_endings(self._names)
        generic = sorted(self._generic, key=len, reverse=True)
        self._generic_re = re.compile("|".join(re.escape(g) for g in generic) or "(?!)")

    def parse(self, text: str, today: date) -> Parse:
        norm = _multiply_products(normalize(text))
        day, norm = _take_date(norm, today)
        reader = _ClauseReader(day)
        for clause in _SEPARATORS_RE.split(norm):
            clause, corrected = self._correct_slip(clause)
            for piece in self._pieces(clause):
                match = self._name_re.search(piece)
                if match is None:
                    self._read_generic(reader, piece)
                    continue
                rest = piece[: match.start()] + " " + piece[match.end() :]
                item_id, implied = self._names[match.group(0)]
                reader.item(item_id, dict(implied), read_qualifiers(rest), piece.strip(),
                            match.group(0), corrected)  # fmt: skip
        return Parse(tuple(reader.claims), reader.stray)

    def _read_generic(self, reader: _ClauseReader, piece: str) -> None:
        """A word that ends the names of several items (培训, 教研) asks which one."""
        match = self._generic_re.search(piece)
        if match is None:
            reader.qualifiers(read_qualifiers(piece))
            return
        rest = piece[: match.start()] + " " + piece[match.end() :]
        candidates = self._generic[match.group(0)]
        reader.item(candidates[0], {}, read_qualifiers(rest), piece.strip(), match.group(0),
                    None, candidates)  # fmt: skip

    def _pieces(self, clause: str) -> list[str]:
        """Split a clause before each item name after the first."""
        starts = [m.start() for m in self._name_re.finditer(clause)][1:]
        bounds = [0, *starts, len(clause)]
        pieces = (clause[a:b] for a, b in zip(bounds, bounds[1:], strict=False))
        return [p for p in pieces if p.strip()]

    def _correct_slip(self, clause: str) -> tuple[str, str | None]:
        """A clause naming no item, read with one character changed, if only one item fits."""
        if not clause.strip() or self._name_re.search(clause):
            return clause, None
        found: dict[str, tuple[int, str]] = {}
        for name in self._fuzzy:
            for start in range(len(clause) - len(name) + 1):
                if _one_slip(clause[start : start + len(name)], name):
                    found.setdefault(self._names[name][0], (start, name))
        if len(found) != 1:
            return clause, None
        start, name = next(iter(found.values()))
        return clause[:start] + name + clause[start + len(name) :], name


def _shared_endings(names: dict[str, tuple[str, tuple]]) -> dict[str, tuple[str, ...]]:
    """Endings of two or more characters shared by names of different items.

    培训 ends 校本培训, 集中培训 and 远程培训: a message saying only 培训 could be
    any of them. Full names are left out; they are never ambiguous.
    """
    owners: dict[str, list[str]] = {}
    for name, (item_id, _) in names.items():
        for start in range(2, len(name) - 1):
            ending = name[start:]
            items = owners.setdefault(ending, [])
            if item_id not in items:
                items.append(item_id)
    return {
        e: tuple(i)
        for e, i in owners.items()
        if len(i) > 1 and e not in names and e not in _TOO_GENERIC
    }


def _one_slip(window: str, name: str) -> bool:
    """One character differs; for two-character names only a same-sound 课."""
    diffs = [(a, b) for a, b in zip(window, name, strict=True) if a != b]
    if len(diffs) != 1:
        return False
    typed, meant = diffs[0]
    if not ("\u4e00" <= typed <= "\u9fff"):
        return False
    return len(name) >= 3 or _SOUND_ALIKE.get(typed) == meant


def _multiply_products(text: str) -> str:
    """两场，每场一个半小时 → 3小时: the total duration of repeated sessions."""

    def total(match: re.Match) -> str:
        first, second = parse_number(match.group("n1")), parse_number(match.group("n2"))
        if first is None or second is None:
            return match.group(0)
        return f" {match.group('mid')} {first * second}{match.group('u')} "

    return _PRODUCT_RE.sub(total, text)


class _ClauseReader:
    """Turns item pieces and qualifier-only pieces into claims, in message order.

    A qualifier piece after an item either completes it (公开课，县级) or, when it
    repeats what was said, breaks it down (三节公开课：校级两节、区级一节).
    """

    def __init__(self, day: date | None):
        self.day = day
        self.claims: list[ParsedClaim] = []
        self.stray: dict = {}
        self._base: ParsedClaim | None = None
        self._broken = False

    def item(
        self, item_id, implied, facts, source, name, corrected, candidates=()
    ) -> None:
        values = {**implied, **facts}
        if self.day is not None:
            values.setdefault("day", self.day)
        if "quantity" not in values and "quantity" in self.stray:
            values["quantity"] = self.stray["quantity"]  # 读了两本书，写了读书笔记
        claim = ParsedClaim(Facts(item=item_id, **values), source, name,
                            frozenset(values), corrected, candidates)  # fmt: skip
        self.claims.append(claim)
        self._base, self._broken = claim, False

    def qualifiers(self, facts: dict) -> None:
        if not facts:
            return
        if not self.claims:
            self.stray.update(facts)
            return
        last = self.claims[-1]
        repeats = [k for k in facts if k in last.said and k != "day"]
        breakdown = "quantity" in facts and any(k in facts for k in _QUALIFIERS)
        if breakdown and not self._broken and "quantity" in last.said:
            self.claims[-1] = self._base.updated(facts)
            self._broken = True
        elif repeats or (breakdown and self._broken):
            self.claims.append(self._base.updated(facts))
        else:
            self.claims[-1] = last.updated(facts)


def read_qualifiers(text: str) -> dict:
    """Level, grade, role, published, topic and quantity found in a piece of text."""
    facts: dict = {}
    topic = _TOPIC_RE.search(text)
    if topic:
        facts["topic"] = topic.group(1).strip()
        text = text[: topic.start()] + " " + text[topic.end() :]
    if _UNPUBLISHED_RE.search(text):
        facts["published"] = False
        text = _UNPUBLISHED_RE.sub(" ", text)
    elif _PUBLISHED_RE.search(text):
        facts["published"] = True
        text = _PUBLISHED_RE.sub(" ", text)
    level, text = _take_level(text)
    if level:
        facts["level"] = level
    grade = _GRADE_RE.search(text)
    if grade:
        facts["grade"] = grade.group(1) + "奖"
        text = text[: grade.start()] + " " + text[grade.end() :]
    role = next((r for word, r in _ROLE_WORDS if word in text), None)
    if role:
        facts["role"] = role
    facts.update(_quantity(text))
    return facts


def _take_level(text: str) -> tuple[str | None, str]:
    for word, level in _LEVEL_WORDS:
        index = text.find(word)
        if index >= 0:
            return level, text[:index] + " " + text[index + len(word) :]
    for char, level in _LEVEL_CHARS.items():
        for match in re.finditer(re.escape(char) + "级?", text):
            before = text[match.start() - 1] if match.start() else " "
            after = text[match.end()] if match.end() < len(text) else " "
            marked = _LEVEL_MARK_RE.match(text, match.end())
            if marked or (
                (before.isspace() or before in "在去到") and not _is_cjk_word(after)
            ):
                return level, text[: match.start()] + " " + text[match.end() :]
    return None, text


def _is_cjk_word(char: str) -> bool:
    """A following character that makes the level letter part of another word."""
    return (
        "\u4e00" <= char <= "\u9fff"
        and char not in "一二三四五六七八九十两特优获奖发上"
    )


def _quantity(text: str) -> dict:
    match = _QUANTITY_RE.search(text)
    if match and match.group("times"):
        return {"quantity": Fraction(match.group("times"))}
    if match:
        number = parse_number(match.group("n"))
        unit = match.group("u")
        if unit == "个半小时":  # 两个半小时 = 2.5 小时
            number, unit = number + Fraction(1, 2), "小时"
        if number is not None:
            return {"quantity": number, "unit": unit}
    if _HALF_DAY_RE.search(text):
        return {"quantity": Fraction(1), "unit": "半天"}
    bare = _BARE_NUMBER_RE.search(text)
    if bare:
        return {"quantity": Fraction(bare.group(1))}
    return {}


def _take_date(text: str, today: date) -> tuple[date | None, str]:
    """A date said anywhere in the message, and the message without it."""
    match = _MONTH_DAY_RE.search(text) or _LEADING_DOT_DATE_RE.search(text.strip())
    if match:
        source = text if match.re is _MONTH_DAY_RE else text.strip()
        day = _month_day(int(match.group(1)), int(match.group(2)), today)
        if day is not None:
            return day, source[: match.start()] + " " + source[match.end() :]
    for word, back in _RELATIVE_DAYS.items():
        if word in text:
            return today - timedelta(days=back), text.replace(word, " ", 1)
    week = _WEEK_RE.search(text)
    if week:
        weekday = min(_WEEKDAYS.index(week.group(2)), 6)
        monday = today - timedelta(days=today.weekday())
        if week.group(1) == "上":
            monday -= timedelta(days=7)
        return monday + timedelta(days=weekday), text[: week.start()] + " " + text[
            week.end() :
        ]
    return None, text


def _month_day(month: int, day: int, today: date) -> date | None:
    """The most recent such date not after today (teachers record what happened)."""
    for year in (today.year, today.year - 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            return None
        if candidate <= today:
            return candidate
    return None
