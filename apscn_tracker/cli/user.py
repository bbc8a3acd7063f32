"""apscn user add|list|remove|password|token

Services are imported inside each command (lazily): `apscn --help` imports every command module.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

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


def _users() -> Any:
    """The accounts' service (argon2-cffi, of the web extra, is imported with it)."""
    try:
        from apscn_tracker.services import users
    except ImportError as exc:
        raise InputError(
            f"apscn user needs the web extra ({exc.name} is missing): pip install 'apscn-tracker[web]'"
        ) from None
    return users


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
    users = _users()
    users.check_email(email)  # both before the password is asked for
    users.check_role(role)
    password = users.check_password(_password(password_stdin))
    result = users.add_user(make_app(), email=email, role=role, password=password)
    if as_json:
        emit_json(result)
    else:
        typer.echo(f"added {result['email']} ({result['role']})")


@sub.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """List the users, their roles and whether they have an API or calendar token."""
    rows = _users().list_users(make_app())
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
    result = _users().remove_user(make_app(), email=email)
    if as_json:
        emit_json(result)
    else:
        typer.echo(f"removed {result['email']}")


@sub.command("password")
def password(email: EmailArg, password_stdin: StdinOpt = False, as_json: JsonOpt = False) -> None:
    """Set a new password (asked for twice unless --password-stdin); the user's browsers sign in again."""
    users = _users()
    new = users.check_password(_password(password_stdin))
    result = users.set_password(make_app(), email=email, password=new)
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
    result = _users().new_token(make_app(), email=email, kind="calendar" if calendar else "api")
    if as_json:
        emit_json(result)
    else:
        typer.echo(result.get("url") or result["token"])


def register(app: LazyCommands) -> None:
    app.add_typer(sub, name="user", help="The users of `apscn serve`: add, list, remove, password, token.")
