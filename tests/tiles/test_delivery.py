"""Baked archives, the tile cache and HTTP revalidation in front of the dynamic TiTiler path."""

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from rasterio.io import MemoryFile

from tests.conftest import register
from tiles.archive import Archive
from tiles.bake import archive_path, bake_scene
from tiles.catalog import Catalog, Scene
from tiles.delivery import TileCache
from tumen.app import create_app
from tumen.settings import Settings

TILE = "16/56550/24226"
BAKED = "14/14137/6056"  # the 5 m test scenes are baked down from z14, their native zoom


def pixels(img: bytes) -> np.ndarray:
    with MemoryFile(img) as mem, mem.open() as ds:
        return ds.read()


@pytest.fixture
def baked(settings: Settings, border_scenes: list[Scene]) -> list[Scene]:
    catalog = Catalog(settings.database, settings.data_dir)
    return [bake_scene(catalog, s, workers=1) for s in border_scenes[:2]]


@pytest.fixture
def baked_client(settings: Settings, baked: list[Scene]):
    with TestClient(create_app(settings)) as c:
        yield c


def test_bake_records_webp_for_opaque_imagery(baked: list[Scene], settings: Settings) -> None:
    assert [s.tile_format for s in baked] == ["webp", "webp"]
    assert all(s.baked_version == s.version for s in baked)
    archive = Archive(archive_path(settings.data_dir, "border-a"))
    assert archive.metadata["tumen:scene_version"] == baked[0].version
    assert archive.get(16, 0, 0) is None  # fully outside the scene: not stored
    archive.close()


def test_baked_tile_has_the_dynamic_tiles_pixels(baked_client: TestClient) -> None:
    url = f"/scenes/border-a/tiles/WebMercatorQuad/{BAKED}.webp"
    from_archive = baked_client.get(url)
    assert from_archive.headers["x-tumen-source"] == "baked"
    assert from_archive.headers["content-type"] == "image/webp"
    # An explicit tilesize (the default value) bypasses the archive and renders dynamically.
    rendered = baked_client.get(url, params={"tilesize": 256})
    assert rendered.headers["x-tumen-source"] == "dynamic"
    np.testing.assert_array_equal(pixels(from_archive.content), pixels(rendered.content))


def test_site_tile_at_datetime_served_from_the_archive(baked_client: TestClient) -> None:
    r = baked_client.get(
        f"/sites/bridge/tiles/WebMercatorQuad/{BAKED}.webp",
        params={"datetime": "2022-11-04T13:15:00+09:00"},
    )
    assert r.headers["x-tumen-source"] == "baked"
    assert r.headers["x-tumen-scene"] == "border-b"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    latest = baked_client.get(f"/sites/bridge/tiles/WebMercatorQuad/{BAKED}.webp")
    assert latest.headers["x-tumen-scene"] == "border-c"  # not baked: rendered
    assert latest.headers["x-tumen-source"] == "dynamic"
    assert latest.headers["cache-control"] == "public, max-age=60"


def test_tilejson_points_at_the_baked_format(baked_client: TestClient) -> None:
    doc = baked_client.get("/scenes/border-a/WebMercatorQuad/tilejson.json").json()
    assert doc["tiles"][0].endswith("/tiles/WebMercatorQuad/{z}/{x}/{y}.webp")


def test_etag_round_trip_gives_304_without_body(client: TestClient) -> None:
    url = f"/scenes/border-a/tiles/WebMercatorQuad/{TILE}.png"
    first = client.get(url)
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other = client.get(f"/scenes/border-b/tiles/WebMercatorQuad/{TILE}.png")
    assert other.headers["etag"] != etag
    assert client.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200


def test_repeated_dynamic_tile_comes_from_the_cache(client: TestClient) -> None:
    url = f"/scenes/border-a/tiles/WebMercatorQuad/{TILE}.png"
    first, second = client.get(url), client.get(url)
    assert first.headers["x-tumen-source"] == "dynamic"
    assert second.headers["x-tumen-source"] == "cache"
    assert first.content == second.content


def test_cache_stays_within_its_byte_bound() -> None:
    cache = TileCache(max_bytes=10_000)
    for i in range(100):
        cache[f"tile-{i}"] = (bytes(1000), "image/png")
    assert cache.currsize <= 10_000
    assert len(cache) == 8  # 8 × (1000 + 200 bookkeeping) ≤ 10,000
    assert "tile-99" in cache and "tile-0" not in cache


def test_cache_bound_respected_through_the_app(settings: Settings, border_scenes) -> None:
    small = settings.model_copy(update={"tile_cache_mb": 1})
    app = create_app(small)
    with TestClient(app) as c:
        for dx in range(12):
            for dy in range(6):
                c.get(f"/scenes/border-a/tiles/WebMercatorQuad/16/{56545 + dx}/{24222 + dy}.png")
    # The middleware instance lives in the built stack; find its cache there.
    layer = app.middleware_stack
    while layer is not None and type(layer).__name__ != "TileDelivery":
        layer = getattr(layer, "app", None)
    assert layer is not None
    assert 0 < layer.cache.currsize <= 1024 * 1024


def test_reingest_changes_version_and_invalidates(settings: Settings, baked: list[Scene]) -> None:
    with TestClient(create_app(settings)) as c:
        url = f"/scenes/border-a/tiles/WebMercatorQuad/{BAKED}.webp"
        before = c.get(url)
        assert before.headers["x-tumen-source"] == "baked"
        new = register(settings, "border-a", "2022-11-04T10:24:00+09:00", seed=99)
        assert new.version != baked[0].version
        after = c.get(url)
        assert after.headers["x-tumen-source"] == "dynamic"  # the archive is of the old version
        assert after.headers["etag"] != before.headers["etag"]
        assert not np.array_equal(pixels(after.content), pixels(before.content))
        assert c.get(url, headers={"If-None-Match": before.headers["etag"]}).status_code == 200


def test_archive_served_with_range_requests(baked_client: TestClient, settings: Settings) -> None:
    whole = archive_path(settings.data_dir, "border-a").read_bytes()
    r = baked_client.get("/scenes/border-a.pmtiles", headers={"Range": "bytes=0-126"})
    assert r.status_code == 206
    assert r.headers["accept-ranges"] == "bytes"
    assert r.content == whole[:127] and r.content.startswith(b"PMTiles\x03")
    assert r.headers["content-range"] == f"bytes 0-126/{len(whole)}"
    past = baked_client.get(
        "/scenes/border-a.pmtiles", headers={"Range": f"bytes={len(whole) + 10}-"}
    )
    assert past.status_code == 416
    bad = baked_client.get("/scenes/border-a.pmtiles", headers={"Range": "bytes=zz"})
    assert bad.status_code in (200, 400)
    assert baked_client.get("/scenes/border-a.pmtiles").content == whole
    missing = baked_client.get("/scenes/border-c.pmtiles")
    assert missing.status_code == 404
    assert "tumen bake border-c" in missing.json()["detail"]


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_archive_falls_back_to_dynamic(
    settings: Settings, baked: list[Scene], damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    path: Path = archive_path(settings.data_dir, "border-a")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"garbage" * 50)
    with TestClient(create_app(settings)) as c:
        r = c.get(f"/scenes/border-a/tiles/WebMercatorQuad/{BAKED}.webp")
        assert r.status_code == 200
        assert r.headers["x-tumen-source"] == "dynamic"
    assert any("serving scene border-a dynamically" in m for m in caplog.messages)


def test_wmts_offers_webp_last_and_png_first(baked_client: TestClient) -> None:
    from owslib.wmts import WebMapTileService

    xml = baked_client.get("/scenes/border-a/WebMercatorQuad/WMTSCapabilities.xml").content
    layer = WebMapTileService("http://testserver/x", xml=xml).contents["border-a"]
    assert [u["format"] for u in layer.resourceURLs] == ["image/png", "image/jpeg", "image/webp"]
    xml = baked_client.get("/scenes/border-c/WebMercatorQuad/WMTSCapabilities.xml").content
    layer = WebMapTileService("http://testserver/x", xml=xml).contents["border-c"]
    assert layer.resourceURLs[0]["format"] == "image/png"  # not baked: lossless first


def test_tiles_carry_their_registered_media_type(client: TestClient) -> None:
    for ext, media in (("jpg", "image/jpeg"), ("png", "image/png"), ("webp", "image/webp")):
        r = client.get(f"/scenes/border-a/tiles/WebMercatorQuad/{TILE}.{ext}")
        assert r.status_code == 200 and r.headers["content-type"] == media, (ext, r.headers)


def test_the_openapi_documents_the_etag_and_304_of_every_tile_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    tile_routes = [p for p in paths if "/{z}/{x}/{y}" in p]
    assert len(tile_routes) == 4  # scene and site tiles, with and without a format
    for path in tile_routes:
        responses = paths[path]["get"]["responses"]
        assert "304" in responses and "ETag" in responses["200"]["headers"], path
    # The Atom feeds revalidate too (tumen/feed.py, tests/test_feed.py); no other route does.
    assert not any(
        "304" in op.get("responses", {})
        for p, ops in paths.items()
        if p not in tile_routes and not p.endswith("/feed.atom")
        for op in ops.values()
    )
