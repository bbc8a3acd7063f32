"""apscn outbox list | show | send | retry, apscn send, apscn request-form, apscn preview

The services are imported inside each command: `apscn --help` must not load the database libraries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import typer

from apscn_tracker.cli.lazy import LazyCommands
from apscn_tracker.cli.numbers import fits_ledger
from apscn_tracker.cli.options import JsonOpt, LeaArg, TodayOpt, VendorOpt, YearOpt, make_app
from apscn_tracker.cli.output import emit_json, print_table
from apscn_tracker.cli.table import Col, escaped
from apscn_tracker.mail.kinds import EMAIL_KINDS, Trigger, names

sub = typer.Typer(no_args_is_help=True)

IdArg = Annotated[
    int, typer.Argument(help="Message number (the id column of `apscn outbox list`).", min=1, callback=fits_ledger)
]
LimitOpt = Annotated[
    int | None,
    typer.Option("--limit", help="At most this many messages.", min=1, show_default=False, callback=fits_ledger),
]
AgainOpt = Annotated[bool, typer.Option("--again", help="Queue a new copy even if this email was queued before.")]

OUTBOX_COLUMNS = [  # at 80 columns: id, kind, LEA, to, status, queued; the lowest `keep` goes first
    Col("id", "id", keep=20),
    Col("kind", "kind", keep=18),
    Col("lea", "LEA", keep=16),
    Col("school_year", "year", keep=4),
    Col("to", "to", flex=True, min=8, keep=10),
    Col("status", "status", keep=19),
    Col("attempts", "tries", keep=3),
    Col("created_at", "queued (UTC)", keep=12),
    Col("sent_at", "sent (UTC)", keep=2),
    Col("last_error", "last error", flex=True, min=10, keep=1),
]
_STATUS_STYLES = {"status": {"pending": "yellow", "sending": "cyan", "sent": "green", "failed": "red"}}


def _addressed(to: Sequence[str], cc: Sequence[str], subject: str) -> list[str]:
    """The To, Cc (when there is one) and Subject lines of an email."""
    return [f"To: {', '.join(to)}", *([f"Cc: {', '.join(cc)}"] if cc else []), f"Subject: {subject}"]


def _marked(row: dict[str, Any]) -> list[str]:
    """The To addresses, each one not delivered yet with its state (``a@x (failed)``)."""
    state = {r["address"].lower(): r["state"] for r in row.get("recipients", [])}
    out = []
    for a in row["to"]:
        bare = a.rsplit("<", 1)[-1].rstrip(">").lower()
        mark = state.get(bare)
        out.append(f"{a} ({mark})" if mark and mark not in ("sent", "pending") else a)
    bad = [r for r in row.get("recipients", []) if r["role"] == "cc" and r["state"] in ("failed", "deferred")]
    return out + [f"cc {r['address']} ({r['state']})" for r in bad]


@sub.command("list")
def list_(
    status: Annotated[
        str | None, typer.Option("--status", help="Only pending, sending, sent or failed.", show_default=False)
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind of email.", show_default=False)] = None,
    limit: LimitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the messages of the outbox, oldest first."""
    from apscn_tracker.services.outbox import outbox_rows

    rows = outbox_rows(make_app(), status=status, kind=kind, limit=limit)
    if as_json:
        emit_json(rows)
        return
    table = [
        {
            **r,
            "to": ", ".join(_marked(r)),
            "created_at": (r["created_at"] or "")[:16].replace("T", " "),
            "sent_at": (r["sent_at"] or "")[:16].replace("T", " "),
        }
        for r in rows
    ]
    print_table(table, OUTBOX_COLUMNS, styles=_STATUS_STYLES, right=("id", "attempts"))


@sub.command()
def show(
    id: IdArg,
    html: Annotated[bool, typer.Option("--html", help="Print the HTML part instead of the text.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show one message: its headers, its state and its text."""
    from apscn_tracker.services.outbox import outbox_message

    m = outbox_message(make_app(), id=id)
    if as_json:
        emit_json(m)
        return
    lines = [
        f"Message {m['id']}: {m['kind']}, {m['status']} after {m['attempts']} tr{'y' if m['attempts'] == 1 else 'ies'}",
        *_addressed(m["to"], m["cc"], m["subject"]),
        f"Message-ID: {m['message_id']}",
        f"Queued: {m['created_at']}",
    ]
    if m["sent_at"]:
        lines.append(f"Sent: {m['sent_at']}")
    if m["next_attempt_at"]:
        lines.append(f"Next try: {m['next_attempt_at']}")
    if m["last_error"]:
        lines.append(f"Last error: {m['last_error']}")
    for r in m["recipients"]:
        reply = f" ({r['reply']})" if r["reply"] else ""
        lines.append(f"  {r['role']:<7} {r['address']}: {r['state']}{reply}")
    typer.echo("\n".join(escaped(line) for line in lines) + "\n")
    body = m["body_html"] if html else m["body_text"]
    typer.echo("\n".join(escaped(line) for line in body.split("\n")), nl=False)  # tabs and controls shown escaped


@sub.command("send")
def send_due(limit: LimitOpt = None, as_json: JsonOpt = False) -> None:
    """Deliver the messages that are due now (the tick does this too).

    Exit code 1 when a mail setup problem (login, TLS, the outbox folder) or a full disk stopped it."""
    from apscn_tracker.services.outbox import send_now

    r = send_now(make_app(), limit=limit)
    if as_json:
        emit_json(r)
    else:
        where = f" to {r['folder']}" if r.get("folder") else ""
        typer.echo(
            f"sent {r['sent']}{where}, failed {r['failed']}, to retry {r['retrying']}; "
            f"waiting: {r['queue']['pending']}, failed in all: {r['queue']['failed']}"
        )
    if r.get("error"):  # the mail setup or the disk stopped the run: the rest waits, untouched
        typer.echo(f"error: {r['error']}", err=True)
        raise typer.Exit(1)


@sub.command()
def retry(
    id: Annotated[
        int | None,
        typer.Argument(
            help="Message number (the id column of `apscn outbox list`).",
            min=1,
            callback=fits_ledger,
            show_default=False,
        ),
    ] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Every failed message (instead of one ID).")] = False,
    kind: Annotated[
        str | None, typer.Option("--kind", help="With --failed: only this kind of email.", show_default=False)
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Send a message again with the next delivery, to the recipients the ledger names now who have not
    received it (it keeps its Message-ID); --failed for every failed message."""
    from apscn_tracker.services.outbox import retry_failed, retry_message

    if (id is None) == (not failed) or (kind is not None and not failed):
        raise typer.BadParameter("give one message ID, or --failed [--kind KIND]")
    if failed:
        rows = retry_failed(make_app(), kind=kind)
        if as_json:
            emit_json(rows)
            return
        for r in rows:
            typer.echo(f"message {r['id']} ({r['kind']}) queued again to {r['to']}")
        typer.echo(f"{len(rows)} failed message(s) queued again; `apscn outbox send` delivers them now")
        return
    assert id is not None
    m = retry_message(make_app(), id=id)
    if as_json:
        emit_json(m)
        return
    typer.echo(
        f"message {m['id']} ({m['kind']}) queued again to {', '.join(m['to'])}; `apscn outbox send` delivers it now"
    )


def _print_queued(r: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(r)
        return
    typer.echo("\n".join(_addressed(r["to"], r["cc"], r["subject"])) + "\n")
    typer.echo(r["text"])
    if r["queued"]:
        typer.echo(f"queued as message {r['id']}; `apscn outbox send` delivers it now", err=True)
    else:
        typer.echo(
            f"already queued as message {r['id']} ({r['status']}); nothing new queued (--again queues a new copy)",
            err=True,
        )


ON_DEMAND = names(Trigger.ON_DEMAND)


def send(
    kind: Annotated[str, typer.Argument(help=f"{', '.join(ON_DEMAND[:-1])} or {ON_DEMAND[-1]}.")],
    lea: LeaArg,
    vendor: VendorOpt = "Xello",
    year: YearOpt = None,
    again: AgainOpt = False,
    today: TodayOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Queue (and print) an email a coordinator sends on demand, for a district.

    Once per district, vendor and school year (powerschool_activation: once per district and vendor). The year
    defaults to the current school year (for request_form, the year a request made today is for: the next one
    once the current one is requested or past its cut; refused, naming both, in the renewal season while the
    current one is lapsed).
    """
    from apscn_tracker.services.sending import send_on_demand

    _print_queued(send_on_demand(make_app(today), kind=kind, lea=lea, vendor=vendor, year=year, again=again), as_json)


def request_form(
    lea: LeaArg,
    vendor: VendorOpt = "Xello",
    year: YearOpt = None,
    again: AgainOpt = False,
    today: TodayOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Queue (and print) the pre-filled "APSCN: eSchoolPLUS API Request" email for a district.

    Without --year: the current school year before the renewal season, the next one once the current one is
    requested or past its cut (a request could no longer be enabled by June 30); in the season, with the
    current one lapsed, refused naming both. The same as `apscn send request_form LEA`.
    """
    from apscn_tracker.services.sending import REQUEST_FORM, send_on_demand

    app = make_app(today)
    _print_queued(send_on_demand(app, kind=REQUEST_FORM, lea=lea, vendor=vendor, year=year, again=again), as_json)


_WITHOUT_LEA = [k.name for k in EMAIL_KINDS.values() if not k.about_district]


def preview(
    kind: Annotated[str, typer.Argument(help=f"{', '.join(EMAIL_KINDS)}.")],
    lea: Annotated[
        str | None,
        typer.Argument(help=f"7-digit LEA code (not needed for {', '.join(_WITHOUT_LEA)}).", show_default=False),
    ] = None,
    vendor: VendorOpt = "Xello",
    year: YearOpt = None,
    html: Annotated[bool, typer.Option("--html", help="Print the HTML part instead of the text.")] = False,
    today: TodayOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show an email as it would be sent today, rendered from the templates. Queues nothing."""
    from apscn_tracker.services.preview import preview as run

    p = run(make_app(today), kind=kind, lea=lea, vendor=vendor, year=year)
    if as_json:
        emit_json({"to": list(p.to), "cc": list(p.cc), "subject": p.subject, "text": p.text, "html": p.html})
        return
    to = p.to or ["(nobody: no contact and no coordinator_email)"]
    typer.echo("\n".join(_addressed(to, p.cc, p.subject)) + "\n")
    typer.echo(p.html if html else p.text, nl=False)


def register(app: LazyCommands) -> None:
    app.add_typer(
        sub,
        name="outbox",
        help="Emails waiting for delivery, sent, or failed: list, read, send now, send again.",
    )
    app.command("send")(send)
    app.command("request-form")(request_form)
    app.command("preview")(preview)
