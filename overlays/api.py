"""What every /api route shares: the collections, the configuration, links and responses."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from overlays import html
from overlays.errors import CollectionNotFound
from overlays.sites import SiteInfo
from overlays.store import ObservationStore

GEOJSON = "application/geo+json"
COLLECTIONS = {
    "observations": "Sightings of trains, wagons, cargo and ships, with their sources",
    "tracks": "One object followed over time: lines through the sightings sharing a track_id",
    "sites": "The watched sites (bbox) with their baselines",
    "scenes": "Footprints and times of the imagery scenes",
}


@dataclass
class FeaturesConfig:
    """What the composition root hands the API: the store, sites, scenes, and write settings."""

    store: Callable[[], ObservationStore]
    sites: dict[str, SiteInfo]
    scenes: Callable[
        [], list[dict[str, Any]]
    ]  # {id, datetime, sites, bbox, synthetic, provider, description}
    api_key: str | None
    write_rate: int  # writes per minute per API key; 0: no limit


def base_url(request: Request) -> str:
    """The public root of this server, honouring X-Forwarded-Proto/-Host/-Prefix from a proxy."""
    proto = request.headers.get("x-forwarded-proto", request.url.scheme).split(",")[0].strip()
    host = request.headers.get("x-forwarded-host", request.headers.get("host", request.url.netloc))
    prefix = request.headers.get("x-forwarded-prefix", "").rstrip("/")
    return f"{proto}://{host.split(',')[0].strip()}{prefix}"


def respond(
    request: Request,
    doc: dict[str, Any],
    title: str,
    *,
    geo: bool,
    f: str | None,
    headers: dict[str, str] | None = None,
) -> Response:
    """JSON (GeoJSON for features), or a readable HTML page for f=html or a browser."""
    if f == "html" or (
        f is None
        and "text/html" in request.headers.get("accept", "")
        and "json" not in request.headers.get("accept", "")
    ):
        render = html.features_html if geo else html.document_html
        return HTMLResponse(render(title, doc), headers=headers)
    return JSONResponse(doc, media_type=GEOJSON if geo else "application/json", headers=headers)


def etag(version: int) -> str:
    """The ETag of a sighting: its version."""
    return f'"{version}"'


def known(cid: str) -> None:
    """404 for a collection this API does not have."""
    if cid not in COLLECTIONS:
        raise CollectionNotFound(cid, list(COLLECTIONS))
