"""A real ``apscn serve`` process on 127.0.0.1 and an ephemeral port, for the web tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def served(
    *args: str, env: dict[str, str] | None = None, timeout: float = 30.0
) -> Iterator[tuple[str, subprocess.Popen]]:
    """``apscn serve --port 0 ARGS`` in a subprocess (this test's APSCN_HOME); yields its base URL once
    ``/healthz`` answers, and stops it with SIGTERM afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "apscn_tracker", "serve", "--host", "127.0.0.1", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("serving the ledger on "):
            proc.kill()
            raise AssertionError(f"the server did not start: {line!r} {proc.communicate()[1][-2000:]}")
        base = line.split()[4]
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def get_json(url: str, headers: dict[str, str] | None = None) -> Any:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as r:
        return json.loads(r.read())


PASSWORD = "correct horse battery staple"
COORDINATOR, VIEWER = "coord@coop.k12.ar.us", "viewer@coop.k12.ar.us"


def demo_ledger_with_users() -> None:
    """``init --demo`` in this test's APSCN_HOME, a coordinator and a viewer (both with PASSWORD)."""
    from apscn_tracker.config import load_settings
    from apscn_tracker.services.app import App
    from apscn_tracker.services.setup import init
    from apscn_tracker.services.users import add_user

    app = App(load_settings())
    try:
        init(app, demo=True)
        add_user(app, email=COORDINATOR, role="coordinator", password=PASSWORD)
        add_user(app, email=VIEWER, role="viewer", password=PASSWORD)
    finally:
        app.close()


def form_token(html: str) -> str:
    import re

    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no form token on the page"
    return found.group(1)


def sign_in(client: Any, email: str, password: str = PASSWORD) -> Any:
    """Sign ``client`` (an httpx.Client on the server) in as the browser does: the form, then its POST."""
    token = form_token(client.get("/signin").text)
    return client.post("/signin", data={"email": email, "password": password, "csrf": token, "next": "/"})
