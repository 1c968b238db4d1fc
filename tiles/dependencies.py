"""FastAPI dependencies that turn a request into a registered COG: by scene id, or by site and time."""

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path as Path_
from typing import Annotated

import morecantile
from fastapi import Depends, Path, Query, Request
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.expression import parse_expression
from titiler.core.dependencies import BidxExprParams, ImageRenderingParams, PartFeatureParams

from tiles.catalog import Catalog, Scene
from tiles.errors import BadRequestParameter, InvalidDatetime, SceneUnavailable, SiteNotFound
from tiles.remote import is_remote
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


async def check_address(request: Request) -> None:
    """Refuse a tile outside its matrix set and non-finite or out-of-range coordinates, before any read.

    GDAL, PROJ and morecantile fail deep inside on such values (overflow, invalid latitude, NaN), which
    would surface as 500s.
    """
    p = request.path_params
    if {"z", "x", "y", "tileMatrixSetId"} <= p.keys():
        try:
            z, x, y = int(p["z"]), int(p["x"]), int(p["y"])
            tms = morecantile.tms.get(p["tileMatrixSetId"])
        except (ValueError, morecantile.errors.InvalidIdentifier):
            return  # FastAPI's own validation names the bad value
        if not tms.minzoom <= z <= tms.maxzoom:
            raise TileOutsideBounds(
                f"zoom {z} is outside {tms.id} (zoom {tms.minzoom} to {tms.maxzoom})"
            )
        matrix = tms.matrix(z)
        if not (0 <= x < matrix.matrixWidth and 0 <= y < matrix.matrixHeight):
            raise TileOutsideBounds(
                f"tile {z}/{x}/{y} is outside {tms.id}: at zoom {z}, x runs 0 to "
                f"{matrix.matrixWidth - 1} and y 0 to {matrix.matrixHeight - 1}"
            )
    geographic = "coord_crs" not in request.query_params
    for name, limit in (
        ("minx", 180),
        ("maxx", 180),
        ("lon", 180),
        ("miny", 90),
        ("maxy", 90),
        ("lat", 90),
    ):
        if name not in p:
            continue
        try:
            value = float(p[name])
        except ValueError:
            continue
        if not math.isfinite(value):
            raise BadRequestParameter(f"{name}: {p[name]} is not a finite number")
        if geographic and abs(value) > limit:
            axis = "longitude" if limit == 180 else "latitude"
            raise BadRequestParameter(f"{name}: {p[name]} is not a {axis} (-{limit} to {limit})")


def bounded_part_params(max_px: int) -> type[PartFeatureParams]:
    """Bbox and feature crops: native resolution up to ``max_px`` on a side, downsampled beyond.

    rio-tiler's Reader allocates whatever a bbox asks for (a continent at 0.5 m is hundreds of GiB).
    """

    @dataclass
    class BoundedPartParams(PartFeatureParams):
        def __post_init__(self) -> None:
            for name in ("max_size", "width", "height"):
                value = getattr(self, name)
                if value is not None and not 1 <= value <= max_px:
                    raise BadRequestParameter(f"{name}: must be between 1 and {max_px} pixels")
            if self.width or self.height:
                self.max_size = None
            else:
                self.max_size = self.max_size or max_px

    return BoundedPartParams


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
    if scene.bands is not None and any(not 1 <= b <= scene.bands for b in asked):
        raise BadRequestParameter(
            f"band {', '.join(str(b) for b in asked if not 1 <= b <= scene.bands)} does not exist: "
            f"scene '{scene.id}' has bands 1 to {scene.bands}"
        )
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
