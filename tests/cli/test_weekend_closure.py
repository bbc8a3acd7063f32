"""A configured closure on a Saturday or Sunday changes nothing: every command says so in one warning line, and
goes on (it is no error)."""

from __future__ import annotations


def test_a_closure_on_a_saturday_is_warned_in_one_line_and_the_command_goes_on(cli, home):
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('extra_closures = ["2026-12-26", "2026-12-28"]\n')
    assert cli("init", today="2026-11-02").exit_code == 0
    result = cli("calendar", today="2026-11-02")
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: a closure on a weekend changes nothing (state offices are closed then anyway): "
        "2026-12-26 (Saturday); check extra_closures / removed_closures"
    ]


def test_a_closure_on_a_weekday_draws_no_warning(cli, home):
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('extra_closures = ["2026-12-28"]\n')
    assert cli("init", today="2026-11-02").exit_code == 0
    result = cli("calendar", today="2026-11-02")
    assert result.exit_code == 0 and "warning" not in result.stderr
