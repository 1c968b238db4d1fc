"""The Atom feeds (/feed.atom, /sites/{site}/feed.atom): new scenes, analysis runs, reviews.

Every document is read back with feedparser, as a feed reader would, and must be well-formed Atom.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer

from overlays.models import ObservationIn
from tests.conftest import register
from tiles.catalog import Scene
from tumen.app import create_app
from tumen.db import open_store
from tumen.settings import Settings

API_KEY = "feed-test-key"
RUN_ACTOR = "tumen analyze"


@pytest.fixture
def settings(backend: dict[str, Any], tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", api_key=API_KEY, **backend)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def parse(client: TestClient, url: str, **headers: str) -> Any:
    """GET a feed; it must be Atom that feedparser reads without complaint."""
    r = client.get(url, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/atom+xml"
    feed = feedparser.parse(r.content)
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    return feed


def candidate(scene: Scene, site: str, kind: str, **props: Any) -> ObservationIn:
    """An automated candidate on the scene, as the analysis stores one (a line in the site's bbox)."""
    spots = {"tumangang": (130.605, 42.42), "khasan": (130.645, 42.428), "bridge": (130.64, 42.415)}
    lon, lat = spots[site]
    return ObservationIn.model_validate(
        {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [[lon, lat], [lon + 0.002, lat]]},
            "properties": {
                "site": site,
                "scene_id": scene.id,
                "observed_at": scene.datetime.isoformat(),
                "kind": kind,
                "method": "automated",
                "confidence": 0.8,
                **props,
            },
        }
    )


def run_analysis(settings: Settings, scene: Scene, found: list[ObservationIn]) -> list[str]:
    """What an analysis run does to the store: the scene's candidates replaced in one transaction."""
    _, ids = open_store(settings).replace_automated(scene.id, found, actor=RUN_ACTOR)
    return ids


def by_title(feed: Any, start: str) -> list[Any]:
    return [e for e in feed.entries if e.title.startswith(start)]


def test_new_scene_is_an_entry_linking_the_map_at_its_date_and_its_stac_item(
    settings: Settings, client: TestClient
) -> None:
    scene = register(settings, "border-b", "2022-11-04T13:10:00+09:00")
    feed = parse(client, "/feed.atom")
    (entry,) = feed.entries
    assert entry.title == (
        "New image of Korea–Russia Friendship Bridge, Khasan station (Russia), Tumangang station "
        "and rail facility (DPRK): 2022-11-04 (synthetic)"
    )
    assert entry.id == "tag:tumen,2024:scene/border-b"
    links = {(link.rel, link.href) for link in entry.links}
    map_at = "http://testserver/map/#site={}&date=2022-11-04T13%3A10%3A00%2B09%3A00"
    assert ("alternate", map_at.format("bridge")) in links
    assert ("related", map_at.format("tumangang")) in links
    assert ("related", "http://testserver/scenes/border-b") in links
    assert client.get("/scenes/border-b").json()["id"] == "border-b"
    # updated is when the scene was registered (what is new), not when it was taken.
    assert entry.updated == scene.registered_at.isoformat(timespec="seconds").replace("+00:00", "Z")
    assert feed.feed.updated == entry.updated
    assert "SYNTHETIC" in entry.summary and "test provider (CC0-1.0)" in entry.summary
    assert {t.term for t in entry.tags} == {"scene", "synthetic"}


def test_analysis_run_is_one_entry_with_counts_per_kind(
    settings: Settings, client: TestClient
) -> None:
    scene = register(settings, "border-c", "2022-11-04T14:29:00+09:00")
    first = [
        candidate(scene, "tumangang", "train", count=12, count_approx=True),
        candidate(scene, "tumangang", "train", count=8),
        candidate(scene, "tumangang", "cargo", area_m2=1500.0),
        candidate(scene, "khasan", "ship", count=1),
    ]
    run_analysis(settings, scene, first)
    # A re-run replaces the candidates: a second entry, and the first keeps its own counts.
    run_analysis(settings, scene, [candidate(scene, "tumangang", "train", count=30)])

    runs = by_title(parse(client, "/feed.atom"), "New candidates")
    assert [e.title for e in runs] == [
        "New candidates at Tumangang station and rail facility (DPRK): 1 train (30 wagons) "
        "(2022-11-04) (synthetic)",
        "New candidates at Khasan station (Russia), Tumangang station and rail facility (DPRK): "
        "2 trains (~20 wagons), 1 cargo area (1,500 m²), 1 ship (2022-11-04) (synthetic)",
    ]
    older = runs[1]
    assert "Tumangang station and rail facility (DPRK): 2 trains (~20 wagons), 1 cargo area" in (
        older.summary
    )
    assert "Khasan station (Russia): 1 ship." in older.summary
    assert older.author == RUN_ACTOR
    links = {(link.rel, link.href) for link in older.links}
    map_at = "http://testserver/map/#site={}&date=2022-11-04T14%3A29%3A00%2B09%3A00"
    assert ("alternate", map_at.format("khasan")) in links
    assert ("related", map_at.format("tumangang")) in links
    assert ("related", "http://testserver/scenes/border-c") in links
    assert runs[0].id != older.id and older.id.startswith("tag:tumen,2024:analysis/border-c/")


def test_reviews_are_entries_with_the_verdict_and_the_reason(
    settings: Settings, client: TestClient
) -> None:
    scene = register(settings, "border-a", "2022-11-04T10:24:00+09:00")
    train, ship = run_analysis(
        settings,
        scene,
        [
            candidate(scene, "tumangang", "train", count=12),
            candidate(scene, "khasan", "ship", count=1),
        ],
    )
    key = {"X-API-Key": API_KEY}
    for fid, verdict in [
        (train, {"review": "confirmed", "by": "analyst <Kim>"}),
        (ship, {"review": "disputed", "note": "a pier's shadow <not a ship> & no wake"}),
    ]:
        etag = client.get(f"/api/collections/observations/items/{fid}").headers["etag"]
        r = client.post(
            f"/api/collections/observations/items/{fid}/review",
            json=verdict,
            headers={**key, "If-Match": etag},
        )
        assert r.status_code == 200, r.text

    feed = parse(client, "/feed.atom")
    (confirmed,) = by_title(feed, "Confirmed")
    assert confirmed.title == (
        "Confirmed: 1 train (12 wagons) at Tumangang station and rail facility (DPRK), "
        "2022-11-04 (synthetic image)"
    )
    assert confirmed.author == "analyst <Kim>"
    links = {(link.rel, link.href) for link in confirmed.links}
    assert ("related", f"http://testserver/api/collections/observations/items/{train}") in links
    assert (
        "alternate",
        "http://testserver/map/#site=tumangang&date=2022-11-04T10%3A24%3A00%2B09%3A00",
    ) in links
    (disputed,) = by_title(feed, "Disputed")
    # The reason is the reviewer's own text: escaped in the XML, read back as typed.
    assert disputed.title == (
        "Disputed: 1 ship at Khasan station (Russia), 2022-11-04 — a pier's shadow <not a ship> "
        "& no wake (synthetic image)"
    )
    assert {t.term for t in disputed.tags} == {"review", "disputed", "synthetic"}
    assert disputed.id == f"tag:tumen,2024:review/{ship}/2"
    # Newest first: the dispute came last.
    assert feed.entries.index(disputed) < feed.entries.index(confirmed)


def rajin_scene(settings: Settings) -> Scene:
    """A small scene over Rajin port only."""
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:32652", always_xy=True).transform(
        130.292, 42.244
    )
    return register(
        settings, "rajin-a", "2023-10-05T11:00:00+09:00", origin=(x, y), size=(200, 200), seed=4
    )


def test_site_feed_has_only_that_site(settings: Settings, client: TestClient) -> None:
    border = register(settings, "border-a", "2022-11-04T10:24:00+09:00")
    rajin_scene(settings)
    run_analysis(
        settings,
        border,
        [candidate(border, "tumangang", "train", count=5), candidate(border, "khasan", "ship")],
    )

    rajin = parse(client, "/sites/rajin/feed.atom")
    assert [e.title for e in rajin.entries] == [
        "New image of Rajin (Najin) port (DPRK): 2023-10-05 (synthetic)"
    ]
    assert rajin.feed.title == "tumen: what is new at Rajin (Najin) port (DPRK)"
    assert rajin.feed.id == "tag:tumen,2024:feed/rajin"

    khasan = parse(client, "/sites/khasan/feed.atom")
    titles = [e.title for e in khasan.entries]
    assert titles == [
        "New candidates at Khasan station (Russia): 1 ship (2022-11-04) (synthetic)",
        "New image of Khasan station (Russia): 2022-11-04 (synthetic)",
    ]
    everything = [e.title for e in parse(client, "/feed.atom").entries]
    assert len(everything) == 3 and any("Rajin" in t for t in everything)


def test_unknown_site_is_404_and_an_empty_feed_is_still_atom(client: TestClient) -> None:
    r = client.get("/sites/atlantis/feed.atom")
    assert r.status_code == 404
    assert "atlantis" in r.json()["detail"] and "khasan" in r.json()["detail"]
    assert parse(client, "/feed.atom").entries == []


def test_feed_answers_304_to_its_etag_until_something_new(
    settings: Settings, client: TestClient
) -> None:
    register(settings, "border-a", "2022-11-04T10:24:00+09:00")
    first = client.get("/sites/tumangang/feed.atom")
    etag = first.headers["etag"]
    again = client.get("/sites/tumangang/feed.atom", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    register(settings, "border-b", "2022-11-04T13:10:00+09:00", seed=2)
    changed = client.get("/sites/tumangang/feed.atom", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert len(feedparser.parse(changed.content).entries) == 2
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/feed.atom", "/sites/{site_id}/feed.atom"):
        responses = paths[path]["get"]["responses"]
        assert "304" in responses and "ETag" in responses["200"]["headers"], path


def test_feed_holds_the_newest_entries_up_to_the_setting(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", feed_entries=2)
    for n, when in enumerate(["2022-11-04T10:24:00+09:00", "2023-10-05T11:00:00+09:00"]):
        register(settings, f"old-{n}", when, seed=n)
    register(settings, "newest", "2019-01-01T00:00:00+09:00", seed=5)  # registered last
    with TestClient(create_app(settings)) as client:
        feed = parse(client, "/feed.atom")
    assert [e.id.rsplit("/", 1)[1] for e in feed.entries] == ["newest", "old-1"]


def test_links_are_the_public_ones_behind_a_proxy(settings: Settings, client: TestClient) -> None:
    register(settings, "border-a", "2022-11-04T10:24:00+09:00")
    proxy = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "example.org",
        "X-Forwarded-Prefix": "/tumen",
    }
    feed = parse(client, "/sites/bridge/feed.atom", **proxy)
    assert feed.feed.links[0].href == "https://example.org/tumen/sites/bridge/feed.atom"
    hrefs = {link.href for link in feed.entries[0].links}
    assert "https://example.org/tumen/scenes/border-a" in hrefs
    assert any(h.startswith("https://example.org/tumen/map/#site=bridge&") for h in hrefs)
