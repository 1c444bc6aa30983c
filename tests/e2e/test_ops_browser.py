"""The /ops web page in a real headless Chromium (Debian's chromium and chromium-driver, driven by selenium),
against a running pipeline, as the front desk uses it: sign in with a named account, find a client's claim by
name, fix a missing referral in the form with a preview, resubmit, see it accepted; a form posted from a page
on another origin changes nothing; a disabled person's session stops working; and through it all no log line
carries the client's data.

Needs: `apt-get install -y chromium chromium-driver` (/usr/bin/chromium, /usr/bin/chromedriver) and selenium
(the project's dev extra). Nothing is downloaded at run time.
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from pipeline.application.explanations import explain_error
from pipeline.entrypoints.demo import Stack
from tests.e2e.conftest import logs_of
from tests.e2e.opskit import FAST_FAIL_ENV, event, heal, post, statuses, superbill, wait_for, wait_status
from tests.e2e.test_logs import leaks

pytestmark = pytest.mark.e2e
StartStack = Callable[..., Stack]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = Path(os.environ.get("SUPERBILL_SCREENSHOT_DIR", "/tmp"))
PASSWORD = "front desk password 1"

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


def add_user(stack: Stack, username: str, name: str) -> None:
    script = Path(sys.executable).with_name("superbill")
    done = subprocess.run([str(script), "users", "add", username, "--name", name, "--password-stdin"],
                          input=PASSWORD + "\n", env=stack.env(), capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr


def users(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("superbill")
    return subprocess.run([str(script), "users", *args], env=stack.env(), capture_output=True, text=True,
                          timeout=60, check=False)


def sign_in(driver: WebDriver, stack: Stack, username: str = "mary") -> None:
    driver.get(stack.web_url + "/ops")
    assert driver.current_url == stack.web_url + "/ops/login"  # redirected: not signed in
    driver.find_element(By.NAME, "username").send_keys(username)
    field = driver.find_element(By.NAME, "password")
    field.send_keys("not the password")
    navigate(driver, field.submit)
    assert "do not match" in driver.find_element(By.CSS_SELECTOR, ".flash.error").text
    assert driver.find_element(By.NAME, "username").get_attribute("value") == username  # kept
    field = driver.find_element(By.NAME, "password")
    field.send_keys(PASSWORD)
    navigate(driver, field.submit)
    assert driver.current_url == stack.web_url + "/ops"
    assert driver.find_element(By.TAG_NAME, "h1").text == "Overview"
    cookie = driver.get_cookie("superbill_ops")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert cookie["value"] != stack.ops_token


def row_in_section(driver: WebDriver, section: str, claim_id: str) -> WebElement:
    return driver.find_element(
        By.XPATH, f"//h2[@id='{section}']/following-sibling::table[1]//tr[@data-claim='{claim_id}']")


def status_badge(driver: WebDriver) -> str:
    return driver.find_element(By.CSS_SELECTOR, "main > p .badge").text


def flash_text(driver: WebDriver) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, ".flash").text)


def reload_until_status(driver: WebDriver, status: str, timeout_s: float = 45) -> None:
    deadline = time.monotonic() + timeout_s
    while status_badge(driver) != status.replace("_", " "):
        assert time.monotonic() < deadline, f"still {status_badge(driver)!r} after {timeout_s:g} s"
        time.sleep(0.5)
        navigate(driver, driver.refresh)


def set_field(driver: WebDriver, form: WebElement, name: str, value: str) -> None:
    """Type into a field (a date field's value is set as the browser's date picker would)."""
    field = form.find_element(By.NAME, name)
    if field.get_attribute("type") == "date":
        driver.execute_script("arguments[0].value = arguments[1];"
                              "arguments[0].dispatchEvent(new Event('input', {bubbles: true}))", field, value)
    else:
        field.clear()
        field.send_keys(value)


# What these runs add to the example patient's data: a second client, a search typed in lower case, and the
# staff password.
MORE_SECRETS = {
    "other client's name": re.compile(r"\b(Ann|Lee)\b"),
    "other client's member id": re.compile(r"\b55500\d\b"),
    "search as typed": re.compile(r"john(\+|%20| )doe", re.IGNORECASE),
    "staff password": re.compile(re.escape(PASSWORD)),
}


def claim_in_two_tabs(driver: WebDriver, stack: Stack, claim_id: str) -> tuple[str, str]:
    """The claim's page opened in the current tab and in a new one (the new one current): their window handles."""
    page = f"{stack.web_url}/ops/claims/{claim_id}"
    navigate(driver, lambda: driver.get(page))
    first = driver.current_window_handle
    driver.switch_to.new_window("tab")
    navigate(driver, lambda: driver.get(page))
    return first, driver.current_window_handle


def no_patient_data_in_logs(stack: Stack) -> None:
    text = logs_of(stack)
    assert leaks(text) == {}
    assert {what for what, pattern in MORE_SECRETS.items() if pattern.search(text)} == set()
    assert "/ops/" in text  # the web process did log the pages it served


def test_find_a_client_fix_the_missing_referral_in_the_form_resubmit_and_see_it_accepted(
        start_stack: StartStack, browser: WebDriver) -> None:
    stack = start_stack()
    add_user(stack, "mary", "Mary Front")
    claim_id = post(stack, event("va_direct", "br_ref", va_referral=None))
    others = [post(stack, event("va_direct", f"br_other{i}", va_referral=None, client__first_name="Ann",
                                client__last_name="Lee", coverage__member_id=f"55500{i}")) for i in range(2)]
    wait_status(stack, [claim_id, *others], "needs_attention")
    referral = event("va_direct", "x")["va_referral"]

    sign_in(browser, stack)
    row = row_in_section(browser, "needs_attention", claim_id)
    assert "John Doe" in row.text and "No VA referral on file" in row.text
    assert "1970-01-01" in row.text

    # find John Doe's claim by name
    navigate(browser, browser.find_element(By.LINK_TEXT, "Claims").click)
    search = browser.find_element(By.NAME, "q")
    search.send_keys("john doe")
    navigate(browser, search.submit)
    rows = browser.find_elements(By.CSS_SELECTOR, "tr[data-claim]")
    assert [r.get_attribute("data-claim") for r in rows] == [claim_id]
    navigate(browser, rows[0].find_element(By.LINK_TEXT, claim_id).click)
    assert browser.find_element(By.TAG_NAME, "h1").text == f"Claim {claim_id}"
    who = browser.find_element(By.ID, "client").text
    assert "John Doe" in who and "1970-01-01" in who and "123456789" in who
    reasons = browser.find_element(By.ID, "reasons").text
    assert "No VA referral on file" in reasons and "Next step" in reasons
    assert "only after the data is fixed" in reasons

    # resubmitting it unfixed is refused with its reason
    navigate(browser, browser.find_element(By.XPATH, "//button[text()='Resubmit this claim']").click)
    assert "still needs attention for the same reasons: va_referral_missing" in flash_text(browser)
    assert statuses(stack, [claim_id]) == {claim_id: "needs_attention"}

    # the referral form is the one open; a wrong date first: the preview says so and keeps what was typed
    form = browser.find_element(By.CSS_SELECTOR, "details[data-form='va_referral'][open] form")
    for name in ("referral_number", "visits_authorized"):
        set_field(browser, form, name, str(referral[name]))
    for name in ("approved_on", "valid_from"):
        set_field(browser, form, name, referral[name])
    set_field(browser, form, "valid_until", "2026-11-01")
    for cpt in referral["procedures"]:
        form.find_element(By.CSS_SELECTOR, f"input[name='procedures'][value='{cpt}']").click()
    navigate(browser, form.find_element(By.XPATH, ".//button[@value='preview']").click)
    assert browser.find_element(By.ID, "preview-route").text == "needs_attention"
    assert "Session outside the referral" in browser.find_element(By.ID, "preview").text
    form = browser.find_element(By.CSS_SELECTOR, "form[data-section='va_referral']")
    assert form.find_element(By.NAME, "valid_until").get_attribute("value") == "2026-11-01"
    assert form.find_element(By.NAME, "referral_number").get_attribute("value") == referral["referral_number"]
    set_field(browser, form, "valid_until", referral["valid_until"])
    navigate(browser, form.find_element(By.XPATH, ".//button[@value='preview']").click)
    assert browser.find_element(By.ID, "preview-route").text == "direct_billing"
    assert "amended" not in [e["kind"] for e in stack.ledger().timeline(claim_id)]  # a preview stores nothing
    browser.save_screenshot(str(SCREENSHOTS / "ops_fix_preview.png"))
    form = browser.find_element(By.CSS_SELECTOR, "form[data-section='va_referral']")
    navigate(browser, form.find_element(By.XPATH, ".//button[@value='save']").click)
    assert flash_text(browser).startswith("Amended (va_referral)")

    navigate(browser, browser.find_element(By.XPATH, "//button[text()='Resubmit this claim']").click)
    assert "Resubmitted 1 claim(s)." in flash_text(browser)
    reload_until_status(browser, "accepted")
    timeline = browser.find_element(By.XPATH, "//h2[text()='Timeline']/following-sibling::table[1]").text
    assert "Mary Front (mary)" in timeline and "amended" in timeline and "accepted" in timeline
    assert " CST" in timeline or " CDT" in timeline  # the practice's time zone
    sent = browser.find_elements(By.CSS_SELECTOR, "details.document summary")
    names = [s.text for s in sent]
    assert f"837P sent under {claim_id}-2" in names and f"clearinghouse answer to {claim_id}-2" in names
    documents = stack.ledger().documents(claim_id)
    assert documents[f"837P sent under {claim_id}-2"].startswith("ISA*")
    assert '"ack277ca"' in documents[f"clearinghouse answer to {claim_id}-2"]
    browser.save_screenshot(str(SCREENSHOTS / "ops_claim.png"))
    assert stack.receipts() == {claim_id: 1}
    audit = [e for e in users_audit(stack) if e.get("claim_id") == claim_id or claim_id in e.get("claim_ids", [])]
    assert {(e["action"], e["name"]) for e in audit} == {("claim.amended", "Mary Front"),
                                                         ("claims.resubmitted", "Mary Front")}
    on_a_tablet_no_page_scrolls_sideways(browser, stack, claim_id)
    no_patient_data_in_logs(stack)


def on_a_tablet_no_page_scrolls_sideways(driver: WebDriver, stack: Stack, claim_id: str) -> None:
    """At a front-desk tablet's width (portrait) every page fits: a wide table scrolls in its own box, the page
    itself never sideways."""
    driver.set_window_size(820, 1180)
    wide = {}
    for path in ("/ops", "/ops/claims", f"/ops/claims/{claim_id}", "/ops/refused", "/ops/remittances", "/ops/ar",
                 "/ops/audit"):
        navigate(driver, lambda path=path: driver.get(stack.web_url + path))
        page, view = driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        if page > view:
            wide[path] = page - view
    driver.set_window_size(1280, 1000)
    assert wide == {}, f"pages wider than the screen, by pixels: {wide}"


def users_audit(stack: Stack) -> list[dict[str, Any]]:
    import json

    script = Path(sys.executable).with_name("superbill")
    done = subprocess.run([str(script), "audit", "--json"], env=stack.env(), capture_output=True, text=True,
                          timeout=60, check=True)
    return list(json.loads(done.stdout)["audit"])


class AttackerPage:
    """A page on another port of the same host that posts a form to the ops page as soon as it loads."""

    def __init__(self, html: str) -> None:
        page = html.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: object) -> None:
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_form_posted_from_another_origin_changes_nothing(start_stack: StartStack, browser: WebDriver) -> None:
    stack = start_stack()
    add_user(stack, "mary", "Mary Front")
    claim_id = post(stack, event("va_direct", "br_csrf", va_referral=None))
    wait_status(stack, [claim_id], "needs_attention")
    sign_in(browser, stack)
    navigate(browser, lambda: browser.get(f"{stack.web_url}/ops/claims/{claim_id}"))
    # the attacker even knows the session's CSRF token: the Origin check alone must stop the post
    token = browser.find_element(By.CSS_SELECTOR, "input[name='csrf']").get_attribute("value")
    before = len(stack.ledger().timeline(claim_id))
    attacker = AttackerPage(
        f'<form id="f" method="post" action="{stack.web_url}/ops/resubmit"><input name="claim_id" '
        f'value="{claim_id}"><input name="anyway" value="1"><input name="csrf" value="{token}"></form>'
        '<script>document.getElementById("f").submit()</script>')
    try:
        browser.get(attacker.url)
        wait_for(lambda: browser.current_url, lambda url: url.startswith(stack.web_url + "/ops/resubmit"),
                 timeout_s=15, what="the attacker's form posted")
        WebDriverWait(browser, 15).until(lambda d: d.execute_script("return document.readyState") == "complete")
        assert "not posted from this page's own origin" in browser.find_element(By.TAG_NAME, "body").text
    finally:
        attacker.close()
    assert len(stack.ledger().timeline(claim_id)) == before
    assert statuses(stack, [claim_id]) == {claim_id: "needs_attention"}
    assert any(e["action"] == "form.refused" for e in users_audit(stack))
    no_patient_data_in_logs(stack)


def test_a_disabled_persons_session_stops_working(start_stack: StartStack, browser: WebDriver) -> None:
    stack = start_stack()
    add_user(stack, "june", "June Desk")
    claim_id = post(stack, event("va_direct", "br_gone", va_referral=None))
    wait_status(stack, [claim_id], "needs_attention")
    sign_in(browser, stack, "june")
    navigate(browser, lambda: browser.get(f"{stack.web_url}/ops/claims/{claim_id}"))
    listed = users(stack, "list")
    assert "june" in listed.stdout and "active" in listed.stdout
    done = users(stack, "disable", "june")
    assert done.returncode == 0 and "1 session(s) ended" in done.stdout
    # the page still open in the browser: its next form post is refused, nothing changes
    before = len(stack.ledger().timeline(claim_id))
    navigate(browser, browser.find_element(By.XPATH, "//button[text()='Resubmit this claim']").click)
    assert "Sign in first: nothing was changed." in browser.find_element(By.ID, "signed-out").text
    assert browser.find_element(By.LINK_TEXT, "Sign in again").get_attribute("href") == stack.web_url + "/ops/login"
    assert len(stack.ledger().timeline(claim_id)) == before
    navigate(browser, lambda: browser.get(f"{stack.web_url}/ops"))
    assert browser.current_url == stack.web_url + "/ops/login"
    no_patient_data_in_logs(stack)


def test_resubmit_failed_claims_and_the_overview_refreshes_keeping_the_selection(
        start_stack: StartStack, browser: WebDriver) -> None:
    stack = start_stack(faults="error_rate=1", extra_env=FAST_FAIL_ENV)
    add_user(stack, "mary", "Mary Front")
    claim_id = post(stack, event("va_direct", "br_va_1"))
    other_id = post(stack, event("va_direct", "br_va_2"))
    wait_status(stack, [claim_id, other_id], "failed")
    last_error = stack.ledger().get(claim_id).last_error  # type: ignore[union-attr]
    assert last_error
    heal(stack)

    sign_in(browser, stack)
    navigate(browser, lambda: browser.get(stack.web_url + "/ops?refresh=2"))
    heading = browser.find_element(By.ID, "failed").text
    assert heading.startswith("Failed") and heading.endswith("(2)")
    row = row_in_section(browser, "failed", claim_id)
    assert explain_error(last_error).title in row.text and last_error in row.text
    with pytest.raises(NoSuchElementException):
        row_in_section(browser, "needs_attention", claim_id)
    box = row.find_element(By.CSS_SELECTOR, "input[type='checkbox']")
    box.click()
    live = browser.find_element(By.ID, "live")
    wait_for(lambda: int(live.get_attribute("data-refreshed") or 0), lambda n: n >= 2, timeout_s=20,
             what="the overview refreshed itself twice")
    assert row_in_section(browser, "failed", claim_id).find_element(
        By.CSS_SELECTOR, "input[type='checkbox']").is_selected()
    assert not row_in_section(browser, "failed", other_id).find_element(
        By.CSS_SELECTOR, "input[type='checkbox']").is_selected()
    browser.save_screenshot(str(SCREENSHOTS / "ops_overview.png"))

    navigate(browser, browser.find_element(By.XPATH, "//form[@id='sel-failed']/button").click)
    assert "Resubmitted 1 claim(s)." in flash_text(browser)
    assert browser.current_url == f"{stack.web_url}/ops/claims/{claim_id}"
    reload_until_status(browser, "accepted")
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
    assert "Resubmitted 1 claim(s)." in flash_text(browser)
    wait_status(stack, [claim_id, other_id], "accepted")
    assert stack.receipts() == {claim_id: 1, other_id: 1}
    navigate(browser, browser.find_element(By.LINK_TEXT, "Overview").click)
    last = browser.find_element(By.ID, "last24").text
    assert last.startswith("2 failed")  # counted from the timelines, though both are accepted now
    no_patient_data_in_logs(stack)


def test_two_tabs_on_one_claim_and_a_mistyped_field_as_the_front_desk_sees_them(
        start_stack: StartStack, browser: WebDriver) -> None:
    """Two tabs on one claim: the referral saved in the first is not overwritten by a save from the second, opened
    before it; a number typed wrong is said beside its field, by its label; a period picked the wrong way round is
    said, not downloaded as an empty file; and a claims link with a status the page cannot read lists nothing."""
    stack = start_stack()
    add_user(stack, "mary", "Mary Front")
    claim_id = post(stack, event("va_direct", "br_tabs", va_referral=None))
    wait_status(stack, [claim_id], "needs_attention")
    referral = event("va_direct", "x")["va_referral"]
    sign_in(browser, stack)
    first, second = claim_in_two_tabs(browser, stack, claim_id)

    def referral_form() -> WebElement:
        return browser.find_element(By.CSS_SELECTOR, "details[data-form='va_referral'][open] form")

    def fill(number: str, visits: str) -> None:
        form = referral_form()
        set_field(browser, form, "referral_number", number)
        set_field(browser, form, "visits_authorized", visits)
        for name in ("approved_on", "valid_from", "valid_until"):
            set_field(browser, form, name, str(referral[name]))

    # the second tab: a negative number of visits is said beside the field, by its label
    fill("VA0099999999", "-3")
    navigate(browser, referral_form().find_element(By.XPATH, ".//button[@value='preview']").click)
    field = referral_form().find_element(By.NAME, "visits_authorized")
    assert field.get_attribute("aria-invalid") == "true" and field.get_attribute("value") == "-3"
    beside = browser.find_element(By.ID, "va_referral-visits_authorized-error").text
    assert beside == "must be at least 0"
    assert f"Visits authorised: {beside}" in browser.find_element(By.ID, "preview").text
    assert "va_referral.visits_authorized" not in browser.page_source
    browser.save_screenshot(str(SCREENSHOTS / "ops-field-error.png"))

    # the first tab saves its referral
    browser.switch_to.window(first)
    fill(str(referral["referral_number"]), "12")
    navigate(browser, referral_form().find_element(By.XPATH, ".//button[@value='preview']").click)
    navigate(browser, referral_form().find_element(By.XPATH, ".//button[@value='save']").click)
    assert "Amended (va_referral)" in flash_text(browser)

    # the second tab, still showing the claim as it was, corrects its number and saves: refused, nothing lost
    browser.switch_to.window(second)
    fill("VA0099999999", "6")
    navigate(browser, referral_form().find_element(By.XPATH, ".//button[@value='preview']").click)
    navigate(browser, referral_form().find_element(By.XPATH, ".//button[@value='save']").click)
    said = browser.find_element(By.CSS_SELECTOR, "details[data-form='va_referral'] .flash.error").text
    assert "amended after you opened it" in said
    assert referral_form().find_element(By.NAME, "referral_number").get_attribute("value") == "VA0099999999"
    assert stack.ledger().event_document(claim_id)["va_referral"]["referral_number"] == referral["referral_number"]
    # reloaded: the first tab's referral
    navigate(browser, lambda: browser.get(f"{stack.web_url}/ops/claims/{claim_id}"))
    assert referral_form().find_element(By.NAME, "referral_number").get_attribute("value") == \
        referral["referral_number"]

    # an export whose end is before its start
    navigate(browser, browser.find_element(By.LINK_TEXT, "Claims").click)
    export = browser.find_element(By.CSS_SELECTOR, "form[action='/ops/export']")
    set_field(browser, export, "from", "2026-11-30")
    set_field(browser, export, "to", "2026-11-01")
    navigate(browser, export.find_element(By.TAG_NAME, "button").click)
    assert "ends (2026-11-01) before it starts (2026-11-30)" in browser.find_element(By.TAG_NAME, "main").text
    assert browser.find_element(By.CSS_SELECTOR, "form[action='/ops/export'] input[name='from']") \
        .get_attribute("value") == "2026-11-30"

    # a claims link with a status the page cannot read
    navigate(browser, lambda: browser.get(f"{stack.web_url}/ops/claims?status=needs_attenton"))
    assert "'needs_attenton' is not one of" in browser.find_element(By.ID, "bad-filter").text
    assert browser.find_elements(By.CSS_SELECTOR, "tr[data-claim]") == []

    # an overview left open on the desk: once the session ends, the page leaves for the sign-in page by itself
    navigate(browser, lambda: browser.get(f"{stack.web_url}/ops?refresh=2"))
    assert "John Doe" in browser.find_element(By.ID, "live").text
    assert users(stack, "disable", "mary").returncode == 0
    WebDriverWait(browser, 15).until(lambda d: d.current_url == stack.web_url + "/ops/login")
    assert "John Doe" not in browser.find_element(By.TAG_NAME, "body").text
    no_patient_data_in_logs(stack)


def test_a_denied_claim_sent_as_a_corrected_claim_from_its_form_with_two_tabs_open(
        start_stack: StartStack, browser: WebDriver) -> None:
    """The payer denied a claim; the front desk corrects it in the coverage form and sends it as a corrected claim
    (frequency 7, quoting the payer's claim number), confirming first. A second tab, opened before the first one
    saved an amendment, is refused with what it typed kept and nothing sent; reloaded, it sends the corrected claim
    with both changes."""
    stack = start_stack(faults="remit_delay_ms=0,deny_rate=1")
    add_user(stack, "mary", "Mary Front")
    claim_id = post(stack, event("va_direct", "br_fix7"))
    wait_status(stack, [claim_id], "accepted")
    fetched = superbill(stack, "remittances", "fetch")
    assert fetched.returncode == 0, fetched.stderr
    wait_status(stack, [claim_id], "denied")
    number = stack.ledger().get(claim_id).payer_claim_number  # type: ignore[union-attr]
    assert number
    sign_in(browser, stack)
    first, second = claim_in_two_tabs(browser, stack, claim_id)

    def coverage_form() -> WebElement:
        details = browser.find_element(By.CSS_SELECTOR, "details[data-form='coverage']")
        if details.get_attribute("open") is None:
            details.find_element(By.TAG_NAME, "summary").click()
        return details.find_element(By.TAG_NAME, "form")

    def preview(member_id: str) -> None:
        set_field(browser, coverage_form(), "member_id", member_id)
        navigate(browser, coverage_form().find_element(By.XPATH, ".//button[@value='preview']").click)
        assert browser.find_element(By.ID, "preview-route").text == "direct_billing"

    def send_corrected() -> None:
        button = coverage_form().find_element(By.XPATH, ".//button[@value='correct']")
        assert button.text == "Send as a corrected claim"

        def click_and_confirm() -> None:
            button.click()
            alert = browser.switch_to.alert
            assert alert.text == f"Send a corrected claim that replaces payer claim {number}?"
            alert.accept()

        navigate(browser, click_and_confirm)

    # the first tab amends the member id (a denied claim can be amended, or sent as a corrected claim)
    browser.switch_to.window(first)
    assert "Void this claim" in browser.find_element(By.ID, "payment").find_element(By.XPATH, "..").text
    preview("987654321")
    navigate(browser, coverage_form().find_element(By.XPATH, ".//button[@value='save']").click)
    assert flash_text(browser).startswith("Amended (coverage)")

    # the second tab, opened before that, sends a corrected claim with its own member id: refused, nothing sent
    browser.switch_to.window(second)
    preview("876543210")
    send_corrected()
    said = browser.find_element(By.ID, "correction-errors").text
    assert said.startswith("Not sent:") and "amended after you opened it" in said
    assert coverage_form().find_element(By.NAME, "member_id").get_attribute("value") == "876543210"
    assert statuses(stack, [claim_id]) == {claim_id: "denied"} and stack.receipts() == {claim_id: 1}

    # reloaded, it shows the first tab's member id; corrected again and sent
    navigate(browser, lambda: browser.get(f"{stack.web_url}/ops/claims/{claim_id}"))
    assert coverage_form().find_element(By.NAME, "member_id").get_attribute("value") == "987654321"
    preview("876543210")
    browser.save_screenshot(str(SCREENSHOTS / "ops_corrected_claim_preview.png"))
    send_corrected()
    assert flash_text(browser).startswith(f"A corrected claim of payer claim {number} is on its way (submission #2)")
    wait_for(lambda: stack.receipts(), lambda r: r.get(claim_id) == 2, timeout_s=45, what="the corrected claim sent")
    reload_until_status(browser, "accepted")
    x12 = requests.get(stack.sandbox_url + "/_sandbox/submissions", timeout=10).json()["clearinghouse"][-1]["x12"]
    assert ":B:7*" in x12 and f"REF*F8*{number}~" in x12 and "*MI*876543210~" in x12
    timeline = browser.find_element(By.XPATH, "//h2[text()='Timeline']/following-sibling::table[1]").text
    assert timeline.count("Mary Front (mary)") >= 2  # the amendment and the corrected claim
    audit = [(e["action"], e["name"]) for e in users_audit(stack) if e.get("claim_id") == claim_id]
    assert ("claim.amended", "Mary Front") in audit and ("claim.corrected", "Mary Front") in audit
    assert not re.search(r"987654321|876543210", logs_of(stack))
    no_patient_data_in_logs(stack)
