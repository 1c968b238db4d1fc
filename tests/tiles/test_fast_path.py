"""Issue 16: dynamic tiles read from the scene's WebMercatorQuad grid, with TiTiler's own pixels.

The expected tiles are rio-tiler's read of the ingested COG rendered by TiTiler's ``render_image``:
what TiTiler's tile route does (titiler.core's default path), in this process.
"""

from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import morecantile
import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient
from PIL import Image
from rasterio.transform import from_origin
from rasterio.windows import Window
from rio_tiler.io import Reader
from titiler.core.resources.enums import ImageType
from titiler.core.utils import render_image
from typer.testing import CliRunner

from tests.conftest import backend_parts
from tiles.aligned import aligned_dir, load_grid
from tiles.catalog import Catalog, Scene
from tumen.app import create_app
from tumen.cli import app
from tumen.settings import Settings

runner = CliRunner()
TMS = morecantile.tms.get("WebMercatorQuad")
SCENE = "tumangang-fast"


def scene_raster(path: Path, *, seed: int, nodata: int | None = None) -> Path:
    """900 × 600 px at 1 m over Tumangang: smooth ground, sharp-edged 'wagons' and 'rails', noise."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:600, 0:900]
    ground = 90 + 40 * np.sin(cols / 37.0 + seed) + 25 * np.cos(rows / 23.0)
    data = np.stack([ground + 10 * b for b in range(3)])
    for _ in range(25):
        r, c = rng.integers(0, 580), rng.integers(0, 860)
        data[:, r : r + rng.integers(4, 20), c : c + rng.integers(8, 40)] = rng.integers(
            20, 240, size=(3, 1, 1)
        )
    data[:, 300:304, :] = 40  # a track across the scene
    data += rng.normal(0, 3, data.shape)
    data = np.clip(data, 0, 255)
    if nodata is not None:  # a corner of no data, and the value inside the image here and there
        data[:, :150, :200] = nodata
        data[0, 400:420, 500:520] = nodata
    profile = dict(driver="GTiff", dtype="uint8", count=3, width=900, height=600, nodata=nodata)
    with rasterio.open(
        path,
        "w",
        crs="EPSG:32652",
        transform=from_origin(631_400.0, 4_698_900.0, 1.0, 1.0),
        **profile,
    ) as ds:
        ds.write(data.astype(np.uint8))
    return path


@pytest.fixture
def env(
    request: pytest.FixtureRequest, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    if "s3" in backend_parts(request.config):
        pytest.skip(
            "the aligned grid is written for COGs on this machine; S3 COGs are read in place"
        )
    monkeypatch.setenv("TUMEN_DATA_DIR", str(settings.data_dir))
    return settings


def ingest(env: Settings, tmp_path: Path, *, seed: int, nodata: int | None = None) -> Scene:
    src = scene_raster(tmp_path / f"in-{seed}.tif", seed=seed, nodata=nodata)
    r = runner.invoke(
        app,
        ["ingest", str(src), "--id", SCENE, "--site", "tumangang", "--source", "test"]
        + ["--datetime", "2023-10-06T11:00:00+09:00", "--no-bake", "--no-analyze"],
    )
    assert r.exit_code == 0, r.output
    return Catalog(env.database, env.data_dir).get(SCENE)


@pytest.fixture
def fast_client(env: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(env.model_copy(update={"tile_cache_mb": 0}))) as c:
        yield c


def cog_of(env: Settings, scene: Scene) -> str:
    return str(Catalog(env.database, env.data_dir).local_path(scene))


def titiler_tile(cog: str, z: int, x: int, y: int, fmt: str, **read: object) -> bytes:
    """TiTiler's tile: rio-tiler's read of the COG, rendered by TiTiler's render_image."""
    with Reader(cog, tms=TMS) as src:
        content, _ = render_image(src.tile(x, y, z, **read), output_format=ImageType[fmt])
    return content


def pixels(content: bytes) -> np.ndarray:
    return np.asarray(Image.open(BytesIO(content))).astype(int)


def grid_tiles(env: Settings, scene: Scene) -> list[tuple[int, int, int]]:
    grid = load_grid(env.data_dir, scene.id, scene.version)
    assert grid is not None, "ingest wrote no grid"
    return [
        (z, x, y)
        for z, (minx, miny, maxx, maxy) in grid.zooms.items()
        for x in range(minx, maxx + 1)
        for y in range(miny, maxy + 1)
    ]


def url(z: int, x: int, y: int, fmt: str) -> str:
    return f"/scenes/{SCENE}/tiles/WebMercatorQuad/{z}/{x}/{y}.{fmt}"


def test_png_of_a_scene_without_grid_is_titilers_pixels(
    settings: Settings, client: TestClient, border_scenes: list[Scene]
) -> None:
    cog = Catalog(settings.database, settings.data_dir).location(border_scenes[0])  # file or S3
    for z, x, y in ((14, 14137, 6056), (16, 56550, 24226), (12, 3534, 1514)):  # z12: edges
        r = client.get(f"/scenes/{border_scenes[0].id}/tiles/WebMercatorQuad/{z}/{x}/{y}.png")
        assert r.status_code == 200 and r.headers["x-tumen-source"] == "dynamic"
        np.testing.assert_array_equal(pixels(r.content), pixels(titiler_tile(cog, z, x, y, "png")))


def test_png_tiles_are_titilers_pixels_at_every_zoom(
    env: Settings, tmp_path: Path, fast_client: TestClient
) -> None:
    scene = ingest(env, tmp_path, seed=1)
    tiles = grid_tiles(env, scene)
    assert len({z for z, _, _ in tiles}) >= 3 and len(tiles) >= 12
    cog = cog_of(env, scene)
    for z, x, y in tiles:  # edge tiles included: their transparency too
        r = fast_client.get(url(z, x, y, "png"))
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        np.testing.assert_array_equal(pixels(r.content), pixels(titiler_tile(cog, z, x, y, "png")))


def test_nodata_scene_tiles_are_titilers_pixels(
    env: Settings, tmp_path: Path, fast_client: TestClient
) -> None:
    scene = ingest(env, tmp_path, seed=9, nodata=0)
    cog = cog_of(env, scene)
    for z, x, y in grid_tiles(env, scene):
        for query, read in (("", {}), ("?bidx=1", {"indexes": [1]})):
            r = fast_client.get(url(z, x, y, "png") + query)
            assert r.status_code == 200
            expected = titiler_tile(cog, z, x, y, "png", **read)
            np.testing.assert_array_equal(pixels(r.content), pixels(expected), err_msg=query)


def test_jpeg_tiles_decode_to_titilers_pixels(
    env: Settings, tmp_path: Path, fast_client: TestClient
) -> None:
    scene = ingest(env, tmp_path, seed=2)
    cog = cog_of(env, scene)
    for z, x, y in grid_tiles(env, scene):
        r = fast_client.get(url(z, x, y, "jpg"))
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        np.testing.assert_array_equal(pixels(r.content), pixels(titiler_tile(cog, z, x, y, "jpg")))


def mark_block(env: Settings, scene: Scene, z: int, x: int, y: int) -> None:
    """Paint one tile's block of the grid with 7s: a tile showing them was read from the grid."""
    grid = load_grid(env.data_dir, scene.id, scene.version)
    assert grid is not None
    minx, miny, _, _ = grid.zooms[z]
    path = grid.level_path(z, aligned_dir(env.data_dir, scene.id, scene.version))
    with rasterio.open(path, "r+") as level:
        level.write(
            np.full((level.count, 256, 256), 7, np.uint8),
            window=Window((x - minx) * 256, (y - miny) * 256, 256, 256),
        )


def test_tile_route_reads_the_grid_and_what_it_cannot_answer_from_the_cog(
    env: Settings, tmp_path: Path, fast_client: TestClient
) -> None:
    scene = ingest(env, tmp_path, seed=3)
    z, x, y = max(grid_tiles(env, scene))  # a tile of the native zoom
    mark_block(env, scene, z, x, y)
    assert (pixels(fast_client.get(url(z, x, y, "png")).content)[..., :3] == 7).all()
    every_band = fast_client.get(url(z, x, y, "png") + "?bidx=1&bidx=2&bidx=3")
    assert (pixels(every_band.content)[..., :3] == 7).all()
    # Reads the grid does not hold are rio-tiler's on the COG, as TiTiler makes them.
    cog = cog_of(env, scene)
    for query, read in (
        ("tilesize=512", {"tilesize": 512}),
        ("resampling=bilinear", {"resampling_method": "bilinear"}),
        ("reproject=bilinear", {"reproject_method": "bilinear"}),
        ("buffer=2", {"buffer": 2}),
        ("expression=b1*0.5", {"expression": "b1*0.5"}),
        ("bidx=2", {"indexes": [2]}),  # not always band 2 of the three-band read
        ("bidx=3&bidx=2&bidx=1", {"indexes": [3, 2, 1]}),
    ):
        r = fast_client.get(url(z, x, y, "png") + "?" + query)
        assert r.status_code == 200, (query, r.text)
        expected = pixels(titiler_tile(cog, z, x, y, "png", **read))
        np.testing.assert_array_equal(pixels(r.content), expected, err_msg=query)
    # Beyond the native zoom (overzoom) the COG answers too.
    child = (z + 1, 2 * x, 2 * y)
    np.testing.assert_array_equal(
        pixels(fast_client.get(url(*child, "png")).content),
        pixels(titiler_tile(cog, *child, "png")),
    )


def test_reingested_scene_is_read_from_its_new_version_only(
    env: Settings, tmp_path: Path, fast_client: TestClient
) -> None:
    first = ingest(env, tmp_path, seed=4)
    z, x, y = max(grid_tiles(env, first))
    before = fast_client.get(url(z, x, y, "png"))  # grid and its open level file now kept
    assert before.status_code == 200
    second = ingest(env, tmp_path, seed=5)
    assert second.version != first.version
    assert not aligned_dir(env.data_dir, SCENE, first.version).exists()
    assert load_grid(env.data_dir, SCENE, second.version) is not None
    after = fast_client.get(url(z, x, y, "png"))
    assert after.status_code == 200
    np.testing.assert_array_equal(
        pixels(after.content), pixels(titiler_tile(cog_of(env, second), z, x, y, "png"))
    )
    assert not np.array_equal(pixels(after.content), pixels(before.content))


def test_removed_scene_is_404_never_served_from_the_kept_grid(
    env: Settings, tmp_path: Path, fast_client: TestClient
) -> None:
    scene = ingest(env, tmp_path, seed=6)
    z, x, y = max(grid_tiles(env, scene))
    assert fast_client.get(url(z, x, y, "png")).status_code == 200
    assert runner.invoke(app, ["scenes", "rm", SCENE]).exit_code == 0
    r = fast_client.get(url(z, x, y, "png"))
    assert r.status_code == 404
    assert r.json() == {"detail": f"scene '{SCENE}' is not in the catalog"}
    assert not aligned_dir(env.data_dir, SCENE, scene.version).exists()


def test_plain_tile_request_gets_the_routes_bytes_without_routing(
    env: Settings, tmp_path: Path, fast_client: TestClient
) -> None:
    scene = ingest(env, tmp_path, seed=7)
    z, x, y = max(grid_tiles(env, scene))
    for fmt in ("png", "jpg"):
        plain = fast_client.get(url(z, x, y, fmt))
        # return_mask=true is the default: the route renders the same tile from the same grid.
        routed = fast_client.get(url(z, x, y, fmt) + "?return_mask=true")
        assert plain.status_code == routed.status_code == 200
        assert plain.content == routed.content
        assert plain.headers["content-type"] == routed.headers["content-type"]
        assert plain.headers["x-tumen-source"] == "dynamic"
    tiles = sorted(t for t in grid_tiles(env, scene) if t[0] == z)
    unread = tiles[len(tiles) // 2]  # not in GDAL's block cache yet
    mark_block(env, scene, *unread)
    assert (pixels(fast_client.get(url(*unread, "png")).content)[..., :3] == 7).all()
    # A scene whose COG is gone is the route's to answer (503), grid or not.
    Path(cog_of(env, scene)).unlink()
    r = fast_client.get(url(z, x, y, "png"))
    assert r.status_code == 503 and "missing" in r.json()["detail"]


def test_plain_tile_declines_what_only_the_route_may_answer(env: Settings, tmp_path: Path) -> None:
    import anyio

    from tiles.fastlane import plain_tile

    scene = ingest(env, tmp_path, seed=8)
    catalog = Catalog(env.database, env.data_dir)
    z, x, y = max(grid_tiles(env, scene))

    def lane(
        s: Scene,
        tms: str = "WebMercatorQuad",
        fmt: str = "png",
        at: tuple[int, int, int] = (z, x, y),
    ) -> bytes | None:
        async def ask() -> bytes | None:
            return await plain_tile(catalog, s, tms, *at, fmt)

        return anyio.run(ask)

    expected = titiler_tile(cog_of(env, scene), z, x, y, "png")
    content = lane(scene)
    assert content is not None and np.array_equal(pixels(content), pixels(expected))
    assert lane(scene, fmt="webp") is None
    assert lane(scene, tms="WorldCRS84Quad") is None
    assert lane(scene, at=(z + 1, 2 * x, 2 * y)) is None  # past the grid's zooms
    assert lane(scene.model_copy(update={"render": {"bidx": [3, 2, 1]}})) is None
    assert lane(scene.model_copy(update={"version": "0" * 16})) is None  # no grid of that version
