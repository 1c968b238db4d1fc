"""Tracks: one object followed over time, as a line through its sightings, with duration and speed."""

from collections import defaultdict
from datetime import datetime
from typing import Any

from pyproj import Geod
from shapely.geometry import LineString, mapping, shape

from overlays.models import StoredObservation

_geod = Geod(ellps="WGS84")


def build_tracks(observations: list[StoredObservation]) -> list[dict[str, Any]]:
    """A Feature per ``track_id`` with two or more sightings, ordered by time."""
    groups: dict[str, list[StoredObservation]] = defaultdict(list)
    for o in observations:
        if o.properties.get("track_id"):
            groups[o.properties["track_id"]].append(o)
    features = []
    for track_id, members in sorted(groups.items()):
        members.sort(key=lambda o: (o.properties["observed_at"], o.id))
        points = [shape(o.geometry).centroid for o in members]
        times = [datetime.fromisoformat(o.properties["observed_at"]) for o in members]
        if len(points) >= 2:
            line = LineString([(p.x, p.y) for p in points])
            distance = _geod.geometry_length(line)
            geometry = mapping(line)
        else:
            distance, geometry = 0.0, mapping(points[0])
        duration = (times[-1] - times[0]).total_seconds()
        features.append(
            {
                "type": "Feature",
                "id": track_id,
                "geometry": geometry,
                "properties": {
                    "track_id": track_id,
                    "site": sorted({o.properties["site"] for o in members}),
                    "start": members[0].properties["observed_at"],
                    "end": members[-1].properties["observed_at"],
                    "sightings": [o.id for o in members],
                    "count": len(members),
                    "duration_s": duration,
                    "distance_m": round(distance, 1),
                    "avg_speed_kmh": round(distance / duration * 3.6, 2) if duration > 0 else None,
                },
            }
        )
    return features
