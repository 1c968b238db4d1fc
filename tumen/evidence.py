"""What the report bundle and the publication graphics share.

The area rule, the sightings of a scene, how a sighting is labelled, and which of them are
published (the confirmed ones).
"""

from datetime import timedelta
from typing import Any

from pyproj import Geod
from shapely.geometry import box

from overlays.errors import InvalidQuery
from overlays.kinds import STYLE_OF
from overlays.store import ObservationStore
from overlays.store import Query as StoreQuery
from publish import Mark
from tiles.catalog import Scene

_geod = Geod(ellps="WGS84")
Bbox = tuple[float, float, float, float]


def bbox_area_km2(bbox: Bbox) -> float:
    """Geodesic area of a lon/lat box."""
    area, _ = _geod.geometry_area_perimeter(box(*bbox))
    return abs(area) / 1e6


def check_area(bbox: Bbox, max_km2: float) -> None:
    """InvalidQuery (400) for a bbox over ``max_km2`` (TUMEN_REPORT_MAX_KM2) or of no area."""
    km2 = bbox_area_km2(bbox)
    if km2 > max_km2:
        raise InvalidQuery(
            f"bbox: covers {km2:.1f} km², over the limit of {max_km2:g} km² (TUMEN_REPORT_MAX_KM2)"
        )
    if bbox[0] >= bbox[2] or bbox[1] >= bbox[3]:
        raise InvalidQuery("bbox: has no area (min equals max)")


def label(props: dict[str, Any]) -> str:
    """'3 wagons, ≈ 65 m, 2022-11-04 14:29' — what the chip and the figure show beside a sighting."""
    parts = []
    if props.get("count") is not None:
        style = STYLE_OF[props["kind"]]
        noun = style.label if props["count"] == 1 else style.plural
        parts.append(f"{'≈' if props.get('count_approx') else ''}{props['count']} {noun}")
    else:
        parts.append(props["kind"])
    if props.get("length_m"):
        parts.append(f"{'≈' if props.get('length_approx') else ''}{props['length_m']:g} m")
    parts.append(when_text(props))
    if props.get("status") == "absent":
        parts.append("absent")
    return ", ".join(parts)


def when_text(props: dict[str, Any]) -> str:
    """A sighting's time at its precision: '2022-11-04 14:29', '2023-10-05', '2020-02 to 2022-11'."""
    at, until = props["observed_at"], props.get("observed_until")
    cut = {"day": 10, "month": 7}.get(props.get("time_precision") or "minute", 16)
    if props.get("time_precision") == "range" and until:
        return f"{at[:10]} to {until[:10]}"
    return str(at[:cut]).replace("T", " ")


def sightings_for(
    store: ObservationStore, scene: Scene, site: str, bbox: Bbox
) -> list[dict[str, Any]]:
    """The sightings made on this scene in the bbox, and those of that day reported with no image."""
    day = scene.datetime.replace(hour=0, minute=0, second=0, microsecond=0)
    page = store.query(
        StoreQuery(
            bbox=bbox, start=day, end=day + timedelta(days=1), equals={"site": site}, limit=10_000
        )
    )
    return [o.feature() for o in page.features if o.properties.get("scene_id") in (None, scene.id)]


def is_confirmed(props: dict[str, Any]) -> bool:
    """Whether a sighting may be published: a person confirmed it.

    Rows written before sightings had a review state count as their method starts (manual and
    reported sightings start confirmed, automated candidates unreviewed), as the review migration
    sets them.
    """
    review = props.get("review")
    if review is None:
        return props.get("method") != "automated"
    return bool(review == "confirmed")


def mark_of(feature: dict[str, Any]) -> Mark:
    """A sighting as the publication graphics draw it: its geometry, label and kind's colour."""
    props = feature["properties"]
    return Mark(
        geometry=feature["geometry"],
        label=label(props),
        colour=STYLE_OF[props["kind"]].rgb,
        absent=props.get("status") == "absent",
    )


def counts_line(features: list[dict[str, Any]]) -> str:
    """'2 trains, 41 wagons' — the present sightings' counts per kind (a sighting without a count is one)."""
    totals: dict[str, int] = {}
    approx: set[str] = set()
    for f in features:
        p = f["properties"]
        if p.get("status") == "absent":
            continue
        totals[p["kind"]] = totals.get(p["kind"], 0) + (
            p["count"] if p.get("count") is not None else 1
        )
        if p.get("count_approx"):
            approx.add(p["kind"])
    parts = []
    for kind, style in STYLE_OF.items():  # legend order
        if kind in totals:
            n = totals[kind]
            about = "≈" if kind in approx else ""
            parts.append(f"{about}{n} {style.label if n == 1 else style.plural}")
    return ", ".join(parts)
