"""Reports of a scene linked with `tumen ingest --link`: its pixels are read from the URL, not the data dir."""

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from rasterio.io import MemoryFile
from typer.testing import CliRunner

from tests.conftest import register
from tests.overlays.conftest import AUTH, KEY, sighting
from tests.tiles.test_remote import cog_dir, range_server  # noqa: F401 (fixtures)
from tiles.catalog import Catalog
from tumen.app import create_app
from tumen.cli import app
from tumen.settings import Settings

runner = CliRunner()
BBOX = "130.638,42.413,130.646,42.418"
LINKED_AT = "2022-11-04T10:24:00+09:00"
LOCAL_AT = "2022-11-04T13:10:00+09:00"  # the same pixels as a file in the data dir


@pytest.fixture
def linked(settings: Settings, range_server: str, monkeypatch: pytest.MonkeyPatch) -> Settings:  # noqa: F811
    """A remote COG linked as scene 'linked', and the same image registered as a file, later."""
    monkeypatch.setenv("TUMEN_DATA_DIR", str(settings.data_dir))
    url = f"{range_server}/remote.tif"
    r = runner.invoke(
        app,
        [
            "ingest",
            url,
            "--source",
            "bucket",
            "--datetime",
            LINKED_AT,
            "--id",
            "linked",
            "--no-bake",
        ],
    )
    assert r.exit_code == 0, r.output
    register(settings, "local", LOCAL_AT, seed=11)  # remote.tif is make_cog(seed=11)
    return settings


@pytest.fixture
def api(linked: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(linked.model_copy(update={"api_key": SecretStr(KEY)}))) as c:
        yield c


def chip(bundle: bytes) -> np.ndarray:
    with MemoryFile(zipfile.ZipFile(io.BytesIO(bundle)).read("chip.tif")) as mem, mem.open() as ds:
        return ds.read()


def test_linked_scene_locations_are_its_url(linked: Settings, range_server: str) -> None:  # noqa: F811
    catalog = Catalog(linked.database, linked.data_dir)
    scene = catalog.get("linked")
    assert catalog.location(scene) == f"{range_server}/remote.tif"
    with pytest.raises(ValueError, match="linked remote COG"):
        catalog.local_path(scene)


def test_report_of_a_linked_scene_reads_its_url(api: TestClient) -> None:
    feature = sighting(scene_id="linked", observed_at=LINKED_AT)
    r = api.post("/api/collections/observations/items", json=feature, headers=AUTH)
    assert r.status_code == 201, r.text
    remote = api.get("/sites/bridge/report", params={"bbox": BBOX, "datetime": LINKED_AT})
    local = api.get("/sites/bridge/report", params={"bbox": BBOX, "datetime": LOCAL_AT})
    assert remote.status_code == local.status_code == 200, remote.text
    assert "tumen-bridge-20221104T1024.zip" in remote.headers["content-disposition"]
    np.testing.assert_array_equal(chip(remote.content), chip(local.content))
    z = zipfile.ZipFile(io.BytesIO(remote.content))
    item = json.loads(z.read("item.json"))
    assert item["id"] == "linked-report" and item["properties"]["tumen:source_scene"] == "linked"
    assert [f["id"] for f in json.loads(z.read("sightings.geojson"))["features"]] == [
        r.json()["id"]
    ]


def test_cli_report_of_a_linked_scene(linked: Settings, api: TestClient, tmp_path: Path) -> None:
    local = api.get("/sites/bridge/report", params={"bbox": BBOX, "datetime": LOCAL_AT})
    out = tmp_path / "remote.zip"
    args = ["report", "--site", "bridge", "--bbox", BBOX, "--datetime", LINKED_AT, "-o", str(out)]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "scene linked" in r.output
    np.testing.assert_array_equal(chip(out.read_bytes()), chip(local.content))


def test_cli_report_refuses_an_area_outside_the_scene(linked: Settings) -> None:
    r = runner.invoke(app, ["report", "--site", "bridge", "--bbox", "130.30,42.30,130.31,42.31"])
    assert r.exit_code == 2
    assert "bbox: outside scene 'local'" in r.output


def test_cli_report_refuses_an_area_over_the_limit(linked: Settings) -> None:
    r = runner.invoke(app, ["report", "--site", "bridge", "--bbox", "130.55,42.35,130.70,42.45"])
    assert r.exit_code == 2
    assert "over the limit of 4 km²" in r.output


def test_removing_a_linked_scene_leaves_its_url_alone(linked: Settings, cog_dir: Path) -> None:  # noqa: F811
    r = runner.invoke(app, ["scenes", "rm", "linked"])
    assert r.exit_code == 0, r.output
    assert (cog_dir / "remote.tif").is_file()
    assert [s.id for s in Catalog(linked.database, linked.data_dir).list()] == ["local"]
