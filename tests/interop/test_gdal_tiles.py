"""GDAL (Debian's gdal-bin) reads tumen's WMTS: every site layer listed, a window gives the scene."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import rasterio

from tests.conftest import LiveServer
from tests.interop.test_qgis_tiles import TILE, expected_tile, tile_extent
from tiles.catalog import Scene
from tumen.settings import Settings

# HTTP, a client or load, the same on every backend: run in the SQLite pass only.
pytestmark = pytest.mark.above_storage


@pytest.fixture(autouse=True)
def wms_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GDAL_DEFAULT_WMS_CACHE_PATH", str(tmp_path / "gdal-cache"))


def gdal(*args: str) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(list(args), capture_output=True, text=True, timeout=180, check=False)
    assert out.returncode == 0, out.stderr
    return out


def test_gdalinfo_lists_every_site_layer(live_server: LiveServer) -> None:
    out = gdal("gdalinfo", f"WMTS:{live_server.url}/wmts/WMTSCapabilities.xml").stdout
    for site in ("bridge", "khasan", "tumangang"):
        assert f"layer={site}" in out


@pytest.mark.parametrize("time,index", [("2022-11-04T04:10:00Z", 1), (None, 2)])
def test_gdal_translate_window_gives_the_scenes_pixels(
    live_server: LiveServer,
    settings: Settings,
    border_scenes: list[Scene],
    tmp_path: Path,
    time: str | None,
    index: int,
) -> None:
    # GDAL 3.6 has no open option for WMTS dimensions: the capabilities URL picks the date.
    caps = f"{live_server.url}/wmts/WMTSCapabilities.xml"
    if time:
        caps += f"?datetime={time}"
    src = f"WMTS:{caps},layer=bridge"
    zoom = ["-oo", f"ZOOM_LEVEL={TILE.z}"]
    info = json.loads(gdal("gdalinfo", "-json", *zoom, src).stdout)
    x0, res, _, y0, _, neg = info["geoTransform"]
    left, bottom, right, top = tile_extent()
    xoff, yoff = round((left - x0) / res), round((top - y0) / neg)
    dst = tmp_path / "window.tif"
    gdal(
        "gdal_translate", "-q", *zoom, "-srcwin", str(xoff), str(yoff), "256", "256", src, str(dst)
    )
    with rasterio.open(dst) as ds:
        got = ds.read()
    want = expected_tile(settings, border_scenes[index])
    assert np.array_equal(got[:3], want), f"tile {TILE} differs from rio-tiler's read"
    hits = [
        r
        for r in live_server.requests
        if r[1].startswith("/sites/bridge/tiles/WebMercatorQuad/16/")
    ]
    assert hits and all(r[3] == 200 for r in hits)
