"""apscn user add|list|remove|password|token

Services are imported inside each command (lazily): `apscn --help` imports every command module.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from apscn_tracker.cli.lazy import LazyCommands
from apscn_tracker.cli.options import JsonOpt, make_app
from apscn_tracker.cli.output import emit_json, print_table
from apscn_tracker.errors import InputError

sub = typer.Typer(no_args_is_help=True)
EmailArg = Annotated[str, typer.Argument(help="The user's email address (their sign-in name).", show_default=False)]
StdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line.strip():
            raise InputError("no password on standard input; nothing was changed")
        return line.rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@sub.command("add")
def add(
    email: EmailArg,
    role: Annotated[
        str, typer.Option(help="viewer (reads) or coordinator (also records steps).", show_default=True)
    ] = "viewer",
    password_stdin: StdinOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Add a user of `apscn serve`; the password is asked for (twice) unless --password-stdin."""
    from apscn_tracker.services.users import add_user, check_email, check_password, check_role

    check_email(email), check_role(role)  # before the password is asked for
    password = check_password(_password(password_stdin))
    result = add_user(make_app(), email=email, role=role, password=password)
    if as_json:
        emit_json(result)
    else:
        typer.echo(f"added {result['email']} ({result['role']})")


@sub.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """List the users, their roles and whether they have an API or calendar token."""
    from apscn_tracker.services.users import list_users

    rows = list_users(make_app())
    if as_json:
        emit_json(rows)
    else:
        print_table(
            rows,
            [
                ("email", "Email"),
                ("role", "Role"),
                ("api_token", "API"),
                ("calendar_token", "Calendar"),
                ("created_at", "Added"),
            ],
        )


@sub.command("remove")
def remove(email: EmailArg, as_json: JsonOpt = False) -> None:
    """Remove a user: their sessions end and their tokens stop working at once."""
    from apscn_tracker.services.users import remove_user

    result = remove_user(make_app(), email=email)
    if as_json:
        emit_json(result)
    else:
        typer.echo(f"removed {result['email']}")


@sub.command("password")
def password(email: EmailArg, password_stdin: StdinOpt = False, as_json: JsonOpt = False) -> None:
    """Set a new password (asked for twice unless --password-stdin); the user's browsers sign in again."""
    from apscn_tracker.services.users import check_password, set_password

    new = check_password(_password(password_stdin))
    result = set_password(make_app(), email=email, password=new)
    if as_json:
        emit_json(result)
    else:
        typer.echo(f"password of {result['email']} changed; their sessions ended")


@sub.command("token")
def token(
    email: EmailArg,
    calendar: Annotated[
        bool, typer.Option("--calendar", help="A calendar subscription token (/calendar.ics?token=) instead.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Print a new API token (`Authorization: Bearer TOKEN` on /api/status), or with --calendar a new calendar
    subscription token; the user's previous token of that kind stops working. Shown once: store it now."""
    from apscn_tracker.services.users import new_token

    result = new_token(make_app(), email=email, kind="calendar" if calendar else "api")
    if as_json:
        emit_json(result)
    else:
        typer.echo(result.get("url") or result["token"])


def register(app: LazyCommands) -> None:
    app.add_typer(sub, name="user", help="The users of `apscn serve`: add, list, remove, password, token.")
