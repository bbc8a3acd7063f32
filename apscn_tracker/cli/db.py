"""apscn db backup FILE | db check"""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Annotated

import typer

from apscn_tracker.cli.lazy import LazyCommands
from apscn_tracker.cli.options import JsonOpt, make_app
from apscn_tracker.cli.output import emit_json, print_checks

sub = typer.Typer(no_args_is_help=True)

_MARK = {"ok": "ok", "warning": "--", "problem": "!!"}


@sub.command()
def backup(
    file: Annotated[Path, typer.Argument(help="The backup file to create (owner-only).")],
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Copy the SQLite ledger while it is in use (SQLite online backup) into a new owner-only file.
    On PostgreSQL, says how to use pg_dump instead."""
    from apscn_tracker.services.db.backups import backup as run

    with closing(make_app()) as ctx:
        result = run(ctx, dest=file, force=force)
    if as_json:
        emit_json(result)
        return
    typer.echo(
        f"backed up {result['events']} events (revision {result['revision']}) to {result['backup']} "
        f"({result['bytes']} bytes, owner-only)"
    )
    typer.echo(f"to restore: {result['restore']}")


@sub.command()
def check(as_json: JsonOpt = False) -> None:
    """Check the ledger: database integrity, migrations current, every renewal rebuilt from its events and
    compared, the outbox, file permissions. Reads only. Exit code 1 when a problem is found."""
    from apscn_tracker.services.db.checks import check as run

    with closing(make_app()) as ctx:
        result = run(ctx)
    print_checks(
        result, marks=_MARK, ok="the ledger is sound", bad="the ledger has problems (see !! above)", as_json=as_json
    )


def register(app: LazyCommands) -> None:
    app.add_typer(sub, name="db", help="Back up the ledger, and check that it is sound.")
