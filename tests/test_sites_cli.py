"""`tumen sites add|list|rm|references` while tumen serves: every surface follows the catalog at once."""

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import morecantile
import numpy as np
import pytest
import rasterio
from click.testing import Result
from fastapi.testclient import TestClient
from pydantic import SecretStr
from rasterio.transform import from_origin
from typer.testing import CliRunner

from tests.conftest import served
from tests.overlays.conftest import AUTH, sighting
from tiles.catalog import Catalog, Scene
from tiles.sites import reference_geometries
from tumen.app import create_app
from tumen.cli import app as cli
from tumen.settings import Settings

runner = CliRunner()
ITEMS = "/api/collections/observations/items"
# Vostochny port, far from the border scenes: only a scene made here covers it.
BBOX = "133.03,42.73,133.07,42.76"
CENTRE = (133.05, 42.745)
DEFAULTS = ["bridge", "khasan", "tumangang", "rajin"]


def tumen(settings: Settings, *args: str) -> Result:
    """Run the ``tumen`` command on the data dir of ``settings``."""
    return runner.invoke(cli, list(args), env={"TUMEN_DATA_DIR": str(settings.data_dir)})


def add_vostochny(settings: Settings, *extra: str) -> Result:
    return tumen(
        settings,
        "sites",
        "add",
        "vostochny",
        "--name",
        "Vostochny port",
        "--bbox",
        BBOX,
        "--kind",
        "port",
        *extra,
    )


def site_ids(settings: Settings) -> list[str]:
    r = tumen(settings, "sites", "list", "--json")
    assert r.exit_code == 0, r.output
    return [s["id"] for s in json.loads(r.stdout)["sites"]]


def vostochny_tif(path: Path) -> Path:
    """A small lon/lat GeoTIFF over Vostochny (ingest converts it to a COG)."""
    rng = np.random.default_rng(5)
    profile = {
        "driver": "GTiff",
        "dtype": "uint8",
        "count": 3,
        "width": 200,
        "height": 150,
        "crs": "EPSG:4326",
        "transform": from_origin(133.02, 42.77, 0.0003, 0.0003),
    }
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(rng.integers(1, 255, size=(3, 150, 200), dtype=np.uint8))
    return path


def ingest_vostochny(settings: Settings, tmp_path: Path) -> Result:
    return tumen(
        settings,
        "ingest",
        str(vostochny_tif(tmp_path / "vostochny.tif")),
        "--id",
        "vostochny-20240105",
        "--datetime",
        "2024-01-05T11:00:00+10:00",
        "--source",
        "test provider",
        "--no-bake",
    )


@pytest.fixture
def api(settings: Settings, border_scenes: list[Scene]) -> Iterator[TestClient]:
    keyed = settings.model_copy(update={"api_key": SecretStr("test-key-123")})
    with TestClient(create_app(keyed)) as c:
        yield c


def wmts_layers(api: TestClient) -> list[str]:
    xml = api.get("/wmts/WMTSCapabilities.xml").content
    ns = {"w": "http://www.opengis.net/wmts/1.0", "ows": "http://www.opengis.net/ows/1.1"}
    return [
        layer.find("ows:Identifier", ns).text  # type: ignore[union-attr,misc]
        for layer in ET.fromstring(xml).iterfind(".//w:Layer", ns)
    ]


def at_vostochny(**props: Any) -> dict[str, Any]:
    feature = sighting(
        **{"site": "vostochny", "scene_id": None, "kind": "ship", "count": 1, **props}
    )
    feature["geometry"] = {"type": "Point", "coordinates": list(CENTRE)}
    return feature


def test_a_site_added_while_serving_is_answered_by_every_surface(
    api: TestClient, settings: Settings
) -> None:
    assert "vostochny" not in [s["id"] for s in api.get("/sites").json()["sites"]]
    r = add_vostochny(settings, "--description", "Russian coal port")
    assert r.exit_code == 0, r.output
    assert "added site vostochny" in r.output

    [site] = [s for s in api.get("/sites").json()["sites"] if s["id"] == "vostochny"]
    assert site["name"] == "Vostochny port"
    assert site["bbox"] == [133.03, 42.73, 133.07, 42.76]
    assert site["centre"] == [133.05, 42.745]
    feature = api.get("/api/collections/sites/items/vostochny").json()
    assert feature["properties"]["main_kind"] == "ship"
    assert feature["properties"]["description"] == "Russian coal port"
    ids = [f["id"] for f in api.get("/api/collections/sites/items").json()["features"]]
    assert ids == [*DEFAULTS, "vostochny"]
    extent = api.get("/api/collections/observations").json()["extent"]["spatial"]["bbox"][0]
    assert extent[2] == 133.07, "the collections' extent takes the new site in"
    calendar = api.get("/sites/vostochny/calendar")
    assert calendar.status_code == 200 and calendar.json()["scenes"] == []
    assert api.get(f"{ITEMS}?site=vostochny").json()["numberMatched"] == 0
    qgis = api.get("/qgis?f=json").json()
    assert [s["site"] for s in qgis["sites"]] == [*DEFAULTS, "vostochny"]

    r = api.post(ITEMS, json=at_vostochny(), headers=AUTH)
    assert r.status_code == 201, r.text
    assert api.get(f"{ITEMS}?site=vostochny").json()["numberMatched"] == 1
    activity = api.get("/api/collections/observations/activity?site=vostochny").json()
    assert activity["main_kind"] == "ship"
    assert activity["series"][0]["points"][0]["count"] == 1
    outside = at_vostochny()
    outside["geometry"]["coordinates"] = [130.64, 42.415]  # at the bridge
    r = api.post(ITEMS, json=outside, headers=AUTH)
    assert r.status_code == 422 and "outside site 'vostochny'" in r.json()["detail"]


def test_a_scene_ingested_over_a_new_site_lists_it_and_the_site_gets_layers_and_tiles(
    api: TestClient, settings: Settings, tmp_path: Path
) -> None:
    r = ingest_vostochny(settings, tmp_path)
    assert r.exit_code != 0 and "covers no site" in r.output  # before the site exists
    assert add_vostochny(settings).exit_code == 0
    r = ingest_vostochny(settings, tmp_path)
    assert r.exit_code == 0, r.output
    assert "covering vostochny" in r.output
    assert api.get("/scenes/vostochny-20240105").json()["properties"]["tumen:sites"] == [
        "vostochny"
    ]

    calendar = api.get("/sites/vostochny/calendar").json()
    assert [s["id"] for s in calendar["scenes"]] == ["vostochny-20240105"]
    assert "vostochny" in wmts_layers(api)
    [info] = [s for s in api.get("/qgis?f=json").json()["sites"] if s["site"] == "vostochny"]
    assert info["times"] == ["2024-01-05T01:00:00Z"]
    tile = morecantile.tms.get("WebMercatorQuad").tile(*CENTRE, 15)
    r = api.get(f"/sites/vostochny/tiles/WebMercatorQuad/15/{tile.x}/{tile.y}.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    doc = api.get("/api/collections/scenes/items?site=vostochny").json()
    assert [f["id"] for f in doc["features"]] == ["vostochny-20240105"]
    on_scene = at_vostochny(scene_id="vostochny-20240105", observed_at="2024-01-05T11:00:00+10:00")
    r = api.post(ITEMS, json=on_scene, headers=AUTH)
    assert r.status_code == 201, r.text


def test_rm_is_refused_while_a_scene_or_a_sighting_uses_the_site_and_accepted_after(
    api: TestClient, settings: Settings, tmp_path: Path
) -> None:
    assert add_vostochny(settings).exit_code == 0
    assert ingest_vostochny(settings, tmp_path).exit_code == 0
    r = api.post(ITEMS, json=at_vostochny(), headers=AUTH)
    assert r.status_code == 201
    fid = r.json()["id"]

    r = tumen(settings, "sites", "rm", "vostochny")
    assert r.exit_code == 2
    assert "in use by 1 scene (vostochny-20240105) and 1 sighting" in r.output
    assert "vostochny" in site_ids(settings)

    assert tumen(settings, "scenes", "rm", "vostochny-20240105").exit_code == 0
    r = tumen(settings, "sites", "rm", "vostochny")
    assert r.exit_code == 2 and "in use by 1 sighting; remove those first" in r.output
    assert "vostochny" in [s["id"] for s in api.get("/sites").json()["sites"]]

    assert api.delete(f"{ITEMS}/{fid}", headers=AUTH).status_code == 204
    r = tumen(settings, "sites", "rm", "vostochny")
    assert r.exit_code == 0, r.output
    assert site_ids(settings) == DEFAULTS
    assert "vostochny" not in [s["id"] for s in api.get("/sites").json()["sites"]]
    assert api.get("/api/collections/sites/items/vostochny").status_code == 404
    assert api.get("/sites/vostochny/calendar").status_code == 404
    r = api.post(ITEMS, json=at_vostochny(), headers=AUTH)
    assert r.status_code == 422 and "unknown site 'vostochny'" in r.json()["detail"]
    assert api.get(f"{ITEMS}?site=vostochny").status_code == 400


def test_a_default_site_a_scene_covers_is_not_removed(
    settings: Settings, border_scenes: list[Scene]
) -> None:
    r = tumen(settings, "sites", "rm", "bridge")
    assert r.exit_code == 2
    assert "site 'bridge' is in use by 3 scenes (border-a, border-b, border-c)" in r.output
    assert site_ids(settings) == DEFAULTS
    assert tumen(settings, "sites", "rm", "rajin").exit_code == 0  # nothing covers it
    assert site_ids(settings) == DEFAULTS[:3]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["vostochny", "--name", "V", "--bbox", "133.07,42.73,133.03,42.76"], "W,S,E,N order"),
        (["vostochny", "--name", "V", "--bbox", "133.03,42.76,133.07,42.73"], "W,S,E,N order"),
        (["vostochny", "--name", "V", "--bbox", "233,42.73,234,42.76"], "out of range"),
        (["vostochny", "--name", "V", "--bbox", "133.03,42.73,133.07"], "expected 4 numbers"),
        (["vostochny", "--name", "V", "--bbox", "a,b,c,d"], "not four comma-separated numbers"),
        (["bridge", "--name", "Again", "--bbox", BBOX], "site 'bridge' already exists"),
        (["no/slash", "--name", "V", "--bbox", BBOX], "id: String should match pattern"),
        (["vostochny", "--name", "", "--bbox", BBOX], "name: String should have at least 1"),
        (["vostochny", "--name", "V", "--bbox", BBOX, "--kind", "river"], "river"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_changes(
    settings: Settings, args: list[str], message: str
) -> None:
    before = tumen(settings, "sites", "list", "--json").stdout
    r = tumen(settings, "sites", "add", *args)
    assert r.exit_code != 0
    assert message in r.output
    assert "Traceback" not in r.output
    assert tumen(settings, "sites", "list", "--json").stdout == before


def test_removing_an_unknown_site_names_the_known_ones(settings: Settings) -> None:
    r = tumen(settings, "sites", "rm", "atlantis")
    assert r.exit_code == 2
    assert "site 'atlantis' is unknown; known sites: bridge, khasan, rajin, tumangang" in r.output
    assert site_ids(settings) == DEFAULTS


def test_list_shows_a_table_with_the_new_site(settings: Settings) -> None:
    assert add_vostochny(settings).exit_code == 0
    r = tumen(settings, "sites", "list")
    assert r.exit_code == 0
    assert "vostochny" in r.output and "Vostochny port" in r.output and "ship" in r.output
    doc = json.loads(tumen(settings, "sites", "list", "--json").stdout)["sites"][-1]
    assert doc == {
        "id": "vostochny",
        "name": "Vostochny port",
        "description": "",
        "centre": [133.05, 42.745],
        "bbox": [133.03, 42.73, 133.07, 42.76],
        "baselines": [],
        "kind": "port",
        "main_kind": "ship",
    }


def references(path: Path, *features: tuple[str, dict[str, Any]]) -> Path:
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": {"layer": layer}, "geometry": geometry}
                    for layer, geometry in features
                ],
            }
        )
    )
    return path


PIER = (
    "hard_standing",
    {
        "type": "Polygon",
        "coordinates": [
            [[133.04, 42.74], [133.05, 42.74], [133.05, 42.745], [133.04, 42.745], [133.04, 42.74]]
        ],
    },
)
TRACK = ("tracks", {"type": "LineString", "coordinates": [[133.04, 42.75], [133.06, 42.75]]})


def test_reference_layers_given_at_add_or_later_reach_the_analysis_helper(
    settings: Settings, tmp_path: Path
) -> None:
    r = add_vostochny(settings, "--references", str(references(tmp_path / "r.geojson", PIER)))
    assert r.exit_code == 0, r.output
    catalog = Catalog(settings.database, settings.data_dir)
    refs = reference_geometries(catalog.sites.get("vostochny"))
    assert refs.hard_standing is not None and refs.tracks is None and refs.water is None
    assert refs.hard_standing.bounds == (133.04, 42.74, 133.05, 42.745)

    r = tumen(
        settings, "sites", "references", "vostochny", str(references(tmp_path / "t.geojson", TRACK))
    )
    assert r.exit_code == 0, r.output
    refs = reference_geometries(catalog.sites.get("vostochny"))
    assert refs.tracks is not None and refs.tracks.length == pytest.approx(0.02)
    assert refs.hard_standing is None, "a new file replaces the layers"
    assert tumen(settings, "sites", "references", "vostochny", "--clear").exit_code == 0
    assert catalog.sites.get("vostochny").references is None


def test_bad_reference_layers_refuse_the_whole_add(settings: Settings, tmp_path: Path) -> None:
    far = ("tracks", {"type": "LineString", "coordinates": [[130.60, 42.42], [130.61, 42.42]]})
    r = add_vostochny(settings, "--references", str(references(tmp_path / "r.geojson", far)))
    assert r.exit_code == 2
    assert "features[0]: outside site 'vostochny'" in r.output
    assert "vostochny" not in site_ids(settings)
    r = add_vostochny(settings, "--references", str(tmp_path / "missing.geojson"))
    assert r.exit_code == 2 and "references: cannot read" in r.output
    assert "vostochny" not in site_ids(settings)


def test_tumen_serve_follows_a_site_added_and_removed_without_a_restart(
    settings: Settings, border_scenes: list[Scene]
) -> None:
    with served(settings, TUMEN_BAKE_ON_SERVE="false") as (_, base):
        assert "vostochny" not in [s["id"] for s in httpx.get(f"{base}/sites").json()["sites"]]
        assert add_vostochny(settings).exit_code == 0
        assert "vostochny" in [s["id"] for s in httpx.get(f"{base}/sites").json()["sites"]]
        assert httpx.get(f"{base}/api/collections/sites/items/vostochny").status_code == 200
        assert tumen(settings, "sites", "rm", "vostochny").exit_code == 0
        assert httpx.get(f"{base}/sites/vostochny/calendar").status_code == 404
