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


# --- Reviewer features of the report (the pandoc path's equivalents of Quarto's) ---------

def _open(browser, path, width=1400):
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(
        ("file://", "data:", "about:")) else (errors.append(f"request {r.request.url}"),
                                               r.abort()))
    page.goto(path.as_uri(), wait_until="load")
    return page, errors


@pytest.mark.parametrize("page_name", ["notebooks/01_retention.html",
                                       "notebooks/02_dau_forecast.html",
                                       "notebooks/03_merchant_adoption.html"])
def test_notebook_pages_open_offline_cleanly(built, browser, page_name):
    page, errors = _open(browser, built["output"] / page_name)
    page.close()
    assert errors == []


def test_side_toc_follows_the_scroll(built, browser):
    page, errors = _open(browser, built["output"] / "findings.html")
    toc = page.evaluate("""() => { const t = document.getElementById('TOC');
        const r = t.getBoundingClientRect(); const b = document.body.getBoundingClientRect();
        return {position: getComputedStyle(t).position, left: r.left, right: b.right}; }""")
    assert toc["position"] == "fixed" and toc["left"] >= toc["right"] - 40, toc
    # scroll to the heading of each top-level section: its TOC entry becomes the active one
    for section in page.evaluate("""() => Array.from(
            document.querySelectorAll('#TOC > ul > li > a')).slice(1, 4)
            .map(a => a.getAttribute('href').slice(1))"""):
        page.evaluate(f"document.getElementById({section!r}).scrollIntoView()")
        page.wait_for_timeout(150)
        active = page.evaluate("document.querySelector('#TOC a.active').getAttribute('href')")
        assert active == f"#{section}"
    # on a narrow screen the TOC is an ordinary block at the top
    narrow, _ = _open(browser, built["output"] / "findings.html", width=800)
    assert narrow.evaluate("getComputedStyle(document.getElementById('TOC')).position") \
        == "static"
    narrow.close()
    page.close()
    assert errors == []


def test_light_and_dark_theme(built, browser):
    page, errors = _open(browser, built["output"] / "findings.html")
    background = "getComputedStyle(document.body).backgroundColor"
    light = page.evaluate(background)
    page.click("#theme-toggle")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    dark = page.evaluate(background)
    page.click("#theme-toggle")
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    page.close()
    assert light == "rgb(255, 255, 255)" and dark != light
    assert errors == []


def test_crossref_preview_on_hover_and_figure_lightbox(built, browser):
    page, errors = _open(browser, built["output"] / "findings.html")
    link = page.locator('p a[href^="#fig-"]').first
    target = link.get_attribute("href")[1:]
    link.hover()
    preview = page.locator(".xref-preview")
    assert preview.count() == 1 and preview.locator("img").count() == 1
    caption = page.evaluate(f"document.getElementById({target!r})"
                            ".querySelector('figcaption').textContent")
    assert preview.inner_text().strip()[:40] == caption.strip()[:40]
    page.mouse.move(0, 0)
    assert page.locator(".xref-preview").count() == 0
    page.locator(f"#{target} img").click()
    assert page.locator("#lightbox img").count() == 1
    page.keyboard.press("Escape")
    assert page.locator("#lightbox").count() == 0
    page.close()
    assert errors == []


def test_every_link_target_exists_and_source_links_open_the_cell(built, browser):
    output = built["output"]
    page, errors = _open(browser, output / "findings.html")
    links = page.evaluate("""() => Array.from(document.querySelectorAll('a[href]'))
        .map(a => a.getAttribute('href'))""")
    ids = set(page.evaluate("() => Array.from(document.querySelectorAll('[id]')).map(e => e.id)"))
    page.close()
    internal = [h[1:] for h in links if h.startswith("#")]
    assert internal and [h for h in internal if h not in ids] == []
    sources = sorted({h for h in links if h.startswith("notebooks/")})
    embeds = sum(1 for qmd in built["reports"].glob("*.qmd")
                 for line in qmd.read_text().splitlines() if "{{< embed" in line)
    assert len(sources) == embeds, "one source link per embedded output"
    by_page: dict[str, list[str]] = {}
    for href in sources:
        file, anchor = href.split("#")
        by_page.setdefault(file, []).append(anchor)
    for file, anchors in by_page.items():
        assert (output / file).is_file(), file
        nb_page, nb_errors = _open(browser, output / file)
        for anchor in anchors:
            nb_page.evaluate(f"location.hash = {anchor!r}")
            box = nb_page.evaluate(f"""() => {{ const c = document.getElementById({anchor!r});
                return c && {{top: c.getBoundingClientRect().top,
                              matches: c.matches(':target')}}; }}""")
            assert box is not None, f"{file}#{anchor}: no such cell in the notebook page"
            # opened at the cell: it is the :target and in view (a cell near the end of
            # the page cannot scroll to the very top)
            assert box["matches"] and -5 < box["top"] < 900, \
                f"{file}#{anchor}: the page did not open at it"
        nb_page.close()
        assert nb_errors == []
    assert errors == []
