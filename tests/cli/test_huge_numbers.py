"""Whole numbers too large for the ledger's ids (beyond 32 bits: PostgreSQL's integer) are refused in one line,
exit 1, on every integer argument and option of every command: no overflow in the driver, nothing changed."""

from __future__ import annotations

from typing import Any

import pytest
import typer.main

from apscn_tracker.cli.main import app
from tests.support.cli import refused

HUGE = "99999999999999999999999"
LARGEST = str(2**31 - 1)


def _commands(group: Any, ctx: Any, path: tuple[str, ...] = ()):
    """Every command under ``group`` with its path (Typer carries its own Click: no isinstance on Click's)."""
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if hasattr(command, "list_commands"):
            yield from _commands(command, command.context_class(command, parent=ctx), (*path, name))
        elif command is not None:
            yield (*path, name), command


def _is_integer(param: Any) -> bool:
    kind = getattr(param, "type", None)  # Click's parameter type; newer Typer reads the annotation instead
    return "integer" in kind.name if kind is not None else param.bare_type() == "int"


def integer_parameters() -> list[tuple[tuple[str, ...], Any]]:
    root = typer.main.get_command(app)
    found = [
        (path, param)
        for path, command in _commands(root, root.context_class(root))
        for param in command.params
        if _is_integer(param)
    ]
    assert found, "no integer parameter found: the walk over the commands is broken"
    return found


def argv_for(path: tuple[str, ...], param: Any, value: str) -> list[str]:
    if param.param_type_name == "option":
        return [*path, param.opts[0], value]
    return [*path, value]


def test_the_commands_with_integer_parameters_are_all_found():
    names = {(" ".join(path), param.name) for path, param in integer_parameters()}
    assert {("outbox show", "id"), ("outbox retry", "id"), ("outbox list", "limit"), ("outbox send", "limit")} <= names


@pytest.mark.parametrize("value", [HUGE, str(2**63), str(2**31)])
@pytest.mark.parametrize(
    ("path", "param"), integer_parameters(), ids=lambda x: " ".join(x) if isinstance(x, tuple) else x.name
)
def test_a_number_too_large_for_the_ledger_is_refused_in_one_line(ready, path, param, value):
    message = refused(ready, *argv_for(path, param, value), contains="too large")
    assert value in message and LARGEST in message


def test_the_largest_number_the_ledger_holds_is_no_message_but_no_crash(ready):
    refused(ready, "outbox", "show", LARGEST, contains=f"no outbox message {LARGEST}")
    refused(ready, "outbox", "retry", LARGEST, contains=f"no outbox message {LARGEST}")
    assert ready("outbox", "list", "--limit", LARGEST).exit_code == 0
