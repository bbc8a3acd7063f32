"""Every refusal of the web, over HTTP against the real server: no session, the wrong role, a missing or foreign
form token, a forged bearer token, a throttled sign-in. Each leaves the ledger as it was."""

from __future__ import annotations

import httpx

from apscn_tracker.config import load_settings
from tests.support.snapshot import snapshot
from tests.support.web import COORDINATOR, PASSWORD, VIEWER, form_token, sign_in

STEP = "/districts/6001000/request"


def test_without_a_session_pages_send_to_sign_in_and_posts_and_the_api_are_refused(client):
    before = snapshot(load_settings().url)
    for path in ("/", "/districts/6001000", "/outbox", "/report?year=2026-27", "/?status=overdue"):
        r = client.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/signin?next=%2F"), path
    r = client.post(STEP, data={"vendor": "Xello", "year": "2027-28"})
    assert r.status_code == 401
    r = client.get("/api/status")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer" and "error" in r.json()
    assert client.get("/calendar.ics").status_code == 401
    assert snapshot(load_settings().url) == before


def test_a_viewer_reads_every_page_but_recording_a_step_is_refused(client):
    assert sign_in(client, VIEWER).status_code == 303
    for path in ("/", "/districts/6001000", "/outbox", "/report", "/api/status"):
        assert client.get(path).status_code == 200, path
    page = client.get("/districts/6001000").text
    assert 'id="form-request"' not in page and "a coordinator records steps" in page
    before = snapshot(load_settings().url)
    r = client.post(STEP, data={"csrf": form_token(page), "vendor": "Xello", "year": "2027-28"})
    assert r.status_code == 403 and "is a viewer" in r.text
    assert snapshot(load_settings().url) == before


def test_a_step_without_the_form_token_or_with_another_sessions_is_refused_and_the_right_one_records(site):
    with httpx.Client(base_url=site) as other:
        sign_in(other, COORDINATOR)
        foreign = form_token(other.get("/").text)
    with httpx.Client(base_url=site) as c:
        sign_in(c, COORDINATOR)
        mine = form_token(c.get("/districts/6001000").text)
        assert mine != foreign
        before = snapshot(load_settings().url)
        for data in ({}, {"csrf": ""}, {"csrf": foreign}, {"csrf": mine[:-1] + "x"}):
            r = c.post(STEP, data={**data, "vendor": "Xello", "year": "2027-28"})
            assert r.status_code == 403 and "out of date" in r.text, data
        assert snapshot(load_settings().url) == before
        r = c.post(STEP, data={"csrf": mine, "vendor": "Xello", "year": "2027-28", "note": "by phone"})
        assert r.status_code == 303 and r.headers["location"] == "/districts/6001000?done=request"
        page = c.get(r.headers["location"]).text
        assert "request recorded" in page and "by phone" in page and COORDINATOR in page


def test_a_step_the_rules_refuse_shows_the_services_own_line_and_records_nothing(client):
    sign_in(client, COORDINATOR)
    token = form_token(client.get("/districts/6001000").text)
    before = snapshot(load_settings().url)
    r = client.post(STEP, data={"csrf": token, "vendor": "Xello", "year": "2026-27"})
    assert r.status_code == 409
    assert "6001000 already requested Xello for 2026-27" in r.text and 'role="alert"' in r.text
    r = client.post("/districts/6001000/correct", data={"csrf": token, "vendor": "Xello", "undo": "request"})
    assert r.status_code == 400 and "a correction needs --note" in r.text
    r = client.post(STEP, data={"csrf": token, "vendor": "Xello", "on": "30/06/2027"})
    assert r.status_code == 400 and "not a date like 2026-06-30" in r.text
    r = client.post("/districts/9999999/request", data={"csrf": token, "vendor": "Xello"})
    assert r.status_code == 404
    assert snapshot(load_settings().url) == before


def test_the_sign_in_form_needs_its_own_token(client):
    r = client.post("/signin", data={"email": COORDINATOR, "password": PASSWORD, "csrf": "made-up"})
    assert r.status_code == 403 and "apscn_session" not in r.headers.get("set-cookie", "")
    r = client.post("/signin", data={"email": COORDINATOR, "password": PASSWORD})
    assert r.status_code == 403


def test_sign_in_is_throttled_after_five_failures_even_with_the_right_password_then(client):
    for _ in range(5):
        r = sign_in(client, COORDINATOR, "not the password")
        assert r.status_code == 401 and "wrong email or password" in r.text
    r = sign_in(client, COORDINATOR)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 60
    assert "apscn_session" not in r.headers.get("set-cookie", "")
    assert client.get("/").status_code == 303  # still signed out
    assert sign_in(client, VIEWER).status_code == 429  # the same client, another address: throttled too


def test_the_api_answers_a_bearer_token_with_the_status_rows_and_refuses_a_forged_one(site, cli):
    import json

    from apscn_tracker.services.app import App
    from apscn_tracker.services.users import new_token

    app = App(load_settings())
    token = new_token(app, email=VIEWER)["token"]
    calendar = new_token(app, email=VIEWER, kind="calendar")["token"]
    app.close()
    with httpx.Client(base_url=site) as c:
        r = c.get("/api/status?year=2026-27", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        expected = json.loads(cli("status", "--year", "2026-27", "--json").stdout)
        assert r.json() == expected and len(expected) > 20
        for header in (f"Bearer {token[:-2]}xx", f"Bearer {calendar}", f"Basic {token}", "Bearer"):
            r = c.get("/api/status", headers={"Authorization": header})
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", header
        r = c.get(f"/calendar.ics?token={calendar}")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
        assert r.text.startswith("BEGIN:VCALENDAR")
        assert c.get(f"/calendar.ics?token={token}").status_code == 401  # the API token is no calendar token
        r = c.get("/api/status?year=1900-01", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 400 and "error" in r.json()


def test_sign_in_sends_back_only_to_a_page_of_this_site(client):
    for target, expected in (("/districts/6001000", "/districts/6001000"), ("https://evil.example/", "/"),
                             ("//evil.example/", "/"), ("/\\evil.example", "/")):  # fmt: skip
        token = form_token(client.get("/signin").text)
        data = {"email": VIEWER, "password": PASSWORD, "csrf": token, "next": target}
        r = client.post("/signin", data=data)
        assert r.status_code == 303 and r.headers["location"] == expected, target
