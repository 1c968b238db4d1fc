"""`tumen ingest`: any GeoTIFF becomes a registered COG; a bad file leaves the catalog as it was."""

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from rio_cogeo.cogeo import cog_validate
from typer.testing import CliRunner

from tiles.catalog import Catalog
from tumen.cli import app
from tumen.settings import Settings

runner = CliRunner()


def plain_geotiff(path: Path, *, crs: str | None = "EPSG:32652") -> Path:
    """A striped (not tiled, no overviews) GeoTIFF over Tumangang."""
    data = (np.arange(3 * 400 * 600, dtype=np.uint32) % 251).astype(np.uint8).reshape(3, 400, 600)
    profile = dict(
        driver="GTiff",
        dtype="uint8",
        count=3,
        width=600,
        height=400,
        transform=from_origin(631_400.0, 4_698_900.0, 2.0, 2.0),
    )
    if crs:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data)
    return path


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("TUMEN_DATA_DIR", str(settings.data_dir))
    return settings


def ingest(*args: str):
    return runner.invoke(app, ["ingest", *args])


def test_ingest_converts_to_cog_and_registers(env: Settings, tmp_path: Path) -> None:
    src = plain_geotiff(tmp_path / "in.tif")
    r = ingest(
        str(src),
        "--site",
        "tumangang",
        "--datetime",
        "2023-10-06T11:00:00+09:00",
        "--source",
        "Planet Labs PBC",
        "--licence",
        "CC-BY-NC-SA-4.0",
    )
    assert r.exit_code == 0, r.output
    scene = Catalog(env.database, env.data_dir).get("tumangang-20231006T1100")
    assert scene.sites == ["tumangang"]
    assert scene.crs == "EPSG:32652" and scene.gsd == 2.0
    assert scene.provider == "Planet Labs PBC" and not scene.synthetic
    assert scene.datetime.isoformat() == "2023-10-06T11:00:00+09:00"
    cog = Catalog(env.database, env.data_dir).location(scene)  # a file, or /vsis3/ with S3
    valid, errors, _ = cog_validate(str(cog))
    assert valid, errors
    with rasterio.open(src) as a, rasterio.open(cog) as b:
        np.testing.assert_array_equal(a.read(), b.read())
    listing = runner.invoke(app, ["scenes", "list"])
    assert "tumangang-20231006T1100" in listing.output


def test_ingest_refuses_a_file_without_crs(env: Settings, tmp_path: Path) -> None:
    src = plain_geotiff(tmp_path / "nocrs.tif", crs=None)
    r = ingest(
        str(src), "--site", "tumangang", "--datetime", "2023-10-06T11:00:00+09:00", "--source", "x"
    )
    assert r.exit_code != 0
    assert "has no CRS" in r.output
    assert Catalog(env.database, env.data_dir).list() == []
    assert not list(env.scenes_dir.glob("*")) if env.scenes_dir.exists() else True


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["--site", "atlantis", "--datetime", "2023-10-06T11:00:00+09:00"],
            "unknown site 'atlantis'",
        ),
        (["--site", "bridge", "--datetime", "yesterday"], "is not ISO 8601"),
        (["--site", "bridge", "--datetime", "2023-10-06T11:00:00"], "needs an offset"),
    ],
)
def test_ingest_bad_arguments_leave_catalog_unchanged(
    env: Settings, tmp_path: Path, args: list[str], message: str
) -> None:
    src = plain_geotiff(tmp_path / "in.tif")
    r = ingest(str(src), *args, "--source", "x")
    assert r.exit_code != 0
    assert message in r.output
    assert Catalog(env.database, env.data_dir).list() == []


def test_ingest_unreadable_file_leaves_catalog_unchanged(env: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"not a raster at all")
    r = ingest(
        str(bad), "--site", "bridge", "--datetime", "2023-10-06T11:00:00+09:00", "--source", "x"
    )
    assert r.exit_code != 0
    assert "not a raster GDAL can read" in r.output
    assert Catalog(env.database, env.data_dir).list() == []


def planetscope_like(
    path: Path, *, origin=(631_400.0, 4_698_900.0), when: str | None = "2023:10:06 02:00:00"
) -> Path:
    """A 4-band uint16 GeoTIFF (B, G, R, NIR) with nodata, over Tumangang, timestamped in its tags."""
    rng = np.random.default_rng(3)
    data = rng.integers(300, 4000, size=(4, 300, 400), dtype=np.uint16)
    data[:, :10, :10] = 0
    profile = dict(
        driver="GTiff",
        dtype="uint16",
        count=4,
        width=400,
        height=300,
        nodata=0,
        crs="EPSG:32652",
        transform=from_origin(*origin, 3.0, 3.0),
    )
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data)
        if when:
            ds.update_tags(TIFFTAG_DATETIME=when)
    return path


def test_16_bit_4_band_gets_rgb_and_rescale_defaults_and_tiles_match(
    env: Settings, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient
    from rasterio.io import MemoryFile
    from titiler.core.resources.enums import ImageType
    from titiler.core.utils import render_image

    from tiles.reader import SceneReader
    from tumen.app import create_app

    src = planetscope_like(tmp_path / "ps.tif")
    r = ingest(str(src), "--source", "Planet Labs PBC", "--no-bake")
    assert r.exit_code == 0, r.output
    catalog = Catalog(env.database, env.data_dir)
    scene = catalog.list()[0]
    assert scene.sites == ["tumangang"]  # inferred from the footprint
    assert scene.datetime.isoformat() == "2023-10-06T02:00:00+00:00"  # from TIFFTAG_DATETIME (UTC)
    assert scene.render["bidx"] == [3, 2, 1]
    (lo, hi), *_ = scene.render["rescale"]
    assert 300 <= lo < 600 and 3700 < hi <= 4000
    import morecantile

    t = morecantile.tms.get("WebMercatorQuad").tile(130.6035, 42.4230, 17)
    with TestClient(create_app(env)) as client:
        got = client.get(f"/scenes/{scene.id}/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}.png")
    assert got.status_code == 200
    with SceneReader(catalog.location(scene)) as reader:
        image = reader.tile(t.x, t.y, t.z, indexes=[3, 2, 1])
    want, _ = render_image(
        image, output_format=ImageType.png, rescale=[tuple(x) for x in scene.render["rescale"]]
    )
    with MemoryFile(got.content) as a, a.open() as da, MemoryFile(want) as b, b.open() as db:
        np.testing.assert_array_equal(da.read(), db.read())


def test_no_time_anywhere_and_no_site_are_refused(env: Settings, tmp_path: Path) -> None:
    r = ingest(str(planetscope_like(tmp_path / "a.tif", when=None)), "--source", "x", "--no-bake")
    assert r.exit_code != 0 and "no acquisition time in its metadata; pass --datetime" in r.output
    far = planetscope_like(tmp_path / "b.tif", origin=(500_000.0, 4_600_000.0))
    r = ingest(str(far), "--source", "x", "--no-bake")
    assert r.exit_code != 0 and "covers no site; pass --site" in r.output
    assert Catalog(env.database, env.data_dir).list() == []
    assert not list(env.scenes_dir.glob("*.tif"))


def test_scenes_rm_removes_files_and_flags_sightings(env: Settings, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    from tests.overlays.conftest import AUTH, KEY, sighting
    from tumen.app import create_app

    assert (
        ingest(str(planetscope_like(tmp_path / "ps.tif")), "--source", "x", "--no-bake").exit_code
        == 0
    )
    scene = Catalog(env.database, env.data_dir).list()[0]
    keyed = env.model_copy(update={"api_key": SecretStr(KEY)})
    doc = sighting(site="tumangang", scene_id=scene.id)
    doc["geometry"]["coordinates"] = [130.6035, 42.4230]
    with TestClient(create_app(keyed)) as client:
        fid = client.post("/api/collections/observations/items", json=doc, headers=AUTH).json()[
            "id"
        ]
        assert (
            client.get(f"/api/collections/observations/items/{fid}").json()["properties"][
                "scene_removed"
            ]
            is False
        )
    r = runner.invoke(app, ["scenes", "rm", scene.id])
    assert r.exit_code == 0, r.output
    assert Catalog(env.database, env.data_dir).list() == []
    assert not (env.scenes_dir / f"{scene.id}.tif").exists()
    with TestClient(create_app(keyed)) as client:
        props = client.get(f"/api/collections/observations/items/{fid}").json()["properties"]
    assert props["scene_id"] == scene.id and props["scene_removed"] is True
    assert runner.invoke(app, ["scenes", "rm", "nope"]).exit_code != 0


def test_jpeg2000_is_ingested_too(env: Settings, tmp_path: Path) -> None:
    src = tmp_path / "scene.jp2"
    data = (np.arange(3 * 256 * 256) % 200).astype(np.uint8).reshape(3, 256, 256)
    profile = dict(
        driver="JP2OpenJPEG",
        dtype="uint8",
        count=3,
        width=256,
        height=256,
        crs="EPSG:32652",
        transform=from_origin(631_700.0, 4_698_200.0, 2.0, 2.0),
        QUALITY=100,
        REVERSIBLE="YES",
    )
    with rasterio.open(src, "w", **profile) as ds:
        ds.write(data)
    r = ingest(str(src), "--source", "x", "--datetime", "2023-10-06T11:00:00+09:00", "--no-bake")
    assert r.exit_code == 0, r.output
    scene = Catalog(env.database, env.data_dir).list()[0]
    with rasterio.open(Catalog(env.database, env.data_dir).location(scene)) as cog:
        assert cog.driver == "GTiff"
        np.testing.assert_array_equal(cog.read(), data)
