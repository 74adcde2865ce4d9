"""What every console test in a real Chromium shares: Debian's browser, the screenshots folder, signing in."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from matcher.config import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OFFICIAL = {"Authorization": "Bearer demo-official"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed (.ci/run installs it with apt-get)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """docs/screenshots/ when MATCHER_SCREENSHOTS=1 (as for the README), else a temporary folder."""
    if os.environ.get("MATCHER_SCREENSHOTS") == "1":
        out = PROJECT_ROOT / "docs" / "screenshots"
        out.mkdir(parents=True, exist_ok=True)
        return out
    return tmp_path_factory.mktemp("screenshots")


def login(browser: Browser, base: str, token: str, width: int = 1280) -> Page:
    """A new page signed in with ``token`` through the login form, by keyboard only (the token field is
    reachable with Tab and Enter submits)."""
    page = browser.new_page(viewport={"width": width, "height": 900}, locale="zh-CN")
    page.goto(base + "/login")
    page.keyboard.press("Tab")
    page.get_by_label("访问令牌").fill(token)
    page.get_by_label("访问令牌").press("Enter")
    page.wait_for_load_state()
    return page
