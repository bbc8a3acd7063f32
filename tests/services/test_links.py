"""Districts that answer: the link in a district email, what its page shows, and the step it records once."""

from __future__ import annotations

import os
import re
import stat
from datetime import date

import pytest

from apscn_tracker.config import load_settings
from apscn_tracker.domain.links import LinkProblem, LinkRefused
from apscn_tracker.domain.steps import StepRefused
from apscn_tracker.errors import UserError
from apscn_tracker.ledger import queries as q
from apscn_tracker.services import districts, link_key, links, renewals
from apscn_tracker.services.db.checks import check
from apscn_tracker.services.messages import render_message
from apscn_tracker.services.status import history, status_rows
from tests.support.links import PUBLIC, A, B, linked_ledger, tokens
from tests.support.snapshot import snapshot

TODAY = date(2027, 5, 20)


def reminder(app, lea=A, kind="renewal_reminder", year=None):
    with app.ledger.read() as s:
        d, v = q.get_district(s, lea=lea), q.get_vendor(s, name="Xello")
        rendered, _, _ = render_message(s, app, kind=kind, district_id=d.id, vendor_id=v.id, school_year=year)
    return rendered


def refused(app, token, problem, on=TODAY):
    before = snapshot(load_settings().url)
    with pytest.raises(LinkRefused) as looked:
        links.look(app, token)
    with pytest.raises(LinkRefused) as posted:
        links.record(app, token, on=on)
    assert looked.value.problem is posted.value.problem is problem
    assert snapshot(load_settings().url) == before
    return str(posted.value)


def test_init_makes_an_owner_only_key_and_keeps_it_when_run_again(make_app, home):
    app = linked_ledger(make_app)
    key = home / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    first = key.read_text()
    assert link_key.ensure_key(app.settings) == "kept" and key.read_text() == first


def test_a_key_in_the_environment_is_used_instead_and_a_short_one_is_refused(make_app, monkeypatch):
    app = linked_ledger(make_app)
    monkeypatch.setenv("APSCN_SECRET_KEY", "s" * 40)
    assert link_key.signing_key(app.settings) == b"s" * 40
    monkeypatch.setenv("APSCN_SECRET_KEY", "short")
    with pytest.raises(UserError, match="APSCN_SECRET_KEY is too short"):
        link_key.signing_key(app.settings)


def test_a_key_file_others_can_read_is_refused(make_app, home):
    app = linked_ledger(make_app)
    os.chmod(home / "secret.key", 0o644)
    with pytest.raises(UserError, match="readable by others"):
        link_key.signing_key(app.settings)


def test_a_renewal_reminder_carries_a_link_for_each_open_step_in_both_parts(make_app):
    app = linked_ledger(make_app)
    r = reminder(app)
    got = tokens(r.text)
    assert tokens(r.html) == got and len(set(got)) == 3
    for label in ("We submitted the APSCN request", "APSCN enabled our connection", "by the furthest step"):
        assert label in r.text
    assert ">We sent the details to our Onboarding Manager</a>" in r.html
    views = [links.look(app, t) for t in got]
    assert [v.step for v in views] == ["request", "enable", "confirm"]
    assert {(v.lea, v.vendor, v.school_year, v.actor) for v in views} == {
        (A, "Xello", "2027-28", "dana@6001000.k12.example")
    }
    assert [[b for b, _ in v.before] for v in views] == [[], ["request"], ["request", "enable"]]


def test_without_public_url_the_email_has_no_link(make_app):
    linked_ledger(make_app)
    plain = make_app("2027-05-20")
    r = reminder(plain)
    assert "/r/" not in r.text + r.html and "Done already" not in r.text


def test_each_email_links_only_the_steps_not_recorded_yet(make_app):
    app = linked_ledger(make_app)
    renewals.record_request(app, lea=A, year="2026-27", on=date(2027, 4, 1))
    got = tokens(reminder(app, kind="activation_overdue", year="2026-27").text)
    assert [links.look(app, t).label for t in got] == [
        "APSCN enabled our connection",
        "We sent the details to our Onboarding Manager",
    ]
    renewals.record_enabled(app, lea=A, year="2026-27", on=date(2027, 4, 20))
    (token,) = tokens(reminder(app, kind="send_details_reminder", year="2026-27").text)
    assert links.look(app, token).label == "We sent the details to our Onboarding Manager"
    renewals.record_confirmed(app, lea=A, year="2026-27", on=date(2027, 4, 22))
    assert tokens(reminder(app, kind="send_details_reminder", year="2026-27").text) == []


def test_a_link_for_a_later_step_records_the_open_steps_before_it_on_their_dates_in_one_go(make_app):
    app = linked_ledger(make_app)
    confirm = tokens(reminder(app).text)[2]
    view = links.look(app, confirm)
    assert view.step == "confirm" and [b for b, _ in view.before] == ["request", "enable"]
    done = links.record(
        app, confirm, on=date(2027, 5, 19), before={"request": date(2027, 5, 1), "enable": date(2027, 5, 12)}
    )
    assert [label for label, _ in done.recorded] == [
        "We submitted the APSCN request",
        "APSCN enabled our connection",
        "We sent the details to our Onboarding Manager",
    ]
    assert done.next_token is None
    steps = [
        (e["kind"], e["on"], e["actor"], e["source"]) for e in history(app, lea=A) if e["school_year"] == "2027-28"
    ]
    who = "dana@6001000.k12.example"
    assert steps[-3:] == [
        ("requested", "2027-05-01", who, "link"),
        ("enabled", "2027-05-12", who, "link"),
        ("confirmed", "2027-05-19", who, "link"),
    ]
    rows = {(r["lea"], r["school_year"]): r for r in status_rows(app, year="2027-28")}
    assert rows[(A, "2027-28")]["status"] == "confirmed"


def test_the_other_links_of_the_email_close_once_one_recorded_their_steps(make_app):
    app = linked_ledger(make_app)
    request, enable, confirm = tokens(reminder(app).text)
    links.record(app, enable, on=date(2027, 5, 15), before={"request": date(2027, 5, 2)})
    assert "May 2, 2027" in refused(app, request, LinkProblem.CLOSED)
    view = links.look(app, confirm)  # still open, now asking only for its own date
    assert view.before == () and view.earliest == date(2027, 5, 15)


@pytest.mark.parametrize(
    ("before", "on", "words"),
    [
        ({}, date(2027, 5, 19), "Give the date of this step too: We submitted the APSCN request"),
        ({"request": date(2027, 5, 21)}, date(2027, 5, 19), "May 21, 2027 is after today"),
        ({"request": date(2027, 5, 10)}, date(2027, 5, 9), "May 9, 2027 is before “We submitted the APSCN request”"),
    ],
)
def test_a_later_step_with_a_date_missing_or_out_of_order_is_refused_and_nothing_written(make_app, before, on, words):
    app = linked_ledger(make_app)
    enable = tokens(reminder(app).text)[1]
    state = snapshot(load_settings().url)
    with pytest.raises(StepRefused, match=re.escape(words)):
        links.record(app, enable, on=on, before=before)
    assert snapshot(load_settings().url) == state
    links.look(app, enable)  # not used up: the district can try again


def test_opening_a_link_records_nothing_and_posting_it_records_the_step_as_the_contact(make_app):
    app = linked_ledger(make_app)
    token = tokens(reminder(app).text)[0]
    before = snapshot(load_settings().url)
    links.look(app, token)
    links.look(app, token)
    assert snapshot(load_settings().url) == before
    done = links.record(app, token, on=date(2027, 5, 18))
    assert done.recorded_on == date(2027, 5, 18)
    ev = [e for e in history(app, lea=A) if e["kind"] == "requested"][-1]
    assert (ev["actor"], ev["source"], ev["on"], ev["school_year"]) == (
        "dana@6001000.k12.example",
        "link",
        "2027-05-18",
        "2027-28",
    )
    assert ev["data"]["expected_enabled_by"]  # the same step as `apscn request`


def test_a_link_works_once(make_app):
    app = linked_ledger(make_app)
    token = tokens(reminder(app).text)[0]
    links.record(app, token, on=TODAY)
    renewals.correct(app, lea=A, year="2027-28", undo="request", note="the district clicked by mistake")
    assert "already used" in refused(app, token, LinkProblem.USED)


def test_a_step_recorded_by_the_coordinator_closes_the_link(make_app):
    app = linked_ledger(make_app)
    token = tokens(reminder(app).text)[0]
    renewals.record_request(app, lea=A, year="2027-28", on=date(2027, 5, 19))
    words = refused(app, token, LinkProblem.CLOSED)
    assert "no longer open" in words and "May 19, 2027" in words


def test_a_changed_link_is_refused_as_not_ours(make_app):
    app = linked_ledger(make_app)
    token = tokens(reminder(app).text)[0]
    altered = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    assert "not one the APSCN tracker sent" in refused(app, altered, LinkProblem.TAMPERED)


def test_rotating_the_key_withdraws_every_link_sent_before(make_app, home):
    app = linked_ledger(make_app)
    olds = tokens(reminder(app).text)
    before = (home / "secret.key").read_text()
    out = link_key.rotate_key(app)
    assert (home / "secret.key").read_text() != before and stat.S_IMODE((home / "secret.key").stat().st_mode) == 0o600
    assert out["retired"] != out["key_id"]
    assert all("withdrawn" in refused(app, old, LinkProblem.ROTATED) for old in olds)
    assert [links.look(app, new).lea for new in tokens(reminder(app).text)] == [A, A, A]


def test_rotation_with_the_key_in_the_environment_is_refused(make_app, monkeypatch):
    app = linked_ledger(make_app)
    monkeypatch.setenv("APSCN_SECRET_KEY", "s" * 40)
    with pytest.raises(UserError, match="APSCN_SECRET_KEY"):
        link_key.rotate_key(app)


def test_a_link_expires_30_days_after_its_school_year(make_app):
    app = linked_ledger(make_app)
    token = tokens(reminder(app).text)[0]  # for 2027-28: works through July 30, 2028
    assert links.look(make_app("2028-07-30", public_url=PUBLIC), token).lea == A
    late = make_app("2028-07-31", public_url=PUBLIC)
    assert "expired on July 30, 2028" in refused(late, token, LinkProblem.EXPIRED, on=date(2028, 7, 31))


def test_a_link_to_a_contact_since_removed_is_closed(make_app):
    app = linked_ledger(make_app)
    token = tokens(reminder(app).text)[0]
    districts.edit_district(app, lea=A, add_emails=["new@6001000.k12.example"])
    districts.edit_district(app, lea=A, remove_emails=["dana@6001000.k12.example"])
    assert "no longer on file" in refused(app, token, LinkProblem.CLOSED)


def test_every_refusal_has_its_own_words(make_app):
    app = linked_ledger(make_app)
    t1, t2, t3, t4 = (tokens(reminder(app, lea=lea).text)[0] for lea in (A, A, B, B))
    links.record(app, t1, on=TODAY)
    words = {refused(app, t1, LinkProblem.USED), refused(app, t2, LinkProblem.CLOSED)}
    words.add(refused(app, t3[:-2] + "AA", LinkProblem.TAMPERED))
    words.add(refused(make_app("2028-08-01", public_url=PUBLIC), t3, LinkProblem.EXPIRED, on=date(2028, 8, 1)))
    link_key.rotate_key(app)
    words.add(refused(app, t4, LinkProblem.ROTATED))
    assert len(words) == 5


def test_a_link_for_one_district_never_touches_another(make_app):
    app = linked_ledger(make_app)
    token = tokens(reminder(app, lea=A).text)[0]
    b_before = history(app, lea=B)
    links.record(app, token, on=TODAY)
    assert history(app, lea=B) == b_before
    rows = {(r["lea"], r["school_year"]): r for r in status_rows(app, year="2027-28")}
    assert rows[(A, "2027-28")]["requested_on"] == "2027-05-20"
    assert rows[(B, "2027-28")]["requested_on"] is None


def test_a_date_after_today_or_before_the_step_before_is_refused_and_nothing_written(make_app):
    app = linked_ledger(make_app)
    renewals.record_request(app, lea=A, year="2026-27", on=date(2027, 5, 3))
    token = tokens(reminder(app, kind="activation_overdue", year="2026-27").text)[0]  # enable
    before = snapshot(load_settings().url)
    with pytest.raises(StepRefused, match="after today"):
        links.record(app, token, on=date(2027, 5, 21))
    with pytest.raises(StepRefused, match="before the request"):
        links.record(app, token, on=date(2027, 5, 2))
    assert snapshot(load_settings().url) == before
    links.record(app, token, on=date(2027, 5, 3))


def test_the_digest_lists_what_districts_reported_since_the_last_one(make_app):
    app = linked_ledger(make_app)
    token = tokens(reminder(app).text)[0]
    links.record(app, token, on=TODAY)
    text = reminder(app, kind="coordinator_digest").text
    assert "Reported by the district (1)" in text
    assert f"{A}" in text and "requested on" in text and "reported by dana@6001000.k12.example" in text


def test_db_check_flags_a_key_file_others_can_read(make_app, home):
    app = linked_ledger(make_app)
    os.chmod(home / "secret.key", 0o644)
    (perm,) = [c for c in check(app)["checks"] if c["name"] == "permissions"]
    assert perm["status"] == "problem" and any("secret.key" in d for d in perm["details"])


def test_after_its_step_a_link_offers_the_next_one_so_a_district_further_along_says_so_at_once(make_app):
    app = linked_ledger(make_app)
    token = tokens(reminder(app).text)[0]
    done = links.record(app, token, on=date(2027, 5, 10))
    assert done.next_label == "APSCN enabled our connection"
    enabled = links.record(app, done.next_token, on=date(2027, 5, 19))
    assert enabled.next_label == "We sent the details to our Onboarding Manager"
    confirmed = links.record(app, enabled.next_token, on=date(2027, 5, 20))
    assert confirmed.next_token is None and confirmed.next_label is None
    steps = [(e["kind"], e["on"], e["source"]) for e in history(app, lea=A) if e["school_year"] == "2027-28"]
    assert steps[-3:] == [
        ("requested", "2027-05-10", "link"),
        ("enabled", "2027-05-19", "link"),
        ("confirmed", "2027-05-20", "link"),
    ]
