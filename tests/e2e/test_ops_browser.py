"""The /ops web page in a real headless Chromium (Debian's chromium and chromium-driver, driven by selenium),
against a running pipeline: sign in with the token, find the failed claim, resubmit it, see it accepted.

Needs: `apt-get install -y chromium chromium-driver` (/usr/bin/chromium, /usr/bin/chromedriver) and selenium
(the project's dev extra). Nothing is downloaded at run time.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipeline.entrypoints.demo import Stack
from tests.e2e.opskit import FAST_FAIL_ENV, PRESCRIPTION, event, heal, post, statuses, wait_status

pytestmark = pytest.mark.e2e
StartStack = Callable[..., Stack]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = Path(os.environ.get("SUPERBILL_SCREENSHOT_DIR", "/tmp"))

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import NoSuchElementException, WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    if missing:
        pytest.fail(f"not installed: {', '.join(missing)} (scripts/test installs them: "
                    "apt-get install -y chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-extensions", "--window-size=1280,1000",
                f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


def navigate(driver: WebDriver, action: Callable[[], object]) -> None:
    """Click or submit, then wait until the next page has replaced this one and finished loading."""
    driver.execute_script("window.__superbill_old_page = true")
    action()

    def new_page_loaded(d: WebDriver) -> bool:
        # a marker on the old page's window is gone once the next document replaced it
        return bool(d.execute_script(
            "return window.__superbill_old_page === undefined && document.readyState === 'complete'"))

    WebDriverWait(driver, 15, ignored_exceptions=(WebDriverException,)).until(new_page_loaded)


def sign_in(driver: WebDriver, stack: Stack) -> None:
    driver.get(stack.web_url + "/ops")
    assert driver.current_url == stack.web_url + "/ops/login"  # redirected: not signed in
    field = driver.find_element(By.NAME, "token")
    field.send_keys("not the token")
    navigate(driver, field.submit)
    assert driver.current_url.startswith(stack.web_url + "/ops/login")
    assert "That token is not right." in driver.find_element(By.CSS_SELECTOR, ".flash.error").text
    field = driver.find_element(By.NAME, "token")
    field.send_keys(stack.ops_token)
    navigate(driver, field.submit)
    assert driver.current_url == stack.web_url + "/ops"
    assert driver.find_element(By.TAG_NAME, "h1").text == "Overview"


def row_in_section(driver: WebDriver, section: str, claim_id: str) -> WebElement:
    return driver.find_element(
        By.XPATH, f"//h2[@id='{section}']/following-sibling::table[1]//tr[@data-claim='{claim_id}']")


def status_badge(driver: WebDriver) -> str:
    return driver.find_element(By.CSS_SELECTOR, "main > p .badge").text


def reload_until_status(driver: WebDriver, status: str, timeout_s: float = 45) -> None:
    deadline = time.monotonic() + timeout_s
    while status_badge(driver) != status.replace("_", " "):
        assert time.monotonic() < deadline, f"still {status_badge(driver)!r} after {timeout_s:g} s"
        time.sleep(0.5)
        navigate(driver, driver.refresh)


def test_resubmit_a_failed_claim_from_the_ops_page(start_stack: StartStack, browser: WebDriver) -> None:
    stack = start_stack(faults="error_rate=1", extra_env=FAST_FAIL_ENV)
    claim_id = post(stack, event("va_direct", "br_va_1"))
    other_id = post(stack, event("va_direct", "br_va_2"))
    wait_status(stack, [claim_id, other_id], "failed")
    last_error = stack.ledger().get(claim_id).last_error  # type: ignore[union-attr]
    assert last_error
    heal(stack)

    sign_in(browser, stack)
    heading = browser.find_element(By.ID, "failed").text
    assert heading.startswith("Failed") and heading.endswith("(2)")
    row = row_in_section(browser, "failed", claim_id)
    assert "failed" in row.find_element(By.CSS_SELECTOR, ".badge").text
    assert last_error in row.find_element(By.CSS_SELECTOR, ".reason").text
    with pytest.raises(NoSuchElementException):
        row_in_section(browser, "needs_attention", claim_id)
    bulk = browser.find_element(By.XPATH, "//form[input[@name='status' and @value='failed']]/button")
    assert bulk.text == "Resubmit all 2 failed"
    browser.save_screenshot(str(SCREENSHOTS / "ops_overview.png"))

    navigate(browser, browser.find_element(By.CSS_SELECTOR, f"button[data-claim='{claim_id}']").click)
    assert browser.current_url == f"{stack.web_url}/ops/claims/{claim_id}"  # the message left the URL
    assert "Resubmitted 1 claim(s)." in browser.find_element(By.CSS_SELECTOR, ".flash").text
    reload_until_status(browser, "accepted")
    timeline = browser.find_element(By.XPATH, "//h2[text()='Timeline']/following-sibling::table[1]").text
    assert "resubmitted" in timeline and "accepted" in timeline
    assert "ops page" in timeline  # who resubmitted it
    assert not browser.find_elements(By.XPATH, "//button[text()='Resubmit this claim']")
    browser.save_screenshot(str(SCREENSHOTS / "ops_claim.png"))
    assert statuses(stack, [claim_id, other_id]) == {claim_id: "accepted", other_id: "failed"}

    # the other one, with the bulk button: the count is what is failed now
    navigate(browser, browser.find_element(By.LINK_TEXT, "Overview").click)
    assert browser.find_element(By.ID, "failed").text.endswith("(1)")
    bulk = browser.find_element(By.XPATH, "//form[input[@name='status' and @value='failed']]/button")

    def click_and_confirm() -> None:
        bulk.click()
        alert = browser.switch_to.alert
        assert alert.text == "Resubmit all 1 failed claims?"
        alert.accept()

    navigate(browser, click_and_confirm)
    assert "Resubmitted 1 claim(s)." in browser.find_element(By.CSS_SELECTOR, ".flash").text
    wait_status(stack, [claim_id, other_id], "accepted")
    assert stack.receipts() == {claim_id: 1, other_id: 1}


def test_attach_a_prescription_on_the_claim_page(start_stack: StartStack, browser: WebDriver) -> None:
    stack = start_stack()
    claim_id = post(stack, event("commercial_courtesy", "br_rx", prescription=None))
    wait_status(stack, [claim_id], "needs_attention")
    sign_in(browser, stack)
    row = row_in_section(browser, "needs_attention", claim_id)
    assert "prescription_missing" in row.text
    navigate(browser, row.find_element(By.LINK_TEXT, claim_id).click)
    assert browser.find_element(By.TAG_NAME, "h1").text == f"Claim {claim_id}"

    def amend(text: str) -> str:
        box = browser.find_element(By.NAME, "patch")
        box.clear()
        box.send_keys(text)
        navigate(browser, browser.find_element(By.XPATH, "//button[text()='Save amendment']").click)
        return str(browser.find_element(By.CSS_SELECTOR, ".flash").text)

    bad = amend('{"prescription": {"issued_on": "2026-10-01", "signed": true, "diagnosis_codes": []}}')
    assert "Not amended" in bad and "prescription.physician: is required" in bad
    assert "amended" not in [e["kind"] for e in stack.ledger().timeline(claim_id)]
    assert "JSON is not valid" in amend("{nope")

    assert amend(json.dumps({"prescription": PRESCRIPTION})).startswith("Amended (prescription)")
    navigate(browser, browser.find_element(By.XPATH, "//button[text()='Resubmit this claim']").click)
    reload_until_status(browser, "accepted")
    assert "courtesy_submission" in browser.find_element(By.CSS_SELECTOR, "main > p").text
    assert stack.receipts() == {claim_id: 1}
