"""`request_form_url`: when set, every district email says where to submit the APSCN form; emails about no
district (the coordinator's digest) do not."""

from __future__ import annotations

from sqlalchemy import select

from apscn_tracker.config import load_settings
from apscn_tracker.ledger.db import open_ledger
from apscn_tracker.ledger.models import Outbox

URL = "https://forms.example.org/apscn-request"
T = "2026-11-02"


def test_every_district_email_shows_the_form_address_when_it_is_set(cli, home):
    assert cli("init", "--demo", today=T).exit_code == 0
    cfg = home / "config.toml"
    cfg.write_text(f'request_form_url = "{URL}"\n' + cfg.read_text(encoding="utf-8"), encoding="utf-8")
    sent = cli.json("send", "request_form", "2906000", today=T)
    assert URL in sent["text"]
    assert cli("tick", today=T).exit_code == 0
    ledger = open_ledger(load_settings())
    try:
        with ledger.read() as s:
            rows = list(s.scalars(select(Outbox)))
    finally:
        ledger.dispose()
    about_districts = [r for r in rows if r.district_id is not None]
    assert len(about_districts) > 3
    assert all(URL in r.body_text and f'href="{URL}"' in r.body_html for r in about_districts)
    assert all(URL not in r.body_text for r in rows if r.district_id is None)


def test_a_form_address_that_is_not_a_web_address_is_refused_in_one_line(cli, home):
    assert cli("init", today=T).exit_code == 0
    cfg = home / "config.toml"
    cfg.write_text('request_form_url = "ftp://x"\n' + cfg.read_text(encoding="utf-8"), encoding="utf-8")
    result = cli("status", today=T)
    assert result.exit_code == 1 and "request_form_url" in result.stderr and result.stderr.count("\n") == 1
