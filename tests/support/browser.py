"""Debian's headless Chromium driven by Selenium, for the browser tests (skipped, with the reason, only when
Chromium is missing outside CI: with CI=true a missing browser fails the run)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

INSTALL = "apt-get install -y chromium chromium-driver"


@contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator[Any]:
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (browser and driver):
        why = f"Chromium and its driver are not installed ({INSTALL})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(why + "; CI must run the browser tests")
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = browser
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},{height}",
    ):
        options.add_argument(arg)
    session = webdriver.Chrome(service=Service(driver), options=options)
    session.set_page_load_timeout(60)
    try:
        yield session
    finally:
        session.quit()
