"""STAC in: search a (local) STAC API for a site and time, ingest an item's asset, keep its link."""

import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.staticfiles import StaticFiles
from typer.testing import CliRunner

from tests.conftest import free_port, make_cog
from tiles.catalog import Catalog
from tumen.app import create_app
from tumen.cli import app
from tumen.settings import Settings

runner = CliRunner()
TUMANGANG = [130.600, 42.417, 130.616, 42.426]
RAJIN = [130.29, 42.232, 130.31, 42.246]


def item(base: str, iid: str, bbox: list[float], when: str, cloud: float, assets: dict) -> dict:
    w, s, e, n = bbox
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": iid,
        "collection": "ps",
        "bbox": bbox,
        "geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]},
        "properties": {
            "datetime": when,
            "gsd": 3.0,
            "eo:cloud_cover": cloud,
            "license": "CC-BY-NC-SA-4.0",
            "providers": [{"name": "Planet Labs PBC", "roles": ["producer"]}],
        },
        "assets": assets,
        "links": [
            {
                "rel": "self",
                "href": f"{base}/collections/ps/items/{iid}",
                "type": "application/geo+json",
            }
        ],
    }


@pytest.fixture
def stac_api(tmp_path: Path) -> Iterator[str]:
    """A STAC API answered from JSON documents, plus the COG its items point at (with Range support)."""
    www = tmp_path / "www"
    www.mkdir()
    make_cog(www / "scene.tif", seed=21)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    visual = {
        "visual": {
            "href": f"{base}/files/scene.tif",
            "type": "image/tiff; application=geotiff",
            "roles": ["data"],
        }
    }
    items = [
        item(base, "ps-20231006", TUMANGANG, "2023-10-06T02:00:00Z", 5, visual),
        item(base, "ps-20231006-cloudy", TUMANGANG, "2023-10-06T03:00:00Z", 80, visual),
        item(base, "ps-20221104", TUMANGANG, "2022-11-04T01:24:00Z", 0, visual),
        item(base, "ps-rajin", RAJIN, "2023-10-06T02:00:00Z", 0, visual),
        item(
            base,
            "no-raster",
            TUMANGANG,
            "2023-10-07T02:00:00Z",
            0,
            {"meta": {"href": f"{base}/m.json", "type": "application/json"}},
        ),
    ]

    def landing(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "type": "Catalog",
                "id": "test",
                "stac_version": "1.0.0",
                "description": "fixture",
                "conformsTo": [
                    "https://api.stacspec.org/v1.0.0/core",
                    "https://api.stacspec.org/v1.0.0/item-search",
                ],
                "links": [
                    {"rel": "self", "href": f"{base}/"},
                    {"rel": "root", "href": f"{base}/"},
                    {
                        "rel": "search",
                        "href": f"{base}/search",
                        "type": "application/geo+json",
                        "method": "GET",
                    },
                    {
                        "rel": "search",
                        "href": f"{base}/search",
                        "type": "application/geo+json",
                        "method": "POST",
                    },
                ],
            }
        )

    async def search(request: Request) -> JSONResponse:
        q = await request.json() if request.method == "POST" else dict(request.query_params)
        bbox = q.get("bbox")
        bbox = [float(v) for v in bbox.split(",")] if isinstance(bbox, str) else bbox
        start, _, end = (q.get("datetime") or "../..").partition("/")
        out = []
        for it in items:
            w, s, e, n = it["bbox"]
            if bbox and (w > bbox[2] or e < bbox[0] or s > bbox[3] or n < bbox[1]):
                continue
            t = datetime.fromisoformat(it["properties"]["datetime"].replace("Z", "+00:00"))
            if start not in ("", "..") and t < datetime.fromisoformat(start.replace("Z", "+00:00")):
                continue
            if end not in ("", "..") and t > datetime.fromisoformat(end.replace("Z", "+00:00")):
                continue
            out.append(it)
        return JSONResponse({"type": "FeatureCollection", "features": out, "links": []})

    def get_item(request: Request) -> JSONResponse:
        return JSONResponse(next(i for i in items if i["id"] == request.path_params["iid"]))

    web = Starlette(
        routes=[
            Route("/", landing),
            Route("/search", search, methods=["GET", "POST"]),
            Route("/collections/ps/items/{iid}", get_item),
        ]
    )
    web.mount("/files", StaticFiles(directory=www))
    server = uvicorn.Server(uvicorn.Config(web, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        pass
    yield base
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("TUMEN_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("COLUMNS", "250")
    return settings


def test_search_filters_by_site_time_and_cloud(env: Settings, stac_api: str) -> None:
    r = runner.invoke(
        app,
        [
            "stac",
            "search",
            "--api",
            stac_api,
            "--site",
            "tumangang",
            "--datetime",
            "2023-10-01T00:00:00Z/2023-10-31T00:00:00Z",
            "--max-cloud",
            "20",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "ps-20231006 " in r.output and "2 items" in r.output  # and no-raster (cloud 0)
    assert "cloudy" not in r.output and "ps-rajin" not in r.output and "ps-20221104" not in r.output


def test_ingest_item_links_its_asset_and_keeps_its_self_link(env: Settings, stac_api: str) -> None:
    url = f"{stac_api}/collections/ps/items/ps-20231006"
    r = runner.invoke(app, ["stac", "ingest", url, "--no-bake"])
    assert r.exit_code == 0, r.output
    scene = Catalog(env.database, env.data_dir).get("ps-20231006")
    assert scene.path == f"{stac_api}/files/scene.tif"
    assert scene.datetime.isoformat() == "2023-10-06T02:00:00+00:00"
    assert (scene.provider, scene.licence) == ("Planet Labs PBC", "CC-BY-NC-SA-4.0")
    assert "tumangang" in scene.sites
    with TestClient(create_app(env)) as client:
        doc = client.get("/scenes/ps-20231006").json()
        assert {"rel": "derived_from", "href": url, "type": "application/geo+json"} in doc["links"]
        assert client.get(
            "/scenes/ps-20231006/tiles/WebMercatorQuad/16/56550/24226.png"
        ).status_code in (200, 404)
        assert client.get("/scenes/ps-20231006/info").status_code == 200


def test_item_without_raster_asset_is_refused(env: Settings, stac_api: str) -> None:
    r = runner.invoke(
        app, ["stac", "ingest", f"{stac_api}/collections/ps/items/no-raster", "--no-bake"]
    )
    assert r.exit_code != 0 and "has no raster asset" in r.output
    assert Catalog(env.database, env.data_dir).list() == []
    r = runner.invoke(app, ["stac", "ingest", str(Path(__file__)), "--no-bake"])
    assert r.exit_code != 0 and "not a readable STAC Item" in r.output
    assert Catalog(env.database, env.data_dir).list() == []
