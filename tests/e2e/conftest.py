"""A headless Chromium (Debian's package, driven by Playwright) for the web chat tests.

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
