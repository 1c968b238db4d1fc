"""The four collections as objects: each answers ``features(query)`` with every filter applied.

Observations come from the store (filtered in SQL); sites, scenes and tracks are few and built on
request, then filtered here by the same query: bbox, datetime, site, and the properties each has.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from shapely.geometry import box, mapping, shape

from overlays.errors import FeatureNotFound
from overlays.scenes import SceneIndex
from overlays.sites import SiteIndex
from overlays.store import FILTERABLE, ObservationStore, Query
from overlays.tracks import build_tracks

EVERYTHING = 1_000_000


@dataclass(frozen=True)
class Item:
    """One feature and, for what can change, its version (the ETag)."""

    feature: dict[str, Any]
    version: int | None = None


class Collection(Protocol):
    """What the items routes need of a collection."""

    id: str
    description: str
    writable: bool
    filters: tuple[str, ...]  # property filters it applies, beside bbox and datetime

    def features(self, q: Query) -> tuple[list[dict[str, Any]], int]:
        """The page ``q`` asks for, and how many features match in all."""
        ...

    def item(self, fid: str) -> Item:
        """One feature (FeatureNotFound otherwise)."""
        ...


def _overlaps(start: datetime, end: datetime, q: Query) -> bool:
    return (q.end is None or start <= q.end) and (q.start is None or end >= q.start)


def _at(when: datetime, q: Query) -> bool:
    return _overlaps(when, when, q)


def _intersects(feature: dict[str, Any], q: Query) -> bool:
    return q.bbox is None or shape(feature["geometry"]).intersects(box(*q.bbox))


def _page(features: list[dict[str, Any]], q: Query) -> tuple[list[dict[str, Any]], int]:
    return features[q.offset : q.offset + q.limit], len(features)


def _one(cid: str, features: Iterable[dict[str, Any]], fid: str) -> Item:
    for feature in features:
        if feature["id"] == fid:
            return Item(feature)
    raise FeatureNotFound(cid, fid)


class Observations:
    """Sightings, from the store; those on a scene no longer in the catalog say so."""

    id = "observations"
    description = "Sightings of trains, wagons, cargo and ships, with their sources"
    writable = True
    filters: tuple[str, ...] = FILTERABLE

    def __init__(self, store: ObservationStore, scenes: SceneIndex) -> None:
        self.store = store
        self.scenes = scenes

    def features(self, q: Query) -> tuple[list[dict[str, Any]], int]:
        """A page from the store, filtered and ordered there."""
        page = self.store.query(q)
        return self._flag_removed([o.feature() for o in page.features]), page.matched

    def item(self, fid: str) -> Item:
        """One sighting with its version."""
        stored = self.store.get(fid)
        return Item(self._flag_removed([stored.feature()])[0], stored.version)

    def _flag_removed(self, features: list[dict[str, Any]]) -> list[dict[str, Any]]:
        named = {f["properties"].get("scene_id") for f in features} - {None}
        gone = {sid for sid in named if self.scenes.get(sid) is None}
        for feature in features:
            scene_id = feature["properties"].get("scene_id")
            feature["properties"]["scene_removed"] = scene_id in gone
        return features


class Tracks:
    """One object followed over time: a line through the sightings sharing a track_id."""

    id = "tracks"
    description = "One object followed over time: lines through the sightings sharing a track_id"
    writable = False
    filters: tuple[str, ...] = ("site", "track_id")

    def __init__(self, store: ObservationStore) -> None:
        self.store = store

    def _all(self) -> list[dict[str, Any]]:
        return build_tracks(self.store.query(Query(limit=EVERYTHING)).features)

    def features(self, q: Query) -> tuple[list[dict[str, Any]], int]:
        """Tracks crossing the bbox, overlapping the interval, at the site."""
        site, track = q.equals.get("site"), q.equals.get("track_id")
        kept = [
            f
            for f in self._all()
            if _intersects(f, q)
            and _overlaps(
                datetime.fromisoformat(f["properties"]["start"]),
                datetime.fromisoformat(f["properties"]["end"]),
                q,
            )
            and (site is None or site in f["properties"]["site"])
            and (track is None or f["id"] == track)
        ]
        if q.descending:
            kept.sort(key=lambda f: f["properties"]["end"], reverse=True)
        return _page(kept, q)

    def item(self, fid: str) -> Item:
        """One track."""
        return _one(self.id, self._all(), fid)


class Scenes:
    """Footprints and times of the imagery scenes."""

    id = "scenes"
    description = "Footprints and times of the imagery scenes"
    writable = False
    filters: tuple[str, ...] = ("site",)

    def __init__(self, scenes: SceneIndex) -> None:
        self.scenes = scenes

    def _all(self, site: str | None = None) -> list[dict[str, Any]]:
        return [
            {
                "type": "Feature",
                "id": s.id,
                "geometry": mapping(box(*s.bbox)),
                "properties": s.properties(),
            }
            for s in self.scenes.footprints(site)
        ]

    def features(self, q: Query) -> tuple[list[dict[str, Any]], int]:
        """Scenes of the site, crossing the bbox, taken within the interval."""
        kept = [
            f
            for f in self._all(q.equals.get("site"))
            if _intersects(f, q) and _at(datetime.fromisoformat(f["properties"]["datetime"]), q)
        ]
        if q.descending:
            kept.reverse()
        return _page(kept, q)

    def item(self, fid: str) -> Item:
        """One scene (looked up, not listed)."""
        scene = self.scenes.get(fid)
        if scene is None:
            raise FeatureNotFound(self.id, fid)
        feature = {
            "type": "Feature",
            "id": scene.id,
            "geometry": mapping(box(*scene.bbox)),
            "properties": scene.properties(),
        }
        return Item(feature)


class Sites:
    """The watched sites, with their baselines (they have no time: datetime keeps them all)."""

    id = "sites"
    description = "The watched sites (bbox) with their baselines"
    writable = False
    filters: tuple[str, ...] = ("site",)

    def __init__(self, sites: SiteIndex) -> None:
        self.sites = sites

    def _all(self) -> list[dict[str, Any]]:
        return [
            {
                "type": "Feature",
                "id": s.id,
                "geometry": mapping(box(*s.bbox)),
                "properties": {
                    "name": s.name,
                    "description": s.description,
                    "centre": list(s.centre),
                    "main_kind": s.main_kind,
                    "baselines": [b.model_dump() for b in s.baselines],
                },
            }
            for s in self.sites.all()
        ]

    def features(self, q: Query) -> tuple[list[dict[str, Any]], int]:
        """Sites crossing the bbox (or the one named by ``site``)."""
        site = q.equals.get("site")
        kept = [f for f in self._all() if _intersects(f, q) and site in (None, f["id"])]
        return _page(kept, q)

    def item(self, fid: str) -> Item:
        """One site."""
        return _one(self.id, self._all(), fid)


COLLECTIONS = {c.id: c.description for c in (Observations, Tracks, Sites, Scenes)}
