"""Browser fixtures: Playwright driving Debian's chromium, never a downloaded browser.

Playwright's sync API runs an event loop in the test thread, which makes Django refuse ORM calls
there; the tests only touch the database between browser steps, so that guard is lifted here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS_DIR = REPO_ROOT / "test-results" / "e2e"


def _running_in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    """One browser for the e2e package, closed when the run leaves it: Playwright's sync API keeps
    an event loop running on the main thread, and the asyncio tests (the MLLP listener) that
    pytest-django orders after these must not find it there."""
    if not CHROMIUM.exists():
        message = (
            f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)"
        )
        if _running_in_ci():
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def screenshot_path(request: pytest.FixtureRequest) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    return RESULTS_DIR / f"{request.node.name}.png"


@pytest.fixture
def page(browser: object, screenshot_path: Path) -> Iterator[object]:
    """A fresh browser context per test (no shared cookies), screenshotted at the end."""
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 1280, "height": 900}, locale="en-US"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    console_errors: list[str] = []
    failed_requests: list[str] = []
    page.on(
        "console",
        lambda msg: (
            console_errors.append(f"{msg.text} [{page.url}] {msg.location}")
            if msg.type == "error"
            else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            failed_requests.append(f"{response.status} {response.url}")
            if response.status >= 400
            else None
        ),
    )
    page.console_errors = console_errors
    page.failed_requests = failed_requests
    yield page
    try:
        page.screenshot(path=str(screenshot_path), full_page=True)
    finally:
        context.close()
