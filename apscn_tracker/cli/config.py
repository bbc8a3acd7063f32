"""apscn config show | set | unset

Services are imported inside each command (lazily): `apscn --help` imports every command module.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from apscn_tracker.cli.lazy import LazyCommands
from apscn_tracker.cli.options import JsonOpt
from apscn_tracker.cli.output import emit_json, print_table, warn
from apscn_tracker.cli.table import Col

sub = typer.Typer(no_args_is_help=True)

KeyArg = Annotated[
    str,
    typer.Argument(
        metavar="KEY", help="A setting, like coordinator_email, or reminders.lapsed_every_days for a reminder rule."
    ),
]
SHOW_COLUMNS = [
    Col("key", "Setting", keep=9),
    Col("value", "Value", flex=True, min=12, keep=8),
    Col("from", "From", keep=5),
]


def _text(value: Any) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


@sub.command()
def show(as_json: JsonOpt = False) -> None:
    """Every setting in force and where it comes from: default, config.toml or the environment (APSCN_*)."""
    from apscn_tracker.services.settings_file import show_settings

    result = show_settings()
    if as_json:
        emit_json(result)
        return
    print_table([{**r, "value": _text(r["value"])} for r in result["settings"]], SHOW_COLUMNS)


@sub.command("set")
def set_(
    key: KeyArg,
    value: Annotated[
        str, typer.Argument(metavar="VALUE", help="The value: text, a number, or a TOML list like [60, 30].")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Check VALUE, then write KEY = VALUE into config.toml, keeping its comments."""
    from apscn_tracker.services.settings_file import set_setting

    r = set_setting(key, value)
    if as_json:
        emit_json(r)
    else:
        moved = " (moved out of [reminders], where it had landed)" if r["moved"] else ""
        typer.echo(f"{r['key']} = {_text(r['value'])} in {r['file']}{moved}")
    if r["problem"]:
        warn(f"the file still has a problem: {r['problem']}")


@sub.command()
def unset(key: KeyArg, as_json: JsonOpt = False) -> None:
    """Remove KEY from config.toml: its default (or its APSCN_* variable) applies again."""
    from apscn_tracker.services.settings_file import unset_setting

    r = unset_setting(key)
    if as_json:
        emit_json(r)
    elif r["removed"]:
        typer.echo(f"{r['key']} removed from {r['file']}: its default applies")
    else:
        typer.echo(f"{r['key']} was not set in {r['file']}; nothing changed")
    if r["problem"]:
        warn(f"the file still has a problem: {r['problem']}")


def register(app: LazyCommands) -> None:
    app.add_typer(sub, name="config", help="Settings: show them, set or unset one in config.toml (comments kept).")
