"""Roster import: a district admin's spreadsheet (CSV or XLSX) in, people on file.

Columns: 姓名, 学校, 中心校, 角色, 工号, and optionally 标准 (the school's
standard id). Importing the same file twice changes nothing.

A 标准 that would move a school with claims to another standard is refused
unless the admin says so (`switch_standard`): its teachers' claims stay under
the old standard, out of their 查询, 明细 and reminders.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from storage.people import ROLES, RosterRow, StandardSwitch
from storage.store import Store

REQUIRED = ("姓名", "学校", "中心校", "角色", "工号")
OPTIONAL = ("标准",)
# Role words seen on school rosters, mapped to the bot's four roles.
ROLE_WORDS = {
    "教师": "教师", "老师": "教师", "teacher": "教师",
    "学校核查": "学校核查", "核查": "学校核查", "教导主任": "学校核查",
    "教科室主任": "学校核查", "学校审核": "学校核查",
    "中心校审定": "中心校审定", "审定": "中心校审定", "中心校": "中心校审定",
    "管理员": "管理员", "admin": "管理员",
}  # fmt: skip


class RosterError(Exception):
    """The file cannot be read as a roster at all (not a row-level problem)."""


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    # (row number, reason code, details); the wording is in templates/roster_report.j2
    rejected: list[tuple[int, str, dict]] = field(default_factory=list)
    # Schools moved to another standard although they had claims (switch_standard).
    switched: list[StandardSwitch] = field(default_factory=list)


def read_rows(path: Path) -> list[dict]:
    """The roster's rows as dicts keyed by header; header problems raise RosterError."""
    if not path.exists():
        raise RosterError(f"{path}: file not found")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        table = _xlsx_rows(path)
    elif path.suffix.lower() in (".csv", ".txt"):
        table = _csv_rows(path)
    else:
        raise RosterError(f"{path}: expected a .csv or .xlsx file")
    if not table:
        raise RosterError(f"{path}: the file is empty")
    header = [str(c or "").strip() for c in table[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise RosterError(f"{path}: missing column(s) {', '.join(missing)}; "
                          f"expected {', '.join(REQUIRED)} (and optionally 标准)")  # fmt: skip
    return [dict(zip(header, row, strict=False)) for row in table[1:]]


def _csv_rows(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    # Excel in China saves CSV as GBK unless told otherwise.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise RosterError(f"{path}: not UTF-8 or GBK text")
    return [row for row in csv.reader(io.StringIO(text)) if any(c.strip() for c in row)]


def _xlsx_rows(path: Path) -> list[list]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise RosterError(
            f"{path}: not a readable .xlsx file ({type(exc).__name__})"
        ) from None
    sheet = book.worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    book.close()
    return [r for r in rows if any(c not in (None, "") for c in r)]


def import_roster(
    store: Store, path: Path, standards: set[str], *, switch_standard: bool = False
) -> ImportReport:
    """Add and update people from a roster file, in one transaction.

    A row that would move a school with claims to another standard is
    rejected, unless `switch_standard` accepts that those claims stay behind.
    """
    report = ImportReport()
    seen: dict[tuple[str, str, str], int] = {}
    school_standard: dict[tuple[str, str], tuple[str, int]] = {}
    # Looked up before the school's first row with a 标准 is written.
    switches: dict[tuple[str, str], StandardSwitch | None] = {}
    with store.transaction():
        for number, raw in enumerate(read_rows(path), start=2):
            row, reason = check_row(raw, standards)
            key = (row.town, row.school, row.staff_no) if row else None
            if row and key in seen:
                reason = ("duplicate", {"row": row, "first": seen[key]})
            elif row and row.standard:
                # A school has one standard: a second, different one is a slip.
                first = school_standard.setdefault(
                    (row.town, row.school), (row.standard, number)
                )
                if first[0] != row.standard:
                    reason = (
                        "conflict",
                        {"row": row, "first": first[1], "standard": first[0]},
                    )
                else:
                    reason = _switch(store, row, switches, switch_standard, report)
            if reason:
                report.rejected.append((number, *reason))
                continue
            seen[key] = number
            outcome = store.upsert_roster_row(row)
            setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def _switch(
    store: Store,
    row: RosterRow,
    switches: dict[tuple[str, str], StandardSwitch | None],
    accepted: bool,
    report: ImportReport,
) -> tuple[str, dict] | None:
    """Why a row may not move its school to another standard, if it may not."""
    place = (row.town, row.school)
    if place not in switches:
        switches[place] = store.standard_switch(row.town, row.school, row.standard)
        if switches[place] and accepted:
            report.switched.append(switches[place])
    switch = switches[place]
    if switch is None or accepted:
        return None
    return "switch", {"row": row, "switch": switch}


def check_row(raw: dict, standards: set[str]) -> tuple[RosterRow | None, tuple | None]:
    """A checked roster row, or why it is refused: (code, details)."""
    values = {k: _cell(raw.get(k)) for k in (*REQUIRED, *OPTIONAL)}
    empty = [k for k in REQUIRED if not values[k]]
    if empty:
        return None, ("missing", {"columns": empty})
    role = ROLE_WORDS.get(values["角色"].lower())
    if role not in ROLES:
        return None, ("role", {"value": values["角色"], "roles": ROLES})
    standard = values["标准"] or None
    if standard and standard not in standards:
        return None, ("standard", {"value": standard, "standards": sorted(standards)})
    row = RosterRow(values["姓名"], values["学校"], values["中心校"], role,
                    values["工号"], standard)  # fmt: skip
    return row, None


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a staff number typed as a number in Excel
    return str(value).strip()
