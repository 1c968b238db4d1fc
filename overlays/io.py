"""Sightings in and out of files: GeoJSON import (all or nothing), GeoJSON and GeoPackage export."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from overlays.errors import InvalidObservation, OverlaysError
from overlays.models import ObservationIn
from overlays.scenes import SceneIndex
from overlays.sites import SiteIndex
from overlays.store import ObservationStore, Query
from overlays.validate import check_feature

# Flat columns for formats without nested values; lists and dicts go in as JSON text.
COLUMNS = (
    "site",
    "scene_id",
    "observed_at",
    "time_precision",
    "observed_until",
    "kind",
    "count",
    "count_approx",
    "length_m",
    "length_approx",
    "status",
    "description",
    "sources",
    "method",
    "confidence",
    "track_id",
    "created_at",
    "updated_at",
    "version",
)


class ImportFailed(OverlaysError):
    """A file that cannot be imported whole; says which feature and why."""


def read_features(
    path: Path, sites: SiteIndex, scenes: SceneIndex
) -> list[tuple[str | None, ObservationIn]]:
    """Parse and check every feature of a GeoJSON file; the first bad one stops everything."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ImportFailed(
            f"{path.name}: malformed JSON at line {err.lineno}, column {err.colno}"
        ) from err
    features = (
        doc.get("features")
        if isinstance(doc, dict) and doc.get("type") == "FeatureCollection"
        else [doc]
    )
    if not isinstance(features, list) or not features:
        raise ImportFailed(f"{path.name}: no features (expected a FeatureCollection or a Feature)")
    out = []
    for i, feature in enumerate(features):
        try:
            checked = check_feature(feature, sites, scenes)
        except InvalidObservation as err:
            fid = feature.get("id") if isinstance(feature, dict) else None
            raise ImportFailed(
                f"{path.name}: feature {i}{f' (id {fid})' if fid else ''}: {err}"
            ) from err
        out.append((str(feature["id"]) if feature.get("id") is not None else None, checked))
    return out


def all_features(store: ObservationStore) -> list[dict[str, Any]]:
    """Every stored sighting as a GeoJSON Feature, in time order."""
    return [o.feature() for o in store.query(Query(limit=10_000_000)).features]


def export_geojson(store: ObservationStore, dst: Path) -> int:
    """Write a FeatureCollection of every sighting."""
    features = all_features(store)
    dst.write_text(
        json.dumps(
            {"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=1
        ),
        encoding="utf-8",
    )
    return len(features)


def export_gpkg(store: ObservationStore, dst: Path) -> int:
    """Write every sighting to a GeoPackage layer 'observations' (pyogrio / GDAL)."""
    import pyogrio.raw

    features = all_features(store)
    geometry = np.array([shapely.to_wkb(shape(f["geometry"])) for f in features], dtype=object)
    data = []
    for name in ("id", *COLUMNS):
        values = [f["id"] if name == "id" else f["properties"].get(name) for f in features]
        values = [
            json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v for v in values
        ]
        data.append(np.array(["" if v is None else str(v) for v in values], dtype=object))
    pyogrio.raw.write(
        str(dst),
        geometry,
        data,
        ["id", *COLUMNS],
        layer="observations",
        driver="GPKG",
        geometry_type="Unknown",
        crs="EPSG:4326",
    )
    return len(features)
