"""A district's link through the real ``apscn serve``: the tick mails it (aiosmtpd on loopback), opening it records
nothing, the district's click records the step as the contact, and that step's reminders stop while the others
go on. Each refusal gets its own page and writes nothing; the token never reaches the server's log."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from apscn_tracker.config import load_settings
from apscn_tracker.services import renewals
from apscn_tracker.services.app import App
from apscn_tracker.services.status import history, status_rows
from apscn_tracker.web.links import HideLinks
from tests.support.links import PUBLIC, A, B, linked_ledger, tokens
from tests.support.mail import parse, parts
from tests.support.snapshot import snapshot
from tests.support.web import served

NONCE = re.compile(r'name="nonce" value="([^"]+)"')


@pytest.fixture
def ledger(make_app, monkeypatch):
    """A and B connected, each with a contact; A's current year requested on April 1 and not yet enabled."""
    monkeypatch.setenv("APSCN_PUBLIC_URL", PUBLIC)
    monkeypatch.setenv("APSCN_TODAY", "2027-05-20")  # the server's today, unless a test moves it
    monkeypatch.setenv("APSCN_COORDINATOR_EMAIL", "coordinator@coop.example")
    app = linked_ledger(make_app)
    renewals.record_request(app, lea=A, year="2026-27", on=date(2027, 4, 1))
    app.close()
    return app


def tick(today: str, port: int) -> None:
    env = {"APSCN_TODAY": today, "APSCN_MAIL_TRANSPORT": "smtp", "APSCN_SMTP_HOST": "127.0.0.1"}
    env |= {"APSCN_SMTP_PORT": str(port), "APSCN_SMTP_SECURITY": "none"}
    done = subprocess.run(
        [sys.executable, "-m", "apscn_tracker", "tick"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def mailed(smtp, start: int = 0) -> list[tuple[str, str, str, str]]:
    """(kind, to, text, html) of each message received from ``start`` on."""
    out = []
    for r in smtp.received[start:]:
        msg = parse(r.data)
        text, html = parts(msg)
        out.append((msg["X-APSCN-Kind"] or "", msg["To"], text, html))
    return out


def kinds_to(messages, who: str) -> set[str]:
    return {kind for kind, to, _, _ in messages if who in to}


def ledger_now() -> dict:
    return snapshot(load_settings().url)


def test_a_district_answers_by_its_link_and_only_that_steps_reminders_stop(ledger, smtp):
    tick("2027-05-20", smtp.port)
    first = mailed(smtp)
    (text, html) = next((t, h) for k, to, t, h in first if k == "renewal_reminder" and "dana@" in to)
    token, enable, confirm = tokens(text)  # a link for each open step
    assert tokens(html) == [token, enable, confirm] and "We submitted the APSCN request" in text
    with served() as (base, proc):
        with httpx.Client(base_url=base) as web:
            before = ledger_now()
            page = web.get(f"/r/{token}")
            assert page.status_code == 200 and "We submitted the APSCN request" in page.text
            assert "<script" not in page.text.lower()
            for shown in ("6001000", "Xello", "2027-28", 'type="date"', 'value="2027-05-20"'):
                assert shown in page.text
            assert "0401000" not in page.text  # only this district's renewal
            assert web.head(f"/r/{token}").status_code == 200
            assert ledger_now() == before  # opening the link (a mail scanner does) records nothing
            nonce = NONCE.search(page.text).group(1)
            done = web.post(f"/r/{token}", data={"on": "2027-05-18", "nonce": nonce}, headers={"Origin": base})
            assert done.status_code == 200 and "Recorded" in done.text and "May 18, 2027" in done.text
            again = web.get(f"/r/{token}")
            assert again.status_code == 409 and "already used" in again.text
            assert 'name="on_request"' not in web.get(f"/r/{enable}").text  # the request is on file now
        proc.send_signal(15)
        proc.wait(30)
        log = proc.stderr.read() + proc.stdout.read()
    assert token not in log and "/r/" not in log
    app = App(load_settings(), today=date(2027, 5, 20))
    step = [e for e in history(app, lea=A) if e["kind"] == "requested" and e["school_year"] == "2027-28"]
    assert [(e["actor"], e["source"], e["on"]) for e in step] == [("dana@6001000.k12.example", "link", "2027-05-18")]
    rows = {(r["lea"], r["school_year"]): r for r in status_rows(app, year="2027-28")}
    assert rows[(B, "2027-28")]["requested_on"] is None
    app.close()

    seen = len(smtp.received)
    tick("2027-05-31", smtp.port)  # the 30-day renewal reminder, and A's overdue activation again
    later = mailed(smtp, seen)
    assert "renewal_reminder" in kinds_to(later, "evan@")  # B has not answered
    assert "renewal_reminder" not in kinds_to(later, "dana@")  # A answered by its link
    assert any(k == "activation_overdue" and "6001000" in t for k, _, t, _ in later)  # A's other step goes on
    digest = next(t for k, _, t, _ in later if k == "coordinator_digest")
    assert "Reported by the district (1)" in digest and "reported by dana@6001000.k12.example" in digest


def test_a_district_further_along_records_the_steps_before_on_one_page(ledger, smtp):
    tick("2027-05-20", smtp.port)
    text = next(t for k, to, t, _ in mailed(smtp) if k == "renewal_reminder" and "evan@" in to)
    confirm = tokens(text)[2]
    with served() as (base, _proc), httpx.Client(base_url=base) as web:
        page = web.get(f"/r/{confirm}")
        assert page.status_code == 200
        for field in (
            'name="on_request"',
            'name="on_enable"',
            'name="on"',
            "When did APSCN enable the connection?",
        ):
            assert field in page.text
        nonce = NONCE.search(page.text).group(1)
        form = {"on": "2027-05-19", "on_request": "2027-05-01", "nonce": nonce}
        before = ledger_now()
        missing = web.post(f"/r/{confirm}", data=form, headers={"Origin": base})
        assert missing.status_code == 400 and "Give each date" in missing.text
        assert 'value="2027-05-01"' in missing.text  # what was typed stays in the form
        assert ledger_now() == before
        form |= {"on_enable": "2027-05-12", "nonce": NONCE.search(missing.text).group(1)}
        done = web.post(f"/r/{confirm}", data=form, headers={"Origin": base})
        assert done.status_code == 200, done.text
        for line in ("May 1, 2027", "May 12, 2027", "May 19, 2027", "APSCN enabled our connection"):
            assert line in done.text
    app = App(load_settings(), today=date(2027, 5, 20))
    rows = {(r["lea"], r["school_year"]): r for r in status_rows(app, year="2027-28")}
    got = rows[(B, "2027-28")]
    assert (got["requested_on"], got["enabled_on"], got["confirmed_on"]) == ("2027-05-01", "2027-05-12", "2027-05-19")
    app.close()


def refusal(web, token: str, status: int, words: str) -> None:
    before = ledger_now()
    page = web.get(f"/r/{token}")
    assert (page.status_code, words in page.text) == (status, True), page.text
    posted = web.post(f"/r/{token}", data={"on": "2027-05-20", "nonce": "1.x"})
    assert (posted.status_code, words in posted.text) == (status, True), posted.text
    assert "Nothing was recorded" in page.text
    assert ledger_now() == before


def links_in_mail(smtp, today="2027-05-20") -> dict[str, str]:
    tick(today, smtp.port)
    return {to.split("@")[0].split("<")[-1]: tokens(t)[0] for k, to, t, _ in mailed(smtp) if k == "renewal_reminder"}


def test_each_refused_link_gets_a_page_saying_why_and_records_nothing(ledger, smtp):
    sent = links_in_mail(smtp)
    a, b = sent["dana"], sent["evan"]
    with served() as (base, _), httpx.Client(base_url=base) as web:
        refusal(web, a[:12] + ("x" if a[12] != "x" else "y") + a[13:], 404, "not one the APSCN tracker sent")
        app = App(load_settings(), today=date(2027, 5, 20))
        renewals.record_request(app, lea=A, year="2027-28", on=date(2027, 5, 19))
        app.close()
        refusal(web, a, 409, "no longer open")
        nonce = NONCE.search(web.get(f"/r/{b}").text).group(1)
        assert web.post(f"/r/{b}", data={"on": "2027-05-20", "nonce": nonce}).status_code == 200
        refusal(web, b, 409, "already used")
        rotated = subprocess.run(
            [sys.executable, "-m", "apscn_tracker", "keys", "rotate"], capture_output=True, text=True, timeout=60
        )
        assert rotated.returncode == 0 and "no longer work" in rotated.stdout
        refusal(web, b, 410, "withdrawn")


def test_a_link_expires_30_days_after_its_school_year(ledger, smtp):
    token = links_in_mail(smtp)["dana"]
    with served(env={"APSCN_TODAY": "2028-07-30"}) as (base, _), httpx.Client(base_url=base) as web:
        assert web.get(f"/r/{token}").status_code == 200
    with served(env={"APSCN_TODAY": "2028-07-31"}) as (base, _), httpx.Client(base_url=base) as web:
        refusal(web, token, 410, "expired on July 30, 2028")


def test_a_form_from_another_site_or_without_its_nonce_is_refused_and_records_nothing(ledger, smtp):
    token = links_in_mail(smtp)["dana"]
    with served() as (base, _), httpx.Client(base_url=base) as web:
        nonce = NONCE.search(web.get(f"/r/{token}").text).group(1)
        before = ledger_now()
        for data, headers in (
            ({"on": "2027-05-20", "nonce": nonce}, {"Origin": "https://elsewhere.example"}),
            ({"on": "2027-05-20", "nonce": nonce}, {"Sec-Fetch-Site": "cross-site"}),
            ({"on": "2027-05-20", "nonce": nonce[:-2] + "AA"}, {}),
            ({"on": "2027-05-20"}, {}),
        ):
            page = web.post(f"/r/{token}", data=data, headers=headers)
            assert page.status_code == 403 and "press the button again" in page.text
        for bad, words in (("2027-05-21", "after today"), ("soon", "like 2027-05-18")):
            page = web.post(f"/r/{token}", data={"on": bad, "nonce": nonce})
            assert page.status_code == 400 and words in page.text
        assert ledger_now() == before


def test_link_pages_are_rate_limited_per_client_address(ledger, smtp):
    token = links_in_mail(smtp)["dana"]
    with served() as (base, _), httpx.Client(base_url=base) as web:
        for _ in range(10):
            assert web.get(f"/r/{token[:-3]}abc").status_code == 404
        blocked = web.get(f"/r/{token}")
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
        assert "Too many" in blocked.text


def test_odd_links_get_the_not_ours_page_never_an_error(ledger):
    with served() as (base, _), httpx.Client(base_url=base) as web:
        for odd in ("%00", "A" * 2000, "%C3%A9" * 20, "..%2e", "AAAA.BBBB", "="):
            page = web.get(f"/r/{odd}")
            assert page.status_code == 404 and "not one the APSCN tracker sent" in page.text


def test_a_link_in_a_log_line_is_hidden():
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("1.2.3.4", "GET", "/r/SECRET?x=1", "1.1", 200),
        None,
    )
    HideLinks().filter(record)
    assert "SECRET" not in record.getMessage() and "/r/..." in record.getMessage()


def test_a_real_browser_opens_the_link_and_its_click_records_the_step(ledger, smtp):
    driver_path = shutil.which("chromedriver")
    if driver_path is None:
        pytest.skip("chromedriver is not installed")
    token = links_in_mail(smtp)["dana"]
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=820,640"):
        options.add_argument(arg)
    with served() as (base, _):
        browser = webdriver.Chrome(service=Service(driver_path), options=options)
        try:
            browser.get(f"{base}/r/{token}")
            before = ledger_now()
            assert browser.find_element(By.NAME, "on").get_attribute("value") == "2027-05-20"
            assert ledger_now() == before
            browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
            WebDriverWait(browser, 20).until(lambda b: "Recorded. Thank you." in b.page_source)
            browser.find_element(By.LINK_TEXT, "APSCN enabled our connection").click()
            WebDriverWait(browser, 20).until(lambda b: "Record: APSCN enabled our connection" in b.page_source)
        finally:
            browser.quit()
    app = App(load_settings(), today=date(2027, 5, 20))
    (row,) = [r for r in status_rows(app, year="2027-28") if r["lea"] == A]
    assert row["requested_on"] == "2027-05-20"
    app.close()


def test_the_same_link_posted_many_times_at_once_records_its_step_once(ledger, smtp):
    token = links_in_mail(smtp)["dana"]
    with served() as (base, _), httpx.Client(base_url=base) as web:
        nonce = NONCE.search(web.get(f"/r/{token}").text).group(1)

        def post(_: int) -> int:
            with httpx.Client(base_url=base) as own:
                return own.post(f"/r/{token}", data={"on": "2027-05-20", "nonce": nonce}).status_code

        with ThreadPoolExecutor(8) as pool:
            codes = sorted(pool.map(post, range(8)))
    assert codes == [200] + [409] * 7
    app = App(load_settings(), today=date(2027, 5, 20))
    assert [e["source"] for e in history(app, lea=A) if e["kind"] == "requested"] == [None, "link"]
    app.close()
