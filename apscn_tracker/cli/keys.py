"""apscn keys rotate

Services are imported inside each command (lazily): `apscn --help` imports every command module.
"""

from __future__ import annotations

from contextlib import closing

import typer

from apscn_tracker.cli.lazy import LazyCommands
from apscn_tracker.cli.options import JsonOpt, make_app
from apscn_tracker.cli.output import emit_json

sub = typer.Typer(no_args_is_help=True)


@sub.command()
def rotate(as_json: JsonOpt = False) -> None:
    """Replace the key that signs the links in district emails: every link sent before stops working (its page
    says it was withdrawn). With APSCN_SECRET_KEY set, change that variable instead."""
    from apscn_tracker.services.link_key import rotate_key

    with closing(make_app()) as ctx:
        result = rotate_key(ctx)
    if as_json:
        emit_json(result)
        return
    typer.echo(
        f"new link key {result['key_id']} in {result['key_file']} (owner-only); "
        f"links signed by key {result['retired']} no longer work"
    )


def register(app: LazyCommands) -> None:
    app.add_typer(sub, name="keys", help="The key that signs the links in district emails.")
