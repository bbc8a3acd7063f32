"""apscn vendor list|add|edit"""

from __future__ import annotations

from typing import Annotated

import typer

from apscn_tracker.cli.lazy import LazyCommands
from apscn_tracker.cli.options import JsonOpt, make_app
from apscn_tracker.cli.output import emit_json, print_table

sub = typer.Typer(no_args_is_help=True)
OnbEmail = Annotated[str | None, typer.Option("--onboarding-email", help="Onboarding Manager's email.")]
OnbName = Annotated[str | None, typer.Option("--onboarding-name", help="Onboarding Manager's name.")]


@sub.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """List vendors with their Onboarding Manager and active connections."""
    from apscn_tracker.services.vendors import list_vendors

    rows = list_vendors(make_app())
    if as_json:
        emit_json(rows)
    else:
        print_table(
            rows,
            [
                ("name", "Vendor"),
                ("onboarding_name", "Onboarding Manager"),
                ("onboarding_email", "Email"),
                ("connections", "Connections"),
            ],
        )


@sub.command()
def add(
    name: Annotated[str, typer.Argument(help="Vendor name.")],
    onboarding_email: OnbEmail = None,
    onboarding_name: OnbName = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a vendor."""
    from apscn_tracker.services.vendors import add_vendor

    v = add_vendor(make_app(), name=name, onboarding_email=onboarding_email, onboarding_name=onboarding_name)
    emit_json(v) if as_json else typer.echo(f"added vendor {v['name']}")


@sub.command()
def edit(
    name: Annotated[str, typer.Argument(help="Vendor name.")],
    new_name: Annotated[str | None, typer.Option("--name", help="Rename the vendor.")] = None,
    onboarding_email: OnbEmail = None,
    onboarding_name: OnbName = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a vendor's name or Onboarding Manager."""
    from apscn_tracker.services.vendors import edit_vendor

    v = edit_vendor(
        make_app(),
        name=name,
        new_name=new_name,
        onboarding_email=onboarding_email,
        onboarding_name=onboarding_name,
    )
    emit_json(v) if as_json else typer.echo(f"updated vendor {v['name']}")


def register(app: LazyCommands) -> None:
    app.add_typer(sub, name="vendor", help="Vendors (data partners) and their Onboarding Managers.")
