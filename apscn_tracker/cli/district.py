"""apscn district list|show|find|add|edit|import

Services are imported inside each command (lazily): `apscn --help` imports every command module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from apscn_tracker.cli.lazy import LazyCommands
from apscn_tracker.cli.options import JsonOpt, LeaArg, make_app
from apscn_tracker.cli.output import emit_json, print_table, warn
from apscn_tracker.cli.progress import Progress
from apscn_tracker.cli.table import Col, escaped

sub = typer.Typer(no_args_is_help=True)

DISTRICT_COLUMNS = [
    Col("lea", "LEA", keep=9),
    Col("name", "District", flex=True, min=12, keep=8, names=True),
    Col("county", "County", flex=True, min=6, keep=3),
    Col("contacts", "Contacts", short="Cont", keep=5),
    Col("connections", "Connections", short="Conn", keep=4),
]
EmailOpt = Annotated[list[str] | None, typer.Option("--email", help="Contact email (repeat for several).")]


@sub.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """List every district with its contact and connection counts."""
    from apscn_tracker.services.districts import list_districts

    rows = list_districts(make_app())
    if as_json:
        emit_json(rows)
    else:
        print_table(rows, DISTRICT_COLUMNS, right=("contacts", "connections"))


@sub.command()
def show(lea: LeaArg, as_json: JsonOpt = False) -> None:
    """Show one district: contacts and connections."""
    from apscn_tracker.services.districts import show_district

    d = show_district(make_app(), lea=lea)
    if as_json:
        emit_json(d)
        return
    lines = [f"{d['lea']}  {d['name']}" + (f"  ({d['county']} County)" if d["county"] else "")]
    if d["nces_leaid"]:
        lines.append(f"  NCES LEA ID: {d['nces_leaid']}")
    for c in d["contacts"] or [{"email": "(no contact: add one with `apscn district edit --add-email`)"}]:
        lines.append("  contact: " + " ".join(str(x) for x in (c.get("name"), c["email"], c.get("role")) if x))
    for c in d["connections"]:
        retired = f", retired {c['retired_on']}" if c["retired_on"] else ""
        lines.append(f"  {c['vendor']}: {c['method']}{' (course planning)' if c['course_planning'] else ''}{retired}")
    typer.echo("\n".join(escaped(line) for line in lines))  # names from the ledger never drive the terminal


@sub.command()
def find(
    text: Annotated[str, typer.Argument(help="An LEA code, an NCES LEA ID or a part of a district name.")],
    as_json: JsonOpt = False,
) -> None:
    """Find districts by LEA code, NCES LEA ID or a part of the name (any case)."""
    from apscn_tracker.services.find import find_districts

    rows = find_districts(make_app(), text=text)
    if as_json:
        emit_json(rows)
    elif not rows:
        typer.echo(f"no district's code, NCES LEA ID or name matches {text!r}; `apscn district list` lists them all")
    else:
        print_table(rows, [("lea", "LEA"), ("name", "District"), ("county", "County"), ("nces_leaid", "NCES")])


@sub.command()
def add(
    lea: Annotated[str, typer.Argument(help="7-digit LEA code, like 6001000.")],
    name: Annotated[str, typer.Argument(help="District name.")],
    county: Annotated[str | None, typer.Option(help="County name.")] = None,
    email: EmailOpt = None,
    contact_name: Annotated[str | None, typer.Option(help="Name of the contact(s) given by --email.")] = None,
    contact_role: Annotated[str | None, typer.Option(help="Role of the contact(s).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add one district."""
    from apscn_tracker.services.districts import add_district

    d = add_district(
        make_app(),
        lea=lea,
        name=name,
        county=county,
        emails=email,
        contact_name=contact_name,
        contact_role=contact_role,
    )
    for w in d.pop("warnings"):
        warn(w)
    emit_json(d) if as_json else typer.echo(f"added {d['lea']} {d['name']}")


@sub.command()
def edit(
    lea: LeaArg,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    county: Annotated[str | None, typer.Option(help="New county.")] = None,
    email: Annotated[list[str] | None, typer.Option("--email", help="Replace the contacts with these emails.")] = None,
    add_email: Annotated[list[str] | None, typer.Option("--add-email", help="Add a contact email.")] = None,
    remove_email: Annotated[list[str] | None, typer.Option("--remove-email", help="Delete a contact.")] = None,
    contact_name: Annotated[str | None, typer.Option(help="Name for the added or listed contact.")] = None,
    contact_role: Annotated[str | None, typer.Option(help="Role for the added or listed contact.")] = None,
    note: Annotated[str | None, typer.Option(help="Why (kept in the history).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a district's name, county or contacts (kept in the history)."""
    from apscn_tracker.services.districts import edit_district

    d = edit_district(
        make_app(),
        lea=lea,
        name=name,
        county=county,
        emails=email,
        add_emails=add_email,
        remove_emails=remove_email,
        contact_name=contact_name,
        contact_role=contact_role,
        note=note,
    )
    emit_json(d) if as_json else typer.echo(f"updated {d['lea']}: {', '.join(d['changes'])}")


@sub.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="Roster CSV (lea_code,name,...) or NCES CCD LEA directory.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import a roster: every row is checked first, then all are written in one transaction, or none."""
    from apscn_tracker.services.roster import import_roster

    with Progress(f"importing {file.name}") as bar:
        result = import_roster(make_app(), path=file, dry_run=dry_run, progress=bar.update)
    if as_json:
        emit_json(result)
        return
    for w in result["warnings"]:
        warn(w)
    if dry_run:
        for change in result["changes"]:
            typer.echo(f"would {change}")
    verb = "would be" if dry_run else "were"
    typer.echo(
        f"{result['districts']} districts read ({result['format']}): {result['added']} {verb} added, "
        f"{result['updated']} updated, {result['unchanged']} unchanged; "
        f"{result['contacts_added']} contacts added"
        + (f"; {result['skipped_other_states']} rows of other states skipped" if result["skipped_other_states"] else "")
    )


def register(app: LazyCommands) -> None:
    app.add_typer(sub, name="district", help="Districts (LEAs) and their contacts.")
