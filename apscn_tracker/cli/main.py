"""The root of ``apscn``. Each command group lives in its own module and registers itself here.

The modules register on ``commands``, whose commands the root group builds on first use (``lazy.LazyGroup``):
``apscn --help`` and ``apscn status`` do not pay for reading every command's signature.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from apscn_tracker import __version__
from apscn_tracker.cli import (
    adoption,
    config,
    db,
    district,
    doctor,
    outbox,
    reminders,
    renewal,
    report,
    scheduler,
    serve,
    status,
    tick,
    user,
    vendor,
)
from apscn_tracker.cli import keys as link_keys
from apscn_tracker.cli.errors import quiet_closed_pipe, told_in_one_line
from apscn_tracker.cli.lazy import LazyCommands, LazyGroup
from apscn_tracker.cli.options import JsonOpt, TodayOpt, make_app
from apscn_tracker.cli.output import emit_json
from apscn_tracker.cli.warnings import grouped_warnings

commands = LazyCommands()
"""Where the command modules register their commands (built lazily by the root group)."""


class RootGroup(LazyGroup):
    lazy = commands

    def invoke(self, ctx: Any) -> Any:
        with told_in_one_line():
            return super().invoke(ctx)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name, command, rest = super().resolve_command(ctx, args)
        if name not in ("scheduler", "serve"):  # the long-running loop and server log as they go
            ctx.with_resource(grouped_warnings())
        return name, command, rest


app = typer.Typer(
    cls=RootGroup,
    name="apscn",
    help="Track Arkansas districts' yearly APSCN eSchoolPLUS API requests and chase them before June 30.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"apscn-tracker {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Track Arkansas districts' yearly APSCN eSchoolPLUS API requests and chase them before June 30.

    The ledger lives in APSCN_HOME (or APSCN_DATABASE_URL); APSCN_TODAY sets the date for rehearsals.
    """


@commands.command()
def init(
    demo: Annotated[bool, typer.Option("--demo", help="Also fill a realistic current school year.")] = False,
    today: TodayOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create or upgrade the ledger; seed Xello and the bundled roster of Arkansas districts."""
    from apscn_tracker.services.setup import init as run_init  # lazy, like every command's service

    ctx = make_app(today)
    result = run_init(ctx, demo=demo, hold_reminders=True)
    if as_json:
        emit_json(result)
        return
    r = result["roster"]
    if result["already"] and not (demo and result["demo"]):
        where = ctx.settings.home if ctx.settings.is_sqlite else result["dialect"]
        typer.echo(f"the ledger in {where} is ready (initialised before); roster: {r['updated']} updated")
        return
    where = f"in {ctx.settings.home} " if ctx.settings.is_sqlite else ""  # which folder: APSCN_HOME may be unset
    typer.echo(
        f"ledger ready {where}({result['dialect']}); roster: {r['added']} added, {r['updated']} updated, "
        f"{r['unchanged']} unchanged" + ("; Xello added" if result["xello_seeded"] else "")
    )
    if result["config_written"]:
        typer.echo(f"wrote {ctx.settings.config_file}: set coordinator_email and the mail settings there")
    if result["reminders_held"]:
        typer.echo(
            "district reminders are held: record what districts already did (`apscn import-renewals FILE`, "
            "`apscn request LEA ...`), then `apscn reminders start`"
        )
    if demo:
        typer.echo(
            "demo: " + ", ".join(f"{n} {k}" for k, n in sorted(result["demo"].items())) + " - try `apscn status`"
        )


for module in (
    district,
    vendor,
    renewal,
    status,
    outbox,
    tick,
    scheduler,
    serve,
    user,
    doctor,
    report,
    db,
    reminders,
    adoption,
    config,
):
    module.register(commands)
link_keys.register(commands)


def run() -> None:
    """The console script. A reader that stops early (``apscn status | head``) ends the command quietly, exit 0."""
    try:
        app()
    except BrokenPipeError:
        quiet_closed_pipe()
