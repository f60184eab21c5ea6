"""The demo's transcript page, opened in a real headless Chromium: the messages, the buttons and the chart
are on the page as a reader sees them."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from bot.demo.story import run

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium and ChromeDriver are missing on CI; .ci/run must install them")
        pytest.skip("no Chromium here: install the chromium and chromium-driver packages")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1000,1400",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("page") / "demo.html"
    run(Console(file=io.StringIO()), speed=0, seed=3, html_path=path)
    return path


def test_the_page_shows_the_conversation_buttons_and_chart(browser, demo_page: Path, tmp_path: Path):
    from selenium.webdriver.common.by import By

    browser.get(demo_page.as_uri())

    assert browser.title == "Clinic Bot demo: the Discharge flow clinic"
    messages = browser.find_elements(By.CSS_SELECTOR, ".moment.bot")
    people_did = browser.find_elements(By.CSS_SELECTOR, ".moment.did")
    assert len(messages) > 30 and len(people_did) > 10
    text = browser.find_element(By.TAG_NAME, "main").text
    for seen in ("Weekly digest: Discharge flow", "Escalated to you", "One-to-one agenda", "finished"):
        assert seen in text
    buttons = {b.text for b in browser.find_elements(By.CSS_SELECTOR, ".button") if b.is_displayed()}
    assert {"Done", "On track", "Blocked", "Need more time", "Nudge again", "Add to next 1:1"} <= buttons
    charts = browser.find_elements(By.CSS_SELECTOR, "img.chart")
    assert len(charts) == 2  # the lead's digest and the sponsor's
    for chart in charts:
        browser.execute_script("arguments[0].scrollIntoView()", chart)
        width, height = browser.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight]", chart)
        assert width > 400 and height > 200, "the chart image did not load"
        assert chart.size["width"] > 300
    assert browser.save_screenshot(str(tmp_path / "page.png"))


def test_the_page_needs_nothing_from_the_network(demo_page: Path):
    written = demo_page.read_text(encoding="utf-8")
    assert "<script" not in written
    assert 'src="http' not in written and "<link" not in written and "@import" not in written
