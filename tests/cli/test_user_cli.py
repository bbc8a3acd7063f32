"""apscn user: accounts of `apscn serve`, their passwords (Argon2) and tokens; bad input is one line and
changes nothing."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from apscn_tracker.config import load_settings
from tests.support.cli import refused

PASSWORD = "correct horse battery staple\n"


def _hashes() -> list[tuple]:
    engine = create_engine(load_settings().url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT email, password_hash, api_token_hash FROM web_user")).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def test_a_user_is_added_from_stdin_with_an_argon2_hash_and_listed(ready):
    result = ready("user", "add", "Ann@Coop.k12.ar.us", "--role", "coordinator", "--password-stdin", input=PASSWORD)
    assert result.exit_code == 0 and result.stdout == "added ann@coop.k12.ar.us (coordinator)\n"
    ((email, hashed, token),) = _hashes()
    assert email == "ann@coop.k12.ar.us" and hashed.startswith("$argon2id$") and "correct horse" not in hashed
    assert token is None
    (listed,) = ready.json("user", "list")
    assert listed["email"] == email and listed["role"] == "coordinator" and listed["api_token"] is False


def test_the_password_is_asked_twice_at_the_prompt(ready):
    result = ready("user", "add", "bo@coop.k12.ar.us", input="long enough pass\nlong enough pass\n")
    assert result.exit_code == 0 and "added bo@coop.k12.ar.us (viewer)" in result.stdout


def test_bad_input_is_refused_in_one_line_and_writes_nothing(ready):
    refused(ready, "user", "add", "not-an-address", "--password-stdin", contains="not an email address")
    assert ready("user", "add", "a@coop.k12.ar.us", "--password-stdin", input="short\n").exit_code == 1
    assert (
        ready("user", "add", "a@coop.k12.ar.us", "--role", "admin", "--password-stdin", input=PASSWORD).exit_code == 1
    )
    assert _hashes() == []
    assert ready("user", "add", "a@coop.k12.ar.us", "--password-stdin", input=PASSWORD).exit_code == 0
    again = ready("user", "add", "A@coop.k12.ar.us", "--password-stdin", input=PASSWORD)
    assert again.exit_code == 1 and "already a user" in again.stderr
    refused(ready, "user", "remove", "nobody@coop.k12.ar.us", contains="no user")
    refused(ready, "user", "token", "nobody@coop.k12.ar.us", contains="no user")


def test_a_token_is_shown_once_and_stored_as_its_hash_and_a_new_one_replaces_it(ready):
    ready("user", "add", "a@coop.k12.ar.us", "--password-stdin", input=PASSWORD)
    first = ready("user", "token", "a@coop.k12.ar.us").stdout.strip()
    assert len(first) >= 40
    ((_, _, stored),) = _hashes()
    assert stored and first not in stored
    second = ready("user", "token", "a@coop.k12.ar.us").stdout.strip()
    assert second != first and _hashes()[0][2] != stored


def test_password_and_remove(ready):
    ready("user", "add", "a@coop.k12.ar.us", "--password-stdin", input=PASSWORD)
    before = _hashes()[0][1]
    result = ready("user", "password", "a@coop.k12.ar.us", "--password-stdin", input="another long password\n")
    assert result.exit_code == 0 and _hashes()[0][1] != before
    assert ready("user", "remove", "a@coop.k12.ar.us").exit_code == 0
    assert _hashes() == []
