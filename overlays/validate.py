"""The rules a sighting must meet beyond its schema: a known site, inside it, on a known scene."""

from typing import Any

from pydantic import ValidationError
from shapely.geometry import shape

from overlays.errors import InvalidObservation
from overlays.models import ObservationIn, ObservationProps
from overlays.scenes import SceneIndex
from overlays.sites import SiteIndex


def check_feature(doc: Any, sites: SiteIndex, scenes: SceneIndex) -> ObservationIn:
    """Parse and check one Feature; the error names the field (used by the API and the importer)."""
    if not isinstance(doc, dict) or doc.get("type") != "Feature":
        raise InvalidObservation("body: expected a GeoJSON Feature")
    doc = {k: v for k, v in doc.items() if k in ("type", "geometry", "properties", "id", "bbox")}
    try:
        feature = ObservationIn.model_validate(doc)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise InvalidObservation(f"{where}: {message}") from err
    props: ObservationProps = feature.properties  # type: ignore[assignment]
    site = sites.get(props.site)
    if site is None:
        raise InvalidObservation(
            f"properties.site: unknown site '{props.site}'; "
            f"known: {', '.join(s.id for s in sites.all())}"
        )
    bounds = shape(feature.geometry.model_dump()).bounds  # type: ignore[union-attr]
    if not site.contains(bounds):
        raise InvalidObservation(
            f"geometry: outside site '{site.id}' (bbox {site.bbox} with a margin)"
        )
    if props.scene_id is not None:
        scene = scenes.get(props.scene_id)
        if scene is None:
            raise InvalidObservation(f"properties.scene_id: unknown scene '{props.scene_id}'")
        if props.site not in scene.sites:
            raise InvalidObservation(
                f"properties.scene_id: scene '{props.scene_id}' does not cover site '{props.site}'"
            )
    return feature
