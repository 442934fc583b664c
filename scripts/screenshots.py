"""Refresh the README screenshot (docs/screenshot.png) and the layout screenshots under docs/ux/.

    python scripts/screenshots.py                   # the shipped demo app, started here on a free port
    python scripts/screenshots.py --url URL         # an app that is already running
    python scripts/screenshots.py --prefix before   # docs/ux/before_*.png (e.g. from an older checkout's app)

Each size (desktop 1280×800, phone 390×844) loads the page, runs the happy_surprised example with Analyse and
saves what is on screen right after it (docs/ux/<prefix>_desktop.png, <prefix>_phone.png); the desktop run also
saves the whole page as docs/screenshot.png (only with the default prefix `after`). Needs Playwright and Debian's
chromium (/usr/bin/chromium). The tests never write into the repository; this script is the one that does.
"""
from __future__ import annotations

import argparse
import shutil
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
EXAMPLE_TEXT = (ROOT / "assets" / "examples" / "happy_surprised.txt").read_text().strip()  # the example's button


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app() -> tuple[str, object]:
    import app

    port = _free_port()
    demo = app.main(["--port", str(port)], block=False)
    return f"http://127.0.0.1:{port}/", demo


def shoot(url: str, prefix: str, readme: bool, chromium: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out = ROOT / "docs" / "ux"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"])
        for name, viewport in SIZES.items():
            phone = viewport["width"] < 600
            page = browser.new_page(viewport=viewport, is_mobile=phone, has_touch=phone)
            page.goto(url, wait_until="networkidle")
            page.wait_for_function("() => !document.querySelector('#warming-up')?.innerText.includes('Warming up')",
                                   timeout=300_000)  # the warm-up line goes before the picture is taken
            page.get_by_text(EXAMPLE_TEXT).first.click()
            page.wait_for_function("t => [...document.querySelectorAll('textarea')].some(a => a.value.includes(t))",
                                   arg=EXAMPLE_TEXT)
            time.sleep(0.5)
            page.locator("#analyse").scroll_into_view_if_needed()
            page.locator("#analyse").click()
            page.get_by_text("Predicted:").first.wait_for(timeout=120_000)
            time.sleep(1.5)  # plots finish drawing
            path = out / f"{prefix}_{name}.png"
            page.screenshot(path=str(path))
            written.append(path)
            if readme and name == "desktop":
                page.evaluate("window.scrollTo(0, 0)")
                time.sleep(0.3)
                page.screenshot(path=str(ROOT / "docs" / "screenshot.png"), full_page=True)
                written.append(ROOT / "docs" / "screenshot.png")
            page.close()
        browser.close()
    return written


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running app (default: start the shipped demo app here)")
    parser.add_argument("--prefix", default="after", help="docs/ux/<prefix>_desktop.png / _phone.png")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args(argv)
    demo = None
    url = args.url
    if url is None:
        url, demo = start_app()
    try:
        for path in shoot(url, args.prefix, readme=args.prefix == "after", chromium=args.chromium):
            print(path.relative_to(ROOT))
    finally:
        if demo is not None:
            demo.close()


if __name__ == "__main__":
    main()
