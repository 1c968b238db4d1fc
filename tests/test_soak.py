"""The 30-second soak: a mixed load against `tumen serve` (2 workers) with no error and flat memory."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BORDER_ORIGIN, register
from tumen.settings import Settings

# HTTP, a client or load, the same on every backend: run in the SQLite pass only.
pytestmark = pytest.mark.above_storage

SOAK = Path(__file__).resolve().parent.parent / "bench" / "soak.py"


def test_30_second_soak_has_no_error_and_flat_worker_memory(
    settings: Settings, tmp_path: Path
) -> None:
    # Five scenes over the border sites, offset so their tiles differ.
    x, y = BORDER_ORIGIN
    for i, (dx, dy) in enumerate([(0, 0), (1500, -800), (3000, 0), (-1000, 500), (700, -300)]):
        when = f"2022-11-0{i + 1}T10:24:00+09:00"
        register(settings, f"scene-{i}", when, seed=i, origin=(x + dx, y + dy))
    out = tmp_path / "soak.json"
    # Small caches (tiles 2 MB, GDAL blocks 16 MB), so that both are full after the warm-up and
    # 30 s render several times the tile cache's bound: what grows after that is not a cache.
    command = [sys.executable, str(SOAK), "--seconds", "30", "--warmup", "40"]
    command += ["--data-dir", str(settings.data_dir), "--cache-mb", "2", "--json", str(out)]
    command += ["--env", "TUMEN_GDAL_CACHE_MB=16"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=240)
    print(run.stdout, run.stderr[-2000:])
    figures = json.loads(out.read_text())
    assert figures["error_total"] == 0
    assert len(figures["rss"]) == 2  # both uvicorn workers measured
    # Flat: over the second half a filled cache no longer grows, a leak still does; a worker that
    # warmed later than its sibling may still rise to the level its sibling holds, not past it.
    assert all(figures["flat"].values()), figures
    assert figures["cache_ok"]
    assert run.returncode == 0
