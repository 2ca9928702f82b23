"""The browser of the end-to-end tests: Debian's headless Chromium driven by Playwright."""

import os

import pytest
from django.db import connections
from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture
def browser_page(settings):
    """A page at 1280×800 against the live server (plain HTTP, so cookies are not `Secure`)."""
    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test itself
    # are still plain synchronous code, but get their own connection, closed below.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
            args=CHROMIUM_ARGS,
        )
        page = browser.new_page(viewport=DESKTOP)
        yield page
        browser.close()
        connections.close_all()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
