"""The root group builds a command only when it runs: the help listing builds none, a typo still gets the
close names."""

from __future__ import annotations

import pytest
import typer
import typer.main

from apscn_tracker.cli.lazy import LazyCommands
from apscn_tracker.cli.main import app


def test_the_help_listing_builds_no_command_and_running_one_builds_that_one_only():
    group = typer.main.get_command(app)
    ctx = typer.Context(group)
    text = group.get_help(ctx)
    assert "status" in text and "Districts (LEAs) and their contacts." in text
    assert group.commands == {}
    status = group.get_command(ctx, "status")
    assert status is not None and [p.name for p in status.params if p.name == "lea"] == ["lea"]
    assert list(group.commands) == ["status"]


def test_commands_are_listed_before_groups_each_in_the_order_they_were_registered():
    group = typer.main.get_command(app)
    ctx = typer.Context(group)
    names = group.list_commands(ctx)
    assert names[:3] == ["init", "connect", "request"]
    groups = ["district", "vendor", "outbox", "scheduler", "db", "reminders", "config"]
    assert [n for n in names if n in groups] == groups
    assert set(names[-len(groups) - 2 :]) <= {*groups, "user", "keys"}  # groups after commands (more may come)
    group.get_command(ctx, "db")
    assert group.list_commands(ctx) == names  # building one does not move it


def test_a_mistyped_command_is_answered_with_the_close_names(cli):
    result = cli("stauts")
    assert result.exit_code == 2
    assert "No such command 'stauts'. Did you mean 'status'?" in result.output


def test_two_commands_of_one_name_are_refused():
    commands = LazyCommands()
    commands.command("status")(lambda: None)
    with pytest.raises(ValueError, match="two commands are named 'status'"):
        commands.add_typer(typer.Typer(), name="status", help="A group.")
