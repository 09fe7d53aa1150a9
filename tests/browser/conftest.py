"""The office pages in a real browser: Debian's chromium driven by Selenium through Debian's
chromedriver, named explicitly (nothing downloads a browser or a driver), against the api as a
real process on a database of its own."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.e2e.conftest import api_up, own_database, spawn  # noqa: F401 (fixtures)

pytestmark = pytest.mark.e2e

CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    if not Path(CHROMEDRIVER).exists() or not shutil.which("chromium"):
        pytest.fail("Debian's chromium and chromium-driver are missing: .ci/run installs them (apt-get)")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1280,1600",
        "--lang=zh-CN",
        "--disable-gpu",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()
