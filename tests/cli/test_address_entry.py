"""An address that cannot receive mail is refused where it comes in, with the reason, and nothing is written:
`district add`, `district edit --email/--add-email`, a roster import, a vendor's Onboarding Manager. `doctor`
lists those stored before this check existed; the settings' addresses are named with their reason."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text

from apscn_tracker.config import load_settings
from tests.support.cli import T, refused
from tests.support.snapshot import snapshot

BAD = [
    ("a:b@lrsd.example", "cannot hold ':'"),
    ("a(x)@lrsd.example", "cannot hold '('"),
    ("josé@lrsd.example", "outside ASCII"),
    ("pat@lrsd.exämple", "xn--"),
    ("pat@lrsd..example", "two dots"),
]


@pytest.mark.parametrize(("address", "reason"), BAD)
def test_district_add_refuses_an_address_that_cannot_receive_mail(ready, address, reason):
    refused(ready, "district", "add", "7509900", "New District", "--email", address, contains=reason)


@pytest.mark.parametrize(("address", "reason"), BAD)
@pytest.mark.parametrize("option", ["--add-email", "--email"])
def test_district_edit_refuses_an_address_that_cannot_receive_mail(ready, address, reason, option):
    message = refused(ready, "district", "edit", "6001000", option, address, contains=reason)
    assert address in message and "is not an email address that can receive mail" in message


@pytest.mark.parametrize(("address", "reason"), BAD)
def test_a_roster_with_an_address_that_cannot_receive_mail_is_refused_whole(ready, tmp_path, address, reason):
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "lea_code,name,contact_email\n6001000,LITTLE ROCK SCHOOL DISTRICT,ok@lrsd.example\n"
        f"0401000,BENTONVILLE SCHOOL DISTRICT,{address}\n",
        encoding="utf-8",
    )
    before = snapshot(load_settings().url)
    result = ready("district", "import", str(roster), today=T)
    assert result.exit_code == 1 and reason in result.stderr  # a roster's problems: a table, one line each
    assert "\n3     contact_email " in result.stderr
    assert snapshot(load_settings().url) == before


@pytest.mark.parametrize(("address", "reason"), BAD)
def test_a_vendor_onboarding_address_that_cannot_receive_mail_is_refused(ready, address, reason):
    refused(ready, "vendor", "add", "Acme", "--onboarding-email", address, contains=reason)
    refused(ready, "vendor", "edit", "Xello", "--onboarding-email", address, contains=reason)


def test_a_unicode_domain_given_in_its_ascii_form_is_accepted(ready):
    assert ready("district", "edit", "6001000", "--add-email", "pat@xn--exmple-cua.example", today=T).exit_code == 0
    shown = json.loads(ready("district", "show", "6001000", "--json").stdout)
    assert [c["email"] for c in shown["contacts"]] == ["pat@xn--exmple-cua.example"]


def _store_behind_the_checks(statements: list[str]) -> None:
    engine = create_engine(load_settings().url)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


def test_doctor_lists_the_stored_addresses_that_cannot_receive_mail(ready):
    contact = "INSERT INTO contact (district_id, email) SELECT id, '{}' FROM district WHERE lea_code = '{}'"
    _store_behind_the_checks(
        [
            contact.format("a:b@lrsd.example", "6001000"),
            contact.format("ok@lrsd.example", "6001000"),
            contact.format("josé@bps.example", "0401000"),
            "UPDATE vendor SET onboarding_email = 'onboarding@xello..example' WHERE name = 'Xello'",
        ]
    )
    result = ready("doctor", "--json", today=T)
    (check,) = [c for c in json.loads(result.stdout)["checks"] if c["name"] == "addresses"]
    assert check["status"] == "warn"  # listed; the reminders to the others go out
    assert "3 stored address(es) cannot receive mail" in check["message"]
    details = "\n".join(check["details"])
    assert "6001000 contact a:b@lrsd.example" in details and "cannot hold ':'" in details
    assert "0401000" in details and "josé@bps.example" in details and "Xello" in details and "two dots" in details
    assert "ok@lrsd.example" not in details
    removed = ready("district", "edit", "6001000", "--remove-email", "a:b@lrsd.example", "--note", "bad", today=T)
    assert removed.exit_code == 0, removed.stderr
    assert "a:b@lrsd.example" not in ready("doctor", "--json", today=T).stdout


def test_doctor_says_every_stored_address_can_receive_mail(ready):
    ready("district", "edit", "6001000", "--add-email", "ok@lrsd.example", today=T)
    result = ready("doctor", "--json", today=T)
    (check,) = [c for c in json.loads(result.stdout)["checks"] if c["name"] == "addresses"]
    assert check["status"] == "ok"


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("coordinator_email", "coord(x)@coop.example", "cannot hold '('"),
        ("coordinator_email", "coord@coöp.example", "xn--"),
        ("mail_from", "Tracker <tracker@coöp.example>", "xn--"),
        ("mail_from", "Tracker <tracker@coop..example>", "two dots"),
    ],
)
def test_doctor_and_delivery_name_a_setting_that_cannot_receive_mail_with_its_reason(
    ready, monkeypatch, key, value, reason
):
    monkeypatch.setenv(f"APSCN_{key.upper()}", value)
    result = ready("doctor", "--json", today=T)
    where = "mail setup" if key == "mail_from" else "configuration"  # no sender, no mail at all: a fail
    (check,) = [c for c in json.loads(result.stdout)["checks"] if c["name"] == where]
    assert any(key in line and reason in line for line in [check["message"], *check["details"]]), check
    sent = ready("outbox", "send")
    assert sent.exit_code == 1 and sent.stderr.startswith(f"error: {key}") and reason in sent.stderr
    assert sent.stderr.count("\n") == 1 and "Traceback" not in sent.output


def test_a_stored_address_that_cannot_receive_mail_is_skipped_when_a_message_is_queued(ready, monkeypatch):
    """It used to stop `request-form` with a HeaderParseError traceback (``pat@lrsd..example``)."""
    monkeypatch.setenv("APSCN_COORDINATOR_EMAIL", "coordinator@coop.example")
    ready("district", "edit", "6001000", "--add-email", "ok@lrsd.example", today=T)
    contact = "INSERT INTO contact (district_id, email) SELECT id, '{}' FROM district WHERE lea_code = '6001000'"
    _store_behind_the_checks([contact.format(bad) for bad in ("pat@lrsd..example", "a(x)@lrsd.example")])
    result = ready("request-form", "6001000", "--json", today=T)
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    form = json.loads(result.stdout)
    assert form["to"] == ["ok@lrsd.example"] and form["queued"]
