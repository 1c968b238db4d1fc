"""The report bundle: chip, annotated PNG, sightings, STAC Item and SOURCES.md for a site, time and area."""

import io
import json
import zipfile

import pystac
import rasterio
from fastapi.testclient import TestClient
from PIL import Image
from rasterio.io import MemoryFile

from tests.overlays.conftest import post, sighting

BBOX = "130.638,42.413,130.646,42.418"


def test_report_zip_has_every_part(api: TestClient) -> None:
    post(api, sighting())  # on border-b, at the bridge
    post(
        api, sighting(scene_id="border-a", observed_at="2022-11-04T10:24:00+09:00")
    )  # another scene
    r = api.get(
        "/sites/bridge/report", params={"bbox": BBOX, "datetime": "2022-11-04T13:30:00+09:00"}
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(r.content))
    assert sorted(z.namelist()) == [
        "SOURCES.md",
        "chip.png",
        "chip.tif",
        "figure.png",
        "item.json",
        "sightings.geojson",
    ]
    with MemoryFile(z.read("chip.tif")) as mem, mem.open() as ds:
        assert ds.crs.to_epsg() == 32652
        assert ds.count >= 3 and abs(ds.res[0] - 5.0) < 0.05
        w, s, e, n = rasterio.warp.transform_bounds(ds.crs, "EPSG:4326", *ds.bounds)
        assert w <= 130.6381 and e >= 130.6459 and s <= 42.4131 and n >= 42.4179
    png = Image.open(io.BytesIO(z.read("chip.png")))
    assert png.size[0] > 50 and png.size[1] > 50
    features = json.loads(z.read("sightings.geojson"))["features"]
    assert [f["properties"]["scene_id"] for f in features] == ["border-b"]
    item = pystac.Item.from_dict(json.loads(z.read("item.json")))
    assert item.validate()
    assert (
        item.properties["tumen:synthetic"] is True
        and item.properties["tumen:source_scene"] == "border-b"
    )
    sources = z.read("SOURCES.md").decode()
    assert "38 North" in sources and "https://www.38north.org/" in sources
    assert "SYNTHETIC" in sources and "test provider" in sources


def test_report_bbox_over_the_limit_is_400(api: TestClient) -> None:
    r = api.get("/sites/bridge/report", params={"bbox": "130.55,42.35,130.70,42.45"})
    assert r.status_code == 400
    assert "over the limit of 4 km²" in r.json()["detail"]


def test_report_bad_input(api: TestClient) -> None:
    assert api.get("/sites/atlantis/report", params={"bbox": BBOX}).status_code == 404
    assert api.get("/sites/bridge/report", params={"bbox": "1,2"}).status_code == 400
    r = api.get("/sites/bridge/report", params={"bbox": BBOX, "datetime": "2020-01-01"})
    assert r.status_code == 404 and "first scene" in r.json()["detail"]
