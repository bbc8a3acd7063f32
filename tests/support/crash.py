"""A lapsed ledger and a slow real SMTP server, for the tests that kill or restart a tick or a scheduler."""

from __future__ import annotations

import asyncio
import email
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from apscn_tracker.services import districts
from apscn_tracker.services.setup import init
from tests.support.roster import connect_earlier_roster

TODAY = date(2026, 7, 8)
COORDINATOR = "coordinator@coop.example"


class SlowSmtp:
    """A real SMTP server on 127.0.0.1 that waits ``delay`` seconds before accepting each message."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.received: list[str] = []  # Message-IDs, in arrival order
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.received.append(email.message_from_bytes(envelope.content)["Message-ID"])
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 OK"

    def __enter__(self) -> SlowSmtp:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    def wait_for(self, n: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < n:
            assert time.monotonic() < deadline, f"the server got {len(self.received)} messages, not {n}"
            time.sleep(0.01)


def lapsed_ledger(make_app, home: Path, **config: object) -> None:
    """Every bundled district connected by API and lapsed on July 8, 2026: 29 notices and a digest to send."""
    app = make_app(TODAY)
    init(app)
    connect_earlier_roster(app)
    for lea in ("0101000", "0104000", "0401000"):
        districts.edit_district(app, lea=lea, add_emails=[f"data@{lea}.k12.example"])
    app.close()
    lines = [
        f'coordinator_email = "{COORDINATOR}"',
        'mail_from = "APSCN Tracker <tracker@coop.example>"',
        *(f"{k} = {json.dumps(v)}" for k, v in config.items()),
    ]
    (home / "config.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def process_env(server: SlowSmtp) -> dict[str, str]:
    return {
        **os.environ,
        "APSCN_TODAY": TODAY.isoformat(),
        "APSCN_MAIL_TRANSPORT": "smtp",
        "APSCN_SMTP_HOST": "127.0.0.1",
        "APSCN_SMTP_PORT": str(server.port),
        "APSCN_SMTP_SECURITY": "none",
    }


def kill_on_the_wire(args: list[str], server: SlowSmtp, *, nth: int = 3) -> tuple[str, int]:
    """Run ``apscn ARGS`` against ``server`` and SIGKILL it while its ``nth`` message is on the wire (received by
    the server, not yet acknowledged, not yet marked sent); that message's Message-ID and the process's pid."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "apscn_tracker", *args],
        env=process_env(server),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    server.wait_for(nth)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return server.received[-1], proc.pid
