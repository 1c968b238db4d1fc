"""Every collection applies the query: tracks, scenes and sites filtered by bbox, datetime and site."""

import pytest
from fastapi.testclient import TestClient

from tests.overlays.conftest import post, sighting

BRIDGE = [130.6425, 42.4165]
TUMANGANG = [130.6081, 42.4214]


def at(where: list[float], **props: object) -> dict:
    doc = sighting(**props)
    doc["geometry"]["coordinates"] = where
    return doc


@pytest.fixture
def two_tracks(api: TestClient) -> None:
    """t1 on the bridge on 4 November, t2 at Tumangang on 29–30 November."""
    for doc in (
        at(BRIDGE, track_id="t1", observed_at="2022-11-04T10:24:00+09:00", scene_id="border-a"),
        at(BRIDGE, track_id="t1", observed_at="2022-11-04T13:10:00+09:00"),
        at(
            TUMANGANG,
            site="tumangang",
            track_id="t2",
            scene_id=None,
            observed_at="2022-11-29T09:00:00+09:00",
        ),
        at(
            TUMANGANG,
            site="tumangang",
            track_id="t2",
            scene_id=None,
            observed_at="2022-11-30T09:00:00+09:00",
        ),
    ):
        post(api, doc)


def ids(api: TestClient, cid: str, **params: str) -> list[str]:
    r = api.get(f"/api/collections/{cid}/items", params=params)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["numberMatched"] == doc["numberReturned"] == len(doc["features"])
    return [f["id"] for f in doc["features"]]


def test_tracks_filtered_by_site(api: TestClient, two_tracks: None) -> None:
    assert ids(api, "tracks") == ["t1", "t2"]
    assert ids(api, "tracks", site="bridge") == ["t1"]
    assert ids(api, "tracks", site="tumangang") == ["t2"]
    assert ids(api, "tracks", site="rajin") == []


def test_tracks_filtered_by_datetime_overlap(api: TestClient, two_tracks: None) -> None:
    assert ids(api, "tracks", datetime="2022-11-04") == ["t1"]
    assert ids(api, "tracks", datetime="2022-11-04T12:00:00+09:00") == ["t1"]  # inside t1's span
    assert ids(api, "tracks", datetime="2022-11-29T12:00:00Z/..") == ["t2"]
    assert ids(api, "tracks", datetime="../2022-11-03") == []
    assert ids(api, "tracks", datetime="2022-11-01/2022-12-01") == ["t1", "t2"]


def test_tracks_filtered_by_bbox_and_id(api: TestClient, two_tracks: None) -> None:
    assert ids(api, "tracks", bbox="130.60,42.41,130.615,42.43") == ["t2"]
    assert ids(api, "tracks", track_id="t1") == ["t1"]


def test_scenes_filtered_by_site_datetime_and_bbox(api: TestClient) -> None:
    every = ids(api, "scenes")
    assert every == ["border-a", "border-b", "border-c"]
    assert ids(api, "scenes", datetime="2022-11-04T13:10:00+09:00") == ["border-b"]
    assert ids(api, "scenes", datetime="2022-11-04T11:00:00+09:00/..") == ["border-b", "border-c"]
    assert ids(api, "scenes", site="rajin") == []
    assert ids(api, "scenes", site="bridge") == every
    assert ids(api, "scenes", bbox="0,0,1,1") == []


def test_sites_filtered_by_site_and_bbox(api: TestClient) -> None:
    assert ids(api, "sites", site="khasan") == ["khasan"]
    near_rajin = "130.2,42.2,130.3,42.3"
    assert ids(api, "sites", bbox=near_rajin) == ["rajin"]


@pytest.mark.parametrize("cid", ["observations", "tracks", "scenes", "sites"])
def test_an_unknown_site_is_a_400_naming_the_known_ones(api: TestClient, cid: str) -> None:
    r = api.get(f"/api/collections/{cid}/items", params={"site": "vostochny"})
    assert r.status_code == 400
    assert "unknown site 'vostochny'" in r.json()["detail"]
    assert "bridge" in r.json()["detail"]
