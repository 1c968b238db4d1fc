"""Tiles served through TiTiler's factories equal rio-tiler's own read of the same COG."""

import numpy as np
import pytest
from fastapi.testclient import TestClient
from rasterio.io import MemoryFile

from tiles.catalog import Catalog, Scene
from tiles.reader import SceneReader
from tiles.sites import load_sites
from tumen.settings import Settings

# A z16 tile inside the border test scene (near the bridge).
Z, X, Y = 16, 56550, 24226


def decode(png: bytes) -> tuple[np.ndarray, np.ndarray]:
    with MemoryFile(png) as mem, mem.open() as ds:
        arr = ds.read()
    return arr[:3], arr[3] if arr.shape[0] == 4 else np.full(arr.shape[1:], 255, np.uint8)


def expected(settings: Settings, scene: Scene) -> tuple[np.ndarray, np.ndarray]:
    # What GDAL reads for the scene: its file, or its object in S3 (--backend=…s3).
    path = Catalog(settings.database, settings.data_dir).location(scene)
    with SceneReader(path) as src:
        img = src.tile(X, Y, Z)
    return img.data, img.mask


def test_scene_tile_pixels_equal_rio_tiler_read(
    client: TestClient, settings: Settings, border_scenes: list[Scene]
) -> None:
    r = client.get(f"/scenes/border-b/tiles/WebMercatorQuad/{Z}/{X}/{Y}.png")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    data, mask = decode(r.content)
    want_data, want_mask = expected(settings, border_scenes[1])
    assert mask.min() == 255  # the tile is fully inside the scene
    np.testing.assert_array_equal(data, want_data)
    np.testing.assert_array_equal(mask, want_mask)


def test_site_tile_at_datetime_is_that_scenes_tile(client: TestClient) -> None:
    site = client.get(
        f"/sites/bridge/tiles/WebMercatorQuad/{Z}/{X}/{Y}.png",
        params={"datetime": "2022-11-04T13:30:00+09:00"},
    )
    scene = client.get(f"/scenes/border-b/tiles/WebMercatorQuad/{Z}/{X}/{Y}.png")
    other = client.get(f"/scenes/border-a/tiles/WebMercatorQuad/{Z}/{X}/{Y}.png")
    assert site.status_code == scene.status_code == 200
    assert site.content == scene.content
    assert site.content != other.content


@pytest.mark.parametrize("fmt,magic", [("jpg", b"\xff\xd8\xff"), ("webp", b"RIFF")])
def test_lossy_formats_are_served(client: TestClient, fmt: str, magic: bytes) -> None:
    r = client.get(f"/scenes/border-a/tiles/WebMercatorQuad/{Z}/{X}/{Y}.{fmt}")
    assert r.status_code == 200
    assert r.content.startswith(magic)


@pytest.mark.parametrize(
    "when,scene_id",
    [
        ("2022-11-04T10:24:00+09:00", "border-a"),  # exactly at the first scene
        ("2022-11-04T01:24:00Z", "border-a"),  # the same instant in UTC
        ("2022-11-04T13:09:59+09:00", "border-a"),  # one second before the second
        ("2022-11-04T13:10:00+09:00", "border-b"),
        ("2022-11-04T04:10:00Z", "border-b"),
        ("2022-11-04T14:28:59+09:00", "border-b"),
        ("2022-11-04T14:29:00+09:00", "border-c"),
        ("2022-11-04", "border-c"),  # a date means the end of that day (UTC)
        ("2030-01-01T00:00:00Z", "border-c"),
        ("latest", "border-c"),
        ("{Time}", "border-c"),  # QGIS 3.22 leaves the WMTS placeholder unfilled
        ("2022-11-04T13:10:00 09:00", "border-b"),  # '+' sent unencoded becomes a space
    ],
)
def test_site_at_datetime_picks_latest_at_or_before(
    client: TestClient, when: str, scene_id: str
) -> None:
    r = client.get("/sites/khasan/WebMercatorQuad/tilejson.json", params={"datetime": when})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == scene_id


def test_site_without_datetime_is_latest(client: TestClient) -> None:
    assert client.get("/sites/tumangang/WebMercatorQuad/tilejson.json").json()["name"] == "border-c"


def test_datetime_before_first_scene_is_404_naming_first_date(client: TestClient) -> None:
    r = client.get(
        "/sites/bridge/WebMercatorQuad/tilejson.json",
        params={"datetime": "2022-11-04T10:23:59+09:00"},
    )
    assert r.status_code == 404
    assert "first scene is of 2022-11-04T10:24:00+09:00" in r.json()["detail"]
    r = client.get(f"/sites/bridge/tiles/WebMercatorQuad/{Z}/{X}/{Y}.png?datetime=2019-01-01")
    assert r.status_code == 404
    assert "2022-11-04T10:24:00+09:00" in r.json()["detail"]


def test_tilejson_bounds_contain_site_and_credit_provider(
    client: TestClient, settings: Settings
) -> None:
    sites = load_sites(settings.sites_file)
    for site_id in ("bridge", "khasan", "tumangang"):
        doc = client.get(f"/sites/{site_id}/WebMercatorQuad/tilejson.json").json()
        w, s, e, n = doc["bounds"]
        sw, ss, se, sn = sites[site_id].bbox
        assert w <= sw and s <= ss and e >= se and n >= sn, site_id
        assert doc["tiles"][0].startswith(
            f"http://testserver/sites/{site_id}/tiles/WebMercatorQuad/"
        )
        assert "test provider" in doc["attribution"]
        assert "SYNTHETIC" in doc["attribution"]


def test_site_tilejson_keeps_datetime_in_tile_urls(client: TestClient) -> None:
    doc = client.get(
        "/sites/bridge/WebMercatorQuad/tilejson.json",
        params={"datetime": "2022-11-04T13:10:00+09:00"},
    ).json()
    assert doc["name"] == "border-b"
    assert "datetime=2022-11-04T13%3A10%3A00%2B09%3A00" in doc["tiles"][0]


def test_point_and_preview_and_info(client: TestClient, settings: Settings, border_scenes) -> None:
    info = client.get("/scenes/border-a/info").json()
    assert info["width"] == 960 and info["height"] == 640 and info["count"] == 3
    assert client.get("/scenes/border-a/preview.png?max_size=128").status_code == 200
    lon, lat = 130.641056, 42.415167
    pt = client.get(f"/scenes/border-a/point/{lon},{lat}")
    assert pt.status_code == 200
    with SceneReader(
        Catalog(settings.database, settings.data_dir).location(border_scenes[0])
    ) as src:
        want = src.point(lon, lat).data.tolist()
    assert pt.json()["values"] == want


def test_bbox_crop_as_geotiff(client: TestClient) -> None:
    r = client.get("/scenes/border-a/bbox/130.635,42.413,130.645,42.418.tif")
    assert r.status_code == 200
    with MemoryFile(r.content) as mem, mem.open() as ds:
        assert ds.count >= 3
        assert ds.crs is not None
        assert ds.bounds.left == pytest.approx(130.635, abs=1e-3)


def test_statistics(client: TestClient) -> None:
    stats = client.get("/scenes/border-a/statistics").json()
    assert set(stats) == {"b1", "b2", "b3"}
    assert 1 <= stats["b1"]["min"] <= stats["b1"]["max"] <= 254
