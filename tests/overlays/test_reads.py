"""Part 1 reads: landing, conformance, collections, filters, paging links, HTML, queryables."""

from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.overlays.conftest import post, sighting

ITEMS = "/api/collections/observations/items"


@pytest.fixture
def five(api: TestClient) -> list[str]:
    """Five sightings over two sites and three times, two of them on one track."""
    docs = [
        sighting(
            observed_at="2022-11-04T10:24:00+09:00",
            kind="wagon",
            track_id="t1",
            scene_id="border-a",
            site="tumangang",
        ),
        sighting(observed_at="2022-11-04T13:10:00+09:00", kind="wagon", track_id="t1"),
        sighting(observed_at="2022-11-04T14:29:00+09:00", kind="container", scene_id="border-c"),
        sighting(
            observed_at="2022-11-29T11:00:00+09:00",
            time_precision="day",
            kind="train",
            scene_id=None,
        ),
        sighting(
            observed_at="2022-11-30T11:00:00+09:00",
            kind="wagon",
            status="absent",
            count=0,
            scene_id=None,
        ),
    ]
    docs[0]["geometry"]["coordinates"] = [130.6081, 42.4214]
    return [post(api, d)["id"] for d in docs]


def ids(doc: dict) -> list[str]:
    return [f["id"] for f in doc["features"]]


def test_landing_links_openapi_conformance_and_collections(api: TestClient) -> None:
    doc = api.get("/api").json()
    rels = {link["rel"]: link["href"] for link in doc["links"]}
    assert rels["service-desc"] == "http://testserver/openapi.json"
    assert rels["conformance"] == "http://testserver/api/conformance"
    assert rels["data"] == "http://testserver/api/collections"
    assert api.get("/openapi.json").json()["paths"]["/api/collections/{cid}/items"]["get"]
    conf = api.get("/api/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
    assert "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete" in conf
    cids = [c["id"] for c in api.get("/api/collections").json()["collections"]]
    assert cids == ["observations", "tracks", "sites", "scenes"]


def test_filters(api: TestClient, five: list[str]) -> None:
    def q(**params: str) -> list[str]:
        r = api.get(ITEMS, params=params)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/geo+json"
        return ids(r.json())

    assert q() == five
    assert q(site="tumangang") == five[:1]
    assert q(kind="wagon") == [five[0], five[1], five[4]]
    assert q(status="absent") == five[4:]
    assert q(track_id="t1") == five[:2]
    assert q(scene_id="border-c") == five[2:3]
    assert q(method="manual") == []
    assert q(bbox="130.60,42.41,130.62,42.43") == five[:1]
    assert q(datetime="2022-11-04T04:10:00Z") == five[1:2]
    assert q(datetime="2022-11-04") == five[:3]
    assert q(datetime="2022-11-04T13:00:00+09:00/..") == five[1:]
    assert q(datetime="../2022-11-04T13:00:00+09:00") == five[:1]
    assert q(datetime="2022-11-05/2022-11-29") == five[3:4]
    assert q(sortby="-observed_at") == five[::-1]


def test_paging_links_followed_to_the_end(api: TestClient, five: list[str]) -> None:
    seen: list[str] = []
    url = f"{ITEMS}?limit=2&kind=wagon"
    pages = 0
    while url:
        doc = api.get(
            url, headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "tumen.example"}
        ).json()
        assert doc["numberMatched"] == 3
        assert doc["numberReturned"] == len(doc["features"])
        seen += ids(doc)
        links = {link["rel"]: link["href"] for link in doc["links"]}
        assert links["self"].startswith("https://tumen.example/api/collections/observations/items?")
        nxt = links.get("next")
        url = urlsplit(nxt).path + "?" + urlsplit(nxt).query if nxt else ""
        if pages:
            assert "prev" in links
        pages += 1
    assert seen == [five[0], five[1], five[4]]
    assert pages == 2


def test_limit_over_the_maximum_is_capped(api: TestClient, five: list[str]) -> None:
    doc = api.get(ITEMS, params={"limit": 1_000_000}).json()
    assert doc["numberReturned"] == 5
    assert "limit=10000" in next(link["href"] for link in doc["links"] if link["rel"] == "self")


def test_tracks_join_sightings_in_time_order(api: TestClient, five: list[str]) -> None:
    doc = api.get("/api/collections/tracks/items").json()
    assert doc["numberMatched"] == 1
    track = doc["features"][0]
    assert track["id"] == "t1" and track["geometry"]["type"] == "LineString"
    props = track["properties"]
    assert props["sightings"] == five[:2]
    assert props["duration_s"] == 166 * 60
    assert props["distance_m"] > 2500 and props["avg_speed_kmh"] == round(
        props["distance_m"] / (166 * 60) * 3.6, 2
    )


def test_sites_and_scenes_collections(api: TestClient) -> None:
    sites = api.get("/api/collections/sites/items").json()
    assert ids(sites) == ["bridge", "khasan", "tumangang", "rajin"]
    tumangang = api.get("/api/collections/sites/items/tumangang").json()
    assert [(b["kind"], b["count"]) for b in tumangang["properties"]["baselines"]] == [
        ("wagon", 20)
    ]
    assert tumangang["properties"]["main_kind"] == "wagon"
    scenes = api.get("/api/collections/scenes/items").json()
    assert ids(scenes) == ["border-a", "border-b", "border-c"]
    assert scenes["features"][0]["properties"]["synthetic"] is True


def test_html_escapes_user_text(api: TestClient) -> None:
    post(api, sighting(description="<script>alert(1)</script>"))
    page = api.get(ITEMS, params={"f": "html"})
    assert page.headers["content-type"].startswith("text/html")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_queryables_is_json_schema(api: TestClient) -> None:
    doc = api.get("/api/collections/observations/queryables").json()
    assert doc["$schema"].startswith("https://json-schema.org/")
    assert {
        "site",
        "kind",
        "status",
        "scene_id",
        "track_id",
        "method",
        "geometry",
        "datetime",
    } <= set(doc["properties"])
