"""Catalog routes: scenes as STAC, site calendars, the time-aware WMTS, and the tile route families."""

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import FileResponse, Response
from titiler.core.resources.responses import GeoJSONResponse

from tiles.bake import archive_path
from tiles.catalog import Catalog
from tiles.dependencies import (
    gdal_env,
    get_catalog,
    get_sites,
    get_storage,
    known_site,
    refuse_url,
    scene_at_site,
    scene_by_id,
    scene_params,
)
from tiles.errors import BadRequestParameter, SceneNotBaked
from tiles.factory import ImageryFactory
from tiles.grid import WEB_MERCATOR, web_mercator
from tiles.limits import (
    bounded_part_params,
    check_address,
    check_geojson_body,
    colormap_params,
    query_limits,
)
from tiles.ranged import ranged_response
from tiles.sites import Site
from tiles.stac import attribution, scene_item
from tiles.storage import Storage, is_s3
from tiles.times import parse_datetime
from tiles.wmts import WmtsLayer, formats_for, render_capabilities, wmts_time

# The errors each route answers; their body ({"detail": message}) is documented by tumen.errors.
Responses = dict[int | str, dict[str, Any]]
REFUSED: Responses = {
    400: {"description": "A parameter tumen refuses or cannot use, named in the message."}
}
UNKNOWN_SCENE: Responses = {
    404: {"description": "The scene is not in the catalog (or has no archive)."}
}
UNKNOWN_SITE: Responses = {
    404: {"description": "The site is unknown, or has no scene at that time."}
}
IMAGERY_ERRORS: Responses = {
    **REFUSED,
    404: {
        "description": "The scene or site is unknown, the site has no scene at that time, "
        "or the tile, point or area is outside the scene or its tile matrix set."
    },
    503: {"description": "The scene's imagery could not be read; try again later."},
}


def _base(request: Request) -> str:
    """The public root (tumen.forwarded applied the proxy's scheme, host and prefix)."""
    return str(request.base_url).rstrip("/")


def catalog_router() -> APIRouter:
    """Routes that describe the catalog: /scenes, /sites, calendars and the site WMTS."""
    router = APIRouter(dependencies=[Depends(refuse_url)], responses=REFUSED)

    @router.get("/scenes", tags=["Scenes"], response_class=GeoJSONResponse)
    def list_scenes(
        request: Request,
        catalog: Annotated[Catalog, Depends(get_catalog)],
        sites: Annotated[Mapping[str, Site], Depends(get_sites)],
        site: Annotated[str | None, Query(description="Only scenes covering this site.")] = None,
    ) -> Response:
        """Every scene as a STAC ItemCollection, in time order."""
        if site is not None and site not in sites:
            raise BadRequestParameter(
                f"site: unknown site '{site}'; known sites: {', '.join(sorted(sites))}"
            )
        items = [scene_item(s, _base(request)).to_dict() for s in catalog.list(site)]
        body = {
            "type": "FeatureCollection",
            "features": items,
            "numberReturned": len(items),
            "links": [
                {"rel": "self", "href": str(request.url), "type": GeoJSONResponse.media_type}
            ],
        }
        return GeoJSONResponse(body)

    @router.get(
        "/scenes/{scene_id}.pmtiles",
        tags=["Scenes"],
        response_class=FileResponse,
        responses={200: {"content": {"application/vnd.pmtiles": {}}}, **UNKNOWN_SCENE},
    )
    def scene_archive(
        request: Request,
        scene_id: Annotated[str, Path()],
        catalog: Annotated[Catalog, Depends(get_catalog)],
        storage: Annotated[Storage, Depends(get_storage)],
    ) -> Response:
        """The scene's baked PMTiles archive, with HTTP Range support for PMTiles clients."""
        scene = catalog.get(scene_id)
        headers = {"Cache-Control": "public, max-age=3600"}
        media = "application/vnd.pmtiles"
        if scene.is_baked and scene.archive is not None and is_s3(scene.archive):
            if storage.local:  # this instance has no S3 to read it from
                raise SceneNotBaked(scene.id)
            source = storage.open_range(scene.archive)
            return ranged_response(source, request.headers.get("range"), media, headers)
        path = archive_path(catalog.data_dir, scene.id)
        if not scene.is_baked or not path.is_file():
            raise SceneNotBaked(scene.id)
        return FileResponse(path, media_type=media, headers=headers)

    @router.get(
        "/scenes/{scene_id}",
        tags=["Scenes"],
        response_class=GeoJSONResponse,
        responses=UNKNOWN_SCENE,
    )
    def get_scene(
        request: Request,
        scene_id: Annotated[str, Path()],
        catalog: Annotated[Catalog, Depends(get_catalog)],
    ) -> Response:
        """A scene as a STAC Item."""
        item = scene_item(catalog.get(scene_id), _base(request))
        return GeoJSONResponse(item.to_dict())

    @router.get("/sites", tags=["Sites"])
    def list_sites(
        sites: Annotated[Mapping[str, Site], Depends(get_sites)],
    ) -> dict[str, Any]:
        """The watched sites with their names and bboxes (and reference layers where drawn)."""
        return {"sites": [s.model_dump(mode="json", exclude_none=True) for s in sites.values()]}

    @router.get("/sites/{site_id}/calendar", tags=["Sites"], responses=UNKNOWN_SITE)
    def calendar(
        site: Annotated[Site, Depends(known_site)],
        catalog: Annotated[Catalog, Depends(get_catalog)],
    ) -> dict[str, Any]:
        """The dates (and exact times) of a site's scenes, oldest first."""
        scenes = catalog.list(site.id)
        return {
            "site": site.id,
            "name": site.name,
            "scenes": [
                {
                    "id": s.id,
                    "datetime": s.datetime.isoformat(),
                    "date": s.datetime.date().isoformat(),
                    "time": wmts_time(s.datetime),
                    "synthetic": s.synthetic,
                    "gsd": s.gsd,
                    "provider": s.provider,
                    "attribution": attribution(s),
                    "description": s.description,
                    "bbox": list(s.geographic_bounds),
                    "tile_format": s.tile_format if s.is_baked else None,
                }
                for s in scenes
            ],
            "dates": sorted({s.datetime.date().isoformat() for s in scenes}),
        }

    @router.get(
        "/wmts/WMTSCapabilities.xml",
        tags=["WMTS"],
        response_class=Response,
        responses={200: {"content": {"application/xml": {}}}, **REFUSED},
    )
    def wmts(
        request: Request,
        catalog: Annotated[Catalog, Depends(get_catalog)],
        sites: Annotated[Mapping[str, Site], Depends(get_sites)],
        datetime: Annotated[
            str | None,
            Query(
                description="Make the scene current at this time each layer's default Time "
                "(for clients that cannot choose a dimension value, e.g. GDAL 3.6)."
            ),
        ] = None,
    ) -> Response:
        """One layer per site, with a TIME dimension listing that site's scene times."""
        when = parse_datetime(datetime)
        tms = web_mercator()
        base = _base(request)
        layers = []
        for site in sites.values():
            scenes = catalog.list(site.id)
            if not scenes:
                continue
            template = (
                f"{base}/sites/{site.id}/tiles/{WEB_MERCATOR}/{{TileMatrix}}/{{TileCol}}/"
                f"{{TileRow}}.{{fmt}}?datetime={{Time}}"
            )
            layers.append(
                WmtsLayer(
                    identifier=site.id,
                    title=site.name,
                    abstract=f"{site.description} Latest: {attribution(scenes[-1])}",
                    # What can be drawn: the union of the site's scene footprints.
                    bbox=(
                        min(s.geographic_bounds[0] for s in scenes),
                        min(s.geographic_bounds[1] for s in scenes),
                        max(s.geographic_bounds[2] for s in scenes),
                        max(s.geographic_bounds[3] for s in scenes),
                    ),
                    template=template,
                    minzoom=10,
                    maxzoom=20,
                    times=[wmts_time(s.datetime) for s in scenes],
                    default=wmts_time(catalog.at(site.id, when).datetime)
                    if when and scenes[0].datetime <= when
                    else None,
                    formats=formats_for(scenes[-1].tile_format),
                )
            )
        xml = render_capabilities(
            layers=layers,
            tms=tms,
            self_url=str(request.url),
            title="tumen: dated imagery of the DPRK–Russia border",
            abstract="Choose a date with the Time dimension; synthetic demo scenes say so.",
        )
        return Response(xml, media_type="application/xml")

    return router


def add_imagery_routes(app: FastAPI, *, max_part_px: int) -> None:
    """Mount the catalog routes, then one TiTiler route family per way of naming a scene.

    ``max_part_px`` bounds the side of a bbox or feature crop (downsampled beyond it).
    """
    app.include_router(catalog_router())
    for scene, prefix in (
        (scene_by_id, "/scenes/{scene_id}"),
        (scene_at_site, "/sites/{site_id}"),
    ):
        params = scene_params(scene)
        family = ImageryFactory(
            scene_dependency=scene,
            path_dependency=params.path,
            layer_dependency=params.layer,  # type: ignore[arg-type]
            render_dependency=params.render,  # type: ignore[arg-type]
            dataset_dependency=params.dataset,  # type: ignore[arg-type]
            colormap_dependency=colormap_params,  # type: ignore[arg-type]
            img_part_dependency=bounded_part_params(max_part_px),
            environment_dependency=gdal_env,  # type: ignore[arg-type]  # async: no thread hop
            router_prefix=prefix,
            router=APIRouter(
                responses=IMAGERY_ERRORS,
                dependencies=[
                    Depends(refuse_url),
                    Depends(check_address),
                    Depends(check_geojson_body),
                    Depends(query_limits(max_part_px)),
                ],
            ),
        )
        app.include_router(family.router, prefix=prefix, tags=["Tiles"])
