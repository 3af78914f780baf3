"""The dashboard in a real headless Chromium (Debian's chromium + chromium-driver; `.ci/run`
installs them when missing): the store is filled by a paper-venue session, `fractal dashboard`
runs as a subprocess on a free port; without the token the page shows the gate and no data,
with it the figures equal the store's. Screenshots go to the test's tmp dir and, when
FRACTAL_SCREENSHOT_DIR is set, there too (docs/img/dashboard.png comes from this test)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.server import dashboard
from tests.dashboard.stores import heartbeat, paper_session
from tests.live.helpers import wait_for

TOKEN = "correct-horse-battery-staple"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="Debian chromium and chromium-driver not found (apt-get install -y chromium "
    "chromium-driver; `.ci/run` does it when apt is reachable)",
)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    profile = tempfile.mkdtemp(dir=tmp_path, prefix="chromium-")
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 "--window-size=1400,2200", f"--user-data-dir={profile}"):  # fmt: skip
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _shot(driver: Any, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    driver.save_screenshot(str(path))
    extra = os.environ.get("FRACTAL_SCREENSHOT_DIR")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(extra) / path.name)
    return path


def _metrics(driver: Any) -> dict[str, str]:
    from selenium.webdriver.common.by import By

    out = {}
    for m in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stMetric"]'):
        label = m.find_element(By.CSS_SELECTOR, '[data-testid="stMetricLabel"]').text.strip()
        value = m.find_element(By.CSS_SELECTOR, '[data-testid="stMetricValue"]').text.strip()
        out[label] = value
    return out


def test_dashboard_in_a_real_browser(
    _isolated_data_dir: Path, tmp_path: Path, browser: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    session = paper_session(_isolated_data_dir, tmp_path / "paper-work")
    assert session.fills >= 7
    heartbeat(_isolated_data_dir, interval_s=600.0)  # as `fractal live` writes it; fresh for 30 min
    with dashboard(_isolated_data_dir, tmp_path, TOKEN) as srv:
        browser.get(srv.url)
        field = wait_for(
            lambda: browser.find_elements(By.CSS_SELECTOR, "input[type='password']"), 60,
            "the token field",
        )[0]  # fmt: skip
        assert "access token" in browser.find_element(By.TAG_NAME, "body").text
        assert not _metrics(browser)  # the gate shows no data
        _shot(browser, tmp_path, "dashboard-gate")
        field.send_keys("wrong-token-wrong-token" + Keys.ENTER)
        wait_for(lambda: "Wrong token." in browser.find_element(By.TAG_NAME, "body").text, 30,
                 "the wrong-token message")  # fmt: skip
        assert not _metrics(browser)
        field = browser.find_element(By.CSS_SELECTOR, "input[type='password']")
        field.send_keys(Keys.CONTROL + "a", Keys.DELETE)
        field.send_keys(TOKEN + Keys.ENTER)
        shown = wait_for(lambda: (m := _metrics(browser)) and "Orders / fills" in m and m, 60,
                         "the dashboard's figures")  # fmt: skip
        assert shown["Orders / fills"] == f"{session.orders} / {session.fills}"
        sign = "-" if session.realized < 0 else "+"
        assert shown["Realised P&L"] == f"{sign}${abs(session.realized):,.2f}"
        wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".js-plotly-plot") or True, 5,
                 "charts")  # fmt: skip
        body = browser.find_element(By.TAG_NAME, "body").text
        assert "System health" in body and "running on paper since" in body  # heartbeat judged
        assert TOKEN not in body and "Traceback" not in body and "DeltaGenerator" not in body
        shot = _shot(browser, tmp_path, "dashboard")
        assert shot.stat().st_size > 10_000
        assert srv.stop() == 0
