"""A headless Chromium (Debian's package, driven by Playwright) for the web chat
tests, and the session's stack with auth on for the clients that sign in.

Playwright's own browser download is never used: ``executable_path`` points at
the system chromium (``make browser`` installs it)."""

from __future__ import annotations

import os

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
]


WEBHOOK_SECRET = "e2e-webhook-secret"


@pytest.fixture(scope="module")
def auth_required(stack):
    """The session's stack with ingress restarted on ``AUTH_MODE=required`` and
    a webhook secret (stack.env says so too, for the terminal chat); back to
    ``off`` after the module. The web page signs in against the stack's Auth
    emulator, whose ID tokens ingress checks (revocations included)."""
    from tests.e2e.reliability import services_with

    # No Firestore round trip on the way back: a module may have switched the
    # replies to RTDB meanwhile (its own fixture checks them).
    with services_with(stack, ("ingress",), round_trip=False, AUTH_MODE="required", WEBHOOK_SECRET=WEBHOOK_SECRET):
        yield stack


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (make test does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    messages: list[str] = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: messages.append(f"pageerror: {error}"))
    page.console_messages = messages  # shown when an assertion fails
    yield page
    context.close()


def chat_in_browser(page, web_url: str, line: str, timeout_ms: float = 20000) -> dict:
    """Type ``line`` in the web chat and wait for the reply to appear; returns what it shows."""
    page.goto(web_url + "/")
    page.wait_for_selector("body[data-ready=true]", timeout=timeout_ms)
    page.fill("#line", line)
    page.press("#line", "Enter")
    try:
        reply = page.wait_for_selector("#log li.bot", timeout=timeout_ms)
    except Exception:
        errors = page.inner_text("#log")
        raise AssertionError(f"no reply in the page; log: {errors!r}; console: {page.console_messages}") from None
    return {
        "text": reply.inner_text(),
        "algorithm": reply.get_attribute("data-algorithm"),
        "meta": page.inner_text("#log li.bot .meta"),
        "you": page.inner_text("#log li.you"),
    }
