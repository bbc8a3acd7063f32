"""A ledger made before the web's users (at revision 0002) upgrades on its next open: its rows stay, the users'
tables are there and empty, and the CLI and a new user work on it."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from apscn_tracker.config import load_settings
from apscn_tracker.ledger.db import HEAD, MIGRATIONS, current_revision, make_engine, open_ledger
from apscn_tracker.services.app import App
from apscn_tracker.services.users import add_user, authenticate


def test_a_ledger_at_0002_upgrades_keeping_its_rows_and_gains_empty_user_tables(home, cli):
    settings = load_settings()
    home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    at_head = current_revision(engine) is not None  # PostgreSQL: each test's database is a migrated copy
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        if at_head:
            command.downgrade(cfg, "0002")  # the web's migration undone: its tables dropped
        else:
            command.upgrade(cfg, "0002")
        conn.execute(
            text(
                "INSERT INTO district (lea_code, name, created_at, updated_at) "
                "VALUES ('6001000', 'LITTLE ROCK SCHOOL DISTRICT', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )
    assert current_revision(engine) == "0002"
    engine.dispose()

    ledger = open_ledger(settings)
    assert current_revision(ledger.engine) == HEAD
    with ledger.engine.connect() as conn:
        assert {"web_user", "web_session"} <= set(inspect(conn).get_table_names())
        assert conn.execute(text("SELECT count(*) FROM web_user")).scalar() == 0
        assert conn.execute(text("SELECT name FROM district")).scalar() == "LITTLE ROCK SCHOOL DISTRICT"
    ledger.dispose()
    assert cli("district", "show", "6001000").exit_code == 0
    app = App(load_settings())
    add_user(app, email="a@coop.k12.ar.us", password="a long enough one")
    assert authenticate(app, email="A@coop.k12.ar.us", password="a long enough one") is not None
    assert authenticate(app, email="a@coop.k12.ar.us", password="not it at all") is None
    app.close()
