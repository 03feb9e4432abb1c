"""Measure the built website as a reader meets it: weight, load time, layout.

Usage::

    .venv/bin/python tools/site_report.py [--site _build/html] [--root .] \
        [--repeat 3] [--json out.json]

Prints, for the site in ``--site`` (built beforehand with ``make book``):

* the site's size on disk, its source maps and its MathJax folder;
* the code and output lines of the chapters in ``--root``/notebooks longer than 88
  characters;
* for every page, in headless Chromium with an empty cache and no network: the requests
  and bytes it loads, the time to its ``load`` event and to the end of math typesetting
  (median of ``--repeat`` loads), the blocks that scroll sideways at 1280 px, and its
  width at 390 px.

It uses the checks of ``tests/test_browser.py`` (same JavaScript, same browser
settings), so the numbers it prints are the ones the tests assert on. Timings depend on
the machine and its load.
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import statistics
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import test_browser as tb  # noqa: E402

LIMIT = 88  # columns a code or output line may use


def folder_bytes(folder: Path, pattern: str = "*") -> int:
    """Total size of the files under ``folder`` matching ``pattern``."""
    return sum(f.stat().st_size for f in folder.rglob(pattern) if f.is_file())


def long_lines(notebooks: list[Path], limit: int = LIMIT) -> dict[str, int]:
    """Code and text-output lines of the notebooks, and those longer than ``limit``."""
    counts = {
        "code lines": 0,
        "long code lines": 0,
        "output lines": 0,
        "long output lines": 0,
    }
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            lines = cell.source.splitlines()
            counts["code lines"] += len(lines)
            counts["long code lines"] += sum(len(line) > limit for line in lines)
            for out in cell.get("outputs", []):
                text = out.get("text") or out.get("data", {}).get("text/plain", "")
                text = "".join(text) if isinstance(text, list) else text
                if out.get("output_type") == "error":
                    text = "\n".join(out.get("traceback", []))
                out_lines = text.splitlines()
                counts["output lines"] += len(out_lines)
                counts["long output lines"] += sum(
                    len(line) > limit for line in out_lines
                )
    return counts


@contextmanager
def served(site: Path) -> Iterator[str]:
    """Serve ``site`` on a free port of 127.0.0.1."""
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(tb.QuietHandler, directory=str(site))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def chromium() -> Iterator[object]:
    """Headless Chromium set up as in the tests (no network, no CJK system font)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    paths = tb.browser_paths()
    if paths is None:
        sys.exit(f"no chromium/chromedriver: {tb.INSTALL_HINT}")
    profile = tempfile.mkdtemp(prefix="initcourse-report-")
    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for flag in tb.CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    env = dict(
        tb.os.environ,
        FONTCONFIG_FILE=str(tb.write_fonts_conf_without_cjk(Path(profile))),
    )
    driver = webdriver.Chrome(service=Service(paths[1], env=env), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(tb.MATH_TIMEOUT)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def measure_pages(site: Path, pages: list[str], repeat: int) -> list[dict]:
    """Weight, times, wide blocks and phone width of every page."""
    rows = []
    with served(site) as url, chromium() as browser:
        for docname in pages:
            loads = []
            for _ in range(repeat):
                tb.emulate(browser, tb.DESKTOP)
                loads.append(tb.load_report(browser, url, docname))
            blocks = tb.wide_blocks(browser, url, docname)
            tb.emulate(browser, tb.PHONE, mobile=True)
            tb.open_page(browser, url, docname)
            phone = browser.execute_script(tb.PAGE_OVERFLOW)
            browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
            rows.append(
                {
                    "page": docname,
                    "requests": loads[0]["requests"],
                    "bytes": loads[0]["bytes"],
                    "load_s": statistics.median(r["load_ms"] for r in loads) / 1000,
                    "typeset_s": statistics.median(r["typeset_ms"] for r in loads)
                    / 1000,
                    "wide_blocks": len(blocks),
                    "wide_block_list": blocks,
                    "phone_width": phone["width"],
                    "phone_offenders": phone["offenders"],
                }
            )
            print(
                f"{docname:40s} {rows[-1]['requests']:4d} req "
                f"{rows[-1]['bytes'] / 1e6:6.2f} MB "
                f"load {rows[-1]['load_s']:5.2f} s "
                f"typeset {rows[-1]['typeset_s']:5.2f} s "
                f"wide {len(blocks):3d} phone {phone['width']:4d} px",
                flush=True,
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="the book whose notebooks are counted"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="loads per page for the median times"
    )
    parser.add_argument(
        "--pages", nargs="*", help="docnames (default: every page of the book)"
    )
    parser.add_argument("--json", type=Path, help="write every number here")
    args = parser.parse_args(argv)

    site = args.site.resolve()
    if not (site / "index.html").is_file():
        sys.exit(f"{site} holds no built site; run `make book` first")
    static = {
        "site_bytes": folder_bytes(site),
        "site_files": sum(1 for f in site.rglob("*") if f.is_file()),
        "source_map_bytes": folder_bytes(site, "*.map"),
        "mathjax_bytes": folder_bytes(site / "_static" / "mathjax"),
    }
    notebooks = sorted((args.root / "notebooks").glob("[0-9]*.ipynb"))
    static.update(long_lines(notebooks))
    for key, value in static.items():
        print(
            f"{key:20s} {value / 1e6:.2f} MB"
            if key.endswith("bytes")
            else f"{key:20s} {value}"
        )

    pages = args.pages or [d for d in tb.ALL_PAGES if (site / f"{d}.html").is_file()]
    rows = measure_pages(site, pages, args.repeat)
    heaviest = max(rows, key=lambda r: r["bytes"])
    summary = {
        "heaviest_page": heaviest["page"],
        "heaviest_bytes": heaviest["bytes"],
        "heaviest_load_s": heaviest["load_s"],
        "heaviest_typeset_s": heaviest["typeset_s"],
        "wide_blocks_1280": sum(r["wide_blocks"] for r in rows),
        "pages_wider_than_390": sum(r["phone_width"] > tb.PHONE[0] for r in rows),
    }
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(
            json.dumps({"static": static, "summary": summary, "pages": rows}, indent=1),
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
