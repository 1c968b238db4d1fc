"""FastAPI dependencies of the imagery side: the catalog, a site, and the Scene a request names.

A request names its scene by id (``/scenes/{scene_id}``) or by site and time
(``/sites/{site_id}?datetime=``); a *scene dependency* returns that ``Scene``. Everything else that
needs the scene (its COG's location, default bands and rescale, the nodata check, TileJSON and WMTS)
depends on the same scene dependency, which FastAPI resolves once per request. The composition root
opens the catalog and resolver in its lifespan; the ``get_*`` functions here are the only readers of
``app.state``.
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path as Path_
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from rio_tiler.expression import parse_expression
from titiler.core.dependencies import BidxExprParams, DatasetParams, ImageRenderingParams

from tiles.catalog import Catalog, Scene
from tiles.errors import BadRequestParameter, SceneUnavailable, SiteNotFound
from tiles.limits import check_nodata
from tiles.remote import GDAL_REMOTE_ENV, is_remote
from tiles.resolve import SceneResolver
from tiles.sites import Site
from tiles.storage import Storage
from tiles.times import parse_datetime

SceneDependency = Callable[..., Awaitable[Scene]]


async def get_catalog(request: Request) -> Catalog:
    """The catalog the app opened in its lifespan."""
    return request.app.state.catalog  # type: ignore[no-any-return]


async def get_resolver(request: Request) -> SceneResolver:
    """The memoised scene look-ups the app opened in its lifespan."""
    return request.app.state.resolver  # type: ignore[no-any-return]


async def get_storage(request: Request) -> Storage:
    """Where COGs and archives are (the data dir, or the bucket of TUMEN_STORAGE_URL)."""
    return request.app.state.storage  # type: ignore[no-any-return]


async def get_sites(
    resolver: Annotated[SceneResolver, Depends(get_resolver)],
) -> Mapping[str, Site]:
    """The catalog's sites as they are now (re-read only after the catalog file changed)."""
    return resolver.sites()


async def known_site(
    site_id: Annotated[str, Path(description="A site id from /sites.")],
    sites: Annotated[Mapping[str, Site], Depends(get_sites)],
) -> Site:
    """The site a path names (404 naming the known ones otherwise)."""
    if site_id not in sites:
        raise SiteNotFound(site_id, list(sites))
    return sites[site_id]


async def refuse_url(request: Request) -> None:
    """Tumen reads only registered scenes: a ``url=`` parameter is refused, never opened."""
    if "url" in request.query_params:
        raise BadRequestParameter(
            "the 'url' parameter is not accepted: tumen serves registered scenes only "
            "(use /scenes/{scene_id}/... or /sites/{site_id}/...)"
        )


async def gdal_env() -> dict[str, Any]:
    """GDAL settings for every read (those of remote COGs; harmless for local files)."""
    return GDAL_REMOTE_ENV


async def scene_by_id(
    scene_id: Annotated[str, Path(description="A scene id from /scenes.")],
    resolver: Annotated[SceneResolver, Depends(get_resolver)],
) -> Scene:
    """The scene ``scene_id`` names (404 otherwise)."""
    return resolver.get(scene_id)


async def scene_at_site(
    site: Annotated[Site, Depends(known_site)],
    resolver: Annotated[SceneResolver, Depends(get_resolver)],
    datetime: Annotated[
        str | None,
        Query(
            description="ISO 8601 instant (or a date); the scene current then is used. "
            "Omitted or 'latest': the newest scene."
        ),
    ] = None,
) -> Scene:
    """The scene of a site that was current at ``datetime`` (the latest at or before it)."""
    return resolver.at(site.id, parse_datetime(datetime))


@dataclass(frozen=True)
class SceneParams:
    """The TiTiler dependencies of one route family, all reading the scene its path names."""

    path: Callable[..., Awaitable[str]]
    layer: Callable[..., Awaitable[BidxExprParams]]
    dataset: Callable[..., Awaitable[DatasetParams]]
    render: Callable[..., Awaitable[ImageRenderingParams]]


def scene_params(scene: SceneDependency) -> SceneParams:
    """The location, band, read and rendering dependencies for scenes found by ``scene``."""
    The = Annotated[Scene, Depends(scene)]

    async def location(s: The, resolver: Annotated[SceneResolver, Depends(get_resolver)]) -> str:
        """What GDAL opens for the scene (503 when its COG is missing on disk)."""
        where = resolver.catalog.location(s)
        if not is_remote(where) and not Path_(where).is_file():
            raise SceneUnavailable(s.id, "its COG is missing on disk")
        return where

    async def layer(
        s: The, params: Annotated[BidxExprParams, Depends(BidxExprParams)]
    ) -> BidxExprParams:
        """Band choice: the request's, else the scene's default (e.g. R,G,B of a 4-band product)."""
        if params.indexes is None and params.expression is None:
            params.indexes = s.render.get("bidx")
        asked = parse_expression(params.expression) if params.expression else params.indexes or []
        missing = [str(b) for b in asked if s.bands is not None and not 1 <= b <= s.bands]
        if missing:
            raise BadRequestParameter(
                f"band {', '.join(missing)} does not exist: scene '{s.id}' has bands 1 to {s.bands}"
            )
        return params

    async def dataset(
        request: Request, s: The, params: Annotated[DatasetParams, Depends(DatasetParams)]
    ) -> DatasetParams:
        """GDAL's read options; a nodata override must fit the scene's data type."""
        check_nodata(request.query_params.get("nodata"), s.dtype)
        return params

    async def render(
        s: The, params: Annotated[ImageRenderingParams, Depends(ImageRenderingParams)]
    ) -> ImageRenderingParams:
        """Rescale: the request's, else the scene's default (percentiles of 16-bit data)."""
        if params.rescale is None and s.render.get("rescale"):
            params.rescale = [tuple(r) for r in s.render["rescale"]]  # type: ignore[misc]
        return params

    return SceneParams(path=location, layer=layer, dataset=dataset, render=render)
