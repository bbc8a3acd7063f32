"""The token of a district's link: what it names, that it cannot be altered or forged, and when it expires."""

from datetime import date

import pytest

from apscn_tracker.domain import links as dl
from apscn_tracker.domain.links import Link, LinkProblem, LinkRefused
from apscn_tracker.domain.schoolyear import SchoolYear
from apscn_tracker.domain.steps import RenewalDates

KEY = b"k" * 40
OTHER = b"o" * 40
LINK = Link(connection_id=7, school_year=2027, step="enable", contact_id=12, nonce=b"\x01" * 8)


def problem(token, key=KEY, retired=frozenset()):
    with pytest.raises(LinkRefused) as caught:
        dl.read(token, key, retired=retired)
    return caught.value.problem


D = date(2027, 5, 1)


def test_a_token_reads_back_as_the_renewal_step_and_contact_it_names():
    token = dl.sign(LINK, KEY)
    got = dl.read(token, KEY)
    assert (got.connection_id, got.school_year, got.step, got.contact_id, got.nonce) == (
        7,
        2027,
        "enable",
        12,
        LINK.nonce,
    )
    assert got.token_id == "01" * 8


def test_a_token_is_short_and_safe_in_a_url():
    token = dl.sign(LINK, KEY)
    assert len(token) == 54
    assert all(c.isalnum() or c in "-_" for c in token)


def test_every_changed_character_is_refused_as_tampered():
    token = dl.sign(LINK, KEY)
    for i in range(len(token)):
        for c in "AZ_-09az":
            if token[i] != c:
                assert problem(token[:i] + c + token[i + 1 :]) is LinkProblem.TAMPERED


def test_a_token_cut_short_or_made_up_is_refused_as_tampered():
    token = dl.sign(LINK, KEY)
    for bad in (token[:-1], token[:20], "", "x" * 54, "not a token!", "é" * 54, token + "A" * 100):
        assert problem(bad) is LinkProblem.TAMPERED


def test_a_token_signed_by_another_key_is_tampered_and_by_a_rotated_one_is_withdrawn():
    token = dl.sign(LINK, OTHER)
    assert problem(token) is LinkProblem.TAMPERED
    assert problem(token, retired=frozenset({dl.key_id(OTHER)})) is LinkProblem.ROTATED


def test_a_token_naming_another_connection_cannot_be_made_without_the_key():
    token = dl.sign(LINK, KEY)
    forged = dl.sign(Link(8, 2027, "enable", 12, LINK.nonce), OTHER)
    assert problem(forged[:32] + token[32:]) is LinkProblem.TAMPERED


def test_a_link_works_until_30_days_after_its_school_year():
    assert dl.expires_on(SchoolYear(2027)) == date(2028, 7, 30)
    dl.check_fresh(LINK, date(2028, 7, 30))
    with pytest.raises(LinkRefused) as caught:
        dl.check_fresh(LINK, date(2028, 7, 31))
    assert caught.value.problem is LinkProblem.EXPIRED and "July 30, 2028" in str(caught.value)


def test_the_open_step_is_the_next_one_and_none_once_confirmed_or_cut():
    d = date(2027, 5, 3)
    assert dl.open_step(RenewalDates()) == "request"
    assert dl.open_step(RenewalDates(requested_on=d)) == "enable"
    assert dl.open_step(RenewalDates(requested_on=d, enabled_on=d)) == "confirm"
    assert dl.open_step(RenewalDates(requested_on=d, enabled_on=d, confirmed_on=d)) is None
    assert dl.open_step(RenewalDates(disconnected_on=d)) is None


@pytest.mark.parametrize(
    ("dates", "open_steps", "before_confirm"),
    [
        (RenewalDates(), ("request", "enable", "confirm"), ("request", "enable")),
        (RenewalDates(requested_on=D), ("enable", "confirm"), ("enable",)),
        (RenewalDates(requested_on=D, enabled_on=D), ("confirm",), ()),
        (RenewalDates(requested_on=D, enabled_on=D, confirmed_on=D), (), ()),
        (RenewalDates(requested_on=D, disconnected_on=D), (), ()),
    ],
)
def test_every_step_not_recorded_is_open_and_a_later_one_asks_for_those_before_it(dates, open_steps, before_confirm):
    assert dl.open_steps(dates) == open_steps
    assert dl.missing_before(dates, "confirm") == before_confirm
    assert dl.missing_before(dates, "request") == ()


def test_each_problem_has_its_own_words():
    token = dl.sign(LINK, OTHER)
    words = set()
    for retired in (frozenset(), frozenset({dl.key_id(OTHER)})):
        with pytest.raises(LinkRefused) as caught:
            dl.read(token, KEY, retired=retired)
        words.add(str(caught.value))
    with pytest.raises(LinkRefused) as caught:
        dl.check_fresh(LINK, date(2030, 1, 1))
    words.add(str(caught.value))
    assert len(words) == 3
