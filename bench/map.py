"""First paint of the map with tiles visible, in Debian's Chromium (navigation start → all tiles loaded).

Usage: .venv/bin/python bench/map.py [--data-dir data] [--runs 5]
Starts tumen on a free port with that data dir (the demo), opens /map/ at three views, prints a table.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWS = {
    "bridge (latest)": "#site=bridge",
    "khasan 2022-11-04 14:29": "#site=khasan&date=2022-11-04T14%3A29%3A00%2B09%3A00",
    "tumangang compare": "#site=tumangang&date=2023-10-05T11%3A00%3A00%2B09%3A00&compare=2019-09-01T11%3A00%3A00%2B09%3A00",
}
ALL_TILES_LOADED = """() => {
  const tiles = [...document.querySelectorAll('.leaflet-tile')];
  return document.body.dataset.ready === 'true' && tiles.length > 0
    && tiles.every(t => t.complete && t.classList.contains('leaflet-tile-loaded'));
}"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=str(ROOT / "data"))
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TUMEN_DATA_DIR": args.data_dir, "TUMEN_LOG_LEVEL": "warning"}
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/tumen"), "serve", "--port", str(port)], env=env
    )
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        rows = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for name, hash_ in VIEWS.items():
                times = []
                for _ in range(args.runs):
                    context = browser.new_context(viewport={"width": 1400, "height": 900})
                    page = context.new_page()  # a new context each run: no browser cache
                    page.goto(f"http://127.0.0.1:{port}/map/{hash_}")
                    page.wait_for_function(ALL_TILES_LOADED, timeout=30_000)
                    times.append(page.evaluate("() => performance.now()"))
                    context.close()
                rows.append((name, statistics.median(times), max(times)))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    print("| view | median ms | worst ms | target |\n|---|---|---|---|")
    for name, median, worst in rows:
        print(
            f"| {name} | {median:.0f} | {worst:.0f} | < 1500 ({'ok' if median < 1500 else 'over'}) |"
        )
    sys.exit(0)


if __name__ == "__main__":
    main()
