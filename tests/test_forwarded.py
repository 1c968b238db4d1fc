"""Behind a proxy with a path prefix, every document links to the public URL: STAC, WMTS, OAPIF."""

import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient

# HTTP, a client or load, the same on every backend: run in the SQLite pass only.
pytestmark = pytest.mark.above_storage

PUBLIC = "https://maps.example.org/tumen"
PROXY = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "maps.example.org",
    "X-Forwarded-Prefix": "/tumen",
}


def hrefs(doc: object) -> list[str]:
    """Every href and every URL-valued string of a JSON document."""
    if isinstance(doc, dict):
        return [v for k, v in doc.items() if k == "href" and isinstance(v, str)] + [
            h for v in doc.values() for h in hrefs(v)
        ]
    if isinstance(doc, list):
        return [h for v in doc for h in hrefs(v)]
    return []


def public(urls: list[str]) -> None:
    assert urls
    wrong = [u for u in urls if u.startswith("http") and not u.startswith(PUBLIC + "/")]
    assert not wrong, wrong


def test_stac_links_and_assets_are_public(client: TestClient) -> None:
    for path in ("/scenes", "/scenes/border-a"):
        doc = client.get(path, headers=PROXY).json()
        public(hrefs(doc))
    item = client.get("/scenes/border-a", headers=PROXY).json()
    assert item["assets"]["tilejson"]["href"] == (
        f"{PUBLIC}/scenes/border-a/WebMercatorQuad/tilejson.json"
    )
    # The public URL answers through the same routes once the proxy strips the prefix.
    tilejson = client.get("/scenes/border-a/WebMercatorQuad/tilejson.json", headers=PROXY).json()
    assert tilejson["tiles"][0].startswith(f"{PUBLIC}/scenes/border-a/tiles/WebMercatorQuad/")


def test_wmts_templates_and_self_are_public(client: TestClient) -> None:
    for path in (
        "/wmts/WMTSCapabilities.xml",
        "/scenes/border-a/WebMercatorQuad/WMTSCapabilities.xml",
    ):
        r = client.get(path, headers=PROXY)
        assert r.status_code == 200
        root = ET.fromstring(r.content)
        urls = [
            el.attrib[k]
            for el in root.iter()
            for k in el.attrib
            if k in ("template", "{http://www.w3.org/1999/xlink}href")
        ]
        public(urls)
        assert any("/tiles/WebMercatorQuad/{TileMatrix}/{TileCol}/{TileRow}" in u for u in urls)


def test_features_api_links_are_public(client: TestClient) -> None:
    for path in (
        "/api",
        "/api/collections",
        "/api/collections/observations",
        "/api/collections/sites/items",
        "/api/collections/scenes/items/border-a",
        "/api/collections/observations/queryables",
    ):
        doc = client.get(path, headers=PROXY).json()
        public(hrefs(doc) + ([doc["$id"]] if "$id" in doc else []))
    landing = client.get("/api", headers=PROXY).json()
    rels = {link["rel"]: link["href"] for link in landing["links"]}
    assert rels["service-desc"] == f"{PUBLIC}/openapi.json"
    assert rels["data"] == f"{PUBLIC}/api/collections"


def test_qgis_page_and_tiles_behind_the_prefix(client: TestClient) -> None:
    info = client.get("/qgis?f=json", headers=PROXY).json()
    assert info["wmts"] == f"{PUBLIC}/wmts/WMTSCapabilities.xml"
    assert info["oapif"] == f"{PUBLIC}/api"
    # A tile through the proxy is the same tile as direct (the tile layer sees the route path).
    tile = "/scenes/border-a/tiles/WebMercatorQuad/15/28395/12116.png"
    direct, proxied = client.get(tile), client.get(tile, headers=PROXY)
    assert direct.status_code == proxied.status_code
    assert direct.content == proxied.content


def test_without_proxy_headers_links_are_the_servers_own(client: TestClient) -> None:
    doc = client.get("/api/collections").json()
    assert all(h.startswith("http://testserver/api/") for h in hrefs(doc))
    assert "http://testserver/scenes/border-a" in hrefs(client.get("/scenes/border-a").json())
