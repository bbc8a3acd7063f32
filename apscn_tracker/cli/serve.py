"""apscn serve

The web package (FastAPI, uvicorn) is imported inside the command: only `apscn serve` needs it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from apscn_tracker.cli.lazy import LazyCommands
from apscn_tracker.cli.numbers import fits_ledger
from apscn_tracker.errors import UserError


def _port(param: typer.CallbackParam, value: int) -> int:
    fits_ledger(param, value)
    if not 0 <= value <= 65535:
        raise UserError(f"--port {value} is not a port: expected 0 to 65535 (0: any free port)")
    return value


def serve(
    host: Annotated[str, typer.Option(help="The address to listen on (behind a TLS reverse proxy).")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="The port to listen on (0: any free port, printed).", callback=_port)
    ] = 8000,
    with_scheduler: Annotated[
        bool, typer.Option("--with-scheduler", help="Also run the daily tick and delivery (as `apscn scheduler run`).")
    ] = False,
) -> None:
    """Serve the ledger to the team in a browser: the status board, district pages with their steps, the
    outbox, the report, the deadline calendar and a JSON API. Users come from `apscn user add`."""
    import logging

    from apscn_tracker.config import load_settings

    try:
        from apscn_tracker.web.server import serve as run_server
    except ImportError as exc:  # fastapi, uvicorn ... are an optional extra
        raise UserError(
            f"apscn serve needs the web extra ({exc.name} is missing): pip install 'apscn-tracker[web]'"
        ) from None

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    raise typer.Exit(run_server(load_settings(), host=host, port=port, with_scheduler=with_scheduler))


def register(app: LazyCommands) -> None:
    app.command()(serve)
