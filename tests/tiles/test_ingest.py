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
    cog = Catalog(env.database, env.data_dir).resolve(scene)
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
