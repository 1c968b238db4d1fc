"""POST /scenes/{scene_id}/analysis: run the analysis on a registered scene and keep its candidates."""

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from overlays.dependencies import get_store
from overlays.store import ObservationStore
from tiles.catalog import Catalog, Scene
from tiles.dependencies import get_catalog, get_sites, scene_by_id
from tiles.sites import Site
from tumen.analyze import analyze_scene


class AnalysisRequest(BaseModel):
    """The options of ``tumen analyze``, as JSON."""

    model_config = ConfigDict(extra="forbid")

    baseline: str | None = Field(
        None,
        description="Scene to compare with; default: the site's scene marked baseline, else its "
        "earliest (never the scene itself).",
    )


class AnalysisSummary(BaseModel):
    """What a run found and what it did to the scene's automated sightings."""

    scene_id: str
    summary: str = Field(description="One line, as `tumen analyze` prints it.")
    sites: list[dict[str, Any]] = Field(description="Per site: baseline, notes, km², seconds.")
    skipped: list[str] = Field(description="Sites not analysed, and why.")
    trains: int
    wagons: int
    ships: int
    cargo_areas: int
    cargo_m2: float
    replaced: int = Field(description="Automated sightings of the scene that the run replaced.")
    sightings: list[str] = Field(description="Ids of the new candidate sightings.")
    seconds: float


def analysis_router(actor: Callable[..., str], max_km2: float) -> APIRouter:
    """The analysis route; ``actor`` is the sightings API's key and write-budget dependency."""
    router = APIRouter(tags=["Analysis"])

    @router.post(
        "/scenes/{scene_id}/analysis",
        response_model=AnalysisSummary,
        responses={
            400: {
                "description": "An unknown baseline, one of another site, no overlap, too large."
            },
            403: {"description": "Writes are disabled, or X-API-Key is missing or wrong."},
            404: {"description": "The scene is not in the catalog."},
            429: {"description": "Too many writes with this key."},
            503: {"description": "The imagery could not be read; try again later."},
        },
    )
    async def analysis(
        scene: Annotated[Scene, Depends(scene_by_id)],
        who: Annotated[str, Depends(actor)],
        catalog: Annotated[Catalog, Depends(get_catalog)],
        store: Annotated[ObservationStore, Depends(get_store)],
        sites: Annotated[Mapping[str, Site], Depends(get_sites)],
        options: Annotated[AnalysisRequest | None, Body()] = None,
    ) -> dict[str, Any]:
        """Find trains, ships and cargo on the scene; its earlier automated sightings are replaced."""
        run = await run_in_threadpool(
            analyze_scene,
            catalog,
            store,
            sites,
            scene.id,
            (options or AnalysisRequest()).baseline,
            actor=who,
            max_km2=max_km2,
        )
        return run.document()

    return router
