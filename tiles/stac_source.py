"""Imagery found in STAC catalogs: search an API for a site and time, register an item's asset."""

from datetime import datetime
from typing import Any

import pystac
import pystac_client
from shapely.geometry import box, shape

from tiles.errors import IngestError
from tiles.sites import Site, covered_sites

RASTER_TYPES = ("image/tiff", "image/jp2", "application/x-geotiff")


def search(
    api: str,
    site: Site,
    when: str,
    *,
    collection: str | None = None,
    max_cloud: float | None = None,
    sites: dict[str, Site],
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Items over the site in the time range, with date, gsd, cloud cover and the sites they cover."""
    client = pystac_client.Client.open(api)
    result = client.search(
        bbox=list(site.bbox),
        datetime=when,
        collections=[collection] if collection else None,
        max_items=limit,
    )
    rows = []
    for item in result.items():
        cloud = item.properties.get("eo:cloud_cover")
        if max_cloud is not None and cloud is not None and cloud > max_cloud:
            continue
        if item.geometry is None and not item.bbox:
            continue  # an item with no footprint covers no site
        footprint = shape(item.geometry) if item.geometry else box(*item.bbox)  # type: ignore[misc]
        rows.append(
            {
                "id": item.id,
                "datetime": item.datetime.isoformat() if item.datetime else None,
                "gsd": item.properties.get("gsd"),
                "cloud": cloud,
                "sites": covered_sites(footprint.bounds, sites),
                "href": item.get_self_href(),
            }
        )
    return rows


def raster_asset(item: pystac.Item, name: str | None) -> tuple[str, pystac.Asset]:
    """The asset to register: the one named, else 'visual', else the first raster asset."""
    if name:
        if name not in item.assets:
            raise IngestError(
                f"STAC item '{item.id}' has no asset '{name}'; it has {', '.join(item.assets)}"
            )
        return name, item.assets[name]
    if "visual" in item.assets:
        return "visual", item.assets["visual"]
    for key, asset in item.assets.items():
        if (asset.media_type or "").split(";")[0] in RASTER_TYPES or "data" in (asset.roles or []):
            return key, asset
    raise IngestError(f"STAC item '{item.id}' has no raster asset")


def read_item(location: str) -> pystac.Item:
    """A STAC Item from a URL or a file, with a one-line error when it is not one."""
    try:
        return pystac.Item.from_file(location)
    except Exception as err:  # pystac raises many types for bad input; all mean "not an item"
        raise IngestError(
            f"{location}: not a readable STAC Item ({err.__class__.__name__})"
        ) from err


def item_facts(item: pystac.Item) -> dict[str, Any]:
    """Datetime, provider and licence of an item, as a scene keeps them."""
    when = item.datetime or (
        datetime.fromisoformat(item.properties["start_datetime"].replace("Z", "+00:00"))
        if item.properties.get("start_datetime")
        else None
    )
    providers = item.properties.get("providers") or []
    return {
        "when": when,
        "provider": providers[0]["name"] if providers else "unknown",
        "licence": item.properties.get("license", "unknown"),
        "description": item.properties.get("title") or item.properties.get("description") or "",
    }
