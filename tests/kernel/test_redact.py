"""Every form a database password takes in a URL, hidden by the one redaction function (``redact``)."""

from __future__ import annotations

import logging
from urllib.parse import quote, quote_plus

import pytest

from apscn_tracker.redact import RedactingFilter, redact, redact_url

PW = "s3cret-Pw_9"

# (how the URL is written, how it must be shown, the password as the server receives it)
FORMS = [
    (
        f"postgresql+psycopg://coord:{PW}@db.coop.example:5432/apscn",
        "postgresql+psycopg://coord:***@db.coop.example:5432/apscn",
        PW,
    ),
    (
        f"postgresql://coord@db.coop.example/apscn?password={PW}",
        "postgresql://coord@db.coop.example/apscn?password=***",
        PW,
    ),
    (
        f"postgresql://db.coop.example/apscn?sslmode=require&password={PW}&connect_timeout=5",
        "postgresql://db.coop.example/apscn?sslmode=require&password=***&connect_timeout=5",
        PW,
    ),
    (
        f"postgresql:///apscn?host=/run/postgresql&user=coord&password={PW}",
        "postgresql:///apscn?host=/run/postgresql&user=coord&password=***",
        PW,
    ),
    (f"postgresql://h/apscn?PASSWORD={PW}", "postgresql://h/apscn?PASSWORD=***", PW),
    (f"postgresql://h/apscn?%70assword={PW}", "postgresql://h/apscn?%70assword=***", PW),  # the key percent-encoded
    (f"postgresql://h/apscn?pass%77ord={PW}", "postgresql://h/apscn?pass%77ord=***", PW),
    ("postgresql://coord:s3cret%40Pw%2F9@h/apscn", "postgresql://coord:***@h/apscn", "s3cret@Pw/9"),  # encoded
    ("postgresql://coord:s3cret@Pw/9@h/apscn", "postgresql://coord:***@h/apscn", "s3cret@Pw/9"),  # an @ not encoded
    ("postgresql://coord:s3c?ret@h/apscn", "postgresql://coord:***@h/apscn", "s3c?ret"),  # a ? not encoded
    ("postgresql://h/apscn?password=s3c&ret-9&x=1", "postgresql://h/apscn?password=***&x=1", "s3c&ret-9"),  # an &
    (f"postgresql://coord:{PW}@h/apscn?password={PW}", "postgresql://coord:***@h/apscn?password=***", PW),
    (f"postgresql://h/apscn?sslpassword={PW}", "postgresql://h/apscn?sslpassword=***", PW),  # the client key's
    (
        f"host=db.coop.example user=coord password={PW} dbname=apscn",
        "host=db.coop.example user=coord password=*** dbname=apscn",
        PW,
    ),
    (f"host=db password = '{PW} with spaces' dbname=apscn", "host=db password=*** dbname=apscn", f"{PW} with spaces"),
    ("host=db password='it\\'s-s3cret' dbname=apscn", "host=db password=*** dbname=apscn", "it's-s3cret"),
    # nothing to hide: shown as they are
    (
        "postgresql://coord@db.coop.example:5432/apscn?sslmode=require",
        "postgresql://coord@db.coop.example:5432/apscn?sslmode=require",
        None,
    ),
    ("sqlite:////srv/apscn@coop/apscn.db", "sqlite:////srv/apscn@coop/apscn.db", None),
    ("sqlite:///relative.db", "sqlite:///relative.db", None),
]
SECRET_FORMS = [(url, secret) for url, _, secret in FORMS if secret]


@pytest.mark.parametrize(("url", "shown", "secret"), FORMS)
def test_each_form_of_a_database_password_is_hidden_and_the_rest_kept(url, shown, secret):
    assert redact_url(url) == shown


@pytest.mark.parametrize(("url", "shown", "secret"), FORMS)
def test_a_url_written_inside_a_message_is_hidden_as_well(url, shown, secret):
    assert redact(f"cannot open the ledger at {url}: refused", url=url) == f"cannot open the ledger at {shown}: refused"


@pytest.mark.parametrize(("url", "secret"), SECRET_FORMS)
def test_a_driver_message_repeating_the_password_in_any_encoding_hides_it(url, secret):
    for said in (secret, quote(secret, safe=""), quote_plus(secret)):
        assert redact(f'FATAL: password "{said}" refused', url=url) == 'FATAL: password "***" refused'


def test_a_url_found_in_a_text_without_knowing_it_is_hidden():
    text = f"could not connect (postgresql://bob:{PW}@db/apscn) nor to host=db password={PW} dbname=x"
    assert redact(text) == "could not connect (postgresql://bob:***@db/apscn) nor to host=db password=*** dbname=x"


def test_short_passwords_are_hidden_in_the_url_but_not_in_every_word():
    url = "postgresql://bob:ab@db/apscn"
    said = f"at {url}: database abc is absent"
    assert redact(said, url=url) == "at postgresql://bob:***@db/apscn: database abc is absent"


def test_other_secrets_are_hidden_too():
    assert redact("login failed for hunter2-smtp", secrets=["hunter2-smtp", None]) == "login failed for ***"


def test_the_log_filter_hides_the_password_in_the_message_and_the_traceback(caplog):
    url = f"postgresql://coord@db/apscn?password={PW}"
    log = logging.getLogger("apscn_tracker.test_redact")
    caplog.set_level(logging.INFO)
    caplog.handler.addFilter(RedactingFilter(url=url, secrets=["smtp-Secret-1"]))
    try:
        log.info("opening %s", url)
        try:
            raise RuntimeError(f"driver said {PW} and smtp-Secret-1")
        except RuntimeError:
            log.exception("tick failed")
        written = caplog.text
    finally:
        caplog.handler.filters.clear()
    assert "password=***" in written and "driver said *** and ***" in written and "Traceback" in written
    assert PW not in written and "smtp-Secret-1" not in written
