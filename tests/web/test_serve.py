"""``apscn serve`` is a real process: it binds the port it is given (0: any free one, printed), answers, and stops
cleanly on SIGTERM."""

from __future__ import annotations

import pytest

from apscn_tracker.config import load_settings
from apscn_tracker.services.app import App
from apscn_tracker.services.setup import init
from tests.support.web import get_json, served


@pytest.fixture
def ledger(home):
    app = App(load_settings())
    init(app)
    app.close()
    return home


def test_the_server_answers_healthz_with_the_last_tick_and_pending_mail_and_stops_on_sigterm(ledger):
    with served() as (base, proc):
        health = get_json(base + "/healthz")
        assert health["status"] == "ok"
        assert health["last_tick"] is None
        assert health["mail"] == {"pending": 0, "sending": 0, "failed": 0}
    assert proc.returncode == 0
    assert "Traceback" not in proc.stderr.read()  # type: ignore[union-attr]


def test_the_app_is_built_without_opening_the_ledger(home):
    from apscn_tracker.web.app import create_app

    app = create_app(load_settings())
    assert app.state.web._ledger is None
    assert not (home / "apscn.db").exists()


def test_the_session_cookie_is_httponly_and_lax_and_secure_only_when_public_url_is_https(home):
    import httpx

    from tests.support.web import COORDINATOR, PASSWORD, demo_ledger_with_users, form_token

    demo_ledger_with_users()
    for public_url, secure in (("", False), ("https://apscn.coop.k12.ar.us", True)):
        with served(env={"APSCN_PUBLIC_URL": public_url}) as (base, _), httpx.Client(base_url=base) as c:
            form = c.get("/signin")
            assert ("Secure" in form.headers["set-cookie"]) is secure
            token = form_token(form.text)
            c.cookies.set("apscn_signin", token)  # a Secure cookie comes back only over https: the proxy's side
            data = {"email": COORDINATOR, "password": PASSWORD, "csrf": token}
            cookie = c.post("/signin", data=data).headers["set-cookie"].split(", apscn_signin")[0]
            assert cookie.startswith("apscn_session=")
            assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
            assert ("Secure" in cookie) is secure


def test_healthz_tells_no_secret(ledger):
    secret = "s3cret-smtp-pa55word"
    with served(env={"APSCN_SMTP_PASSWORD": secret, "APSCN_SMTP_USER": "mailer"}) as (base, _):
        import urllib.request

        text = urllib.request.urlopen(base + "/healthz", timeout=10).read().decode()
    assert secret not in text and "mailer" not in text and "apscn.db" not in text


def test_with_the_scheduler_the_server_holds_the_one_scheduler_lock_and_stops_both_on_sigterm(ledger):
    import subprocess
    import sys

    with served("--with-scheduler") as (base, proc):
        second = subprocess.run(
            [sys.executable, "-m", "apscn_tracker", "scheduler", "run"], capture_output=True, text=True, timeout=120
        )
        assert second.returncode == 1 and "another scheduler is running" in second.stderr
        assert get_json(base + "/healthz")["status"] == "ok"
    assert proc.returncode == 0
    err = proc.stderr.read()  # type: ignore[union-attr]
    assert "scheduler started" in err and "scheduler stopped" in err and "Traceback" not in err


def test_a_port_in_use_or_out_of_range_is_one_line_and_exit_1(ledger, cli):
    import socket
    import subprocess
    import sys

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    try:
        done = subprocess.run(
            [sys.executable, "-m", "apscn_tracker", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        taken.close()
    assert done.returncode == 1 and done.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert done.stderr.count("\n") == 1
    result = cli("serve", "--port", "70000")
    assert result.exit_code == 1 and "--port 70000 is not a port" in result.stderr
