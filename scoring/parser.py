"""From a teacher's message to claims: item names come from the standard file;
levels, grades, roles, numbers, units and dates are shared knowledge here.

The parser never guesses silently: each claim carries the text it came from;
a message with facts but no item comes back with what was seen (`stray`); a
word that fits several items comes back with `candidates`, so the bot asks.

How a message is read, in order:

1. `normalize`: full-width to half-width, lower case, emoji to spaces.
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
   claim said, adds another claim of the same item (县级1节，校级2节).
5. Of the numbers said for a claim, the one that counts it is chosen with the
   measure words its item accepts (certificate hours over days, a total over a
   rate, a count over a word count). A claim dated after today is dropped: it
   has not happened yet.
"""

from __future__ import annotations

import re
import unicodedata
from calendar import monthrange
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple

from scoring.facts import Facts
from scoring.numbers import NUMBER_PATTERN, parse_amount, parse_number, plain
from scoring.standard import Standard

# --- shared knowledge: levels, grades, roles, units ---------------------------

_LEVEL_WORDS = {
    "国家级": "国家级", "全国": "国家级", "国家": "国家级",
    "省级": "省级", "省里": "省级", "在省": "省级",
    "地市级": "市级", "市级": "市级", "市里": "市级", "地市": "市级", "在市": "市级",
    "县级": "县级", "县里": "县级", "在县": "县级",
    "区级": "区级", "区里": "区级",
    "片区": "片区",
    "镇级": "镇级", "镇里": "镇级", "中心校": "镇级",
    "校级": "校级", "校内": "校级", "本校": "校级", "学校": "校级",
}  # fmt: skip
_LEVEL_CHARS = {"国": "国家级", "省": "省级", "市": "市级", "县": "县级", "区": "区级",
                "镇": "镇级", "校": "校级"}  # fmt: skip
# Offices that stand for their level: 县教研室组织的 is a county event.
_OFFICES = "教育厅|教育局|教体局|教研室|教科所|教研所|教师进修学校|进修学校"
_ROLE_WORDS = {
    "主讲人": "主讲", "主讲": "主讲", "授课": "主讲", "讲课": "主讲", "讲了": "主讲",
    "参加": "参加", "参与": "参加", "参培": "参加", "参训": "参加", "听讲": "参加",
    "组织者": "组织", "组织": "组织", "策划": "组织",
    "主持人": "主持", "主持": "主持", "负责人": "主持",
}  # fmt: skip
_RESULTS = ("不合格", "合格", "良好", "优秀")

# Measure words, by what they measure. 课时 is a class period, counted as an hour.
_HOURS, _DAYS, _COUNT, _WORDS, _BARE, _VAGUE = 4, 3, 2, 1, 0, -1
_UNIT_KINDS = {
    "小时": _HOURS, "钟头": _HOURS, "学时": _HOURS, "课时": _HOURS,
    "天": _DAYS, "半天": _DAYS,
    "千字": _WORDS, "万字": _WORDS, "字": _WORDS,
    **{u: _COUNT for u in ("学期", "节", "次", "篇", "份", "个", "项", "门", "本",
                           "场", "堂", "期", "回", "遍", "轮", "科", "部", "件", "套")},
}  # fmt: skip
_DURATION_UNITS = frozenset(u for u, k in _UNIT_KINDS.items() if k in (_HOURS, _DAYS))
_WORD_UNITS = frozenset(u for u, k in _UNIT_KINDS.items() if k == _WORDS)
_HALF_AFTER = ("天", "小时", "钟头")  # 一天半, 两小时半

# Verbs whose lesson object was watched or critiqued, not taught, and the names
# that activity goes by in a standard (the first the standard knows is used).
_WATCHING = ("听课", "观课", "听评课")
_CRITIQUING = ("评课", "议课", "点评")
# What a watched lesson may be besides its name: 听了两节数学课, 王老师的课.
_SUBJECTS = ("语文|数学|英语|科学|物理|化学|生物|历史|地理|政治|道法|道德与法治|品德"
             "|音乐|美术|体育|信息|信息技术|综合实践|劳动|心理|书法|思政")  # fmt: skip
_LESSON_VERBS = {
    "旁听": _WATCHING, "聆听": _WATCHING, "观摩": _WATCHING, "观看": _WATCHING,
    "听": _WATCHING, "观": _WATCHING, "看": _WATCHING,
    "点评": _CRITIQUING, "评": _CRITIQUING, "议": _CRITIQUING,
}  # fmt: skip

# Characters input methods put for a name's character (same sound). Names of
# two or three characters are read through this table only: any other change
# is too likely another word (基本上 is not 基本功).
_SOUND_ALIKE = {
    "课": "客刻克科棵颗", "文": "问闻纹", "论": "轮伦仑", "题": "体提替",
    "评": "平凭苹瓶", "听": "厅", "议": "意义异", "思": "斯丝司私", "案": "按安暗",
    "例": "利力立丽厉", "教": "叫较", "座": "坐做作", "修": "休秀", "著": "住注助",
    "告": "靠搞", "笔": "比币必", "随": "岁虽", "记": "纪计济", "书": "输树叔舒",
    "证": "正政整", "件": "见建健", "博": "薄搏伯", "叙": "续序絮", "事": "式视试",
    "磨": "摸模末", "赛": "塞", "备": "被背倍贝", "集": "及急即", "对": "队兑",
    "培": "陪赔配", "训": "讯迅询", "材": "才财采", "岗": "港刚钢", "摘": "窄宅",
    "功": "工公攻宫", "基": "机鸡击", "开": "凯", "示": "是式", "范": "饭犯泛",
    "展": "战占", "讨": "套", "究": "就纠", "摩": "魔模", "稿": "搞高", "导": "到倒",
    "感": "赶敢", "报": "抱暴", "质": "治制", "像": "象向项", "录": "路陆",
    "流": "留刘", "收": "手首", "竞": "竟敬静",
}  # fmt: skip
# What may stand right before a two-character slip: a word boundary, not a word.
_SLIP_LEADS = frozenset(" .0123456789了篇份个项本节次的写交做是有")
# Endings too common in everyday talk to read as "one of these items".
_TOO_GENERIC = {"活动", "学习", "研修", "成果"}

# --- patterns -------------------------------------------------------------------

_NUM = NUMBER_PATTERN
_INT = r"\d+|[零〇一二两俩三四五六七八九十百千]+"
_MONTH = r"1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九]"
_DAY = r"3[01]|[12]\d|0?[1-9]|[一二三]?十[一二三四五六七八九]?|[一二三四五六七八九]"
_UNIT_ALT = "|".join(sorted(_UNIT_KINDS, key=len, reverse=True))
_LEVEL_ALT = "|".join(sorted(_LEVEL_WORDS, key=len, reverse=True))
_ROLE_ALT = "|".join(sorted(_ROLE_WORDS, key=len, reverse=True))
_PLACE = rf"(?:{_LEVEL_ALT}|[国省市县区镇](?:{_OFFICES})?)"
# 县里组织的, 由县教研室组织: the place organised it, not the teacher.
_ORGANISED = r"\s*(?:统一)?(?:组织|举办|主办|承办|牵头)"
_CJK_WORD = r"(?:(?![一二三四五六七八九十两特优获奖发上])[\u4e00-\u9fff])"

_NUMERALS = "零〇一二两俩三四五六七八九十百千"
_DIGITS = "0123456789"
_LEVEL_STARTS = "".join({w[0] for w in _LEVEL_WORDS})
_AMOUNT_UNITS = "|".join(
    sorted([*_UNIT_KINDS, "分钟", "星期", "礼拜", "周(?![一二三四五六日天])", "月",
            "年级", "年", "岁", "人", "名", "位", "班", "页", "元", "块", "号", "楼",
            "分", "点", "度", "米", "公里", "届", "级"], key=len, reverse=True)
)  # fmt: skip

# Every qualifier in one pass: (kind, characters it can start with, pattern).
# At one position the first alternative wins.
_SCAN_TABLE = (
    ("topic", "《", r"《[^》]{1,60}》"),
    ("ymd", _DIGITS, r"\d{4}\s*[年./-]\s*\d{1,2}\s*[月./-]\s*\d{1,2}[日号]?"),
    ("md", "去今前" + _DIGITS + _NUMERALS,  # 9月3小时 is September's 3 hours
     rf"(?:去年|今年|前年)?(?:{_MONTH})月(?:{_DAY})"
     rf"(?:[日号]|(?!\d|{_AMOUNT_UNITS}))"),
    ("slash", _DIGITS,
     r"(?<![\d/.])(?:1[0-2]|0?[1-9])/(?:3[01]|[12]\d|0?[1-9])(?![\d/])"),
    ("month", "去今前" + _DIGITS + _NUMERALS,
     rf"(?:去年|今年|前年)?(?:{_MONTH})月份?"),
    ("relday", "大前昨今明后", r"大前天|前天|昨天|昨日|今天|今日|明天|明日|大后天|后天"),
    ("week", "上这本下周星礼",
     r"(?<!每)(?:上上|上|这|本|下)?(?:周|星期|礼拜)[一二三四五六日天]"),
    ("ahead", "下明", r"下周|下星期|下礼拜|下个月|下月|明年|下学期|下次"),
    ("lastmonth", "上", r"上个月|上月"),
    ("lastweek", "上", r"上周|上星期|上礼拜"),
    ("year", "去前", r"去年|前年"),
    ("unpublished", "未没", r"未发表|没发表|没有发表|未刊发|没有刊发|未见刊|没见刊"),
    ("published", "发刊登见", r"发表|刊发|刊登|见刊|登载"),
    ("above", "国省市县区镇校", r"(?:国家|[国省市县区镇校])级?(?:及|或)?以上"),
    ("organiser", _LEVEL_STARTS + "国省市县区镇由",
     rf"由\s*{_PLACE}{_ORGANISED}|{_PLACE}{_ORGANISED}(?=的)"),
    ("office", "国省市县区镇", rf"[国省市县区镇](?:{_OFFICES})"),
    ("level", _LEVEL_STARTS, _LEVEL_ALT),
    ("levelmark", "国省市县区镇校", r"[国省市县区镇校]级?(?=里|[特一二三]等|优秀|发表|获)"),
    ("levelchar", "国省市县区镇校", rf"(?<![^\s在去到])[国省市县区镇校](?!{_CJK_WORD})"),
    ("grade", "特一二三优", r"(?:特等|一等|二等|三等)奖?|优秀奖"),
    ("result", "".join({r[0] for r in _RESULTS}), "|".join(_RESULTS)),
    ("letter", "abcd", r"(?<![a-z])[abcd]\s*级"),  # 技能检测 B级
    ("attributive", "参组主", r"(?:参加|参与|参训|组织|主持)的(?=[\u4e00-\u9fff])"),
    ("role", "".join({w[0] for w in _ROLE_WORDS}), _ROLE_ALT),
    ("perrate", "每", rf"每个?(?:周|天|日|月|学期|次|场|节|晚|个?晚上|期|回|讲|人|篇)?"
                     rf"\s*(?:{_NUM})\s*个?\s*(?:分钟|{_UNIT_ALT})"),
    ("total", "共一总合累", rf"(?:共计|一共|总共|合计|累计|总计|共)(?:是|有|计|约)?\s*"
                           rf"(?:{_NUM})\s*(?:多|余)?\s*个?\s*(?:分钟|{_UNIT_ALT})半?"),
    ("ordinal", "第", rf"第\s*(?:{_NUM})"),
    ("halfdays", _DIGITS + _NUMERALS + "半", rf"(?:(?:{_INT})\s*个?\s*)?半天"),
    ("amount", _DIGITS + _NUMERALS + "半",
     rf"(?:{_NUM})\s*(?:多|余|来)?\s*个?\s*(?:{_AMOUNT_UNITS})半?"),
    ("times", "x×*", r"[x×*]\s*\d+(?:\.\d+)?"),
    # a number with no measure word; a longer one is a year, a code or a phone
    ("bare", _DIGITS, r"(?<![\d.])\d{1,3}(?:\.\d+)?(?![\d.])"),
    ("code", _DIGITS, r"\d{4,}"),
)  # fmt: skip
_SCAN_PATTERN = "|".join(f"(?P<{kind}>{pattern})" for kind, _, pattern in _SCAN_TABLE)
_SCAN_STARTS = "".join(sorted({c for _, starts, _ in _SCAN_TABLE for c in starts}))
# Only positions that can start an alternative are tried: several times faster.
_SCAN_RE = re.compile(rf"(?=[{re.escape(_SCAN_STARTS)}])(?:{_SCAN_PATTERN})")
_AMOUNT_RE = re.compile(
    rf"(?P<n>{_NUM})\s*(?:多|余|来)?\s*个?\s*(?P<u>{_AMOUNT_UNITS})(?P<half>半)?$"
)
_VAGUE_UNITS = frozenset(("星期", "礼拜", "周", "月"))
_TOTAL_HEAD_RE = re.compile(r"^(?:共计|一共|总共|合计|累计|总计|共)(?:是|有|计|约)?\s*")
_SEPARATORS_RE = re.compile(r"([，,；;。!！?？\n、：:]+)")
# Separators of list entries: what they part are separate claims.
_LIST_SEPARATORS = frozenset("；;、\n")
# 都是校级 / 均为县级: said of every claim before it.
_ALL_RE = re.compile(r"都|均|全部")
# 另一篇 / 另外: another one, which shares nothing with the one before.
_ANOTHER_RE = re.compile(r"另")
# 1、 2. ① at the start of a line or after a separator: a list mark, not a count.
_LIST_MARK_RE = re.compile(r"(?:^|(?<=[\s,;。、:]))\d{1,2}\s*[、.)](?![\d.])")
_LEADING_DOT_DATE_RE = re.compile(
    r"^\s*(\d{1,2})\.(\d{1,2})(?=\s|[^\d.\s小学课天节次篇份个项])"
)
_PRODUCT_RE = re.compile(
    rf"(?P<n1>{_NUM})\s*(?P<u1>个?(?:场|次|天|晚上|期|回|节|讲))(?P<mid>[^\d]{{0,6}}?)"
    rf"每(?:场|次|天|晚|个晚上|期|回|节|讲)?\s*(?P<n2>{_NUM})\s*个?\s*"
    r"(?P<u>小时|学时|课时|分钟)"
)
_DOING = r"(?=去|上|参加|参与|交|写|做|讲|听|评|开|录|报|完成|准备)"
# A clause that asks about the rules, plans, or says it was not done: no claim.
_NOT_DONE_RE = re.compile(
    r"什么|怎么|如何|哪些|哪个|为什么|请问|是不是|是否|需要|多少"
    r"|几\s*(?:节|次|篇|份|个|项|场|堂|天|小时)"
    rf"|(?:(?<![需主重只想])要|将要|即将|准备|打算){_DOING}"
    rf"|(?:没有|没|未|不){_DOING}"
)
_OFFICE_RE = re.compile(_OFFICES)
_JOINS_RE = re.compile(r"和|(?<![参给])与|及|跟|、|还有|另外|并且|同时")


# --- results --------------------------------------------------------------------


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


# --- normalizing ------------------------------------------------------------------


class _NormalTable(dict):
    """Code point → its normal text, worked out once per character ever seen."""

    def __missing__(self, code: int) -> str:
        kept = []
        for char in unicodedata.normalize("NFKC", chr(code)).lower():
            category = unicodedata.category(char)
            if char in "×*《》\n" or category[0] not in "SC":
                kept.append(char)
            else:
                kept.append(" ")
        value = self[code] = "".join(kept)
        return value


_NORMAL = _NormalTable()


def normalize(text: str) -> str:
    """Full-width to half-width, lower case, emoji and symbols to spaces."""
    return text.translate(_NORMAL)


# --- qualifiers -------------------------------------------------------------------


@dataclass(frozen=True)
class _Quantity:
    value: Fraction
    unit: str  # as written; "" for ×3 or a bare number
    kind: int  # _HOURS … _VAGUE
    total: bool = False  # 共10节
    each: bool = False  # 各一次


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
        if word[:length] in _LEVEL_WORDS:
            return _LEVEL_WORDS[word[:length]]
    return _LEVEL_CHARS[word[0]]


_QUANTITY_KINDS = frozenset(("amount", "total", "halfdays", "times", "bare"))
_DATE_KINDS = frozenset(("ymd", "md", "slash", "month", "relday", "week", "ahead",
                         "lastweek", "lastmonth", "year"))  # fmt: skip
_FACT_READERS = {
    "topic": lambda w: ("topic", w[1:-1].strip()),
    "unpublished": lambda w: ("published", False),
    "published": lambda w: ("published", True),
    "above": lambda w: (None, None),  # 县级以上 names no one level: ask
    "organiser": lambda w: ("level", _level_of_place(w)),  # 县里组织的: not the role
    "office": lambda w: ("level", _LEVEL_CHARS[w[0]]),
    "level": lambda w: ("level", _LEVEL_WORDS[w]),
    "levelmark": lambda w: ("level", _LEVEL_CHARS[w[0]]),
    "levelchar": lambda w: ("level", _LEVEL_CHARS[w[0]]),
    "grade": lambda w: ("grade", w if w.endswith("奖") else w + "奖"),
    "result": lambda w: ("result", w),
    "letter": lambda w: ("result", w[0].upper() + "级"),
    "role": lambda w: ("role", _ROLE_WORDS[w]),
    "perrate": lambda w: (None, None),  # 每周2节: a rate, not the count
    "ordinal": lambda w: (None, None),  # 第三单元
    "attributive": lambda w: (None, None),  # 参加的老师30人: not the teacher's role
    "code": lambda w: (None, None),  # 证书编号2026123
}


@lru_cache(maxsize=4096)
def _quantity(kind: str, word: str) -> _Quantity | None:
    if kind == "times":
        return _Quantity(Fraction(word[1:].strip()), "", _COUNT)
    if kind == "bare":
        return _Quantity(Fraction(word), "", _BARE)
    if kind == "halfdays":
        number = parse_amount(word[:-2].rstrip(" 个")) if len(word) > 2 else 1
        return None if number is None else _Quantity(Fraction(number), "半天", _DAYS)
    total = kind == "total"
    if total:
        word = _TOTAL_HEAD_RE.sub("", word)
    parts = _AMOUNT_RE.match(word)
    if parts is None:
        return None
    number, unit = parse_amount(parts.group("n")), parts.group("u")
    if unit in _VAGUE_UNITS:  # 一周, 两个月: a span of time no item converts
        return _Quantity(Fraction(1), unit, _VAGUE)
    if number is None or (unit not in _UNIT_KINDS and unit != "分钟"):
        return None  # 85分, 三年级, 30人: not a count
    if parts.group("half") and unit in _HALF_AFTER:
        number += Fraction(1, 2)
    if unit == "分钟":  # minutes are read as hours: 90分钟 = 1.5小时
        number, unit = number / 60, "小时"
    return _Quantity(number, unit, _UNIT_KINDS[unit], total)


def _choose(quantities, accepts: frozenset | None) -> _Quantity | None:
    """The quantity that counts a claim, given the measure words its item accepts.

    A total beats a part; a unit the item accepts beats one it does not; hours
    beat days (a certificate's hours win) and a time beats a count (一次，两小时).
    Times and word counts never count an item that measures neither.
    """
    if accepts is None:
        usable = [q for q in quantities if q.kind != _VAGUE]
    else:
        timed, worded = accepts & _DURATION_UNITS, accepts & _WORD_UNITS
        usable = [
            q for q in quantities
            if (timed or q.kind not in (_HOURS, _DAYS, _VAGUE))
            and (worded or q.kind != _WORDS)
        ]  # fmt: skip
    if not usable:
        return None
    fits = accepts or frozenset()
    return max(usable, key=lambda q: (q.total, q.unit in fits, q.kind))


def _unreadable(quantities, accepts: frozenset, chosen: _Quantity | None) -> bool:
    """An item that counts time, told only in weeks or months (跟岗一周): no
    measure converts that, and a day's default would misrecord it."""
    if chosen is not None and chosen.kind in (_HOURS, _DAYS):
        return False
    return bool(accepts & _DURATION_UNITS) and any(q.kind == _VAGUE for q in quantities)


def read_qualifiers(text: str) -> dict:
    """Level, grade, role, published, result, topic and quantity in a piece of text."""
    said = _scan(text)
    facts = dict(said.facts)
    quantity = _choose(said.quantities, None)
    if quantity is not None:
        facts["quantity"] = quantity.value
        if quantity.unit:
            facts["unit"] = quantity.unit
    return facts


# --- dates ------------------------------------------------------------------------

_RELATIVE_DAYS = {"大前天": -3, "前天": -2, "昨天": -1, "昨日": -1, "今天": 0, "今日": 0,
                  "明天": 1, "明日": 1, "后天": 2, "大后天": 3}  # fmt: skip
_WEEK_SHIFT = {"上上": -14, "上": -7, "这": 0, "本": 0, "下": 7}
_WEEKDAYS = "一二三四五六日天"
_DIGIT_RE = re.compile(r"\d+|[零〇一二两三四五六七八九十]+")


class _Calendar:
    """Dates as teachers write them, read against today and the standard's period.

    A parser keeps a calendar for each day it reads messages on; it remembers
    the date words it has read (teachers repeat 昨天, 上周三, 10月18日).
    """

    _MEMORY = 2048

    def __init__(self, standard: Standard, today: date):
        self.standard = standard
        self.today = today
        self._span = None
        self._read: dict[tuple[str, str], date | None] = {}

    def day(self, kind: str, word: str) -> date | None:
        """The day a date word names; a month or year wholly outside the period
        gives its last day (so the claim is refused), one inside gives None."""
        key = (kind, word)
        if key not in self._read:
            if len(self._read) >= self._MEMORY:
                self._read.clear()
            self._read[key] = self._day(kind, word)
        return self._read[key]

    def _day(self, kind: str, word: str) -> date | None:
        today = self.today
        if kind == "relday":
            return today + timedelta(days=_RELATIVE_DAYS[word])
        if kind == "ahead":
            return today + timedelta(days=1)  # some time ahead: not done yet
        if kind == "week":
            return self._weekday(word)
        if kind == "lastweek":
            monday = today - timedelta(days=today.weekday() + 7)
            return self._outside(monday, monday + timedelta(days=6))
        numbers = [parse_number(n) for n in _DIGIT_RE.findall(word)]
        year = self._year(word)
        if kind == "ymd":
            return _date(int(numbers[0]), int(numbers[1]), int(numbers[2]))
        if kind in ("md", "slash"):
            return self._month_day(year, int(numbers[0]), int(numbers[1]))
        if kind == "month":
            return self._month(year, int(numbers[0]))
        if kind == "lastmonth":
            first = today.replace(day=1) - timedelta(days=1)
            return self._month(first.year, first.month)
        return self._outside(date(year, 1, 1), date(year, 12, 31))  # 去年

    def _year(self, word: str) -> int | None:
        shift = {"去年": 1, "前年": 2, "今年": 0}.get(word[:2])
        return None if shift is None else self.today.year - shift

    def _weekday(self, word: str) -> date:
        shift = next((v for k, v in _WEEK_SHIFT.items() if word.startswith(k)), None)
        monday = self.today - timedelta(days=self.today.weekday())
        day = monday + timedelta(days=(shift or 0) + min(_WEEKDAYS.index(word[-1]), 6))
        if shift is None and day > self.today:  # a bare 周三 already passed
            day -= timedelta(days=7)
        return day

    def _month_day(self, year: int | None, month: int, day: int) -> date | None:
        """With no year, the most recent such date (teachers record what happened)."""
        if year is not None:
            return _date(year, month, day)
        for year in (self.today.year, self.today.year - 1):
            candidate = _date(year, month, day)
            if candidate is None or candidate <= self.today:
                return candidate
        return None

    def _month(self, year: int | None, month: int) -> date | None:
        if not 1 <= month <= 12:
            return None
        if year is None:
            year = self.today.year - (month > self.today.month)
        first = date(year, month, 1)
        return self._outside(first, first.replace(day=monthrange(year, month)[1]))

    def _outside(self, first: date, last: date) -> date | None:
        if self._span is None:
            self._span = self.standard.period.span_of(self.today)
        if last < self._span.start or first > self._span.end:
            return last
        return None


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _leading_dot_date(text: str) -> str:
    """3.5 at the very start is 3月5日, not a quantity."""
    match = _LEADING_DOT_DATE_RE.match(text)
    if match is None:
        return text
    month, day = int(match.group(1)), int(match.group(2))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return text
    return f"{month}月{day}日 " + text[match.end() :]


def _multiply_products(text: str) -> str:
    """两场，每场一个半小时 → 两场，3小时: the sessions and their total duration.

    The count stays for items that count sessions (听课二十节，每节四十分钟).
    """

    def total(match: re.Match) -> str:
        first, second = parse_amount(match.group("n1")), parse_amount(match.group("n2"))
        if first is None or second is None:
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
                self._names.setdefault(
                    normalize(name.text), (item.id, dict(name.implies))
                )
        ordered = sorted(self._names, key=len, reverse=True)
        self._name_re = re.compile("|".join(re.escape(n) for n in ordered))
        self._longer = _longer_names(self._names)
        self._compounds = _level_compounds(self._names)
        self._generic = _shared_endings(self._names)
        generic = sorted(self._generic, key=len, reverse=True)
        self._generic_re = re.compile("|".join(re.escape(g) for g in generic) or "(?!)")
        self._accepts = {
            item.id: frozenset({item.measure, *(u for u, _ in item.convert)})
            for item in standard.items
        }
        self._slips = _slip_index(self._names)
        self._slip_starts = re.compile(f"[{re.escape(''.join(self._slips))}]")
        self._verb_re, self._verb_names = self._lesson_verbs()
        self._calendars: dict[date, _Calendar] = {}

    def parse(self, text: str, today: date) -> Parse:
        """The claims a message makes, in message order, as read on `today`."""
        norm = _LIST_MARK_RE.sub(" ", normalize(text))
        norm = _leading_dot_date(norm)
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

    def _calendar(self, today: date) -> _Calendar:
        calendar = self._calendars.get(today)
        if calendar is None:
            if len(self._calendars) >= 4:  # old days are not asked about again
                self._calendars.clear()
            calendar = self._calendars[today] = _Calendar(self.standard, today)
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
                if _is_slip(clause, start, window, name):
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
        verbs = sorted(_LESSON_VERBS, key=len, reverse=True)
        targets = {
            verb: next((n for n in family if n in self._names), None)
            for verb, family in _LESSON_VERBS.items()
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
        count = rf"(?:(?:{_NUM}|几)\s*(?:多|余)?\s*个?\s*(?:节|堂|次|场)?)"
        level = rf"(?:{_LEVEL_ALT}|[国省市县区镇校]级?)"
        whose = r"(?:[\u4e00-\u9fff]{1,3}老师的)"
        mid = rf"\s*{whose}?\s*{count}?\s*(?:{level}\s*)?的?\s*(?:{_SUBJECTS})?\s*"
        pattern = (
            rf"(?P<v>{verb_alt})(?P<a>了|过|完)?(?P<m>{mid})(?P<o>{lesson_alt})"
            rf"|(?P<v2>{verb_alt})(?P<a2>了|过)(?P<m2>\s*(?:{_NUM})\s*(?:节|堂))"
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


# --- the standard's names, worked out once ------------------------------------


def _longer_names(names: dict) -> dict[str, list[tuple[str, int]]]:
    """For each name, the longer names of the same item that contain it."""
    longer: dict[str, list[tuple[str, int]]] = {}
    for short, (item, _) in names.items():
        for name, (owner, _) in names.items():
            if owner == item and len(name) > len(short) and short in name:
                longer.setdefault(short, []).append((name, name.index(short)))
    return longer


def _level_compounds(names: dict) -> dict[tuple[str, str], tuple[str, dict]]:
    """(level, name) → the item whose own name is that level word + name
    (片区 + 教研活动 → 片区教研活动), when it is another item than the name's."""
    compounds = {}
    for name, (item, implied) in names.items():
        for word, level in _LEVEL_WORDS.items():
            rest = name[len(word) :]
            if name.startswith(word) and rest in names and names[rest][0] != item:
                compounds[(level, rest)] = (item, dict(implied))
    return compounds


def _shared_endings(names: dict) -> dict[str, tuple[str, ...]]:
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


def _slip_index(names: dict) -> dict[str, list[tuple[str, str, int]]]:
    """First character → (fragment, name, offset of the fragment in the name).

    A name of three or more characters with one character changed still has
    one half intact; a two-character name is found through its sound-alikes.
    """
    index: dict[str, list[tuple[str, str, int]]] = {}

    def add(fragment: str, name: str, offset: int) -> None:
        index.setdefault(fragment[0], []).append((fragment, name, offset))

    for name in names:
        if len(name) == 2:  # no half of it is distinctive: list its sound-alikes
            for i, meant in enumerate(name):
                for typed in _SOUND_ALIKE.get(meant, ""):
                    variant = name[:i] + typed + name[i + 1 :]
                    if variant not in names:
                        add(variant, name, 0)
        elif len(name) >= 3:
            half = len(name) // 2
            add(name[:half], name, 0)
            add(name[half:], name, half)
    return index


def _is_slip(clause: str, start: int, window: str, name: str) -> bool:
    """One character changed: any character in a long name; in a short one a
    same-sound character, and in a two-character one only at a word boundary."""
    diffs = [(a, b) for a, b in zip(window, name, strict=True) if a != b]
    if len(diffs) != 1 or not ("\u4e00" <= diffs[0][0] <= "\u9fff"):
        return False
    if len(name) > 3:
        return True
    typed, meant = diffs[0]
    if typed not in _SOUND_ALIKE.get(meant, ""):
        return False
    return len(name) == 3 or start == 0 or clause[start - 1] in _SLIP_LEADS


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
    leave of it stays a claim of its own (听课十五节，其中县级3节).
    """

    def __init__(self, accepts: dict[str, frozenset], calendar: _Calendar):
        self.accepts = accepts  # item id → the measure words it counts in
        self.calendar = calendar
        self.drafts: list[_Draft] = []
        self.stray = _Said()
        self._base: _Draft | None = None
        self._parts: list[_Draft] = []  # the parts a total was broken into
        self._day: date | None = None
        self._clause = ""
        self._listed = False  # this clause follows a list separator
        self._not_done = False
        self._first_in_clause = True

    def start_clause(self, clause: str, before: str) -> None:
        self._clause = clause
        self._listed = any(c in _LIST_SEPARATORS for c in before)
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
        for part in said.more:
            self._qualifiers(part)

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
        for part in said.parts():
            self._qualifiers(part)

    def _qualifiers(self, said: _Said) -> None:
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
            return
        splits = (
            not self._parts
            and any(q.kind == _COUNT for q in said.quantities)
            and any(q.kind == _COUNT for q in base.quantities)
            and any(k not in base.facts for k in said.facts)
        )
        if splits:  # the total is the sum of its parts
            self.drafts[-1] = self._part(said)
            self._parts = [self.drafts[-1]]
        elif last.repeats(said):
            self.drafts.append(self._part(said))
            if self._parts:
                self._parts.append(self.drafts[-1])
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
        today = self.calendar.today
        drafts = [
            d
            for d in self.drafts
            if not d.not_done and (d.day is None or d.day <= today)
        ]
        claims = tuple(c for c in map(self._claim, drafts) if c is not None)
        stray = dict(self.stray.facts)
        quantity = _choose(self.stray.quantities, None)
        if quantity is not None:
            stray["quantity"] = quantity.value
            if quantity.unit:
                stray["unit"] = quantity.unit
        return Parse(claims, stray)

    def _claim(self, draft: _Draft) -> ParsedClaim | None:
        values = {**draft.implied, **draft.facts}
        accepts = self.accepts[draft.item]
        quantity = _choose(draft.quantities, accepts)
        if _unreadable(draft.quantities, accepts, quantity):
            return None
        if quantity is not None:
            values["quantity"] = quantity.value
            if quantity.unit:
                values["unit"] = quantity.unit
        if draft.day is not None:
            values["day"] = draft.day
        facts = Facts(item=draft.item, **values)
        return ParsedClaim(facts, draft.source, draft.name, frozenset(values),
                           draft.corrected, draft.candidates)  # fmt: skip
