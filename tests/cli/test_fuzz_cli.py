"""Command-line arguments fuzzed: dates, school years, LEA codes, vendors, statuses, ids and notes, on every
command that takes them. Each run ends with a correct result (exit 0), one clear error line (exit 1) or a
usage error (exit 2), never a traceback; and a refused command leaves the ledger exactly as it was.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apscn_tracker.config import load_settings
from tests.support.snapshot import snapshot

TODAY = "2026-11-02"
FUZZ = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

LEAS = ["6001000", "0401000", "6040700", "7510000", "0101000"]  # from the bundled roster (the demo uses some)

text_junk = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=24
)  # argv cannot carry NUL or lone surrogates
dates = st.one_of(
    st.dates(date(2024, 1, 1), date(2028, 12, 31)).map(date.isoformat),
    st.dates().map(date.isoformat),  # year 1 to 9999
    st.sampled_from(
        ["2026-02-30", "2026-13-01", "2026/07/01", " 2026-07-01 ", "20260701", "0000-01-01", "9999-12-31", "", "now"]
    ),
    text_junk,
)
years = st.one_of(
    st.integers(2020, 2030).map(lambda y: f"{y}-{(y + 1) % 100:02d}"),
    st.integers(2020, 2030).map(lambda y: f"{y}-{y + 1}"),
    st.sampled_from(["all", "next", "current", "previous", "2026-28", "2026", "1999-00", "9999-10000", "0-1", ""]),
    st.integers(-10, 10**6).map(lambda y: f"{y}-{y + 1}"),
    text_junk,
)
leas = st.one_of(
    st.sampled_from(LEAS),
    st.from_regex(r"\d{7}", fullmatch=True),
    st.sampled_from(
        ["AR-6001000", "101000", "", " ", "%", "_", "'; DROP TABLE district;--", "6001000\n", "６００１０００"]
    ),
    text_junk,
)
vendors = st.one_of(st.sampled_from(["Xello", "xello", "XELLO ", "Naviance", "", "%"]), text_junk)
statuses = st.one_of(st.sampled_from(["requested", "lapsed", "confirmed", "sent", "pending", "bogus", ""]), text_junk)
notes = st.one_of(st.just("a note"), st.just("=cmd|' /C calc'!A0"), st.just("line\nbreak"), text_junk)
steps = st.sampled_from(["request", "enable", "confirm", "bogus", ""])


def opt(name: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    return st.one_of(st.just([]), values.map(lambda v: [name, v]))


@st.composite
def commands(draw) -> list[str]:
    kind = draw(
        st.sampled_from(
            [
                "request",
                "enable",
                "confirm",
                "correct",
                "retire",
                "connect",
                "status",
                "history",
                "district show",
                "district add",
                "district edit",
                "vendor add",
                "report",
                "calendar",
                "tick",
                "outbox list",
                "outbox show",
                "outbox retry",
                "request-form",
            ]
        )
    )
    argv = kind.split()
    if kind in ("request", "enable", "confirm"):
        argv += [draw(leas), *draw(opt("--year", years)), *draw(opt("--on", dates)), *draw(opt("--vendor", vendors))]
        if kind == "request":
            argv += draw(opt("--note", notes))
    elif kind == "correct":
        field = draw(st.sampled_from(["--requested-on", "--enabled-on", "--confirmed-on", "--undo"]))
        argv += [draw(leas), field, draw(steps if field == "--undo" else dates), *draw(opt("--note", notes))]
        argv += draw(opt("--year", years))
    elif kind in ("retire", "history", "district show", "request-form"):
        argv += [draw(leas)]
        if kind == "request-form":
            argv += draw(opt("--year", years))
    elif kind == "connect":
        argv += [draw(leas), *draw(opt("--method", st.sampled_from(["api", "sftp", "ftp", ""])))]
    elif kind == "status":
        argv += [*draw(opt("--year", years)), *draw(opt("--lea", leas)), *draw(opt("--only", statuses))]
        argv += draw(opt("--vendor", vendors))
    elif kind == "district add":
        argv += [draw(leas), draw(st.one_of(st.just("New District"), notes)), *draw(opt("--county", notes))]
        argv += draw(opt("--email", st.one_of(st.just("a@b.k12.ar.us"), notes)))
    elif kind == "district edit":
        argv += [draw(leas), *draw(opt("--name", notes)), *draw(opt("--add-email", notes))]
    elif kind == "vendor add":
        argv += [draw(st.one_of(vendors, notes)), *draw(opt("--onboarding-email", notes))]
    elif kind == "report":
        argv += [*draw(opt("--year", years)), "--format", draw(st.sampled_from(["csv", "json", "md", "xls"]))]
    elif kind == "calendar":
        argv += draw(opt("--lea", leas))
    elif kind == "tick":
        argv += draw(st.sampled_from([["--dry-run"], []]))
    elif kind == "outbox list":
        argv += draw(opt("--status", statuses))
    elif kind in ("outbox show", "outbox retry"):
        argv += [draw(st.one_of(st.integers(-5, 50).map(str), text_junk))]
    argv += draw(opt("--today", dates)) if kind in ("request", "enable", "confirm", "status", "tick", "report") else []
    if draw(st.integers(0, 4)) == 0:
        argv.append("--json")
    return argv


@pytest.fixture
def demo(cli):
    assert cli("init", "--demo", today=TODAY).exit_code == 0
    return cli


def _no_traceback(result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}"
    )


@FUZZ
@given(argv=commands())
def test_any_command_line_gives_a_result_or_one_clear_error_and_a_refusal_changes_nothing(demo, argv):
    url = load_settings().url
    before = snapshot(url)
    result = demo(*argv, today=TODAY)
    _no_traceback(result)
    assert result.exit_code in (0, 1, 2), (argv, result.exit_code, result.output)
    if result.exit_code == 1:
        lines = result.stderr.splitlines()
        assert lines and lines[-1].startswith("error: "), (argv, result.stderr)
        assert len(lines) == 1 or argv[0] in ("tick", "district"), (argv, result.stderr)  # warnings may precede
        assert "Traceback" not in result.stderr
    if result.exit_code != 0 and not result.stderr.startswith("error: delivery"):
        assert snapshot(url) == before, argv


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(today=dates)
def test_any_apscn_today_is_used_or_refused_in_one_line(demo, today):
    url = load_settings().url
    before = snapshot(url)
    result = demo("status", "--json", today=today or None)
    _no_traceback(result)
    assert result.exit_code in (0, 1)
    if result.exit_code == 1:
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
        assert snapshot(url) == before


@pytest.mark.parametrize(
    "argv",
    [
        ["tick", "--today", "9999-12-31"],  # was: ValueError year 10000 is out of range
        ["tick", "--dry-run", "--today", "0001-01-01"],
        ["status", "--year", "all", "--today", "9999-12-31"],
        ["request", "6001000", "--on", "0001-01-01"],
        ["report", "--format", "json", "--today", "9999-06-30"],
        ["calendar", "--today", "0001-07-01"],
        ["request-form", ""],  # was: AssertionError in queue_request_form
        ["request-form", "", "--year", "2026-27"],
    ],
)
def test_arguments_the_fuzzer_found_give_one_line_and_change_nothing(demo, argv):
    url = load_settings().url
    before = snapshot(url)
    result = demo(*argv, today=TODAY)
    _no_traceback(result)
    assert result.exit_code == 1 and result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert snapshot(url) == before
