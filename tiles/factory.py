"""TiTiler's TilerFactory, made to name datasets by scene or by site+time and to credit the provider."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import rasterio
from attrs import define
from fastapi import Depends, Path, Query, Request
from fastapi.responses import Response
from morecantile.defaults import TileMatrixSets
from titiler.core.dependencies import DefaultDependency
from titiler.core.factory import TilerFactory
from titiler.core.models.mapbox import TileJSON
from titiler.core.resources.enums import ImageType

from tiles.aligned import AlignedGrid
from tiles.catalog import Catalog, Scene
from tiles.datasets import TILE_MATRIX_SETS, grid_of
from tiles.dependencies import SceneDependency, get_catalog
from tiles.reader import SceneReader
from tiles.render import render_tile
from tiles.stac import attribution
from tiles.wmts import WmtsLayer, formats_for, render_capabilities


@dataclass
class GridParams(DefaultDependency):
    """The reader's argument: the scene's grid on WebMercatorQuad (None: the COG answers all)."""

    grid: AlignedGrid | None = None


def grid_params(scene: SceneDependency) -> Callable[..., Awaitable[GridParams]]:
    """The grid of the version of the scene that ``scene`` finds, if it has one."""

    async def grid(
        s: Annotated[Scene, Depends(scene)], catalog: Annotated[Catalog, Depends(get_catalog)]
    ) -> GridParams:
        return GridParams(grid_of(catalog.data_dir, s.id, s.version))

    return grid


@define(kw_only=True)
class ImageryFactory(TilerFactory):
    """One family of imagery routes; ``scene_dependency`` decides how a request names its scene.

    ``path_dependency`` and the parameter dependencies are those of ``scene_params`` for the same
    scene dependency, so FastAPI finds the scene once per request and every part sees the same one.
    """

    scene_dependency: SceneDependency
    reader: type[SceneReader] = SceneReader
    render_func: Callable[..., tuple[bytes, str]] = render_tile  # TiTiler's pixels, faster encoders
    supported_tms: TileMatrixSets = TILE_MATRIX_SETS  # kept per thread, not copied per tile
    add_viewer: bool = False

    def register_routes(self) -> None:
        """TiTiler's routes, plus a WMTS document for the dataset."""
        self.reader_dependency = grid_params(self.scene_dependency)  # type: ignore[assignment]
        super().register_routes()
        self.wmts()

    def tilejson(self) -> None:
        """TileJSON whose attribution names the scene's provider and says 'synthetic' where it is."""

        @self.router.get(
            "/{tileMatrixSetId}/tilejson.json",
            response_model=TileJSON,
            response_model_exclude_none=True,
            operation_id=f"{self.operation_prefix}getTileJSON",
        )
        def tilejson(
            request: Request,
            tileMatrixSetId: Annotated[
                str,
                Path(pattern=f"^({'|'.join(self.supported_tms.list())})$"),
            ],
            tile_format: Annotated[ImageType | None, Query()] = None,
            tilesize: Annotated[int | None, Query(gt=0)] = None,
            src_path: str = Depends(self.path_dependency),
            scene: Scene = Depends(self.scene_dependency),
        ) -> dict[str, Any]:
            params: dict[str, Any] = {"z": "{z}", "x": "{x}", "y": "{y}"}
            params["tileMatrixSetId"] = tileMatrixSetId
            # Point clients at the baked format, so they get the archive rather than rendering.
            fmt = tile_format.value if tile_format else scene.tile_format
            if fmt:
                params["format"] = fmt
            url = self.url_for(request, "tile", **params)
            keep = [
                (k, v)
                for k, v in request.query_params.multi_items()
                if k not in {"tile_format", "tileMatrixSetId"}
            ]
            if keep:
                url += "?" + urlencode(keep)
            tms = self.supported_tms.get(tileMatrixSetId)
            with rasterio.Env(), self.reader(src_path, tms=tms) as src:
                bounds = src.get_geographic_bounds(tms.rasterio_geographic_crs)
                minzoom, maxzoom = src.minzoom, src.maxzoom
            return {
                "tilejson": "3.0.0",
                "name": scene.id,
                "description": scene.description,
                "bounds": bounds,
                "minzoom": minzoom,
                "maxzoom": maxzoom,
                "tiles": [url],
                "attribution": attribution(scene),
            }

    def wmts(self) -> None:
        """A one-layer WMTS capabilities document for the dataset."""

        @self.router.get(
            "/{tileMatrixSetId}/WMTSCapabilities.xml",
            response_class=Response,
            responses={200: {"content": {"application/xml": {}}}},
            operation_id=f"{self.operation_prefix}getWMTS",
        )
        def wmts(
            request: Request,
            tileMatrixSetId: Annotated[
                str,
                Path(pattern=f"^({'|'.join(self.supported_tms.list())})$"),
            ],
            src_path: str = Depends(self.path_dependency),
            scene: Scene = Depends(self.scene_dependency),
        ) -> Response:
            tms = self.supported_tms.get(tileMatrixSetId)
            with rasterio.Env(), self.reader(src_path, tms=tms) as src:
                bounds = src.get_geographic_bounds(tms.rasterio_geographic_crs)
                minzoom, maxzoom = src.minzoom, src.maxzoom
            template = self.url_for(
                request,
                "tile",
                tileMatrixSetId=tileMatrixSetId,
                z="{TileMatrix}",
                x="{TileCol}",
                y="{TileRow}",
                format="{fmt}",
            )
            if request.query_params:
                template += "?" + urlencode(list(request.query_params.multi_items()))
            layer = WmtsLayer(
                identifier=scene.id,
                title=scene.id,
                abstract=f"{scene.description} {attribution(scene)}",
                bbox=bounds,
                template=template,
                minzoom=max(0, minzoom - 6),
                maxzoom=maxzoom + 2,
                formats=formats_for(scene.tile_format),
            )
            xml = render_capabilities(
                layers=[layer],
                tms=tms,
                self_url=str(request.url),
                title=f"tumen scene {scene.id}",
                abstract=attribution(scene),
            )
            return Response(xml, media_type="application/xml")
