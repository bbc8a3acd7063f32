"""How a message is written out: headers folded and encoded as RFC 5322/2047 want, bodies 7-bit, whatever the
subject, the names and the text hold (the builder stores checked headers as they are, so it must fold them)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from apscn_tracker.mail.message import HeaderError, build_message, format_address, message_bytes, stored_addresses
from tests.support.mail import TODAY, mail_settings, parse, parts

LONG_SUBJECT = (
    "HARMONY GROVE SCHOOL DISTRICT (Saline): renew the Xello API connection for 2027-28, request by Wed, Jun 16, "
    "before the June 30 disconnect"
)
ONE_LONG_WORD = "x" * 120
PLAIN = "Hello,\n\nSubmit the form.\n"
HTML = "<html><body><p>Hello</p></body></html>\n"


@pytest.fixture
def settings(make_app):
    return make_app(TODAY, **mail_settings()).settings


def row(**changes):
    values = {
        "id": 1,
        "kind": "renewal_reminder",
        "to_addrs": "Lee Grant <lee.grant@lrsd.example>",
        "cc_addrs": "",
        "subject": "Renew the Xello connection",
        "body_text": PLAIN,
        "body_html": HTML,
        "message_id": "<apscn.0123456789abcdef@coop.example>",
        "created_at": datetime(2026, 11, 2, 14, 0, tzinfo=UTC),
    }
    values.update(changes)
    return SimpleNamespace(**values)


def written(r, settings) -> bytes:
    raw = message_bytes(build_message(r, settings))
    assert raw.isascii()
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert all(len(line) <= 78 for line in head.split(b"\r\n")), head
    return raw


@pytest.mark.parametrize(
    "subject",
    [
        LONG_SUBJECT,
        "Núñez Elementary: renouvellement de la connexion Xello pour 2027-28, avant le 30 juin, s'il vous plaît",
        f"a word too long for one line: {ONE_LONG_WORD} and after it",
        "short",
        "double  spaces and a trailing space stay as they were ",
    ],
)
def test_it_folds_and_encodes_a_subject_so_that_it_reads_back_the_same(settings, subject):
    msg = parse(written(row(subject=subject), settings))
    assert msg["Subject"] == subject
    assert not msg.defects


def test_it_folds_a_long_recipient_list_between_addresses(settings):
    people = [f"Contact Number {i} <contact.number.{i}@district{i}.k12.example>" for i in range(8)]
    accented = format_address("jose@lrsd.example", 'José "Pepe" Núñez, Jr.')
    msg = parse(written(row(to_addrs=", ".join(people), cc_addrs=accented), settings))
    expected = [f"contact.number.{i}@district{i}.k12.example" for i in range(8)]
    assert [a.addr_spec for a in msg["To"].addresses] == expected
    assert [a.display_name for a in msg["To"].addresses] == [f"Contact Number {i}" for i in range(8)]
    assert [a.display_name for a in msg["Cc"].addresses] == ['José "Pepe" Núñez, Jr.']
    assert not msg.defects


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (PLAIN, "7bit"),
        ("Bonjour José,\n\nLa connexion est coupée.\n", "quoted-printable"),
        ("a line longer than any server takes: " + "y" * 1200 + "\n", "quoted-printable"),
        ("trailing spaces stay   \nand = signs too\n", "7bit"),
    ],
)
def test_it_sends_a_body_7bit_when_it_can_and_quoted_printable_otherwise(settings, text, encoding):
    msg = parse(written(row(body_text=text, body_html=text.replace("\n", "<br>\n")), settings))
    plain = msg.get_body(preferencelist=("plain",))
    assert plain["Content-Transfer-Encoding"] == encoding
    assert plain.get_content_charset() == "utf-8"
    assert parts(msg) == (text, text.replace("\n", "<br>\n"))


def test_it_refuses_a_header_with_a_line_break_however_it_is_folded(settings):
    for field, value in (("subject", "Hi\n Bcc: x@evil.example"), ("subject", "Hi\r\nBcc: x@evil.example")):
        with pytest.raises(HeaderError):
            build_message(row(**{field: value}), settings)
    with pytest.raises(HeaderError):
        build_message(row(to_addrs="a@b.example,\n c@d.example"), settings)


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        ("Lee Grant <lee@lrsd.example>, jose@lrsd.example", ["Lee Grant <lee@lrsd.example>", "jose@lrsd.example"]),
        ('"Smith, Pat" <pat@x.example>', ['"Smith, Pat" <pat@x.example>']),
        # not as outbox_values writes it: read by the strict parser, same addresses
        ("a@b.example,c@d.example", ["a@b.example", "c@d.example"]),
        ('"Pat" <pat@x.example>', ["Pat <pat@x.example>"]),
        ("", []),
    ],
)
def test_it_reads_stored_recipients_whether_canonical_or_not(stored, read):
    assert stored_addresses(stored, "To") == read


@pytest.mark.parametrize("stored", ["not an address", "a@", "Pat <pat@x.example", "a@b.example\r\nBcc: c@d.example"])
def test_it_refuses_stored_recipients_that_are_no_addresses(stored):
    with pytest.raises(HeaderError):
        stored_addresses(stored, "To")


@pytest.mark.parametrize("mail_from", ["a@", "tracker@", "<>", "Tracker <tracker@coop.example"])
def test_it_says_which_setting_is_wrong_for_a_sender_the_parser_trips_on(mail_from):
    from apscn_tracker.mail.message import check_sender

    settings = SimpleNamespace(mail_from=mail_from, coordinator_email=None, coordinator_name=None)
    with pytest.raises(HeaderError, match="mail_from must be one address"):
        check_sender(settings)
