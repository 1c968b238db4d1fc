"""Part 4 writes: create, replace, patch, delete, each with history; If-Match; the API key."""

from fastapi.testclient import TestClient

from tests.overlays.conftest import AUTH, copy, post, sighting
from tumen.app import create_app
from tumen.settings import Settings

ITEMS = "/api/collections/observations/items"


def test_create_returns_201_location_and_the_stored_feature(api: TestClient) -> None:
    r = api.post(ITEMS, json=sighting(), headers=AUTH)
    assert r.status_code == 201
    doc = r.json()
    assert r.headers["location"] == f"http://testserver{ITEMS}/{doc['id']}"
    assert r.headers["etag"] == '"1"'
    got = api.get(f"{ITEMS}/{doc['id']}")
    assert got.headers["etag"] == '"1"'
    assert got.headers["content-type"] == "application/geo+json"
    body = got.json()
    assert body["geometry"] == sighting()["geometry"]
    props = body["properties"]
    assert {k: props[k] for k in sighting()["properties"]} == {
        **sighting()["properties"],
        "sources": [
            {
                "outlet": "38 North",
                "published": "2022-11",
                "url": "https://www.38north.org/",
                "title": None,
            }
        ],
    }
    assert props["version"] == 1 and props["created_at"] == props["updated_at"]
    history = api.get(f"{ITEMS}/{doc['id']}/history").json()["changes"]
    assert [(c["action"], c["version"], c["actor"]) for c in history] == [("create", 1, "api-key")]
    assert history[0]["before"] is None and history[0]["after"]["id"] == doc["id"]


def test_replace_patch_delete_round_trip_with_history(api: TestClient) -> None:
    fid = post(api, sighting())["id"]
    replaced = sighting(count=4, description="replaced")
    r = api.put(f"{ITEMS}/{fid}", json=replaced, headers={**AUTH, "If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["properties"]["count"] == 4
    assert r.headers["etag"] == '"2"'
    r = api.patch(
        f"{ITEMS}/{fid}",
        json={"properties": {"length_m": 65.5, "length_approx": True}},
        headers=AUTH,
    )
    assert r.status_code == 200
    props = r.json()["properties"]
    assert (props["count"], props["length_m"], props["length_approx"], props["version"]) == (
        4,
        65.5,
        True,
        3,
    )
    assert api.delete(f"{ITEMS}/{fid}", headers={**AUTH, "If-Match": '"3"'}).status_code == 204
    assert api.get(f"{ITEMS}/{fid}").status_code == 404
    changes = api.get(f"{ITEMS}/{fid}/history").json()["changes"]
    assert [(c["action"], c["version"]) for c in changes] == [
        ("create", 1),
        ("replace", 2),
        ("patch", 3),
        ("delete", 4),
    ]
    assert changes[1]["before"]["properties"]["count"] == 3
    assert changes[1]["after"]["properties"]["count"] == 4
    assert changes[3]["after"] is None


def test_stale_if_match_is_412_and_changes_nothing(api: TestClient) -> None:
    fid = post(api, sighting())["id"]
    api.patch(f"{ITEMS}/{fid}", json={"properties": {"count": 5}}, headers=AUTH)
    for method in ("put", "patch", "delete"):
        kwargs = {"json": sighting(count=9)} if method == "put" else {}
        if method == "patch":
            kwargs = {"json": {"properties": {"count": 9}}}
        r = getattr(api, method)(f"{ITEMS}/{fid}", headers={**AUTH, "If-Match": '"1"'}, **kwargs)
        assert r.status_code == 412, method
        assert 'current ETag is "2"' in r.json()["detail"]
    assert api.get(f"{ITEMS}/{fid}").json()["properties"]["count"] == 5
    assert len(api.get(f"{ITEMS}/{fid}/history").json()["changes"]) == 2


def test_writes_without_if_match_go_through(api: TestClient) -> None:
    fid = post(api, sighting())["id"]
    r = api.put(f"{ITEMS}/{fid}", json=sighting(count=7), headers=AUTH)
    assert r.status_code == 200 and r.json()["properties"]["version"] == 2


def test_wrong_or_missing_key_is_refused(api: TestClient) -> None:
    for headers in ({}, {"X-API-Key": "nope"}):
        r = api.post(ITEMS, json=sighting(), headers=headers)
        assert r.status_code == 403
        assert r.json()["detail"] == "X-API-Key is missing or wrong"
    assert api.get(ITEMS).json()["numberMatched"] == 0


def test_no_key_configured_refuses_writes_and_says_how(settings: Settings, border_scenes) -> None:
    with TestClient(create_app(settings)) as c:
        r = c.post(ITEMS, json=sighting(), headers={"X-API-Key": "anything"})
        assert r.status_code == 403
        assert "set TUMEN_API_KEY" in r.json()["detail"]


def test_server_fields_sent_back_by_clients_are_ignored(api: TestClient) -> None:
    doc = post(api, sighting())
    echo = copy(doc)
    echo["properties"]["version"] = 99
    echo["properties"]["created_at"] = "1999-01-01T00:00:00Z"
    r = api.put(f"{ITEMS}/{doc['id']}", json=echo, headers=AUTH)
    assert r.status_code == 200
    props = r.json()["properties"]
    assert props["version"] == 2 and props["created_at"] == doc["properties"]["created_at"]


def test_read_only_collections_refuse_writes(api: TestClient) -> None:
    r = api.post("/api/collections/tracks/items", json=sighting(), headers=AUTH)
    assert r.status_code == 405
    assert "read-only" in r.json()["detail"]


def test_options_lists_allowed_methods(api: TestClient) -> None:
    assert api.options(ITEMS).headers["allow"] == "GET, HEAD, POST, OPTIONS"
    assert api.options(f"{ITEMS}/x").headers["allow"] == "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"
    assert api.options("/api/collections/sites/items").headers["allow"] == "GET, HEAD, OPTIONS"


def test_nulls_from_gis_clients_mean_defaults(api: TestClient) -> None:
    """QGIS posts every field, unset ones as null (seen from QGIS 3.40's OAPIF provider)."""
    doc = sighting(
        method="manual",
        sources=None,
        count_approx=None,
        length_approx=None,
        status=None,
        time_precision=None,
        description=None,
        version=None,
        created_at=None,
    )
    r = api.post(ITEMS, json=doc, headers=AUTH)
    assert r.status_code == 201, r.text
    props = r.json()["properties"]
    assert (props["sources"], props["count_approx"], props["status"], props["time_precision"]) == (
        [],
        False,
        "present",
        "minute",
    )
