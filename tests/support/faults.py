"""What the fault tests share: a real SMTP server on 127.0.0.1 that misbehaves on cue, a proxy that cuts a
connection in the middle of a message, `apscn` run in a child process with its clock set, and the ledger's
invariants. (No tests here.)"""

from __future__ import annotations

import contextlib
import email
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from apscn_tracker.services import districts
from apscn_tracker.services.setup import init
from tests.support.roster import EARLIER_ROSTER, connect_earlier_roster

# Read when the module is imported: the fixtures clear every APSCN_* variable before each test.
FAULT_SEED = os.environ.get("APSCN_FAULT_SEED")  # another random sequence for the kill and SMTP fault tests
FAULT_FIGURES = os.environ.get("APSCN_FAULT_FIGURES")  # a file to append each fault test's figures to (JSON lines)
COORDINATOR = "coordinator@coop.example"
MAIL_FROM = "APSCN Tracker <tracker@coop.example>"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Delivery:
    message_id: str
    to: list[str]
    answer: str  # "250", "421", "451", "550" or "drop" (connection closed after the message, before a reply)


@dataclass
class FaultySmtp:
    """aiosmtpd on 127.0.0.1. ``script(n, message_id)`` picks the fate of the n-th message received (from 0):
    ``"250"``, ``"421"``, ``"451"``, ``"550"``, ``"drop"``; ``delay`` seconds pass before the answer."""

    script: Callable[[int, str], str] = lambda n, mid: "250"
    delay: float = 0.0
    port: int = field(default_factory=free_port)
    log: list[Delivery] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        import asyncio

        mid = email.message_from_bytes(envelope.content)["Message-ID"]
        answer = self.script(len(self.log), mid)
        self.log.append(Delivery(mid, list(envelope.rcpt_tos), answer))
        if self.delay:
            await asyncio.sleep(self.delay)
        if answer == "drop":
            server.transport.close()
            return "421 closing"  # written to a closed connection: the client sees the line drop
        return {
            "250": "250 OK",
            "421": "421 4.3.2 service shutting down",
            "451": "451 4.3.0 try again later",
            "550": "550 5.1.1 mailbox unavailable",
        }[answer]

    def accepted(self) -> list[str]:
        return [d.message_id for d in self.log if d.answer == "250"]

    def wait_for(self, n: int, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> bool:
        """Until ``n`` messages were received; False if ``proc`` ended first."""
        deadline = time.monotonic() + timeout
        while len(self.log) < n:
            if proc is not None and proc.poll() is not None:
                return False
            assert time.monotonic() < deadline, f"the server got {len(self.log)} messages, not {n}"
            time.sleep(0.005)
        return True

    def __enter__(self) -> FaultySmtp:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


class CuttingProxy:
    """A TCP proxy in front of an SMTP server. For each new connection ``cut(n)`` (n counts connections from 0)
    says after how many bytes of a message's DATA to cut both sides, or None to pass everything."""

    def __init__(self, backend_port: int, cut: Callable[[int], int | None]) -> None:
        self.backend_port = backend_port
        self.cut = cut
        self.port = free_port()
        self.connections = 0
        self.cuts = 0
        self._sock = socket.create_server(("127.0.0.1", self.port))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> CuttingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            limit = self.cut(self.connections)
            self.connections += 1
            backend = socket.create_connection(("127.0.0.1", self.backend_port))
            threading.Thread(target=self._pump, args=(backend, client, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(client, backend, limit), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, limit: int | None) -> None:
        seen = b""
        in_data = False
        sent = 0
        try:
            while True:
                chunk = src.recv(4096)
                if not chunk:
                    break
                if limit is not None:
                    if not in_data:
                        seen = (seen + chunk)[-64:]
                        if b"DATA\r\n" in seen.upper():
                            in_data = True
                            after = chunk.upper().split(b"DATA\r\n", 1)
                            sent = len(after[1]) if len(after) == 2 else 0
                    else:
                        sent += len(chunk)
                        if sent >= limit:  # part of the message is through: cut both ends now
                            dst.sendall(chunk[: max(0, len(chunk) - (sent - limit))])
                            self.cuts += 1
                            break
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()


AT_CLOCK = """
import os, sys
from datetime import datetime
from freezegun import freeze_time
if os.environ.get("APSCN_DATABASE_URL"):  # C extensions load before the clock is replaced
    import psycopg
from apscn_tracker.cli.main import run
at = datetime.fromisoformat(sys.argv[1])
sys.argv = ["apscn", *sys.argv[2:]]
with freeze_time(at, tick=True):
    run()
"""


def apscn_argv(args: list[str], at: datetime | None = None) -> list[str]:
    """The command line of ``apscn ARGS`` in a new process (whose clock reads ``at``, and runs on from there)."""
    if at is None:
        return [sys.executable, "-m", "apscn_tracker", *args]
    return [sys.executable, "-c", AT_CLOCK, at.isoformat(), *args]


def run_apscn(
    args: list[str], env: dict[str, str], at: datetime | None = None, timeout: float = 120, **kw: Any
) -> subprocess.CompletedProcess:
    return subprocess.run(apscn_argv(args, at), env=env, capture_output=True, text=True, timeout=timeout, **kw)


def run_apscn_on(
    today: date, *args: str, at: datetime | None = None, preexec_fn: Callable[[], None] | None = None, **env: str
) -> subprocess.CompletedProcess:
    """``apscn ARGS`` in a new process whose APSCN_TODAY is ``today``, with ``env`` added to this process's."""
    return run_apscn(list(args), {**os.environ, "APSCN_TODAY": today.isoformat(), **env}, at=at, preexec_fn=preexec_fn)


def smtp_env(port: int, today: date | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "APSCN_MAIL_TRANSPORT": "smtp",
        "APSCN_SMTP_HOST": "127.0.0.1",
        "APSCN_SMTP_PORT": str(port),
        "APSCN_SMTP_SECURITY": "none",
    }
    if today is not None:
        env["APSCN_TODAY"] = today.isoformat()
    return env


def write_config(home: Path, **extra: Any) -> None:
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    lines = [f'coordinator_email = "{COORDINATOR}"', f'mail_from = "{MAIL_FROM}"']
    lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    (home / "config.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def one_error_line(stderr: str) -> bool:
    """Never a traceback, at most one ``error:`` line (log lines such as "outbox #5 failed for good" may come)."""
    lines = stderr.strip().splitlines()
    return "Traceback" not in stderr and sum(line.startswith("error: ") for line in lines) <= 1


def ledger_check(app) -> dict[str, dict]:
    """``apscn db check`` in-process, by check name; a message left in ``sending`` is only a warning."""
    from apscn_tracker.services.db.checks import check

    result = check(app)
    found = {c["name"]: c for c in result["checks"]}
    assert result["ok"], {n: c for n, c in found.items() if c["status"] == "problem"}
    return found


def outbox_rows(app) -> list[tuple[int, str, str, str]]:
    """(id, key, status, message_id) of every outbox row."""
    from sqlalchemy import select

    from apscn_tracker.ledger.models import Outbox

    with app.ledger.read() as s:
        return [tuple(r) for r in s.execute(select(Outbox.id, Outbox.key, Outbox.status, Outbox.message_id))]


def seed(default: int) -> int:
    return int(FAULT_SEED) if FAULT_SEED else default


def record_figures(test: str, figures: dict[str, Any]) -> None:
    """Print a fault test's figures (pytest -s shows them) and append them to APSCN_FAULT_FIGURES if set."""
    print(f"\n{test} figures:", json.dumps(figures))
    if FAULT_FIGURES:
        with open(FAULT_FIGURES, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"test": test, **figures}) + "\n")


def connected_ledger(make_app, home: Path, today: date) -> None:
    """A ledger in ``home`` with the settings of ``write_config``, every district connected to Xello by API and
    the first five with a contact, closed again."""
    write_config(home)
    app = make_app(today)
    init(app)
    connect_earlier_roster(app)
    for lea in EARLIER_ROSTER[:5]:
        districts.edit_district(app, lea=lea, add_emails=[f"data@{lea}.k12.example"])
    app.close()
