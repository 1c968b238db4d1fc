"""Reviews: a person confirms or disputes a sighting, with If-Match, and the history keeps each verdict."""

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from overlays.models import ReviewIn
from overlays.sqlite_store import SQLiteStore
from tests.overlays.conftest import AUTH, post, sighting
from tumen.settings import Settings

ITEMS = "/api/collections/observations/items"


def candidate(**props: Any) -> dict[str, Any]:
    """An automated candidate at the bridge, as the analysis makes them."""
    return sighting(method="automated", sources=[], kind="train", count=1, confidence=0.72, **props)


def review(api: TestClient, feature: dict[str, Any], body: Any, etag: str | None = None) -> Any:
    headers = dict(AUTH)
    if etag is not None or feature.get("properties"):
        headers["If-Match"] = etag or f'"{feature["properties"]["version"]}"'
    return api.post(f"{ITEMS}/{feature['id']}/review", json=body, headers=headers)


def test_sightings_start_confirmed_and_candidates_unreviewed(api: TestClient) -> None:
    reported = post(api, sighting())
    manual = post(api, sighting(method="manual", sources=[]))
    automated = post(api, candidate())
    # What a POST says of its review is not taken: only a review sets it.
    forged = post(api, candidate(review="confirmed", reviewed_by="me"))
    assert [f["properties"]["review"] for f in (reported, manual, automated, forged)] == [
        "confirmed",
        "confirmed",
        "unreviewed",
        "unreviewed",
    ]
    assert forged["properties"]["reviewed_by"] is None


def test_confirm_then_dispute_each_a_new_version_in_the_history(api: TestClient) -> None:
    made = post(api, candidate())
    r = review(api, made, {"review": "confirmed", "by": "analyst A"})
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"2"'
    props = r.json()["properties"]
    assert props["review"] == "confirmed"
    assert props["reviewed_by"] == "analyst A"
    assert props["review_note"] is None
    at = datetime.fromisoformat(props["reviewed_at"])
    assert abs(datetime.now(UTC) - at) < timedelta(minutes=1)
    # The sighting itself is unchanged.
    assert r.json()["geometry"] == made["geometry"]
    assert {k: props[k] for k in ("kind", "count", "confidence")} == {
        "kind": "train",
        "count": 1,
        "confidence": 0.72,
    }

    r = review(
        api, r.json(), {"review": "disputed", "note": "  two trains standing side by side  "}
    )
    assert r.status_code == 200, r.text
    disputed = r.json()["properties"]
    assert {k: disputed[k] for k in ("review", "review_note", "reviewed_by", "version")} == {
        "review": "disputed",
        "review_note": "two trains standing side by side",
        "reviewed_by": "api-key",
        "version": 3,
    }
    assert api.get(f"{ITEMS}/{made['id']}").json()["properties"]["review"] == "disputed"
    changes = api.get(f"{ITEMS}/{made['id']}/history").json()["changes"]
    assert [(c["action"], c["version"]) for c in changes] == [
        ("create", 1),
        ("review", 2),
        ("review", 3),
    ]
    assert changes[1]["before"]["properties"]["review"] == "unreviewed"
    assert changes[1]["after"]["properties"]["review"] == "confirmed"
    assert changes[2]["after"]["properties"]["review_note"] == "two trains standing side by side"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"review": "maybe"}, "review: Input should be 'unreviewed', 'confirmed' or 'disputed'"),
        ({"review": "disputed"}, "note: a dispute needs a reason"),
        ({"review": "disputed", "note": "   "}, "note: a dispute needs a reason"),
        ({"review": "confirmed", "colour": "red"}, "colour: Extra inputs are not permitted"),
        ([1, 2], "body: Input should be a valid dictionary or instance of ReviewIn"),
    ],
)
def test_a_bad_verdict_is_400_and_changes_nothing(api: TestClient, body: Any, detail: str) -> None:
    made = post(api, candidate())
    before = api.get(f"{ITEMS}/{made['id']}").json()
    r = review(api, made, body)
    assert (r.status_code, r.json()) == (400, {"detail": detail})
    assert api.get(f"{ITEMS}/{made['id']}").json() == before


def test_review_needs_the_current_version(api: TestClient) -> None:
    made = post(api, candidate())
    # Someone else edits it first: the reviewer's copy is stale.
    edited = api.patch(
        f"{ITEMS}/{made['id']}", json={"properties": {"count": 2}}, headers=AUTH
    ).json()
    stale = review(api, made, {"review": "confirmed"})
    assert stale.status_code == 412
    assert stale.json()["detail"] == (
        f"feature '{made['id']}' has changed: its current ETag is \"2\"; fetch it again and retry"
    )
    no_condition = api.post(
        f"{ITEMS}/{made['id']}/review", json={"review": "confirmed"}, headers=AUTH
    )
    assert no_condition.status_code == 428
    assert no_condition.json()["detail"].startswith(
        f"If-Match: required to review feature '{made['id']}'"
    )
    assert api.get(f"{ITEMS}/{made['id']}").json()["properties"]["review"] == "unreviewed"
    assert review(api, edited, {"review": "confirmed"}).status_code == 200


def test_review_of_a_missing_item_or_without_the_key(api: TestClient) -> None:
    r = api.post(f"{ITEMS}/obs-nothing/review", json={"review": "confirmed"}, headers=AUTH)
    assert (r.status_code, r.json()) == (
        404,
        {"detail": "feature 'obs-nothing' is not in collection 'observations'"},
    )
    made = post(api, candidate())
    r = api.post(
        f"{ITEMS}/{made['id']}/review", json={"review": "confirmed"}, headers={"If-Match": '"1"'}
    )
    assert r.status_code == 403
    r = api.post(
        f"/api/collections/tracks/items/{made['id']}/review",
        json={"review": "confirmed"},
        headers={**AUTH, "If-Match": '"1"'},
    )
    assert r.status_code == 405


def test_editing_keeps_the_review_and_the_history(api: TestClient) -> None:
    made = post(api, candidate())
    confirmed = review(api, made, {"review": "confirmed", "by": "analyst A"}).json()
    # A GIS client sends every field back, review included: an edit never changes the verdict.
    body = json.loads(json.dumps(confirmed))
    body["properties"]["count"] = 4
    body["properties"]["review"] = "disputed"
    body["properties"]["reviewed_by"] = "someone else"
    body["geometry"] = {"type": "LineString", "coordinates": [[130.642, 42.416], [130.643, 42.417]]}
    put = api.put(f"{ITEMS}/{made['id']}", json=body, headers={**AUTH, "If-Match": '"2"'}).json()
    assert put["properties"]["count"] == 4
    assert put["geometry"]["type"] == "LineString"
    assert {k: put["properties"][k] for k in ("review", "reviewed_by", "reviewed_at")} == {
        k: confirmed["properties"][k] for k in ("review", "reviewed_by", "reviewed_at")
    }
    patched = api.patch(
        f"{ITEMS}/{made['id']}", json={"properties": {"review": "unreviewed"}}, headers=AUTH
    ).json()
    assert patched["properties"]["review"] == "confirmed"
    actions = [c["action"] for c in api.get(f"{ITEMS}/{made['id']}/history").json()["changes"]]
    assert actions == ["create", "review", "replace", "patch"]


def test_items_filter_by_review(api: TestClient) -> None:
    reported = post(api, sighting())
    first = post(api, candidate())
    second = post(api, candidate())
    review(api, second, {"review": "disputed", "note": "a shadow"})

    def ids(state: str) -> list[str]:
        r = api.get(ITEMS, params={"review": state})
        assert r.status_code == 200, r.text
        return sorted(f["id"] for f in r.json()["features"])

    assert ids("confirmed") == [reported["id"]]
    assert ids("unreviewed") == [first["id"]]
    assert ids("disputed") == [second["id"]]
    r = api.get(ITEMS, params={"review": "approved"})
    assert (r.status_code, r.json()) == (
        400,
        {"detail": "review: unknown review 'approved'; known: unreviewed, confirmed, disputed"},
    )
    queryables = api.get("/api/collections/observations/queryables").json()["properties"]
    assert queryables["review"]["anyOf"][0]["enum"] == ["unreviewed", "confirmed", "disputed"]


def test_recent_changes_newest_first_by_action_time_and_site(settings: Settings) -> None:
    from overlays.models import ObservationIn
    from tumen.db import open_store

    store = open_store(settings)
    a = store.create(ObservationIn.model_validate(candidate()), actor="analysis")
    khasan = sighting(scene_id=None)
    khasan["properties"]["site"] = "khasan"
    k = store.create(ObservationIn.model_validate(khasan), actor="api-key")
    store.review(a.id, ReviewIn(review="confirmed"), actor="api-key", if_version=1)
    every = store.recent_changes(limit=10)
    assert [(c.feature_id, c.action) for c in every] == [
        (a.id, "review"),
        (k.id, "create"),
        (a.id, "create"),
    ]
    assert [c.action for c in store.recent_changes(limit=10, actions=("review",))] == ["review"]
    assert [c.feature_id for c in store.recent_changes(limit=10, site="khasan")] == [k.id]
    assert len(store.recent_changes(limit=2)) == 2
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert store.recent_changes(limit=10, since=later) == []


def test_a_file_from_before_reviews_gets_the_review_each_starts_with(tmp_path: Path) -> None:
    """An older tumen.sqlite: no review column; sightings confirmed, candidates unreviewed."""
    db_path = tmp_path / "old.sqlite"
    db = sqlite3.connect(db_path)
    db.executescript(
        """
        CREATE TABLE observations (id TEXT PRIMARY KEY, site TEXT NOT NULL, scene_id TEXT,
          kind TEXT NOT NULL, status TEXT NOT NULL, method TEXT NOT NULL, track_id TEXT,
          t0 REAL NOT NULL, t1 REAL NOT NULL, version INTEGER NOT NULL, geometry TEXT NOT NULL,
          properties TEXT NOT NULL);
        """
    )
    for fid, method in (("obs-old-1", "reported"), ("obs-old-2", "automated")):
        props = sighting(method=method)["properties"]
        db.execute(
            "INSERT INTO observations VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                fid,
                "bridge",
                None,
                "wagon",
                "present",
                method,
                None,
                0.0,
                0.0,
                1,
                json.dumps({"type": "Point", "coordinates": [130.64, 42.41]}),
                json.dumps(props),
            ),
        )
    db.commit()
    db.close()
    store = SQLiteStore(db_path)
    assert store.get("obs-old-1").properties["review"] == "confirmed"
    assert store.get("obs-old-2").properties["review"] == "unreviewed"
    from overlays.store import Query

    assert [o.id for o in store.query(Query(equals={"review": "unreviewed"})).features] == [
        "obs-old-2"
    ]
    SQLiteStore(db_path)  # a second open changes nothing
    assert store.get("obs-old-2").version == 1
