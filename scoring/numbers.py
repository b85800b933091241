"""Exact numbers: Chinese numerals in, exact fractions through, short decimals out.

A number is read exactly or not at all: text that only looks like a number
(1e3, 十几, 三分之一, a sign) gives None, never a nearby number.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4,
           "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip
_UNITS = {"十": 10, "百": 100, "千": 1000}
_MYRIADS = {"万": 10_000, "亿": 100_000_000}
_CHINESE = "零〇一二两俩三四五六七八九十百千"

# A number as teachers type it: 3, 2.5, 1,000, 10万, 十八, 十万八千, 两, 一个半, 半.
# 万 before 字 is the unit 万字 (两万字 is 2 万字), not part of the number.
NUMBER_PATTERN = (
    r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[百千万亿](?!字))?(?:个半)?"
    rf"|[{_CHINESE}]+(?:[万亿](?!字)[{_CHINESE}]*)*(?:个半|半)?"
    r"|半"
)
_NUMBER_RE = re.compile(rf"(?:{NUMBER_PATTERN})")
_ARABIC_RE = re.compile(r"([\d,]+(?:\.\d+)?)([百千万亿])?(个半)?")
# A range written out (3-5, 3~5, 三到五): read as its low end, like 五六.
_RANGE_RE = re.compile(r"(.+?)\s*(?:-|~|到|至)\s*(.+)")
# Longer than this is no amount anyone did; reading it would only cost time
# (and int() refuses past 4300 digits).
_LONGEST = 40


def to_fraction(value) -> Fraction:
    """An exact fraction from an int, a TOML float (by its shortest text) or text."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, float):
        return Fraction(repr(value))
    return Fraction(value)


def parse_number(text: str) -> Fraction | None:
    """Read a number written in Arabic or Chinese numerals; None if it is not
    exactly one (or is absurdly long)."""
    text = text.strip()
    if not text or len(text) > _LONGEST or not _NUMBER_RE.fullmatch(text):
        return None
    if text[0].isdigit():
        return _arabic(text)
    if text == "半":
        return Fraction(1, 2)
    half = Fraction(0)
    for suffix in ("个半", "半"):
        if text.endswith(suffix):
            text, half = text[: -len(suffix)], Fraction(1, 2)
            break
    whole = _chinese_integer(text)
    return None if whole is None else whole + half


def parse_amount(text: str) -> Fraction | None:
    """A counted amount: a number, or the low end of a range (五六节 → 5,
    七八百 → 700, 3-5节 → 3); None for a range that does not go up (5-3).

    The low end never claims more than the teacher said.
    """
    number = parse_number(text)
    if number is not None:
        return number
    text = text.strip()
    if len(text) > _LONGEST:
        return None
    written = _RANGE_RE.fullmatch(text)
    if written is not None:
        low, high = parse_number(written.group(1)), parse_number(written.group(2))
        return low if low is not None and high is not None and low < high else None
    for i in range(len(text) - 1):
        low, high = _DIGITS.get(text[i]), _DIGITS.get(text[i + 1])
        if low is not None and high == low + 1:
            return parse_number(text[: i + 1] + text[i + 2 :])
    return None


def _arabic(text: str) -> Fraction:
    digits, myriad, half = _ARABIC_RE.fullmatch(text).groups()
    value = Fraction(digits.replace(",", ""))
    if myriad:
        value *= _UNITS.get(myriad) or _MYRIADS[myriad]
    return value + Fraction(1, 2) if half else value


def _chinese_integer(text: str) -> int | None:
    """十万八千 → 108000, 一百零五 → 105; 两千五 → 2500 (a last digit right after
    a unit counts in the next unit down); None for 一二, 十十, 万 alone."""
    total = section = 0
    digit: int | None = None
    unit = big = 10**12  # the last unit used; each must be smaller than the one before
    gap = False  # a 零 since the last unit: 一百零五 is 105, not 150
    for char in text:
        if char in "零〇":
            if digit is not None or not (total or section):
                return None if digit is not None or len(text) > 1 else 0
            gap = True
        elif char in _DIGITS:
            if digit is not None:  # 一二 is not a number
                return None
            digit = _DIGITS[char]
        elif char in _UNITS:
            value = _UNITS[char]
            if value >= unit or (digit is None and (value != 10 or section or total)):
                return None
            section += (1 if digit is None else digit) * value
            digit, unit, gap = None, value, False
        else:
            value = _MYRIADS[char]
            section += digit or 0
            if value >= big or not section:
                return None
            total += section * value
            section, digit, unit, big, gap = 0, None, 10**12, value, False
    if digit is not None:
        last = unit if unit < 10**12 else (big if big < 10**12 else 10)
        section += digit if gap or last == 10 else digit * last // 10
    return total + section


def plain(value: Fraction) -> str:
    """A value as plain text for re-reading: 3/2 → '1.5', 3 → '3'; a value with
    no exact decimal (1/3) as '1/3', which reads as no number at all."""
    if value.denominator == 1:
        return _integer_text(value.numerator)
    places = _decimal_places(value.denominator)
    if places is None:
        return f"{_integer_text(value.numerator)}/{_integer_text(value.denominator)}"
    scaled = abs(value.numerator) * 10**places // value.denominator
    whole, part = divmod(scaled, 10**places)
    sign = "-" if value < 0 else ""
    return f"{sign}{_integer_text(whole)}.{part:0{places}d}"


def display(value: Fraction) -> str:
    """At most one decimal place, keeping a half: 2 → '2', 2.5 → '2.5', 2.45 →
    '2.5'. Never raises, however large the value."""
    tenths = _rounded(value, 10)
    whole, tenth = divmod(abs(tenths), 10)
    sign = "-" if tenths < 0 else ""
    text = sign + _integer_text(whole)
    return f"{text}.{tenth}" if tenth else text


def to_json_number(value: Fraction) -> int | float:
    """The shortest JSON number for an exact value: 2, 2.4 (never 2.4000000000000004)."""
    if value.denominator == 1:
        return int(value)
    rounded = Fraction(_rounded(value, 10_000), 10_000)
    try:
        return float(rounded)
    except OverflowError:  # beyond any float: the nearest whole number is exact enough
        return round(rounded)


def _rounded(value: Fraction, scale: int) -> int:
    """value × scale, rounded half away from zero."""
    magnitude = (2 * abs(value.numerator) * scale + value.denominator) // (
        2 * value.denominator
    )
    return -magnitude if value < 0 else magnitude


def _decimal_places(denominator: int) -> int | None:
    """The places a fraction with this denominator needs; None if no number will do."""
    twos = fives = 0
    while denominator % 2 == 0:
        denominator, twos = denominator // 2, twos + 1
    while denominator % 5 == 0:
        denominator, fives = denominator // 5, fives + 1
    return max(twos, fives) if denominator == 1 else None


def _integer_text(number: int) -> str:
    # Decimal has no limit on digits; str() of an int refuses past 4300.
    return str(number) if number.bit_length() < 10_000 else format(Decimal(number), "f")
