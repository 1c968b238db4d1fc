"""Bad input: a 4xx naming the field, never a 500, nothing half-written."""

import pytest
from fastapi.testclient import TestClient

from tests.overlays.conftest import AUTH, post, sighting

ITEMS = "/api/collections/observations/items"


def bad(**props):
    return sighting(**props)


def geometry(doc, geom):
    doc["geometry"] = geom
    return doc


@pytest.mark.parametrize(
    "body,status,message",
    [
        (b"{not json", 400, "body: malformed JSON"),
        (b'{"type": "FeatureCollection", "features": []}', 422, "expected a GeoJSON Feature"),
        (
            geometry(sighting(), {"type": "MultiPoint", "coordinates": [[130.64, 42.41]]}),
            422,
            "geometry",
        ),
        (
            geometry(sighting(), {"type": "Point", "coordinates": [230.64, 42.41]}),
            422,
            "out of range",
        ),
        (
            geometry(sighting(), {"type": "Point", "coordinates": [130.30, 42.24]}),
            422,
            "outside site 'bridge'",
        ),
        (bad(site="pyongyang"), 422, "unknown site 'pyongyang'"),
        (bad(scene_id="no-such-scene"), 422, "unknown scene 'no-such-scene'"),
        (bad(colour="blue"), 422, "properties.colour: Extra inputs are not permitted"),
        (bad(count=-1), 422, "properties.count"),
        (bad(length_m=0), 422, "properties.length_m"),
        (bad(confidence=1.5), 422, "properties.confidence"),
        (bad(sources=[]), 422, "a reported sighting needs at least one source"),
        (
            bad(observed_until="2022-11-04T12:00:00+09:00"),
            422,
            "observed_until: must be after observed_at",
        ),
        (bad(observed_at="yesterday"), 422, "properties.observed_at"),
        (bad(observed_at="2022-11-04T13:10:00"), 422, "properties.observed_at"),
        (bad(kind="tank"), 422, "properties.kind"),
    ],
)
def test_bad_bodies_are_refused_and_nothing_is_written(
    api: TestClient, body, status, message
) -> None:
    kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
    r = api.post(ITEMS, headers=AUTH, **kwargs)
    assert r.status_code == status, r.text
    assert message in r.json()["detail"]
    assert api.get(ITEMS).json()["numberMatched"] == 0


def test_body_over_the_limit_is_413(api: TestClient) -> None:
    big = sighting(description="x" * 4000)
    big["properties"]["sources"] = [{"outlet": "o" * 200, "title": "t" * 500}] * 50
    big["padding"] = "y" * (1024 * 1024)
    r = api.post(ITEMS, json=big, headers=AUTH)
    assert r.status_code == 413
    assert "over the limit" in r.json()["detail"]


def test_failed_update_leaves_record_and_history_unchanged(api: TestClient) -> None:
    fid = post(api, sighting())["id"]
    r = api.patch(f"{ITEMS}/{fid}", json={"properties": {"count": -5}}, headers=AUTH)
    assert r.status_code == 422
    assert api.get(f"{ITEMS}/{fid}").json()["properties"]["count"] == 3
    assert len(api.get(f"{ITEMS}/{fid}/history").json()["changes"]) == 1


@pytest.mark.parametrize(
    "params,message",
    [
        ({"bbox": "1,2,3"}, "bbox: expected 4 numbers"),
        ({"bbox": "a,b,c,d"}, "bbox: 'a,b,c,d' is not four comma-separated numbers"),
        ({"bbox": "130,42,120,43"}, "bbox: min must not exceed max"),
        ({"datetime": "soon"}, "datetime: 'soon' is not RFC 3339"),
        ({"datetime": "2023-01-01/2022-01-01"}, "interval ends before it starts"),
        ({"sortby": "count"}, "sortby"),
    ],
)
def test_bad_queries_are_400_naming_the_parameter(api: TestClient, params, message) -> None:
    r = api.get(ITEMS, params=params)
    assert r.status_code == 400
    assert message in r.json()["detail"]


def test_unknown_collection_and_feature_are_404(api: TestClient) -> None:
    r = api.get("/api/collections/ships/items")
    assert r.status_code == 404 and "collection 'ships' is unknown" in r.json()["detail"]
    r = api.get(f"{ITEMS}/nope")
    assert r.status_code == 404 and "feature 'nope'" in r.json()["detail"]
    assert api.delete(f"{ITEMS}/nope", headers=AUTH).status_code == 404


def test_bad_limit_is_400_naming_it(api: TestClient) -> None:
    r = api.get(ITEMS, params={"limit": 0})
    assert r.status_code == 400
    assert r.json()["detail"] == "limit: Input should be greater than or equal to 1"
