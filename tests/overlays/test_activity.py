"""The activity route: one series per kind (never a sum across kinds), each beside its own baseline."""

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.overlays.conftest import AUTH, post, sighting
from tumen.settings import Settings

ACTIVITY = "/api/collections/observations/activity"
NONE_APART = {"unreviewed": 0, "unreviewed_count": 0}


@pytest.fixture
def two_kinds(api: TestClient) -> None:
    """At the bridge: wagons on 2022-11-04 (3 + 5), a train that day and the next, an absent wagon."""
    for props in [
        {"observed_at": "2022-11-04T13:10:00+09:00", "kind": "wagon", "count": 3},
        {"observed_at": "2022-11-04T14:29:00+09:00", "kind": "wagon", "count": 5},
        {"observed_at": "2022-11-04T14:29:00+09:00", "kind": "train", "count": 1},
        {"observed_at": "2022-11-05T11:00:00+09:00", "kind": "train", "count": 1},
        {"observed_at": "2022-11-05T12:00:00+09:00", "kind": "wagon", "count": 0},
    ]:
        absent = {"status": "absent"} if props["count"] == 0 else {}
        post(api, sighting(scene_id=None, **props, **absent))


def baselines(settings: Settings, site: str) -> list[dict[str, Any]]:
    """The site's baselines as the sites file states them."""
    doc = json.loads(settings.sites_file.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = next(s["baselines"] for s in doc["sites"] if s["id"] == site)
    return found


def test_activity_has_one_series_per_kind_never_a_sum(
    api: TestClient, settings: Settings, two_kinds: None
) -> None:
    [train_baseline] = baselines(settings, "bridge")
    assert train_baseline["kind"] == "train" and train_baseline["count"] == 0
    doc = api.get(ACTIVITY, params={"site": "bridge"}).json()
    assert doc == {
        "site": "bridge",
        "interval": "day",
        "kind": None,
        "review": "confirmed",
        "main_kind": "wagon",
        "series": [
            {
                "kind": "wagon",
                "points": [{"period": "2022-11-04", "sightings": 2, "count": 8, **NONE_APART}],
                "baseline": None,
            },
            {
                "kind": "train",
                "points": [
                    {"period": "2022-11-04", "sightings": 1, "count": 1, **NONE_APART},
                    {"period": "2022-11-05", "sightings": 1, "count": 1, **NONE_APART},
                ],
                "baseline": train_baseline,
            },
        ],
    }


def test_activity_of_one_kind_is_its_series_alone(
    api: TestClient, settings: Settings, two_kinds: None
) -> None:
    doc = api.get(ACTIVITY, params={"site": "bridge", "kind": "train", "interval": "month"}).json()
    assert doc == {
        "site": "bridge",
        "interval": "month",
        "kind": "train",
        "review": "confirmed",
        "main_kind": "wagon",
        "series": [
            {
                "kind": "train",
                "points": [{"period": "2022-11", "sightings": 2, "count": 2, **NONE_APART}],
                "baseline": baselines(settings, "bridge")[0],
            }
        ],
    }


def test_activity_of_a_kind_not_seen_is_empty_beside_its_baseline(
    api: TestClient, settings: Settings, two_kinds: None
) -> None:
    doc = api.get(ACTIVITY, params={"site": "tumangang", "kind": "wagon"}).json()
    [wagon_baseline] = baselines(settings, "tumangang")
    assert wagon_baseline["count"] == 20
    assert doc["series"] == [{"kind": "wagon", "points": [], "baseline": wagon_baseline}]
    every_kind = api.get(ACTIVITY, params={"site": "tumangang"}).json()
    assert every_kind["series"] == []


def test_activity_keeps_the_datetime_filter(api: TestClient, two_kinds: None) -> None:
    doc = api.get(
        ACTIVITY, params={"site": "bridge", "interval": "week", "datetime": "2022-11-05"}
    ).json()
    # 2022-11-05 is a Saturday: its week starts on Monday 2022-10-31; the absent wagon adds nothing.
    assert [(s["kind"], s["points"]) for s in doc["series"]] == [
        ("train", [{"period": "2022-10-31", "sightings": 1, "count": 1, **NONE_APART}])
    ]


def test_activity_of_an_unknown_kind_is_400_naming_the_kinds(api: TestClient) -> None:
    r = api.get(ACTIVITY, params={"site": "bridge", "kind": "wagons"})
    assert r.status_code == 400
    assert r.json()["detail"] == (
        "kind: unknown kind 'wagons'; known: "
        "locomotive, wagon, train, container, cargo, ship, other"
    )


def test_activity_counts_confirmed_and_shows_candidates_apart(
    api: TestClient, two_kinds: None
) -> None:
    """Two automated train candidates that day: apart from the count until a person confirms one."""
    made = [
        post(
            api,
            sighting(
                scene_id=None,
                observed_at="2022-11-04T15:00:00+09:00",
                kind="train",
                count=n,
                method="automated",
                confidence=0.8,
            ),
        )
        for n in (2, 3)
    ]
    doc = api.get(ACTIVITY, params={"site": "bridge", "kind": "train"}).json()
    assert doc["series"][0]["points"][0] == {
        "period": "2022-11-04",
        "sightings": 1,
        "count": 1,
        "unreviewed": 2,
        "unreviewed_count": 5,
    }
    first, second = made
    for feature, verdict in (
        (first, {"review": "confirmed"}),
        (second, {"review": "disputed", "note": "a shadow"}),
    ):
        r = api.post(
            f"/api/collections/observations/items/{feature['id']}/review",
            json=verdict,
            headers={**AUTH, "If-Match": f'"{feature["properties"]["version"]}"'},
        )
        assert r.status_code == 200, r.text
    doc = api.get(ACTIVITY, params={"site": "bridge", "kind": "train"}).json()
    assert doc["series"][0]["points"][0] == {
        "period": "2022-11-04",
        "sightings": 2,
        "count": 3,
        **NONE_APART,
    }
    disputed = api.get(
        ACTIVITY, params={"site": "bridge", "kind": "train", "review": "disputed"}
    ).json()
    assert disputed["series"][0]["points"] == [
        {"period": "2022-11-04", "sightings": 1, "count": 3, **NONE_APART}
    ]
