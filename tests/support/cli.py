"""A ledger ready for the coordinator's commands, and the check that a command is refused cleanly."""

from __future__ import annotations

from apscn_tracker.config import load_settings
from tests.support.snapshot import snapshot

T = "2026-09-14"  # a Monday in the 2026-27 school year


def make_ready(cli):
    assert cli("init", today=T).exit_code == 0
    assert cli("connect", "6001000", today=T).exit_code == 0
    assert cli("connect", "0401000", "--method", "sftp", "--course-planning", today=T).exit_code == 0
    return cli


def refused(cli, *args, today=T, contains=""):
    before = snapshot(load_settings().url)
    result = cli(*args, today=today)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output
    assert contains in result.stderr, result.stderr
    assert snapshot(load_settings().url) == before
    return result.stderr
