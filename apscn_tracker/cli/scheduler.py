"""apscn scheduler run"""

from __future__ import annotations

import typer

from apscn_tracker.cli.lazy import LazyCommands

sub = typer.Typer(no_args_is_help=True)


@sub.command("run")
def run() -> None:
    """Run the daily tick at send_hour (in the configured time zone) and deliver retries every few minutes,
    until SIGINT or SIGTERM. Catches up at start if today's send hour has passed. Only one scheduler may run
    on a ledger: a second one exits with code 1."""
    import logging

    from apscn_tracker.config import load_settings
    from apscn_tracker.scheduler import run as run_scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    raise typer.Exit(run_scheduler(load_settings()))


def register(app: LazyCommands) -> None:
    app.add_typer(
        sub,
        name="scheduler",
        help="The long-running loop: the daily tick at the send hour, and delivery retries.",
    )
