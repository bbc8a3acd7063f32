"""The coordinator's terminal: tables of one line per record at 80 and 200 columns, on a terminal and in a pipe,
a pipe closed early, control characters shown escaped, the report as Markdown on a terminal, completion.

Each runs ``apscn`` as a real process; its stdout a pipe or a pseudo-terminal (``tests/support/terminal.py``)."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest

from apscn_tracker.config import load_settings
from tests.support.terminal import DATE, MODES, WIDTHS, apscn, cell_width, to_closed_pipe

DAY = "2026-11-02"
TABLES = {  # command -> (its --json rows, the code every row starts with)
    "status": (["status", "--year", "all"], r"\d{7}"),
    "outbox": (["outbox", "list"], r"\s*\d+"),
    "history": (["history", "6001000"], r"\d{4}-\d{2}-\d{2}(T[\d:]+)?"),
    "districts": (["district", "list"], r"\d{7}"),
}


@pytest.fixture
def demo(cli, home):
    """The demo ledger on November 2 after a tick (reminders queued and sent to .eml files), and a correction."""
    assert cli("init", "--demo", today=DAY).exit_code == 0
    assert cli("tick", today=DAY).exit_code == 0
    fixed = cli("correct", "6001000", "--requested-on", "2026-10-01", "--note", "typo in the form", today=DAY)
    assert fixed.exit_code == 0, fixed.output
    return cli


def _json_rows(cli, args: list[str]) -> list[dict]:
    return cli.json(*args, today=DAY)


@pytest.mark.sqlite_only
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("table", list(TABLES))
def test_every_record_is_one_line_that_fits_and_no_code_or_date_is_cut(demo, table, width, mode):
    args, code = TABLES[table]
    rows = _json_rows(demo, args)
    assert rows, table
    kw = {"columns": width} if mode == "pipe" else {"width": width}
    run = apscn(*args, mode=mode, APSCN_TODAY=DAY, **kw)
    assert run.code == 0, run.err
    records = [line for line in run.lines if re.match(code + r"\s", line)]
    assert len(records) == len(rows), run.out  # one line per record, none folded onto a second line
    assert all(cell_width(line) <= width for line in run.lines), run.out
    for line in records:
        for token in re.findall(r"\S+", line):  # a date is whole or absent; a token is never half a date
            assert not re.fullmatch(r"\d{4}-\d?|\d{4}-\d{2}-\d?|-?\d{2}-\d{2}|\d[\d-]*…", token), (token, line)
    if table in ("status", "districts"):
        assert [line[:7] for line in records] == [r["lea"] for r in rows]
    if table == "status" and width == 200:
        assert "Confirmed" in run.lines[1 if mode == "pty" else 0]
        assert sum(len(DATE.findall(line)) for line in records) == sum(
            1 for r in rows for k in ("requested_on", "expected_enabled_by", "enabled_on", "confirmed_on") if r[k]
        )


@pytest.mark.sqlite_only
def test_a_terminal_gets_colours_a_title_and_the_columns_left_out_while_a_pipe_gets_the_records_only(demo):
    tty = apscn("status", mode="pty", width=80, APSCN_TODAY=DAY)
    assert tty.code == 0 and "\x1b[" in tty.raw
    assert tty.lines[0] == f"APSCN API renewals on {DAY}"
    assert "not shown at 80 columns:" in tty.out and "Confirmed" in tty.out
    assert "SD " in tty.out  # "SCHOOL DISTRICT" shortened where the name column is narrow
    piped = apscn("status", mode="pipe", APSCN_TODAY=DAY)  # no COLUMNS: nothing cut
    assert "\x1b" not in piped.raw and "APSCN API renewals" not in piped.out and "not shown" not in piped.out
    assert "LITTLE ROCK SCHOOL DISTRICT" in piped.out and piped.lines[0].startswith("LEA ")
    assert len(piped.lines) == 1 + len(_json_rows(demo, ["status"]))


@pytest.mark.sqlite_only
@pytest.mark.parametrize("args", [["status", "--year", "all"], ["history", "6001000"], ["district", "list"]])
def test_a_reader_that_stops_early_ends_the_command_quietly_with_exit_0(demo, args):
    done = to_closed_pipe(*args, APSCN_TODAY=DAY)
    assert done.returncode == 0 and done.stderr == ""


@pytest.mark.sqlite_only
@pytest.mark.parametrize("mode", MODES)
def test_control_characters_from_the_ledger_are_shown_escaped(demo, mode):
    conn = sqlite3.connect(load_settings().db_path)
    with conn:
        conn.execute("UPDATE district SET name = ? WHERE lea_code = '6001000'", ("LITTLE \x1b]0;owned\x07ROCK\u202e",))
    conn.close()
    for args in (["status", "--lea", "6001000"], ["district", "list"], ["district", "show", "6001000"]):
        run = apscn(*args, mode=mode, width=200, columns=200, APSCN_TODAY=DAY)
        assert run.code == 0, run.err
        assert "\x1b]" not in run.raw and "\x07" not in run.raw and "\u202e" not in run.raw
        assert "LITTLE \\x1b]0;owned\\x07ROCK\\u202e" in run.out


@pytest.mark.sqlite_only
def test_history_shows_what_a_correction_changed(demo):
    run = apscn("history", "6001000", mode="pipe", APSCN_TODAY=DAY)
    (line,) = [x for x in run.lines if " corrected " in x]
    assert "requested_on" not in line and "-> 2026-10-01" in line and "typo in the form" in line
    (row,) = [r for r in _json_rows(demo, ["history", "6001000"]) if r["kind"] == "corrected"]
    assert row["change"].startswith("requested ") and row["change"].endswith(" -> 2026-10-01")


@pytest.mark.sqlite_only
def test_the_report_on_a_terminal_is_markdown_and_in_a_pipe_html(demo):
    tty = apscn("report", mode="pty", width=100, APSCN_TODAY=DAY)
    assert tty.code == 0 and tty.out.lstrip().startswith("#") and "<html" not in tty.out.lower()
    piped = apscn("report", mode="pipe", APSCN_TODAY=DAY)
    assert piped.code == 0 and "<html" in piped.out.lower()


COMPLETION_PROBE = """
import os, sys
sys.argv = ["apscn"]
from apscn_tracker.cli.main import run
try:
    run()
except SystemExit:
    pass
sys.stdout.flush()
sys.stderr.write("\\nHEAVY " + " ".join(m for m in ("sqlalchemy", "sqlmodel", "jinja2", "alembic") if m in sys.modules))
"""


def _complete(shell: str, words: str) -> tuple[str, str]:
    import os
    import subprocess
    import sys

    env = dict(os.environ, _APSCN_COMPLETE=f"complete_{shell}")
    if shell == "bash":
        env.update(COMP_WORDS=words, COMP_CWORD=str(len(words.split()) - (0 if words.endswith(" ") else 1)))
    else:
        env["_TYPER_COMPLETE_ARGS"] = words
    done = subprocess.run([sys.executable, "-c", COMPLETION_PROBE], capture_output=True, text=True, env=env, timeout=60)
    return done.stdout, done.stderr.rsplit("HEAVY ", 1)[1].strip()


@pytest.mark.sqlite_only
def test_completion_offers_commands_options_and_lea_codes_with_names_without_loading_the_orm(demo):
    out, heavy = _complete("zsh", "apscn request 600")
    assert '"6001000":"LITTLE ROCK SCHOOL DISTRICT"' in out and heavy == ""
    out, heavy = _complete("bash", "apscn status --lea 01")
    assert out.split() == ["0101000", "0104000"] and heavy == ""
    out, _ = _complete("bash", "apscn sta")
    assert out.split() == ["status"]
    out, _ = _complete("bash", "apscn status --ye")
    assert out.split() == ["--year"]
    out, _ = _complete("bash", "apscn config s")
    assert sorted(out.split()) == ["set", "show"]


def test_completion_without_a_ledger_offers_nothing_and_creates_nothing(home):
    out, _ = _complete("bash", "apscn request 60")
    assert out.strip() == "" and not home.exists()


@pytest.mark.sqlite_only
def test_status_json_is_unchanged_by_the_terminal(demo):
    piped = apscn("status", "--json", mode="pipe", columns=80, APSCN_TODAY=DAY)
    tty = apscn("status", "--json", mode="pty", width=80, APSCN_TODAY=DAY)
    assert json.loads(piped.out) == json.loads(tty.out) == _json_rows(demo, ["status"])
