"""The rendered HTML opened in headless Chromium: every image decodes, no console
error, and no request leaves the machine."""

from __future__ import annotations

import os
import shutil

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs it")
        pytest.skip("chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"])
        yield browser
        browser.close()


@pytest.mark.parametrize("page_name", ["findings.html", "notebooks/00_sources.html"])
def test_html_opens_offline_cleanly(built, browser, page_name):
    path = built["output"] / page_name
    page = browser.new_page()
    external, errors = [], []

    def route(r):
        url = r.request.url
        if url.startswith(("file://", "data:", "about:")):
            r.continue_()
        else:
            external.append(url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri(), wait_until="load")
    images = page.evaluate("""() => Array.from(document.images).map(img => ({
        src: img.src.slice(0, 30), ok: img.complete && img.naturalWidth > 0}))""")
    page.close()
    assert external == [], f"requests left the machine: {external}"
    assert errors == [], f"console errors: {errors}"
    assert images, "no images on the page"
    assert all(img["ok"] for img in images), f"images that did not decode: {images}"
