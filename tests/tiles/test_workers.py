"""`tumen serve` with TUMEN_WORKERS=2: both workers see a re-ingest, since shared state is on disk."""

import subprocess

import httpx

from tests.conftest import register, served
from tiles.catalog import Scene
from tumen.settings import Settings

TILE = "/scenes/border-a/tiles/WebMercatorQuad/16/56550/24226.png"


def test_two_workers_serve_and_follow_reingest(
    settings: Settings, border_scenes: list[Scene]
) -> None:
    with served(settings, TUMEN_WORKERS="2") as (proc, base):
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
