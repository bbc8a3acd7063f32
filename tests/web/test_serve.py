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
