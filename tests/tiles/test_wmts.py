"""The site WMTS: a layer per site with a TIME dimension, read by OWSLib and by GDAL."""

import subprocess
import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from owslib.wmts import WebMapTileService

from tests.conftest import LiveServer, register
from tiles.catalog import Scene
from tumen.settings import Settings

RAJIN_ORIGIN = (605_300.0, 4_679_100.0)


@pytest.fixture
def four_sites(settings: Settings, border_scenes: list[Scene]) -> list[Scene]:
    rajin = [
        register(
            settings,
            "rajin-a",
            "2023-10-19T11:00:00+09:00",
            seed=7,
            origin=RAJIN_ORIGIN,
            size=(800, 700),
        ),
        register(
            settings,
            "rajin-b",
            "2023-10-20T15:43:00+09:00",
            seed=8,
            origin=RAJIN_ORIGIN,
            size=(800, 700),
        ),
    ]
    return border_scenes + rajin


def test_owslib_finds_four_layers_with_their_times(
    settings: Settings, four_sites: list[Scene]
) -> None:
    from tumen.app import create_app

    with TestClient(create_app(settings)) as client:
        xml = client.get("/wmts/WMTSCapabilities.xml").content
    wmts = WebMapTileService("http://testserver/wmts/WMTSCapabilities.xml", xml=xml)
    assert sorted(wmts.contents) == ["bridge", "khasan", "rajin", "tumangang"]
    assert "WebMercatorQuad" in wmts.tilematrixsets
    ns = {"w": "http://www.opengis.net/wmts/1.0", "ows": "http://www.opengis.net/ows/1.1"}
    times = {}
    for layer in ET.fromstring(xml).iterfind(".//w:Layer", ns):
        ident = layer.find("ows:Identifier", ns).text
        dim = layer.find("w:Dimension", ns)
        assert dim.find("ows:Identifier", ns).text == "Time"
        times[ident] = [v.text for v in dim.iterfind("w:Value", ns)]
        assert dim.find("w:Default", ns).text == times[ident][-1]
    border = ["2022-11-04T01:24:00Z", "2022-11-04T04:10:00Z", "2022-11-04T05:29:00Z"]
    assert times == {
        "bridge": border,
        "khasan": border,
        "tumangang": border,
        "rajin": ["2023-10-19T02:00:00Z", "2023-10-20T06:43:00Z"],
    }
    template = wmts.contents["rajin"].resourceURLs[0]["template"]
    assert template == (
        "http://testserver/sites/rajin/tiles/WebMercatorQuad/{TileMatrix}/{TileCol}/{TileRow}.png"
        "?datetime={Time}"
    )


def test_wmts_time_value_substituted_into_template_gives_that_scene(
    client: TestClient,
) -> None:
    tile = "/sites/bridge/tiles/WebMercatorQuad/16/56550/24226.png"
    by_time = client.get(tile + "?datetime=2022-11-04T04:10:00Z").content
    by_scene = client.get("/scenes/border-b/tiles/WebMercatorQuad/16/56550/24226.png").content
    assert by_time == by_scene


def test_scene_wmts_has_one_layer(client: TestClient) -> None:
    xml = client.get("/scenes/border-a/WebMercatorQuad/WMTSCapabilities.xml").content
    wmts = WebMapTileService("http://testserver/x", xml=xml)
    assert list(wmts.contents) == ["border-a"]


@pytest.mark.gdal
def test_gdalinfo_opens_the_site_wmts(live_server: LiveServer, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GDAL_DEFAULT_WMS_CACHE_PATH", str(tmp_path / "wmscache"))
    url = f"WMTS:{live_server.url}/wmts/WMTSCapabilities.xml,layer=khasan"
    out = subprocess.run(
        ["gdalinfo", url], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert "Driver: WMTS" in out.stdout
    assert "Band 1" in out.stdout
    listing = subprocess.run(
        ["gdalinfo", f"WMTS:{live_server.url}/wmts/WMTSCapabilities.xml"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert listing.returncode == 0, listing.stderr
    for site in ("bridge", "khasan", "tumangang"):
        assert f"layer={site}" in listing.stdout


def test_capabilities_datetime_sets_each_layers_default_time(client: TestClient) -> None:
    xml = client.get("/wmts/WMTSCapabilities.xml", params={"datetime": "2022-11-04T04:30:00Z"})
    ns = {"w": "http://www.opengis.net/wmts/1.0", "ows": "http://www.opengis.net/ows/1.1"}
    defaults = {
        layer.find("ows:Identifier", ns).text: layer.find("w:Dimension/w:Default", ns).text
        for layer in ET.fromstring(xml.content).iterfind(".//w:Layer", ns)
    }
    assert defaults == {s: "2022-11-04T04:10:00Z" for s in ("bridge", "khasan", "tumangang")}
    bad = client.get("/wmts/WMTSCapabilities.xml", params={"datetime": "soon"})
    assert bad.status_code == 400
