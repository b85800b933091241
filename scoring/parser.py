"""From a teacher's message to claims: item names come from the standard file;
levels, grades, roles, numbers, units and dates are shared knowledge here.

The parser never guesses silently: each claim carries the text it came from,
and a message with facts but no item comes back as `Unread` with what was seen.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
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
_LEADING_DOT_DATE_RE = re.compile(r"^(\d{1,2})\.(\d{1,2})(?=\s|[^\d.\s小学课天节次篇份个项])")
_RELATIVE_DAYS = {"今天": 0, "昨天": 1, "前天": 2}
_WEEKDAYS = "一二三四五六日天"
_WEEK_RE = re.compile(rf"(上|这|本)周([{_WEEKDAYS}])")
_SEPARATORS_RE = re.compile(r"[，,；;。!！?？\n、：:]+")


@dataclass(frozen=True)
class ParsedClaim:
    """One claim read from a message, with the words it came from."""

    facts: Facts
    source: str  # the part of the message this claim was read from
    name: str  # the item name as matched


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
        if char in "×*《》" or not (category.startswith("S") or category.startswith("C")):
            kept.append(char)
        else:
            kept.append(" " if char not in "\n" else "\n")
    return "".join(kept)


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

    def parse(self, text: str, today: date) -> Parse:
        norm = normalize(text)
        day, norm = _take_date(norm, today)
        claims: list[ParsedClaim] = []
        stray: dict = {}
        for clause in _SEPARATORS_RE.split(norm):
            for piece in self._pieces(clause):
                claim, facts = self._read_piece(piece, day)
                if claim:
                    claims.append(claim)
                elif claims and facts:
                    claims[-1] = _merge(claims[-1], facts)
                else:
                    stray.update(facts)
        return Parse(tuple(claims), stray)

    def _pieces(self, clause: str) -> list[str]:
        """Split a clause before each item name after the first."""
        starts = [m.start() for m in self._name_re.finditer(clause)][1:]
        bounds = [0, *starts, len(clause)]
        return [clause[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if clause[a:b].strip()]

    def _read_piece(self, piece: str, day: date | None) -> tuple[ParsedClaim | None, dict]:
        match = self._name_re.search(piece)
        rest = piece if not match else piece[: match.start()] + " " + piece[match.end():]
        facts = read_qualifiers(rest)
        if match is None:
            return None, facts
        item_id, implied = self._names[match.group(0)]
        values = {**dict(implied), **facts}
        if day is not None:
            values.setdefault("day", day)
        return ParsedClaim(Facts(item=item_id, **values), piece.strip(), match.group(0)), {}


def _merge(claim: ParsedClaim, facts: dict) -> ParsedClaim:
    """Qualifiers in a clause after the item belong to it unless already said."""
    current = claim.facts
    updates = {k: v for k, v in facts.items() if getattr(current, k, None) in (None, "")}
    if "quantity" in updates and current.unit:
        updates.pop("quantity")
    return ParsedClaim(current.with_(**updates), claim.source, claim.name)


def read_qualifiers(text: str) -> dict:
    """Level, grade, role, published, topic and quantity found in a piece of text."""
    facts: dict = {}
    topic = _TOPIC_RE.search(text)
    if topic:
        facts["topic"] = topic.group(1).strip()
        text = text[: topic.start()] + " " + text[topic.end():]
    if _UNPUBLISHED_RE.search(text):
        facts["published"] = False
        text = _UNPUBLISHED_RE.sub(" ", text)
    elif _PUBLISHED_RE.search(text):
        facts["published"] = True
        text = _PUBLISHED_RE.sub(" ", text)
    grade = _GRADE_RE.search(text)
    if grade:
        facts["grade"] = grade.group(1) + "奖"
        text = text[: grade.start()] + " " + text[grade.end():]
    level, text = _take_level(text)
    if level:
        facts["level"] = level
    role = next((r for word, r in _ROLE_WORDS if word in text), None)
    if role:
        facts["role"] = role
    facts.update(_quantity(text))
    return facts


def _take_level(text: str) -> tuple[str | None, str]:
    for word, level in _LEVEL_WORDS:
        index = text.find(word)
        if index >= 0:
            return level, text[:index] + " " + text[index + len(word):]
    for char, level in _LEVEL_CHARS.items():
        for match in re.finditer(re.escape(char) + "级?", text):
            before = text[match.start() - 1] if match.start() else " "
            after = text[match.end()] if match.end() < len(text) else " "
            if (before.isspace() or before in "在去到") and not _is_cjk_word(after):
                return level, text[: match.start()] + " " + text[match.end():]
    return None, text


def _is_cjk_word(char: str) -> bool:
    """A following character that makes the level letter part of another word."""
    return "\u4e00" <= char <= "\u9fff" and char not in "一二三四五六七八九十两特优获奖发上"


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
            return day, source[: match.start()] + " " + source[match.end():]
    for word, back in _RELATIVE_DAYS.items():
        if word in text:
            return today - timedelta(days=back), text.replace(word, " ", 1)
    week = _WEEK_RE.search(text)
    if week:
        weekday = min(_WEEKDAYS.index(week.group(2)), 6)
        monday = today - timedelta(days=today.weekday())
        if week.group(1) == "上":
            monday -= timedelta(days=7)
        return monday + timedelta(days=weekday), text[: week.start()] + " " + text[week.end():]
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
