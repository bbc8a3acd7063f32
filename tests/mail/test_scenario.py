"""The shared mail scenario (tests.support.mail) really puts a district in every situation an email is about."""

from __future__ import annotations

from tests.support.mail import ENABLED, LAPSED, NO_CONTACT, OVERDUE, SCRIPTED, TODAY, build_scenario, mail_settings


def test_it_builds_a_district_in_every_situation(make_app):
    from apscn_tracker.services.status import status_rows

    app = make_app(TODAY, **mail_settings())
    build_scenario(app)
    found = {r["lea"]: r["status"] for r in status_rows(app)}
    assert found[ENABLED] == "enabled"
    assert found[OVERDUE] == "overdue"
    assert found[LAPSED] == "lapsed"
    assert found[SCRIPTED] == "scripted"
    assert found[NO_CONTACT] == "lapsed"
