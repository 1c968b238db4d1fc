"""Scenes as STAC Items (pystac), so any STAC client can read the catalog."""

from datetime import UTC
from typing import Any

import pystac
from shapely.geometry import box, mapping

from tiles.catalog import Scene
from tiles.grid import WEB_MERCATOR

SYNTHETIC_NOTE = "SYNTHETIC image made by tumen's demo, not a satellite image"


def attribution(scene: Scene) -> str:
    """Attribution line for maps: the provider, and the word 'synthetic' where it is."""
    text = f"Imagery: {scene.provider} ({scene.licence})"
    return f"{text} — {SYNTHETIC_NOTE}" if scene.synthetic else text


def scene_item(
    scene: Scene,
    base_url: str | None,
    *,
    item_id: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> pystac.Item:
    """The STAC Item of a scene, or of its part inside ``bbox`` (a report's chip, as ``item_id``).

    With ``base_url``, assets and links point at tumen's own URLs, never at files on disk; without
    it (an item that travels with its files) the caller adds the assets.
    """
    area = bbox or scene.geographic_bounds
    props: dict[str, Any] = {
        "title": scene.id,
        "description": scene.description,
        "gsd": scene.gsd,
        "license": "other" if " " in scene.licence else scene.licence,
        "providers": [{"name": scene.provider, "roles": ["producer", "licensor"]}],
        "tumen:sites": scene.sites,
        "tumen:local_datetime": scene.datetime.isoformat(),
        "tumen:synthetic": scene.synthetic,
        "tumen:licence": scene.licence,
        "tumen:crs": scene.crs,
        "tumen:version": scene.version,
        "tumen:attribution": attribution(scene),
    }
    if bbox is None:  # the whole raster's extent and size; a part has its own
        props |= {"tumen:bounds": list(scene.bounds), "tumen:shape": [scene.height, scene.width]}
    item = pystac.Item(
        id=item_id or scene.id,
        geometry=mapping(box(*area)),
        bbox=list(area),
        datetime=scene.datetime.astimezone(UTC),
        properties=props,
    )
    if base_url is None:
        return item
    scene_url = f"{base_url.rstrip('/')}/scenes/{scene.id}"
    item.add_asset(
        "tilejson",
        pystac.Asset(
            href=f"{scene_url}/{WEB_MERCATOR}/tilejson.json",
            media_type=pystac.MediaType.JSON,
            roles=["tiles"],
            title=f"TileJSON ({WEB_MERCATOR})",
        ),
    )
    item.add_asset(
        "thumbnail",
        pystac.Asset(
            href=f"{scene_url}/preview.png?max_size=512",
            media_type=pystac.MediaType.PNG,
            roles=["thumbnail"],
        ),
    )
    item.add_asset(
        "wmts",
        pystac.Asset(
            href=f"{scene_url}/{WEB_MERCATOR}/WMTSCapabilities.xml",
            media_type=pystac.MediaType.XML,
            roles=["metadata"],
            title="WMTS capabilities",
        ),
    )
    item.add_link(pystac.Link(rel="self", target=scene_url, media_type=pystac.MediaType.GEOJSON))
    if scene.source_item:
        item.add_link(
            pystac.Link(
                rel="derived_from", target=scene.source_item, media_type=pystac.MediaType.GEOJSON
            )
        )
    return item
