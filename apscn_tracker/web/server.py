"""The ``apscn serve`` process: uvicorn on a socket bound here (so ``--port 0`` reports the port it got), and,
with ``--with-scheduler``, the scheduler's loop in a thread of the same process."""

from __future__ import annotations

import logging
import signal
import socket
import sys
import threading
from typing import Any

import uvicorn

from apscn_tracker.config import Settings
from apscn_tracker.errors import UserError
from apscn_tracker.web.app import create_app

log = logging.getLogger("apscn_tracker.web")


class EmbeddedScheduler:
    """``scheduler.run`` in a thread: it takes the ledger's scheduler lock like ``apscn scheduler run`` (a second
    scheduler is refused before the server starts) and stops after its current unit of work with the server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._ready = threading.Event()
        self._stop: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def _run(self) -> None:
        from apscn_tracker.scheduler import run  # the scheduler's loop; signals stay with the server

        def ready(_runner: Any, _sched: Any, stop: Any) -> None:
            self._stop = stop
            self._ready.set()

        try:
            run(self.settings, install_signals=False, ready=ready)
        except BaseException as exc:  # told by start() when it happens before the loop runs
            self._error = exc
            self._ready.set()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self._stop is not None:
            self._stop("server stopping")
        self._thread.join(timeout=200)


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(settings: Settings, *, host: str, port: int, with_scheduler: bool = False) -> int:
    app = create_app(settings)
    app.state.web.ledger  # noqa: B018 - a ledger that cannot be opened is one line, before listening
    sock = bind(host, port)
    scheduler = EmbeddedScheduler(settings) if with_scheduler else None
    if scheduler is not None:
        scheduler.start()
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    print(
        f"serving the ledger on http://{shown}:{bound}"
        + (" with the scheduler" if scheduler else "")
        + (f" (public_url {settings.public_url})" if settings.public_url else ""),
        flush=True,
    )
    config = uvicorn.Config(app, log_level="warning", access_log=False, proxy_headers=True, server_header=False)
    server = uvicorn.Server(config)
    # uvicorn stops on SIGINT/SIGTERM, then raises the signal again for the handler it found: a no-op here, so
    # the scheduler stops after its unit of work and the process exits 0, as `apscn scheduler run` does
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda _signum, _frame: None)
    try:
        server.run(sockets=[sock])
    finally:
        if scheduler is not None:
            scheduler.stop()
        sock.close()
    print("server stopped", file=sys.stderr, flush=True)
    return 0
