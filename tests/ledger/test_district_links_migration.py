"""A ledger made before the districts' links upgrades on its next open: its rows stay, ``link_use`` is there and
empty, and a link in a district email records its step."""

from __future__ import annotations

from datetime import date

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from apscn_tracker.config import load_settings
from apscn_tracker.ledger import queries as q
from apscn_tracker.ledger.db import HEAD, MIGRATIONS, current_revision, make_engine, open_ledger
from apscn_tracker.services import links, renewals
from apscn_tracker.services.app import App
from apscn_tracker.services.messages import render_message
from tests.support.links import PUBLIC, A, linked_ledger, tokens


def test_a_ledger_from_before_the_links_upgrades_and_its_district_emails_then_carry_working_links(make_app):
    app = linked_ledger(make_app)
    renewals.record_request(app, lea=A, year="2026-27", on=date(2027, 4, 1))
    app.close()
    settings = load_settings()
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    before = ScriptDirectory.from_config(cfg).get_revision("district_links").down_revision
    engine = make_engine(settings.url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, str(before))
    with engine.connect() as conn:
        assert "link_use" not in inspect(conn).get_table_names()
    engine.dispose()

    ledger = open_ledger(settings)
    assert current_revision(ledger.engine) == HEAD
    with ledger.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM link_use")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM renewal WHERE requested_on IS NOT NULL")).scalar() == 1
    ledger.dispose()

    app = App(load_settings(public_url=PUBLIC), today=date(2027, 5, 20))
    with app.ledger.read() as s:
        d, v = q.get_district(s, lea=A), q.get_vendor(s, name="Xello")
        rendered, _, _ = render_message(s, app, kind="renewal_reminder", district_id=d.id, vendor_id=v.id)
    token = tokens(rendered.text)[0]  # the request: the first open step
    assert links.record(app, token, on=date(2027, 5, 20)).recorded_on == date(2027, 5, 20)
    app.close()
