"""A coordinator's morning in a real browser (headless Chromium, no script on the pages): sign in, filter the
board, open a district, record its request, and see it on the board."""

from __future__ import annotations

import os
import time
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as arrived
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from tests.support.browser import chromium
from tests.support.web import COORDINATOR, PASSWORD


def _shot(driver, name: str) -> None:
    """With WEB_SCREENSHOTS=FOLDER, the page as a PNG there (the pictures in docs/ are made so)."""
    folder = os.environ.get("WEB_SCREENSHOTS")
    if folder:
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(1280, min(max(height, 700), 2400))
        driver.save_screenshot(str(Path(folder) / name))
        driver.set_window_size(1280, 900)


def _until(driver, url: str) -> None:
    WebDriverWait(driver, 30).until(arrived.url_to_be(url))


def test_a_coordinator_signs_in_filters_opens_a_district_records_its_request_and_sees_it_on_the_board(site):
    started = time.monotonic()
    with chromium() as driver:
        driver.get(site + "/?status=lapsed")
        assert driver.current_url.startswith(site + "/signin")
        driver.find_element(By.NAME, "email").send_keys(COORDINATOR)
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "form.step button[type=submit]").click()
        _until(driver, site + "/?status=lapsed")  # back where the sign-in began
        if os.environ.get("WEB_SCREENSHOTS"):
            driver.get(site + "/")
            _shot(driver, "web-board.png")
            driver.get(site + "/?status=lapsed")

        # filter: lapsed districts of Xello, through the form
        Select(driver.find_element(By.NAME, "vendor")).select_by_visible_text("Xello")
        Select(driver.find_element(By.NAME, "status")).select_by_visible_text("lapsed")
        driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
        WebDriverWait(driver, 30).until(arrived.url_contains("vendor=Xello&status=lapsed"))
        rows = driver.find_elements(By.CSS_SELECTOR, "#board tbody tr")
        assert rows and all("lapsed" in r.text for r in rows)
        first = rows[0].find_element(By.CSS_SELECTOR, "td a")
        lea = first.text

        # search by LEA, then open the district
        box = driver.find_element(By.NAME, "q")
        box.clear()
        box.send_keys(lea)
        Select(driver.find_element(By.NAME, "status")).select_by_visible_text("all")
        driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
        WebDriverWait(driver, 30).until(arrived.url_contains(f"q={lea}"))
        (row,) = driver.find_elements(By.CSS_SELECTOR, "#board tbody tr")
        row.find_element(By.LINK_TEXT, lea).click()
        _until(driver, f"{site}/districts/{lea}")

        # record the request for the current year
        form = driver.find_element(By.ID, "form-request")
        year = Select(form.find_element(By.NAME, "year")).options[2].text  # previous, current, next
        Select(form.find_element(By.NAME, "year")).select_by_visible_text(year)
        form.find_element(By.NAME, "note").send_keys("called from the browser test")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        _until(driver, f"{site}/districts/{lea}?done=request")
        assert "request recorded" in driver.find_element(By.CSS_SELECTOR, "[role=status]").text
        timeline = driver.find_element(By.ID, "timeline").text
        assert "requested" in timeline and COORDINATOR in timeline and "called from the browser test" in timeline
        _shot(driver, "web-district.png")

        # the board shows it requested
        driver.get(f"{site}/?q={lea}&year={year}")
        (row,) = driver.find_elements(By.CSS_SELECTOR, "#board tbody tr")
        assert "requested" in row.text and "lapsed" not in row.text
    print(f"browser test: {time.monotonic() - started:.1f} s")
