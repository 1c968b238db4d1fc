"""FastAPI dependencies that turn a request into a registered COG: by scene id, or by site and time."""

from datetime import UTC, date, datetime, time
from pathlib import Path as Path_
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from rio_tiler.expression import parse_expression
from titiler.core.dependencies import BidxExprParams, DatasetParams, ImageRenderingParams

from tiles.catalog import Catalog, Scene
from tiles.errors import BadRequestParameter, InvalidDatetime, SceneUnavailable, SiteNotFound
from tiles.limits import check_nodata
from tiles.remote import GDAL_REMOTE_ENV, is_remote
from tiles.resolve import SceneResolver
from tiles.sites import Site

# What WMTS clients send for "no time chosen": QGIS 3.22 leaves the {Time} placeholder unfilled.
LATEST = {"", "latest", "current", "now", "{time}"}


def parse_datetime(value: str | None) -> datetime | None:
    """An instant from ISO 8601; a bare date means the end of that day (UTC); None means latest."""
    if value is None or value.strip().lower() in LATEST:
        return None
    text = value.strip()
    # An unencoded '+' in a query string arrives as a space: "2022-11-04T10:24:00 09:00".
    if "T" in text and " " in text:
        text = text.replace(" ", "+")
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time.max, tzinfo=UTC)
        when = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as err:
        raise InvalidDatetime(value) from err
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


async def get_catalog(request: Request) -> Catalog:
    """The catalog the app opened in its lifespan."""
    return request.app.state.catalog  # type: ignore[no-any-return]


async def get_sites(request: Request) -> dict[str, Site]:
    """The sites the app loaded from the sites file."""
    return request.app.state.sites  # type: ignore[no-any-return]


async def refuse_url(request: Request) -> None:
    """Tumen reads only registered scenes: a ``url=`` parameter is refused, never opened."""
    if "url" in request.query_params:
        raise BadRequestParameter(
            "the 'url' parameter is not accepted: tumen serves registered scenes only "
            "(use /scenes/{scene_id}/... or /sites/{site_id}/...)"
        )


async def gdal_env() -> dict[str, str]:
    """GDAL settings for every read (those of remote COGs; harmless for local files)."""
    return GDAL_REMOTE_ENV


def get_resolver(request: Request) -> SceneResolver:
    """The memoised scene look-ups the app opened in its lifespan."""
    return request.app.state.resolver  # type: ignore[no-any-return]


def _scene_file(request: Request, scene: Scene) -> str:
    location = get_resolver(request).catalog.location(scene)
    if not is_remote(location) and not Path_(location).is_file():
        raise SceneUnavailable(scene.id, "its COG is missing on disk")
    request.state.scene = scene
    return location


async def scene_path(
    request: Request,
    scene_id: Annotated[str, Path(description="A scene id from /scenes.")],
) -> str:
    """Path of the registered COG of ``scene_id``."""
    return _scene_file(request, get_resolver(request).get(scene_id))


async def site_scene(
    request: Request,
    site_id: Annotated[str, Path(description="bridge, khasan, tumangang or rajin.")],
    datetime: Annotated[
        str | None,
        Query(
            description="ISO 8601 instant (or a date); the scene current then is used. "
            "Omitted or 'latest': the newest scene."
        ),
    ] = None,
) -> Scene:
    """The scene of a site that was current at ``datetime`` (the latest at or before it)."""
    sites = request.app.state.sites
    if site_id not in sites:
        raise SiteNotFound(site_id, list(sites))
    return get_resolver(request).at(site_id, parse_datetime(datetime))


async def scene_layer_params(
    request: Request, params: Annotated[BidxExprParams, Depends(BidxExprParams)]
) -> BidxExprParams:
    """Band choice: the request's, else the scene's stored default (e.g. R,G,B of a 4-band product).

    Runs after the path dependency, which put the scene on request.state.
    """
    scene = getattr(request.state, "scene", None)
    if scene is None:
        return params
    if params.indexes is None and params.expression is None:
        params.indexes = scene.render.get("bidx")
    asked = parse_expression(params.expression) if params.expression else params.indexes or []
    missing = [str(b) for b in asked if scene.bands is not None and not 1 <= b <= scene.bands]
    if missing:
        raise BadRequestParameter(
            f"band {', '.join(missing)} does not exist: "
            f"scene '{scene.id}' has bands 1 to {scene.bands}"
        )
    return params


async def scene_dataset_params(
    request: Request, params: Annotated[DatasetParams, Depends(DatasetParams)]
) -> DatasetParams:
    """GDAL's read options; a nodata override must fit the scene's data type."""
    scene = getattr(request.state, "scene", None)
    if scene is not None:
        check_nodata(request.query_params.get("nodata"), scene.dtype)
    return params


async def scene_render_params(
    request: Request, params: Annotated[ImageRenderingParams, Depends(ImageRenderingParams)]
) -> ImageRenderingParams:
    """Rescale: the request's, else the scene's stored default (percentiles of 16-bit data)."""
    scene = getattr(request.state, "scene", None)
    if scene is not None and params.rescale is None and scene.render.get("rescale"):
        params.rescale = [tuple(r) for r in scene.render["rescale"]]  # type: ignore[misc]
    return params


async def site_scene_path(request: Request, scene: Annotated[Scene, Depends(site_scene)]) -> str:
    """Path of the COG of the site's scene at ``datetime``."""
    return _scene_file(request, scene)
