"""Broken standard files: each problem is reported with its place, all at once."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pytest

from bot.cli import main
from scoring.standard import (
    StandardError,
    build_standard,
    load_standard,
    load_standards,
)

VALID = """\
id = "check-me"
name = "测试标准"
version = "1"

[[target]]
id = "year"
hours = 10

[[category]]
id = "class"
name = "课堂教学"
cap = 5

[[item]]
id = "observe"
name = "听课"
category = "class"
measure = "节"
rate = 1
example = "听课 2节"
"""

# (what is wrong, text added to or replacing part of the valid file, what the problem says)
BROKEN = [
    ("group naming an unknown item",
     '[[group]]\nid = "g"\nitems = ["observe", "ghost"]\ncap = 4\n',
     "items names 'ghost', which is not an item"),
    ("a level without a rate",
     '[[item]]\nid = "lesson"\nname = "公开课"\nrates = [{ level = "县级", hours = 2 }]\n'
     'names = [{ name = "片区公开课", level = "片区" }]\n',
     "name 片区公开课 sets level 片区, but the rates only cover 县级"),
    ("a default without a rate",
     '[[item]]\nid = "talk"\nname = "讲座"\nrates = [{ role = "主讲", hours = 4 }]\n'
     'defaults = { role = "参加" }\n',
     "defaults sets role 参加, but the rates only cover 主讲"),
    ("two items answering to the same name",
     '[[item]]\nid = "critique"\nname = "评课"\nnames = ["听课"]\nrate = 1\n',
     "name '听课' is also a name of item observe"),
    ("a value of the wrong type", ("rate = 1", 'rate = "one"'),
     'rate should be number or fraction text such as "1/3", got \'one\''),
    ("a text where a list belongs", ('measure = "节"', 'measure = "节"\nnames = "观课"'),
     "names should be list"),
    ("an unknown key", ('measure = "节"', 'measure = "节"\ncolour = "red"'),
     "unknown key 'colour'"),
    ("an unknown key at the top", ('version = "1"', 'version = "1"\nowner = "x"'),
     "top level: unknown key 'owner'"),
    ("the same id twice",
     '[[item]]\nid = "observe"\nname = "观课"\nrate = 1\n',
     "[[item]] observe: this id is used twice"),
    ("a category that does not exist", ('category = "class"', 'category = "peer"'),
     "category 'peer' is not a [[category]]"),
    ("no rate", ("rate = 1", ""), "no rate: give rate = N"),
    ("a duration without conversions", ('measure = "节"', 'measure = "节"\nbasis = "duration"'),
     "a duration item needs convert"),
    ("a conversion that is not a duration",
     ('measure = "节"', 'measure = "节"\nbasis = "duration"\nconvert = { "篇" = 1 }'),
     "convert unit '篇' is not a duration"),
    ("a minimum naming an unknown category",
     ("hours = 10", 'hours = 10\nminimums = { peer = 3 }'),
     "minimums name 'peer', not a [[category]]"),
    ("a quota with rates by level",
     '[[item]]\nid = "lesson"\nname = "公开课"\nquota = { units = 2 }\n'
     'rates = [{ level = "县级", hours = 2 }, { level = "校级", hours = 1 }]\n',
     "quota needs one plain rate"),
    ("two pooled rules on one item",
     ("rate = 1", "rate = 1\nbatch = 2\nlater = { after = 1, hours = 0.5 }"),
     "use one of quota, later and batch, not later and batch"),
    ("学分 conversion in a 学时 standard", ("rate = 1", "rate = 1\ncredit_hours = 8"),
     "credit_hours converts 学时 to 学分; this standard counts 学时"),
    ("no target", ('[[target]]\nid = "year"\nhours = 10\n', ""),
     "at least one [[target]] with hours is needed"),
    ("a target without hours", ("hours = 10", 'name = "本学年"'),
     "hours: missing (a number is needed)"),
    ("an unknown fact in a rate",
     ("rate = 1", 'rates = [{ colour = "red", hours = 1 }]'),
     "unknown fact 'colour'"),
    ("a level nobody uses", ("rate = 1", 'rates = [{ level = "乡级", hours = 1 }]'),
     "level '乡级' is not one of"),
    ("an unknown period kind", ('version = "1"', 'version = "1"\n[period]\nkind = "week"'),
     "[period] kind: expected one of"),
    ("a day that is not a date", ('version = "1"', 'version = "1"\n[period]\nstart = "13-01"'),
     "[period] start: expected MM-DD, got '13-01'"),
    ("a reviewer range upside down",
     '[[item]]\nid = "bonus"\nname = "特色"\nreviewer_range = [6, 3]\n',
     "reviewer_range: lowest is above highest"),
    ("a batch of one", ("rate = 1", "rate = 1\nbatch = 1"), "batch should be 2 or more"),
    ("a negative cap", ("cap = 5", "cap = -5"), "expected a number of at least 0, got -5"),
    ("a fraction that is not one", ("rate = 1", 'rate = "1/0"'), "rate should be number"),
    ("a limit of nothing", ("rate = 1", "rate = 1\nlimit = { count = 0 }"),
     "count should be 1 or more, got 0"),
    ("a limit that keeps something odd",
     ("rate = 1", 'rate = 1\nlimit = { count = 1, keep = "last" }'),
     "keep must be one of highest, first"),
    ("a group with nothing to do",
     '[[group]]\nid = "g"\nitems = ["observe"]\n',
     "a group needs a limit, a cap or highest_per_topic"),
    ("a unit that is neither", ('version = "1"', 'version = "1"\nunit = "小时"'),
     "unit: expected 学时 or 学分, got '小时'"),
    # Values that used to raise instead of being reported.
    ("an infinite rate", ("rate = 1", "rate = inf"),
     "rate: expected a finite number, got inf"),
    ("a cap that is not a number", ("cap = 5", "cap = nan"),
     "cap: expected a finite number, got nan"),
    ("an infinite overall cap", ('version = "1"', 'version = "1"\noverall_cap = inf'),
     "overall_cap: expected a finite number, got inf"),
    ("an infinite reviewer range",
     '[[item]]\nid = "bonus"\nname = "特色"\nreviewer_range = [1, inf]\n',
     "reviewer_range: expected a finite number, got inf"),
    ("an infinite factor",
     ("rate = 1", 'rate = 1\nfactors = [{ times = inf, level = "县级" }]'),
     "factors[0] times: expected a finite number, got inf"),
    ("an infinite later", ("rate = 1", "rate = 1\nlater = { after = inf, hours = 0.5 }"),
     "later.after: expected a finite number, got inf"),
    ("an infinite minimum", ("hours = 10", "hours = 10\nminimums = { class = -inf }"),
     "minimums.class: expected a finite number, got -inf"),
    ("a fraction of 5000 digits", ("rate = 1", 'rate = "' + "9" * 5000 + '/1"'),
     "rate: expected a number of at most"),
    ("no items", (VALID[VALID.index("[[item]]"):], ""),
     "no items: a standard needs at least one [[item]]"),
    ("a batch of none beside an event cap", ("rate = 1", "rate = 1\nbatch = 0\nevent_cap = 2"),
     "batch should be 2 or more units, got 0"),
    # 02-29 is missing three years in four: every message of those years would fail.
    ("a school year from 02-29", ('version = "1"', 'version = "1"\n[period]\nstart = "02-29"'),
     "[period] start: 02-29 is missing from years that are not leap years"),
    ("a spring term from 02-29",
     ('version = "1"', 'version = "1"\n[period]\nkind = "semester"\nsecond = "02-29"'),
     "[period] second: 02-29 is missing from years that are not leap years"),
    ("a cap year from 02-29", ('version = "1"', 'version = "1"\n[period]\nyear_start = "02-29"'),
     "[period] year_start: 02-29 is missing from years that are not leap years"),
]  # fmt: skip


def broken(change) -> str:
    if isinstance(change, tuple):
        old, new = change
        assert old in VALID, old
        return VALID.replace(old, new, 1)
    return VALID + "\n" + change


def test_the_valid_file_is_valid(tmp_path):
    path = tmp_path / "ok.toml"
    path.write_text(VALID, encoding="utf-8")
    assert load_standard(path).item("observe").name == "听课"


@pytest.mark.parametrize(
    ("wrong", "change", "says"), BROKEN, ids=[b[0] for b in BROKEN]
)
def test_each_problem_is_reported(tmp_path, wrong, change, says):
    path = tmp_path / "broken.toml"
    path.write_text(broken(change), encoding="utf-8")
    with pytest.raises(StandardError) as caught:
        load_standard(path)
    assert any(says in problem for problem in caught.value.problems), (
        caught.value.problems
    )


def test_not_toml_at_all(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('id = "x\n', encoding="utf-8")
    with pytest.raises(StandardError, match="not valid TOML"):
        load_standard(path)


# (what is wrong, how the file is made, what the one problem says)
UNREADABLE = [
    ("a byte-order mark", lambda path: path.write_bytes(b"\xef\xbb\xbf" + VALID.encode()),
     "file starts with a byte-order mark; save as UTF-8 without BOM"),
    ("arrays nested too deeply",
     lambda path: path.write_text("id = " + "[" * 2000 + "]" * 2000, "utf-8"),
     "arrays or tables are nested too deeply to read"),
    ("a number of 5000 digits",
     lambda path: path.write_text(VALID.replace("rate = 1", "rate = " + "9" * 5000), "utf-8"),
     "a number has more than 4300 digits"),
    ("a folder", lambda path: path.mkdir(), "this is a folder; expected a standard file (.toml)"),
    ("not UTF-8", lambda path: path.write_bytes(VALID.encode("gbk")), "the file is not UTF-8 text"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("wrong", "make", "says"), UNREADABLE, ids=[u[0] for u in UNREADABLE]
)
def test_a_file_that_cannot_be_read_is_one_problem(tmp_path, capsys, wrong, make, says):
    path = tmp_path / "broken.toml"
    make(path)
    assert main(["standards", "check", str(path)]) == 1
    assert capsys.readouterr().out == f"{path}: 1 problem(s)\n  - {says}\n"


def test_a_file_without_permission_is_one_problem(tmp_path, capsys, monkeypatch):
    # chmod does not stop root, who runs CI here, so the refusal is made up.
    path = tmp_path / "locked.toml"
    path.write_text(VALID, encoding="utf-8")
    read_text = Path.read_text

    def refuse(self, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", refuse)
    assert main(["standards", "check", str(path)]) == 1
    assert "cannot be read: Permission denied" in capsys.readouterr().out


def test_an_example_with_a_5000_digit_number_is_checked_without_a_crash(
    tmp_path, capsys
):
    path = tmp_path / "example.toml"
    path.write_text(VALID.replace("听课 2节", "听课 " + "9" * 5000 + "节"), "utf-8")
    assert main(["standards", "check", str(path)]) in (0, 1)
    report = capsys.readouterr().out
    assert report.startswith(f"{path}: ") and max(map(len, report.splitlines())) < 400


def test_a_period_from_03_01_spans_a_common_year():
    text = broken(('version = "1"', 'version = "1"\n[period]\nstart = "03-01"'))
    period = build_standard(tomllib.loads(text)).period
    span = period.span_of(date(2027, 2, 28))
    assert (span.start, span.end) == (date(2026, 3, 1), date(2027, 2, 28))


def test_every_problem_is_listed_with_its_line(tmp_path, capsys):
    text = broken(("rate = 1", 'rate = "one"\ncolour = "red"')) + (
        '\n[[item]]\nid = "lesson"\nname = "公开课"\ncategory = "peer"\nrate = 1\n'
    )
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["standards", "check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "3 problem(s)" in out
    assert "[[item]] observe (line 14): rate should be" in out
    assert "[[item]] observe (line 14): unknown key 'colour'" in out
    assert "category 'peer' is not a [[category]]" in out


def test_check_says_ok_for_every_built_in_file(capsys):
    for path in sorted(Path("scoring/standards").glob("*.toml")):
        assert main(["standards", "check", str(path)]) == 0, capsys.readouterr().out
    assert capsys.readouterr().out.count(": ok —") >= 5


def test_check_reads_each_example_as_its_item(tmp_path, capsys):
    path = tmp_path / "example.toml"
    path.write_text(
        VALID.replace('example = "听课 2节"', 'example = "评课 2次"'), "utf-8"
    )
    assert main(["standards", "check", str(path)]) == 1
    assert "example '评课 2次': is read as nothing" in capsys.readouterr().out


def test_a_broken_file_stops_the_standards_from_loading(tmp_path):
    (tmp_path / "district.toml").write_text(broken(("rate = 1", "")), encoding="utf-8")
    with pytest.raises(StandardError, match="no rate"):
        load_standards(tmp_path)


def test_a_district_file_replaces_the_built_in_version(tmp_path):
    text = Path("scoring/standards/capped-50.toml").read_text(encoding="utf-8")
    newer = text.replace('version = "2024.1"', 'version = "2025.1"')
    (tmp_path / "capped-50.toml").write_text(newer, encoding="utf-8")
    assert load_standards(tmp_path)["capped-50"].version == "2025.1"


def test_two_files_with_one_id_in_a_folder_are_refused(tmp_path):
    for name in ("a.toml", "b.toml"):
        (tmp_path / name).write_text(VALID, encoding="utf-8")
    with pytest.raises(StandardError, match="already used"):
        load_standards(tmp_path)


@pytest.mark.parametrize("standard_id", sorted(load_standards()))
def test_show_prints_every_item(capsys, standard_id):
    assert main(["standards", "show", standard_id]) == 0
    out = capsys.readouterr().out
    standard = load_standards()[standard_id]
    assert standard.name in out
    for item in standard.items:
        assert f"· {item.name}" in out


def test_show_prints_duration_conversions(capsys):
    main(["standards", "show", "annual-80"])
    out = capsys.readouterr().out
    assert "1天=8学时" in out and "半天=4学时" in out


def test_show_prints_credit_ratios_minimums_and_caps(capsys):
    main(["standards", "show", "jianghan-credits"])
    out = capsys.readouterr().out
    assert "按8学时折1学分" in out and "每次最多 15学分" in out
    assert "集中培训不少于 20学分" in out and "每年最多 5学分" in out
