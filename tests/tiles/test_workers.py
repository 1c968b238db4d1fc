"""`tumen serve` with TUMEN_WORKERS=2: both workers see a re-ingest, since shared state is on disk."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port, register
from tiles.catalog import Scene
from tumen.settings import Settings

TILE = "/scenes/border-a/tiles/WebMercatorQuad/16/56550/24226.png"


def test_two_workers_serve_and_follow_reingest(
    settings: Settings, border_scenes: list[Scene]
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "TUMEN_DATA_DIR": str(settings.data_dir),
        "TUMEN_WORKERS": "2",
        "TUMEN_PORT": str(port),
        "TUMEN_LOG_LEVEL": "warning",
    }
    tumen = Path(sys.executable).with_name("tumen")
    proc = subprocess.Popen(
        [str(tumen), "serve"],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        # New connections spread over both workers; every answer must agree.
        before = {httpx.get(base + TILE).headers["etag"] for _ in range(12)}
        assert len(before) == 1
        register(settings, "border-a", "2022-11-04T10:24:00+09:00", seed=42)
        after = {httpx.get(base + TILE).headers["etag"] for _ in range(12)}
        assert len(after) == 1 and after != before
        pids = subprocess.run(
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True
        ).stdout.split()
        assert len(pids) >= 2  # two worker processes under the supervisor
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
