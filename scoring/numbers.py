"""Exact numbers: Chinese numerals in, exact fractions through, short decimals out."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4,
           "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip
_UNITS = {"十": 10, "百": 100, "千": 1000}

# A number as teachers type it: 3, 2.5, 十八, 二十五, 两, 一个半, 半.
NUMBER_PATTERN = r"\d+(?:\.\d+)?|[零〇一二两俩三四五六七八九十百千]+(?:个半|半)?|半"
_NUMBER_RE = re.compile(rf"^(?:{NUMBER_PATTERN})$")


def to_fraction(value) -> Fraction:
    """An exact fraction from an int, a TOML float (by its shortest text) or text."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, float):
        return Fraction(repr(value))
    return Fraction(value)


def parse_number(text: str) -> Fraction | None:
    """Read a number written in Arabic or Chinese numerals; None if it is not one."""
    text = text.strip()
    if not text or not _NUMBER_RE.match(text):
        return None
    if text[0].isdigit():
        return Fraction(text)
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
    """A counted amount: a number, or the low end of a range (五六节 → 5, 七八百 → 700).

    The low end never claims more than the teacher said.
    """
    number = parse_number(text)
    if number is not None:
        return number
    text = text.strip()
    for i in range(len(text) - 1):
        low, high = _DIGITS.get(text[i]), _DIGITS.get(text[i + 1])
        if low is not None and high == low + 1:
            return parse_number(text[: i + 1] + text[i + 2 :])
    return None


def plain(value: Fraction) -> str:
    """A value as plain decimal text for re-reading: 3/2 → '1.5', 3 → '3'."""
    if value.denominator == 1:
        return str(value.numerator)
    return format(_decimal(value).normalize(), "f")


def _chinese_integer(text: str) -> int | None:
    total, digit = 0, None
    for char in text:
        if char in "零〇" and total:  # 一百零五: the zero only marks a gap
            continue
        if char in _DIGITS:
            if digit is not None:  # 一二 is not a number
                return None
            digit = _DIGITS[char]
        elif char in _UNITS:
            total += (1 if digit is None else digit) * _UNITS[char]
            digit = None
        else:
            return None
    return total + (digit or 0)


def display(value: Fraction) -> str:
    """At most one decimal place, keeping a half: 2 → '2', 2.5 → '2.5', 2.4 → '2.4'."""
    rounded = _decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    text = format(rounded, "f")
    return text[:-2] if text.endswith(".0") else text


def to_json_number(value: Fraction) -> int | float:
    """The shortest JSON number for an exact value: 2, 2.4 (never 2.4000000000000004)."""
    if value.denominator == 1:
        return int(value)
    return float(_decimal(value).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def _decimal(value: Fraction) -> Decimal:
    return Decimal(value.numerator) / Decimal(value.denominator)
