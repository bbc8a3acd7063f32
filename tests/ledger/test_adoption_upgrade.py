"""A ledger made before reminder holds and NCES ids existed is upgraded in place and keeps its reminders running."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from apscn_tracker.config import load_settings
from apscn_tracker.ledger.db import HEAD, MIGRATIONS, current_revision, open_ledger


def _to(engine, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def test_a_ledger_from_before_holds_is_upgraded_and_its_reminders_keep_running(make_app, cli):
    from apscn_tracker.services.setup import init

    app = make_app("2026-09-14")
    init(app)  # as a ledger of the release before: no hold
    _to(app.ledger.engine, "0002")
    app.close()
    assert current_revision(open_ledger(load_settings(), migrate=False).engine) == "0002"
    status = cli.json("reminders", "status", today="2026-09-14")  # any command upgrades it
    assert status["held"] is False and status["since"] is None
    assert current_revision(open_ledger(load_settings(), migrate=False).engine) == HEAD
    assert cli("init", today="2026-09-14").exit_code == 0  # init again on a ledger with districts: no hold
    assert cli.json("reminders", "status", today="2026-09-14")["held"] is False
