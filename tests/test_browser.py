"""The website in a real browser with no network: math typeset, images loaded, links alive, no errors.

The built site (fixture ``built_site``) is served on 127.0.0.1 and opened in headless Chromium
whose resolver maps every other host to nothing, so a page that needs the internet shows it
here (a console error, an unloaded image or untypeset math). Screenshots of the intro and the
first chapter go to ``test-artifacts/``.

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install chromium chromium-driver``).
Without them the tests are skipped, unless ``INITCOURSE_REQUIRE_BROWSER=1`` (set by ``.ci/run``),
in which case they fail.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urldefrag

import pytest

from conftest import ROOT, reader_pages, say

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = ROOT / "test-artifacts"
PAGES = reader_pages()
INSTALL_HINT = "install Chromium and its driver: `apt-get install chromium chromium-driver` (Debian/Ubuntu)"
CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--window-size=1280,900",
    # every host but the local server resolves to nothing: the site must work offline
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
)
MATH_TIMEOUT = 30  # seconds for MathJax to typeset one page

WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
const start = Date.now();
(function poll() {
  if (!document.querySelector('.math')) { done('no-math'); return; }
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    MathJax.startup.promise.then(() => done('typeset'), (e) => done('error: ' + e));
    return;
  }
  if (Date.now() - start > %d) { done('MathJax never started'); return; }
  setTimeout(poll, 50);
})();
""" % (MATH_TIMEOUT * 1000 - 2000)

MATH_REPORT = """
const math = Array.from(document.querySelectorAll('.math'));
const clone = document.querySelector('main, body').cloneNode(true);
clone.querySelectorAll('pre, code, script, style, mjx-container').forEach((e) => e.remove());
return {
  math: math.length,
  typeset: math.filter((e) => e.querySelector('mjx-container')).length,
  untypeset: math.filter((e) => !e.querySelector('mjx-container')).slice(0, 3).map((e) => e.textContent.slice(0, 80)),
  errors: Array.from(document.querySelectorAll('mjx-merror')).slice(0, 3).map((e) => e.textContent.slice(0, 80)),
  text: clone.textContent,
};
"""

IMAGES_READY = """
const imgs = Array.from(document.images);
imgs.forEach((i) => { if (i.loading === 'lazy') i.loading = 'eager'; });
return imgs.every((i) => i.complete);
"""

IMAGE_REPORT = """
return Array.from(document.images).map((i) => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0}));
"""


def browser_paths() -> tuple[str, str] | None:
    """The Chromium binary and chromedriver, or None when either is missing."""
    binary = next((p for p in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"),
                               shutil.which("google-chrome")) if p and os.path.exists(p)), None)
    driver = next((p for p in ("/usr/bin/chromedriver", shutil.which("chromedriver")) if p and os.path.exists(p)), None)
    return (binary, driver) if binary and driver else None


def unavailable(reason: str) -> None:
    """Skip, or fail when the environment requires the browser test."""
    message = f"browser test not run: {reason}; {INSTALL_HINT}"
    if os.environ.get("INITCOURSE_REQUIRE_BROWSER") == "1":
        pytest.fail(message + " (INITCOURSE_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(message)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature of the base class
        pass


@pytest.fixture(scope="module")
def site_url(built_site: Path) -> Iterator[str]:
    """Serve the built site on a free port of 127.0.0.1."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(built_site)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser(request: pytest.FixtureRequest) -> Iterator[object]:
    """Headless Chromium with every host but 127.0.0.1 blocked and its console log recorded."""
    paths = browser_paths()
    if paths is None:
        unavailable("no chromium and/or chromedriver found")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("the Python package selenium is not installed (`make venv`)")
    binary, driver_path = paths
    profile = tempfile.mkdtemp(prefix="initcourse-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(MATH_TIMEOUT)
    start = time.perf_counter()
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
        say(request, f"browser checks took {time.perf_counter() - start:.1f} s")


def http_status(url: str) -> int:
    """Status of a HEAD request to ``url`` (the local server only)."""
    request = urllib.request.Request(url, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


_checked_links: dict[str, int] = {}


def open_page(browser, site_url: str, docname: str) -> dict:
    """Load a page, wait for MathJax and the images; return the math report."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get_log("browser")  # drop entries of earlier pages
    browser.get(f"{site_url}/{docname}.html")
    WebDriverWait(browser, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
    state = browser.execute_async_script(WAIT_FOR_MATHJAX)
    assert state in {"typeset", "no-math"}, f"{docname}: MathJax: {state}"
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(IMAGES_READY))
    return browser.execute_script(MATH_REPORT)


@pytest.mark.parametrize("docname", PAGES)
def test_page_works_offline(browser, site_url: str, docname: str) -> None:
    report = open_page(browser, site_url, docname)

    # math: every .math element typeset by MathJax, no TeX errors, no delimiters left as text
    assert report["typeset"] == report["math"], f"{docname}: untypeset math {report['untypeset']}"
    assert not report["errors"], f"{docname}: MathJax errors {report['errors']}"
    for raw in ("$$", "\\(", "\\[", "\\begin{"):
        assert raw not in report["text"], f"{docname}: raw {raw!r} in the text: ...{report['text'][report['text'].find(raw) - 60:][:140]}..."

    # images: all loaded
    broken = [i["src"][:100] for i in browser.execute_script(IMAGE_REPORT) if not i["ok"]]
    assert not broken, f"{docname}: images that did not load: {broken}"

    # internal links: every same-site target exists
    hrefs = browser.execute_script("return Array.from(document.querySelectorAll('a[href]')).map((a) => a.href);")
    internal = {urldefrag(h)[0] for h in hrefs if h.startswith(site_url)}
    assert internal, f"{docname}: no internal links at all (navigation missing?)"
    for url in sorted(internal):
        if url not in _checked_links:
            _checked_links[url] = http_status(url)
    dead = [u for u in sorted(internal) if _checked_links[u] != 200]
    assert not dead, f"{docname}: dead internal links: {dead}"

    # console: no errors (a blocked host, a missing file or a script error all land here)
    severe = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, f"{docname}: browser console errors:\n" + "\n".join(severe)


@pytest.mark.parametrize("docname", PAGES[:2])
def test_screenshot(browser, site_url: str, docname: str, request: pytest.FixtureRequest) -> None:
    open_page(browser, site_url, docname)
    # show typeset math or a figure when the page has one, not just the title
    browser.execute_script(
        "const e = document.querySelector('article div.math, article figure');"
        "if (e) { e.scrollIntoView({block: 'center'}); }"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{docname.replace('/', '_')}.png"
    assert browser.save_screenshot(str(path)), f"could not save {path}"
    assert path.stat().st_size > 10_000, f"{path} is suspiciously small ({path.stat().st_size} bytes)"
    say(request, f"screenshot: {path}")


def test_missing_browser_is_skipped_or_fails_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INITCOURSE_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium chromium-driver"):
        unavailable("no chromium found")
    monkeypatch.setenv("INITCOURSE_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="INITCOURSE_REQUIRE_BROWSER=1"):
        unavailable("no chromium found")
