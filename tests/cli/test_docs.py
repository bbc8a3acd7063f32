"""Docs checked by tests: every command is in the README and has help text."""

from pathlib import Path

import pytest
import typer

from apscn_tracker.cli.main import app

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _commands(group, prefix=()):
    ctx = typer.Context(group)  # a group lists and builds its commands on request (the root one lazily)
    for name in sorted(group.list_commands(ctx)):
        command = group.get_command(ctx, name)
        path = (*prefix, name)
        yield path, command
        if hasattr(command, "list_commands"):
            yield from _commands(command, path)


COMMANDS = list(_commands(typer.main.get_command(app)))


def test_there_are_commands_to_check():
    assert len(COMMANDS) >= 30


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_is_in_the_readme_and_has_help(path, command):
    assert f"apscn {' '.join(path)}" in README
    assert (command.help or "").strip(), f"apscn {' '.join(path)} has no help text"
    for param in command.params:
        if param.name not in ("help",) and getattr(param, "param_type_name", "") == "option":
            assert (param.help or "").strip(), f"apscn {' '.join(path)} {param.opts[0]} has no help"


def test_every_command_answers_help(cli):
    for path, _ in COMMANDS:
        result = cli(*path, "--help")
        assert result.exit_code == 0 and "Usage" in result.stdout, path
