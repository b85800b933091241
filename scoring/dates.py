"""Dates as teachers write them (昨天, 上周三, 10月18日, 3.5 at the start of a
message), read against the day a message arrives on and the standard's
period: `Calendar` turns a date word found by the scan into a day, and
`leading_dot_date` rewrites a leading 3.5 to 3月5日 before the scan.
"""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import date, timedelta

from scoring.numbers import parse_number
from scoring.standard import Standard

_RELATIVE_DAYS = {"大前天": -3, "前天": -2, "昨天": -1, "昨日": -1, "今天": 0, "今日": 0,
                  "明天": 1, "明日": 1, "后天": 2, "大后天": 3}  # fmt: skip
_WEEK_SHIFT = {"上上": -14, "上": -7, "这": 0, "本": 0, "下": 7}
_WEEKDAYS = "一二三四五六日天"
_DIGIT_RE = re.compile(r"\d+|[零〇一二两三四五六七八九十]+")
_LEADING_DOT_DATE_RE = re.compile(
    r"^\s*(\d{1,2})\.(\d{1,2})(?=\s|[^\d.\s小学课天节次篇份个项])"
)


class Calendar:
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


def leading_dot_date(text: str) -> str:
    """3.5 at the very start is 3月5日, not a quantity."""
    match = _LEADING_DOT_DATE_RE.match(text)
    if match is None:
        return text
    month, day = int(match.group(1)), int(match.group(2))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return text
    return f"{month}月{day}日 " + text[match.end() :]
