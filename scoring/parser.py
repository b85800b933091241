"""From a teacher's message to claims: item names come from the standard file
(worked out once in `scoring.names`); levels, grades, roles, numbers and units
are shared knowledge (`scoring.vocabulary`); dates are read in `scoring.dates`.

The parser never guesses silently: each claim carries the text it came from;
a message with facts but no item comes back with what was seen (`stray`); a
word that fits several items comes back with `candidates`, so the bot asks;
a claim whose amount cannot be read safely comes back in `unclear`, never
with another number (-5节 is not 5节, 十几节 not 1节, 1e3节 not 3节).

How a message is read, in order:

1. `normalize`: full-width to half-width, lower case, emoji to spaces,
   zero-width characters out; signs that change a number (- ~ + ^) stay.
2. Whole-message rewrites: list marks (1、 2.) go, a leading `3.5` becomes
   3月5日, products (两场，每场一个半小时) become their total, and a verb split
   from its lesson (听了两节公开课, 评了一节) becomes the name of what the
   teacher did (听课 两节), so the lesson watched is not read as one taught.
3. Clauses (split at punctuation) are cut before each item name. Two names of
   one item side by side (在QQ群参与网络教研) are one claim; a name found with
   one character changed (公开客) is read as the name if only one item fits.
   A clause that asks, plans or denies (怎么算, 明天要上, 没上) makes no claim.
4. Each piece is scanned once for qualifiers (`_scan`). A piece without a name
   completes the claim before it (公开课，县级) or, when it says again what that
   claim said, adds another claim of the same item (县级1节，校级2节). A
   fact said not to hold (不是县级) is no fact. A number is scanned whole with
   whatever is glued to it (1,000, 3-5, 1e3, 十几, 不到5), and read exactly
   (1000; a range as its low end) or marked unreadable.
5. Of the numbers said for a claim, the one that counts it is chosen with the
   measure words its item accepts (certificate hours over days, a total over a
   rate, a count over a word count). A count said once for several claims is
   shared out (2次（县级、省级） is 1 each) or, when it cannot be, unreadable.
   A claim dated after today is dropped: it has not happened yet.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date
from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple

from scoring.dates import Calendar, leading_dot_date
from scoring.facts import Facts
from scoring.names import (
    is_slip,
    level_compounds,
    longer_names,
    shared_endings,
    slip_index,
)
from scoring.numbers import parse_amount, parse_number, plain
from scoring.standard import Standard
from scoring.vocabulary import (
    AMOUNT_UNITS,
    BARE,
    COUNT,
    DAYS,
    DURATION_UNITS,
    HALF_AFTER,
    HOURS,
    LESSON_VERBS,
    LEVEL_ALT,
    LEVEL_CHARS,
    LEVEL_WORDS,
    NUM,
    OFFICES,
    PREFIX,
    ROLE_WORDS,
    RUN,
    SCAN_TABLE,
    SUBJECTS,
    SUFFIX,
    UNIT_KINDS,
    VAGUE,
    WORD_UNITS,
    WORDS,
)

# --- patterns -------------------------------------------------------------------

_SCAN_PATTERN = "|".join(f"(?P<{kind}>{pattern})" for kind, _, pattern in SCAN_TABLE)
_SCAN_STARTS = "".join(sorted({c for _, starts, _ in SCAN_TABLE for c in starts}))
# Only positions that can start an alternative are tried: several times faster.
_SCAN_RE = re.compile(rf"(?=[{re.escape(_SCAN_STARTS)}])(?:{_SCAN_PATTERN})")
_AMOUNT_RE = re.compile(
    rf"(?:(?P<pre>{PREFIX})\s*)?(?P<n>{RUN})(?:\s*(?P<more>多|余|来)?\s*个?\s*"
    rf"(?P<u>{AMOUNT_UNITS})(?P<half>半)?(?:\s*(?P<post>{SUFFIX}))?)?"
)
_VAGUE_UNITS = frozenset(("星期", "礼拜", "周", "月"))
_TOTAL_HEAD_RE = re.compile(r"^(?:共计|一共|总共|合计|累计|总计|共)(?:是|有|计)?\s*")
_CODE_RE = re.compile(r"\d{4}")  # a number alone this long is a year, a code, a phone
# What, right before a number, makes it part of something else (约两场, -2场).
_GLUED_RE = re.compile(rf"(?:{PREFIX}|[\d.,/⁄^×*÷+~a-z-]|到|至|分之|点)\s*$")
# A comma between digits is a thousands separator (1,000), not a clause break.
_SEPARATORS_RE = re.compile(
    r"((?=[,；;。!！?？\n、：:])(?:[；;。!！?？\n、：:]|(?<!\d),|,(?!\d))+)"
)
# Separators of list entries: what they part are separate claims.
_LIST_SEPARATORS = frozenset("；;、\n")
# 都是校级 / 均为县级: said of every claim before it.
_ALL_RE = re.compile(r"都|均|全部")
# 另一篇 / 另外: another one, which shares nothing with the one before.
_ANOTHER_RE = re.compile(r"另")
# 1、 2. ① at the start of a line or after a separator: a list mark, not a count;
# but not before a sign, a measure word or nothing (听课 5.节, 听课 5.).
_LIST_MARK_RE = re.compile(
    rf"(?:^|(?<=[\s,;。、:]))\d{{1,2}}\s*[、.)]"
    rf"(?![\d.+~^-]|\s*(?:$|{AMOUNT_UNITS}))"
)
_PRODUCT_RE = re.compile(
    rf"(?P<n1>{NUM})\s*(?P<u1>个?(?:场|次|天|晚上|期|回|节|讲))(?P<mid>[^\d]{{0,6}}?)"
    rf"每(?:场|次|天|晚|个晚上|期|回|节|讲)?\s*(?P<n2>{NUM})\s*个?\s*"
    r"(?P<u>小时|学时|课时|分钟)"
)
_DOING = r"(?=去|上|参加|参与|交|写|做|讲|听|评|开|录|报|完成|准备)"
# A clause that asks about the rules, plans, or says it was not done: no claim.
_NOT_DONE_RE = re.compile(
    r"什么|怎么|如何|哪些|哪个|为什么|请问|是不是|是否|需要|多少"
    r"|(?<![\d零〇一二两俩三四五六七八九十百千万亿])几\s*(?:节|次|篇|份|个|项|场|堂|天|小时)"
    rf"|(?:(?<![需主重只想])要|将要|即将|准备|打算){_DOING}"
    rf"|(?:没有|没|未|不){_DOING}"
)
_OFFICE_RE = re.compile(OFFICES)
_JOINS_RE = re.compile(r"和|(?<![参给])与|及|跟|、|还有|另外|并且|同时")


# --- results --------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedClaim:
    """One claim read from a message, with the words it came from.

    `said` names the facts the message stated (the rest are defaults);
    `corrected` is the name a one-character slip was read as, if any;
    `unread` is the amount as written when it could not be read safely.
    """

    facts: Facts
    source: str  # the part of the message this claim was read from
    name: str  # the item name as matched
    said: frozenset = frozenset()
    corrected: str | None = None
    candidates: tuple[str, ...] = ()  # items a generic word may mean; ask which
    unread: str | None = None  # 十几节, -5节, 一周: how many is not known

    def updated(self, facts: dict) -> ParsedClaim:
        return replace(
            self, facts=self.facts.with_(**facts), said=self.said | set(facts)
        )


@dataclass(frozen=True)
class Parse:
    """What a message said: claims, and facts seen outside any claim.

    `unclear` holds claims whose amount could not be read safely (十几节, -5节,
    2次 shared by three levels): they carry no quantity and must not be
    recorded as they stand; the bot may ask how many.
    """

    claims: tuple[ParsedClaim, ...] = ()
    stray: dict = field(default_factory=dict)
    unclear: tuple[ParsedClaim, ...] = ()

    @property
    def understood(self) -> bool:
        return bool(self.claims)


# --- normalizing ------------------------------------------------------------------


# Symbols kept because they change what a number says (-5, 3~5, 2^3, 1⁄2).
_KEPT_SYMBOLS = frozenset("×*《》\n+~^<>=≈±≤≥÷⁄∞")
# Dashes and minus signs written for a hyphen-minus; wave dashes for a tilde.
_SAME_AS = {"−": "-", "–": "-", "‒": "-", "‐": "-", "〜": "~", "∼": "~"}


class _NormalTable(dict):
    """Code point → its normal text, worked out once per character ever seen."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        normal = unicodedata.normalize("NFKC", char)
        if _invisible(char):  # 公\u200b开课 is 公开课
            value = ""
        elif normal.isdigit() and _raised(char):
            value = "^" + normal  # 5² is not 52
        else:
            value = "".join(map(_normal_char, normal))
        self[code] = value.lower()
        return self[code]


def _invisible(char: str) -> bool:
    """Zero-width and other format characters, and variation selectors."""
    code = ord(char)
    return (
        unicodedata.category(char) == "Cf"
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
    )


def _raised(char: str) -> bool:
    return unicodedata.decomposition(char).startswith(("<super>", "<sub>"))


def _normal_char(char: str) -> str:
    char = _SAME_AS.get(char, char)
    if unicodedata.category(char) == "Nd" and not char.isascii():
        return str(unicodedata.decimal(char))  # ٣ (Arabic-Indic) and the like: 3
    if char in _KEPT_SYMBOLS or unicodedata.category(char)[0] not in "SC":
        return char
    return " "


_NORMAL = _NormalTable()


def normalize(text: str) -> str:
    """Full-width to half-width, lower case, emoji and most symbols to spaces,
    zero-width characters out."""
    return text.translate(_NORMAL)


# --- qualifiers -------------------------------------------------------------------


@dataclass(frozen=True)
class _Quantity:
    value: Fraction | None  # None: an amount said that cannot be read safely
    unit: str  # as written; "" for ×3 or a bare number
    kind: int  # HOURS … VAGUE
    total: bool = False  # 共10节
    each: bool = False  # 各一次
    text: str = ""  # as written


class _Said:
    """What one piece of text says besides item names."""

    __slots__ = ("facts", "quantities", "dates", "more")

    def __init__(self):
        self.facts: dict = {}
        self.quantities: list[_Quantity] = []
        self.dates: list[tuple[str, str]] = []  # (kind, words) as written
        self.more: list[_Said] = []  # further parts: 省级一等奖 县级二等奖

    def parts(self) -> list[_Said]:
        return [self, *self.more]


def _scan(text: str) -> _Said:
    """One pass over the text. A fact said again with another value, or a count
    said again after a fact, starts a further part (论文省级一等奖 县级二等奖,
    一节县级一节校级) if that part says more than the one fact."""
    said = part = _Said()
    for match in _SCAN_RE.finditer(text):
        kind, word = match.lastgroup, match.group()
        if kind in _DATE_KINDS:
            said.dates.append((kind, word))
        elif kind in _QUANTITY_KINDS:
            quantity = _quantity(kind, word)
            if quantity is None:
                continue
            if text[match.start() - 1 : match.start()] == "各":
                quantity = replace(quantity, each=True)
            if part.facts and _counted_again(part, quantity):  # 一节县级一节校级
                part = _Said()
                said.more.append(part)
            part.quantities.append(quantity)
        elif kind in _FACT_READERS:
            key, value = _FACT_READERS[kind](word)
            if key is None:
                continue
            if part.facts.get(key, value) != value and key != "topic":
                part = _Said()
                said.more.append(part)
            part.facts.setdefault(key, value)
    if said.more:
        _fold(said)
    return said


def _counted_again(part: _Said, quantity: _Quantity) -> bool:
    return not quantity.total and any(
        q.kind == quantity.kind and not q.total for q in part.quantities
    )


def _fold(said: _Said) -> None:
    """A further part with one fact and no count only adds to the part before:
    去市里观课两节县级 is one lesson."""
    parts = [said]
    for part in said.more:
        if part.quantities or len(part.facts) > 1:
            parts.append(part)
            continue
        for key, value in part.facts.items():
            parts[-1].facts.setdefault(key, value)
    said.more = parts[1:]


def _level_of_place(word: str) -> str:
    word = word.lstrip("由 ")
    for length in (3, 2):
        if word[:length] in LEVEL_WORDS:
            return LEVEL_WORDS[word[:length]]
    return LEVEL_CHARS[word[0]]


_QUANTITY_KINDS = frozenset(
    ("amount", "total", "halfdays", "spelled", "times", "letters")
)
_DATE_KINDS = frozenset(("ymd", "md", "slash", "month", "relday", "week", "ahead",
                         "lastweek", "lastmonth", "year"))  # fmt: skip
_FACT_READERS = {
    "topic": lambda w: ("topic", w[1:-1].strip()),
    "unpublished": lambda w: ("published", False),
    "published": lambda w: ("published", True),
    "above": lambda w: (None, None),  # 县级以上 names no one level: ask
    "organiser": lambda w: ("level", _level_of_place(w)),  # 县里组织的: not the role
    "office": lambda w: ("level", LEVEL_CHARS[w[0]]),
    "level": lambda w: ("level", LEVEL_WORDS[w]),
    "levelmark": lambda w: ("level", LEVEL_CHARS[w[0]]),
    "levelchar": lambda w: ("level", LEVEL_CHARS[w[0]]),
    "grade": lambda w: ("grade", w if w.endswith("奖") else w + "奖"),
    "result": lambda w: ("result", w),
    "letter": lambda w: ("result", w[0].upper() + "级"),
    "role": lambda w: ("role", ROLE_WORDS[w]),
    "perrate": lambda w: (None, None),  # 每周2节: a rate, not the count
    "ordinal": lambda w: (None, None),  # 第三单元
    "attributive": lambda w: (None, None),  # 参加的老师30人: not the teacher's role
    "negated": lambda w: (None, None),  # 不是县级
    "holiday": lambda w: (None, None),  # 三八节
}


@lru_cache(maxsize=4096)
def _quantity(kind: str, word: str) -> _Quantity | None:
    """The amount a scanned word states; value None when one was said but cannot
    be read safely (-5节, 十几节, 1e3节, 不到5节); None if it is no amount."""
    if kind == "times":
        return _Quantity(Fraction(word[1:].strip()), "", COUNT, text=word)
    if kind == "spelled":
        return _Quantity(parse_number(word), "", BARE, text=word)
    if kind == "letters":  # nan节, iii节
        unit = word.lstrip(string.ascii_lowercase + "∞").strip()
        unit = "小时" if unit == "分钟" else unit
        return _Quantity(None, unit, UNIT_KINDS[unit], text=word)
    if kind == "halfdays":
        number = parse_amount(word[:-2].rstrip(" 个")) if len(word) > 2 else Fraction(1)
        return _Quantity(number, "半天", DAYS, text=word)
    total = kind == "total"
    parts = _AMOUNT_RE.fullmatch(_TOTAL_HEAD_RE.sub("", word) if total else word)
    if parts is None:
        return None
    run, unit = parts.group("n"), parts.group("u")
    if unit is None:
        return _alone(parts, word)
    if unit in _VAGUE_UNITS:  # 一周, 两个月: a span of time no item converts
        return _Quantity(Fraction(1), unit, VAGUE, text=word)
    if unit not in UNIT_KINDS and unit != "分钟":
        return None  # 85分, 三年级, 30人: not a count
    number = parse_amount(run)
    if (
        number is None
        or parts.group("pre") not in (None, "+")
        or parts.group("more") == "来"
        or parts.group("post")
    ):
        unit = "小时" if unit == "分钟" else unit
        return _Quantity(None, unit, UNIT_KINDS[unit], total, text=word)
    if parts.group("half") and unit in HALF_AFTER:
        number += Fraction(1, 2)
    if unit == "分钟":  # minutes are read as hours: 90分钟 = 1.5小时
        number, unit = number / 60, "小时"
    return _Quantity(number, unit, UNIT_KINDS[unit], total, text=word)


def _alone(parts: re.Match, word: str) -> _Quantity | None:
    """A number with no measure word: digits only (一起 and 万一 are words),
    and short (a longer one is a year, a code or a phone)."""
    run = parts.group("n")
    if not any(c.isdigit() for c in run) or _CODE_RE.search(run):
        return None
    number = parse_number(run)  # 11-26 may be a date: no range here
    if parts.group("pre") not in (None, "+") or parts.group("more") == "来":
        number = None
    return _Quantity(number, "", BARE, text=word)


def _choose(quantities, accepts: frozenset | None) -> _Quantity | None:
    """The quantity that counts a claim, given the measure words its item accepts.

    A total beats a part; a unit the item accepts beats one it does not; hours
    beat days (a certificate's hours win) and a time beats a count (一次，两小时).
    Times and word counts never count an item that measures neither.
    """
    if accepts is None:
        usable = [q for q in quantities if q.kind != VAGUE]
    else:
        timed, worded = accepts & DURATION_UNITS, accepts & WORD_UNITS
        usable = [
            q for q in quantities
            if (timed or q.kind not in (HOURS, DAYS, VAGUE))
            and (worded or q.kind != WORDS)
        ]  # fmt: skip
    if not usable:
        return None
    fits = accepts or frozenset()
    # of two alike, the one that cannot be read wins: it is asked about
    return max(usable, key=lambda q: (q.total, q.unit in fits, q.kind, q.value is None))


def _unreadable(quantities, accepts: frozenset, chosen: _Quantity | None) -> bool:
    """An item that counts time, told only in weeks or months (跟岗一周): no
    measure converts that, and a day's default would misrecord it."""
    if chosen is not None and chosen.kind in (HOURS, DAYS):
        return False
    return bool(accepts & DURATION_UNITS) and any(q.kind == VAGUE for q in quantities)


def read_qualifiers(text: str) -> dict:
    """Level, grade, role, published, result, topic and quantity in a piece of
    text; nothing at all if its amount cannot be read safely (不到5节)."""
    said = _scan(text)
    facts = dict(said.facts)
    quantity = _choose(said.quantities, None)
    if quantity is not None and quantity.value is None:
        return {}
    if quantity is not None:
        facts["quantity"] = quantity.value
        if quantity.unit:
            facts["unit"] = quantity.unit
    return facts


def _multiply_products(text: str) -> str:
    """两场，每场一个半小时 → 两场，3小时: the sessions and their total duration.

    The count stays for items that count sessions (听课二十节，每节四十分钟).
    """

    def total(match: re.Match) -> str:
        first, second = parse_amount(match.group("n1")), parse_amount(match.group("n2"))
        glued = _GLUED_RE.search(match.string, 0, match.start())  # 约两场, -2场
        if first is None or second is None or glued:
            return match.group(0)
        count = match.group("n1") + match.group("u1")
        return f"{count}{match.group('mid')} {plain(first * second)}{match.group('u')} "

    return _PRODUCT_RE.sub(total, text)


# --- the parser -----------------------------------------------------------------


class _Name(NamedTuple):
    """A name found in a clause."""

    start: int
    end: int
    text: str  # the name as the standard spells it
    item: str
    corrected: str | None = None


class Parser:
    """Reads messages under one standard; build once per standard and reuse."""

    def __init__(self, standard: Standard):
        self.standard = standard
        self._names: dict[str, tuple[str, dict]] = {}
        for item in standard.items:
            for name in item.names:
                text = normalize(name.text).strip()
                if text:  # a name of emoji alone is no name
                    self._names.setdefault(text, (item.id, dict(name.implies)))
        self._name_re = _alternatives(self._names)
        self._longer = longer_names(self._names)
        self._compounds = level_compounds(self._names)
        self._generic = shared_endings(self._names)
        self._generic_re = _alternatives(self._generic)
        self._accepts = {
            item.id: frozenset({item.measure, *(u for u, _ in item.convert)})
            for item in standard.items
        }
        self._slips = slip_index(self._names)
        self._slip_starts = _alternatives(self._slips)
        self._verb_re, self._verb_names = self._lesson_verbs()
        self._calendars: dict[date, Calendar] = {}

    def parse(self, text: str, today: date) -> Parse:
        """The claims a message makes, in message order, as read on `today`."""
        norm = _LIST_MARK_RE.sub(" ", normalize(text))
        norm = leading_dot_date(norm)
        if "每" in norm:
            norm = _multiply_products(norm)
        norm = self._verb_re.sub(self._verb_object, norm)

        reader = _Reader(self._accepts, self._calendar(today))
        pieces = _SEPARATORS_RE.split(norm)
        for clause, before in zip(pieces[::2], ["", *pieces[1::2]], strict=True):
            if clause.strip():
                reader.start_clause(clause, before)
                self._read_clause(reader, clause)
        return reader.result()

    def _calendar(self, today: date) -> Calendar:
        calendar = self._calendars.get(today)
        if calendar is None:
            if len(self._calendars) >= 4:  # old days are not asked about again
                self._calendars.clear()
            calendar = self._calendars[today] = Calendar(self.standard, today)
        return calendar

    # --- clauses ------------------------------------------------------------------

    def _read_clause(self, reader: _Reader, clause: str) -> None:
        names = self._find_names(clause)
        names = self._with_slips(clause, names) if names else self._slip(clause)
        if not names:
            # 教研 in 教研室 is an office, not an activity
            generic = self._generic_re.search(_OFFICE_RE.sub(_blank, clause))
            if generic is None:
                reader.qualifiers(_scan(clause))
                return
            candidates = self._generic[generic.group()]
            name = _Name(generic.start(), generic.end(), generic.group(), candidates[0])
            reader.item(name, {}, _scan(_without(clause, [name])), clause.strip(),
                        candidates)  # fmt: skip
            return
        groups = self._one_activity(clause, names)
        bounds = [0, *(g[0].start for g in groups[1:]), len(clause)]
        for group, start, end in zip(groups, bounds, bounds[1:], strict=False):
            self._read_piece(reader, clause[start:end], group, start)

    def _read_piece(
        self, reader: _Reader, piece: str, names: list[_Name], at: int
    ) -> None:
        said = _scan(_without(piece, names, at))
        first = names[0]
        item_id, implied = self._names[first.text]
        implied = dict(implied)
        for other in names[1:]:
            implied.update(self._names[other.text][1])
        level = said.facts.get("level")
        if (level, first.text) in self._compounds:  # 片区 + 教研活动 = 片区教研活动
            item_id, implied = self._compounds[(level, first.text)]
        listened = piece[: first.start - at].rstrip().endswith("听")
        if listened and "role" not in said.facts:
            said.facts["role"] = "参加"  # 听讲座: a participant
        reader.item(first, implied, said, piece.strip(), (), item_id)

    # --- names --------------------------------------------------------------------

    def _find_names(self, clause: str) -> list[_Name]:
        """Names in the clause, each stretched over a longer name of its item
        that the text goes on to spell (特色研修 + 成果 = 特色研修成果)."""
        offices = [m.span() for m in _OFFICE_RE.finditer(clause)]
        found = []
        pos = 0
        while True:
            match = self._name_re.search(clause, pos)
            if match is None:
                return found
            pos = match.end()
            if any(a <= match.start() and match.end() <= b for a, b in offices):
                continue  # 进修 in 县进修学校 names the school, not the activity
            start, end = self._stretch(
                clause, match.start(), match.end(), match.group()
            )
            text = match.group()
            found.append(_Name(start, end, text, self._names[text][0]))
            pos = end

    def _stretch(self, clause: str, start: int, end: int, text: str) -> tuple[int, int]:
        best = (start, end)
        for longer, offset in self._longer.get(text, ()):
            before = _common_suffix(clause[:start], longer[:offset])
            after = _common_prefix(clause[end:], longer[offset + len(text) :])
            if before + after > best[1] - best[0] - (end - start):
                best = (start - before, end + after)
        return best

    def _one_activity(self, clause: str, names: list[_Name]) -> list[list[_Name]]:
        """Group names side by side that name one activity of one item (QQ群 …
        网络教研); a conjunction or anything said between them keeps them apart."""
        groups = [[names[0]]]
        for name in names[1:]:
            last = groups[-1][-1]
            between = clause[last.end : name.start]
            said = _scan(between)
            if (
                name.item == last.item
                and not _JOINS_RE.search(between)
                and not said.quantities
                and "level" not in said.facts
            ):
                groups[-1].append(name)
            else:
                groups.append([name])
        return groups

    def _with_slips(self, clause: str, names: list[_Name]) -> list[_Name]:
        """The names found, and slips in the words between them (公开课 听客3节)."""
        bounds = [0, *(x for n in names for x in (n.start, n.end)), len(clause)]
        slips = [
            slip
            for start, end in zip(bounds[::2], bounds[1::2], strict=True)
            if end - start > 1
            for slip in self._slip(clause, start, end)
        ]
        return sorted(names + slips) if slips else names

    def _slip(
        self, clause: str, first: int = 0, last: int | None = None
    ) -> list[_Name]:
        """A name read with one character changed, if only one item fits; only
        within clause[first:last]."""
        last = len(clause) if last is None else last
        found: dict[str, _Name] = {}
        for char in self._slip_starts.finditer(clause, first, last):
            index = char.start()
            for fragment, name, offset in self._slips[char.group()]:
                start = index - offset
                end = start + len(name)
                if (
                    start < first
                    or end > last
                    or not clause.startswith(fragment, index)
                ):
                    continue
                window = clause[start:end]
                if is_slip(clause, start, window, name):
                    item = self._names[name][0]
                    found.setdefault(
                        item, _Name(start, start + len(name), name, item, name)
                    )
        if len(found) != 1:
            return []
        return list(found.values())

    # --- verbs and their lessons ----------------------------------------------------

    def _lesson_verbs(self) -> tuple[re.Pattern, dict[str, str | None]]:
        """听了两节公开课 → 听课 两节: the lesson is the object, not the claim."""
        verbs = sorted(LESSON_VERBS, key=len, reverse=True)
        targets = {
            verb: next((n for n in family if n in self._names), None)
            for verb, family in LESSON_VERBS.items()
        }
        lessons = sorted(
            (
                n
                for n in self._names
                if n.endswith("课") and n[0] not in "听观看评议磨备"
            ),
            key=len,
            reverse=True,
        )
        lesson_alt = "|".join(map(re.escape, [*lessons, "课"]))
        verb_alt = "|".join(verbs)
        # the count as said, readable or not (十几节, 不到5节): read by the scan
        said = rf"(?:{PREFIX}\s*)?{RUN}\s*(?:多|余|来)?"
        count = rf"(?:{said}\s*个?\s*(?:节|堂|次|场)?(?:\s*{SUFFIX})?)"
        level = rf"(?:{LEVEL_ALT}|[国省市县区镇校]级?)"
        whose = r"(?:[\u4e00-\u9fff]{1,3}老师的)"
        mid = rf"\s*{whose}?\s*{count}?\s*(?:{level}\s*)?的?\s*(?:{SUBJECTS})?\s*"
        pattern = (
            rf"(?P<v>{verb_alt})(?P<a>了|过|完)?(?P<m>{mid})(?P<o>{lesson_alt})"
            rf"|(?P<v2>{verb_alt})(?P<a2>了|过)(?P<m2>\s*{said}\s*(?:节|堂)(?:\s*{SUFFIX})?)"
            r"(?=$|[\s,;。!?、:])"
        )
        return re.compile(pattern), targets

    def _verb_object(self, match: re.Match) -> str:
        if match.group("v2"):
            verb, mid = match.group("v2"), match.group("m2")
        else:
            verb, mid, lesson = match.group("v"), match.group("m"), match.group("o")
            if not match.group("a") and not mid.strip() and lesson == "课":
                return match.group()  # the name itself: 听课
            if not match.group("a") and not mid and verb + lesson in self._names:
                return match.group()  # 观摩课 is a lesson given
        name = self._verb_names[verb]
        return f" {name or ''} {mid} "


def _alternatives(words) -> re.Pattern:
    """Any of the words, the longest first; with no words, a pattern that never
    matches (a standard may have no items, or none that share an ending)."""
    ordered = sorted(words, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, ordered)) or "(?!)")


# --- spans of text -------------------------------------------------------------


def _common_suffix(text: str, wanted: str) -> int:
    count = 0
    while (
        count < len(wanted)
        and count < len(text)
        and text[-1 - count] == wanted[-1 - count]
    ):
        count += 1
    return count


def _common_prefix(text: str, wanted: str) -> int:
    count = 0
    while count < len(wanted) and count < len(text) and text[count] == wanted[count]:
        count += 1
    return count


def _blank(match: re.Match) -> str:
    return " " * len(match.group())


def _without(text: str, names: list[_Name], at: int = 0) -> str:
    """The text with the names' spans blanked, so they are not read as qualifiers;
    `at` is where the text starts in the clause the names were found in."""
    for name in reversed(names):
        text = text[: name.start - at] + " " + text[name.end - at :]
    return text


# --- assembling claims ------------------------------------------------------------


@dataclass
class _Draft:
    """A claim being assembled from an item piece and the pieces after it."""

    item: str
    name: str
    source: str
    corrected: str | None
    candidates: tuple
    implied: dict
    facts: dict
    quantities: list
    day: date | None = None
    not_done: bool = False  # said in a clause that plans, asks or denies

    def copy(self) -> _Draft:
        return _Draft(self.item, self.name, self.source, self.corrected,
                      self.candidates, self.implied, dict(self.facts),
                      list(self.quantities), self.day, self.not_done)  # fmt: skip

    def repeats(self, said: _Said) -> bool:
        """Whether a piece says again what this claim said (县级1节 … 校级2节)."""
        if any(k in self.facts and self.facts[k] != v for k, v in said.facts.items()):
            return True
        kinds = {q.kind for q in self.quantities if not q.total}
        return any(q.kind in kinds and not q.total for q in said.quantities)


class _Reader:
    """Turns item pieces and qualifier-only pieces into claims, in message order.

    A qualifier piece after an item either completes it (公开课，县级) or, when it
    repeats what was said, adds a claim of the same item (县级1节，校级2节); the
    parts of a total replace it (三节公开课：校级两节、区级一节), and what they
    leave of it stays a claim of its own (听课十五节，其中县级3节). A count said
    once for several such claims is shared among them, not copied to each
    (公开课 2次（县级、省级） is one lesson at each level).
    """

    def __init__(self, accepts: dict[str, frozenset], calendar: Calendar):
        self.accepts = accepts  # item id → the measure words it counts in
        self.calendar = calendar
        self.drafts: list[_Draft] = []
        self.stray = _Said()
        self._base: _Draft | None = None
        self._parts: list[_Draft] = []  # the parts a total was broken into
        self._sharers: list[_Draft] = []  # claims one count was said for, so far
        self._shares: list[list[_Draft]] = []  # every such run of two or more
        self._day: date | None = None
        self._clause = ""
        self._listed = False  # this clause follows a list separator
        self._enumerated = False  # … and that separator is 、
        self._not_done = False
        self._first_in_clause = True

    def start_clause(self, clause: str, before: str) -> None:
        self._clause = clause
        self._listed = any(c in _LIST_SEPARATORS for c in before)
        self._enumerated = "、" in before
        self._not_done = _NOT_DONE_RE.search(clause) is not None
        self._first_in_clause = True

    def item(
        self,
        name: _Name,
        implied: dict,
        said: _Said,
        source: str,
        candidates: tuple[str, ...] = (),
        item_id: str | None = None,
    ) -> None:
        """A piece naming an item (or a generic word, with its candidates)."""
        draft = _Draft(item_id or name.item, name.text, source, name.corrected,
                       tuple(candidates), implied, dict(said.facts),
                       list(said.quantities), not_done=self._not_done)  # fmt: skip
        first, self._first_in_clause = self._first_in_clause, False
        if first and self._continues(draft):  # 听评课活动，听了4节
            last = self.drafts[-1]
            for key, value in draft.facts.items():
                last.facts.setdefault(key, value)
            last.quantities = draft.quantities
            self._date(last, said, inside=True)
            self._base = last.copy()
            self._sharers = [last]
            return
        self._close_parts()
        if not self.drafts:
            self._take_stray(draft)
        self._date(draft, said, inside=True)
        if any(q.each for q in draft.quantities):  # 观课议课各一次
            for earlier in reversed(self.drafts):
                if earlier.quantities:
                    break
                earlier.quantities = list(draft.quantities)
        self.drafts.append(draft)
        self._base = draft.copy()
        self._sharers = [draft]
        for part in said.more:
            self._qualifiers(part, listed=True)

    def _continues(self, draft: _Draft) -> bool:
        """Whether an item named again in the next clause goes on about the claim
        before (which had no count), rather than being another one."""
        if not self.drafts or self._listed or draft.candidates:
            return False
        last = self.drafts[-1]
        return (
            last.item == draft.item
            and not last.quantities
            and not last.candidates
            and last.not_done == draft.not_done
            and all(last.facts.get(k, v) == v for k, v in draft.facts.items())
        )

    def qualifiers(self, said: _Said) -> None:
        """A piece naming no item."""
        self._first_in_clause = False
        for index, part in enumerate(said.parts()):
            self._qualifiers(part, listed=self._enumerated or index > 0)

    def _qualifiers(self, said: _Said, listed: bool = False) -> None:
        """`listed`: the piece is the next entry of an enumeration (县级、省级)."""
        if self._not_done:
            return
        self._date(None, said, inside=False)
        if not self.drafts:
            self.stray.facts.update(said.facts)
            self.stray.quantities.extend(said.quantities)
            return
        if not said.facts and not said.quantities:
            return
        if _ALL_RE.search(self._clause) and not said.quantities:  # 都是校级
            for draft in self.drafts:
                for key, value in said.facts.items():
                    draft.facts.setdefault(key, value)
            return
        last, base = self.drafts[-1], self._base
        if _ANOTHER_RE.search(self._clause):  # 另一篇县级二等奖
            self._close_parts()
            self.drafts.append(self._part(said, fresh=True))
            self._sharers = [self.drafts[-1]]
            return
        splits = (
            not self._parts
            and any(q.kind == COUNT for q in said.quantities)
            and any(q.kind == COUNT for q in base.quantities)
            and any(k not in base.facts for k in said.facts)
        )
        if splits:  # the total is the sum of its parts
            self.drafts[-1] = self._part(said)
            self._parts = [self.drafts[-1]]
            self._sharers = [self.drafts[-1]]
        elif last.repeats(said):
            part = self._part(said)
            self.drafts.append(part)
            if self._parts:
                self._parts.append(part)
            self._share(part, said, listed)
        else:
            last.facts.update(said.facts)
            last.quantities.extend(said.quantities)

    def _part(self, said: _Said, fresh: bool = False) -> _Draft:
        """Another claim like the base, with what this piece says instead. An
        award and a publication are two events: one does not inherit the other."""
        part = self._base.copy()
        if fresh:
            part.facts, part.quantities = {}, []
        if "grade" in said.facts:
            part.facts.pop("published", None)
        if said.facts.get("published"):
            part.facts.pop("grade", None)
        part.facts.update(said.facts)
        if said.quantities:
            part.quantities = list(said.quantities)
        return part

    def _share(self, part: _Draft, said: _Said, listed: bool) -> None:
        """Track the claims one count was said for: a count the new claim
        inherited (公开课 2次（县级、省级）), or one it brings to an enumeration
        whose entries had none (公开课 县级、省级 2次)."""
        each = any(q.each for q in part.quantities)
        if not said.quantities:
            if each:
                self._sharers = [part]
            else:
                self._join(part)
        elif listed and not any(d.quantities for d in self._sharers):
            if each:  # 县级、省级各2次: each its own
                for draft in self._sharers:
                    draft.quantities = list(part.quantities)
                self._sharers = [part]
            else:
                self._join(part)
        else:
            self._sharers = [part]

    def _join(self, part: _Draft) -> None:
        self._sharers.append(part)
        if len(self._sharers) == 2:
            self._shares.append(self._sharers)

    def _share_out(self, group: list[_Draft]) -> None:
        """One each when the count is the number of claims; the same one for
        several awards of one work (同一篇区一等奖、市三等奖); else how many each
        is not known."""
        holder = next((d for d in group if d.quantities), None)
        if holder is None:
            return
        quantity = _choose(holder.quantities, self.accepts[holder.item])
        if quantity is None:
            return
        if quantity.value == len(group) and quantity.kind in (COUNT, BARE):
            shared = replace(quantity, value=Fraction(1), total=False)
        elif quantity.value == 1 and _outcomes_differ(group):
            shared = quantity
        else:
            shared = replace(quantity, value=None)
        for draft in group:
            draft.quantities = [shared]

    def _close_parts(self) -> None:
        """What the parts of a total leave of it stays a claim without their facts."""
        parts, self._parts = self._parts, []
        if not parts:
            return
        accepts = self.accepts[self._base.item]
        total = _choose(self._base.quantities, accepts)
        counted = [_choose(p.quantities, accepts) for p in parts]
        if total is None or any(q is None or q.unit != total.unit for q in counted):
            return
        if total.value is None or any(q.value is None for q in counted):
            return  # what is left is not known
        left = total.value - sum(q.value for q in counted)
        if left > 0:
            rest = self._base.copy()
            rest.facts = {k: v for k, v in rest.facts.items() if k in ("topic",)}
            rest.quantities = [replace(total, value=left)]
            self.drafts.insert(self.drafts.index(parts[-1]) + 1, rest)

    def _take_stray(self, draft: _Draft) -> None:
        """Facts said before the first item belong to it: 昨天参培，校本讲座2小时."""
        for key, value in self.stray.facts.items():
            if key not in draft.implied:
                draft.facts.setdefault(key, value)
        if not draft.quantities:
            draft.quantities = list(self.stray.quantities)  # 读了两本书，写了读书笔记

    def _date(self, draft: _Draft | None, said: _Said, inside: bool) -> None:
        """A date holds for the claims after it; one said after claims that had
        none dates them too (同课异构了一次，11月12日)."""
        day = None
        for kind, word in said.dates:
            day = self.calendar.day(kind, word)
            if day is not None:
                break
        if day is None:
            if draft is not None:
                draft.day = self._day
            return
        self._day = day
        if inside and draft is not None:
            draft.day = day
            return
        for earlier in reversed(self.drafts):
            if earlier.day is not None:
                break
            earlier.day = day

    def result(self) -> Parse:
        self._close_parts()
        for group in self._shares:
            self._share_out(group)
        today = self.calendar.today
        claims, unclear = [], []
        for draft in self.drafts:
            if not draft.not_done and (draft.day is None or draft.day <= today):
                claim, sure = self._claim(draft)
                (claims if sure else unclear).append(claim)
        stray = dict(self.stray.facts)
        quantity = _choose(self.stray.quantities, None)
        if quantity is not None and quantity.value is not None:
            stray["quantity"] = quantity.value
            if quantity.unit:
                stray["unit"] = quantity.unit
        return Parse(tuple(claims), stray, tuple(unclear))

    def _claim(self, draft: _Draft) -> tuple[ParsedClaim, bool]:
        """The claim, and whether its amount was read safely."""
        values = {**draft.implied, **draft.facts}
        accepts = self.accepts[draft.item]
        quantity = _choose(draft.quantities, accepts)
        unread = None
        if _unreadable(draft.quantities, accepts, quantity):
            unread = next(q.text for q in draft.quantities if q.kind == VAGUE)
        elif quantity is not None and quantity.value is None:
            unread = quantity.text
        elif quantity is not None:
            values["quantity"] = quantity.value
            if quantity.unit:
                values["unit"] = quantity.unit
        if draft.day is not None:
            values["day"] = draft.day
        facts = Facts(item=draft.item, **values)
        claim = ParsedClaim(facts, draft.source, draft.name, frozenset(values),
                            draft.corrected, draft.candidates, unread)  # fmt: skip
        return claim, unread is None


def _outcomes_differ(drafts: list[_Draft]) -> bool:
    outcomes = {
        (d.facts.get("grade"), d.facts.get("published"), d.facts.get("result"))
        for d in drafts
    }
    return len(outcomes) > 1
