"""QGIS (Debian 12: 3.22) loads tumen's XYZ and WMTS URLs and renders the scene's own pixels."""

from pathlib import Path
from urllib.parse import quote

import httpx
import morecantile
import numpy as np
import pytest
import rasterio

from tests.conftest import LiveServer
from tests.interop.conftest import run_qgis
from tiles.catalog import Catalog, Scene
from tiles.reader import SceneReader
from tumen.settings import Settings

# HTTP, a client or load, the same on every backend: run in the SQLite pass only.
pytestmark = pytest.mark.above_storage

# One z16 tile over the bridge, fully inside the test scenes.
TILE = morecantile.tms.get("WebMercatorQuad").tile(130.641056, 42.415167, 16)


def tile_extent() -> list[float]:
    b = morecantile.tms.get("WebMercatorQuad").xy_bounds(TILE)
    return [b.left, b.bottom, b.right, b.top]


def rendered(path: str) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read()


def expected_tile(settings: Settings, scene: Scene) -> np.ndarray:
    # The scene's COG as every reader opens it: a file, or /vsis3/ with --backend …s3.
    with SceneReader(Catalog(settings.database, settings.data_dir).location(scene)) as src:
        return src.tile(TILE.x, TILE.y, TILE.z).data


def assert_same_image(got: np.ndarray, want: np.ndarray) -> None:
    """QGIS draws the tile 1:1 for an extent and size equal to the tile's; allow resampling noise."""
    assert got.shape[0] == 4 and got[3].min() == 255, "QGIS drew transparent pixels: tiles missing"
    diff = np.abs(got[:3].astype(int) - want.astype(int))
    assert np.mean(diff) < 3, f"mean difference {np.mean(diff):.1f} from the scene's own pixels"


def tile_requests(server: LiveServer, prefix: str) -> list[tuple[str, str, str, int]]:
    return [r for r in server.requests if r[1].startswith(prefix)]


def test_xyz_site_url_at_a_date(
    live_server: LiveServer, settings: Settings, border_scenes: list[Scene], tmp_path: Path
) -> None:
    template = (
        f"{live_server.url}/sites/bridge/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png"
        "?datetime=2022-11-04T13:10:00%2B09:00"
    )
    uri = f"type=xyz&url={quote(template, safe='')}&zmin=0&zmax=16"
    out = run_qgis(
        {
            "provider": "wms",
            "uri": uri,
            "extent": tile_extent(),
            "size": [256, 256],
            "out": str(tmp_path / "xyz.png"),
        },
        tmp_path,
    )
    assert out["valid"] and out["render_errors"] == []
    assert_same_image(rendered(out["png"]), expected_tile(settings, border_scenes[1]))
    hits = tile_requests(live_server, "/sites/bridge/tiles/WebMercatorQuad/16/")
    assert hits and all(status == 200 for *_, status in hits)
    assert all("datetime=2022-11-04T13" in query for _, _, query, _ in hits)


def wmts_uri(server: LiveServer, layer: str, time: str | None) -> str:
    parts = [
        "contextualWMSLegend=0",
        "crs=EPSG:3857",
        "dpiMode=7",
        "format=image/png",
        f"layers={layer}",
        "styles=default",
        "tileMatrixSet=WebMercatorQuad",
    ]
    if time is not None:
        parts.append(f"tileDimensions=Time%3D{time}")
    parts.append(f"url={server.url}/wmts/WMTSCapabilities.xml")
    return "&".join(parts)


@pytest.mark.parametrize("time,index", [("2022-11-04T01:24:00Z", 0), ("2022-11-04T05:29:00Z", 2)])
def test_wmts_with_time_dimension_gives_that_dates_image(
    live_server: LiveServer,
    settings: Settings,
    border_scenes: list[Scene],
    tmp_path: Path,
    time: str,
    index: int,
) -> None:
    out = run_qgis(
        {
            "provider": "wms",
            "uri": wmts_uri(live_server, "khasan", time),
            "extent": tile_extent(),
            "size": [256, 256],
            "out": str(tmp_path / "wmts.png"),
        },
        tmp_path,
    )
    assert out["valid"] and out["render_errors"] == []
    got = rendered(out["png"])
    assert_same_image(got, expected_tile(settings, border_scenes[index]))
    other = expected_tile(settings, border_scenes[1])
    assert np.mean(np.abs(got[:3].astype(int) - other.astype(int))) > 20  # a different date
    hits = tile_requests(live_server, "/sites/khasan/tiles/")
    assert hits and all(q == f"datetime={time}" and s == 200 for _, _, q, s in hits)


def test_wmts_uris_from_the_qgis_page_load_in_qgis(
    live_server: LiveServer, settings: Settings, border_scenes: list[Scene], tmp_path: Path
) -> None:
    """The URIs /qgis hands out (no time: latest; at the latest time) are the ones checked here."""
    info = httpx.get(f"{live_server.url}/qgis", params={"f": "json"}).json()
    tumangang = next(s for s in info["sites"] if s["site"] == "tumangang")
    for key in ("qgis_uri", "qgis_uri_at_time"):
        out = run_qgis(
            {
                "provider": "wms",
                "uri": tumangang["wmts"][key],
                "extent": tile_extent(),
                "size": [256, 256],
                "out": str(tmp_path / f"{key}.png"),
            },
            tmp_path,
        )
        assert out["valid"], key
        assert_same_image(rendered(out["png"]), expected_tile(settings, border_scenes[2]))
    hits = tile_requests(live_server, "/sites/tumangang/tiles/")
    # QGIS 3.22 sends the literal {Time} when no time is chosen: tumen reads it as "latest".
    assert {q for _, _, q, _ in hits} == {"datetime=%7BTime%7D", "datetime=2022-11-04T05:29:00Z"}
    assert all(s == 200 for *_, s in hits)
