"""GET /sites/{site}/figure.png, /strip.png and /timelapse.{gif,mp4}: graphics ready to publish."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from overlays.dependencies import get_store
from overlays.params import parse_bbox
from overlays.store import ObservationStore
from tiles.catalog import Catalog
from tiles.dependencies import get_catalog, known_site
from tiles.sites import Site
from tiles.times import parse_datetime
from tumen.evidence import Bbox
from tumen.publication import (
    FIGURE_WIDTH,
    STRIP_WIDTH,
    TIMELAPSE_WIDTH,
    Published,
    PublishLimits,
    build_figure,
    build_strip,
    build_timelapse,
)

BboxParam = Annotated[
    str, Query(description="minlon,minlat,maxlon,maxlat (WGS84), at most TUMEN_REPORT_MAX_KM2")
]
UNREADABLE: dict[int | str, dict[str, Any]] = {
    503: {"description": "The scene's imagery could not be read; try again later."}
}
PNG: dict[str, Any] = {"content": {"image/png": {}}}
TEXT_CHUNKS = (
    " The PNG carries its credit, date, scene id(s), synthetic flag and metres per pixel as "
    "text chunks (tumen:credit, tumen:datetime, tumen:scene_id, tumen:synthetic, tumen:m_per_px)."
)


def _area(bbox: str) -> Bbox:
    area = parse_bbox(bbox)
    assert area is not None  # a required parameter
    return area


def _answer(made: Published, headers: dict[str, str] | None = None) -> Response:
    return Response(
        made.body,
        media_type=made.media_type,
        headers={"Content-Disposition": f'inline; filename="{made.filename}"'} | (headers or {}),
    )


def publish_router(limits: PublishLimits) -> APIRouter:
    """The figure, strip and timelapse routes, bounded by ``limits``."""
    router = APIRouter(tags=["Publish"])

    @router.get(
        "/sites/{site_id}/figure.png",
        response_class=Response,
        responses={
            200: {
                **PNG,
                "description": "The crop at print resolution with the confirmed sightings "
                "labelled, a scale bar, a north arrow, date and time, credit." + TEXT_CHUNKS,
            },
            400: {
                "description": "The bbox is malformed, over TUMEN_REPORT_MAX_KM2 or outside the "
                "scene; the width is over TUMEN_FIGURE_MAX_WIDTH (or the height it makes); the "
                "datetime is malformed."
            },
            404: {"description": "The site is unknown, or has no scene at that time."},
            **UNREADABLE,
        },
    )
    def figure(
        site: Annotated[Site, Depends(known_site)],
        bbox: BboxParam,
        catalog: Annotated[Catalog, Depends(get_catalog)],
        store: Annotated[ObservationStore, Depends(get_store)],
        datetime: Annotated[
            str | None, Query(description="the scene current then; default latest")
        ] = None,
        width: Annotated[
            int, Query(ge=1, description="pixels across, at most TUMEN_FIGURE_MAX_WIDTH")
        ] = FIGURE_WIDTH,
    ) -> Response:
        """The publication figure of an area at a time."""
        made = build_figure(
            catalog, store, site, _area(bbox), parse_datetime(datetime), width, limits
        )
        return _answer(made)

    @router.get(
        "/sites/{site_id}/strip.png",
        response_class=Response,
        responses={
            200: {
                **PNG,
                "description": "The same crop on each date, side by side, each with its date and "
                "confirmed counts per kind." + TEXT_CHUNKS,
            },
            400: {
                "description": "The bbox is malformed, too large or outside a date's scene; more "
                "dates than TUMEN_STRIP_MAX_DATES; a date that is neither a day nor a datetime; "
                "the width or the height it makes over TUMEN_FIGURE_MAX_WIDTH."
            },
            404: {
                "description": "The site is unknown, has no scene on a day given (named), or none "
                "at a time given."
            },
            **UNREADABLE,
        },
    )
    def strip(
        site: Annotated[Site, Depends(known_site)],
        bbox: BboxParam,
        dates: Annotated[
            str,
            Query(
                description="comma-separated days (YYYY-MM-DD: that day's scene) or ISO datetimes "
                "(the scene current then), at most TUMEN_STRIP_MAX_DATES",
                examples=["2023-09-24,2023-09-30,2023-10-05"],
            ),
        ],
        catalog: Annotated[Catalog, Depends(get_catalog)],
        store: Annotated[ObservationStore, Depends(get_store)],
        width: Annotated[
            int, Query(ge=1, description="pixels across, at most TUMEN_FIGURE_MAX_WIDTH")
        ] = STRIP_WIDTH,
    ) -> Response:
        """Dates side by side: one figure of the same area on each date."""
        return _answer(build_strip(catalog, store, site, _area(bbox), dates, width, limits))

    frame_headers: dict[str, Any] = {
        "X-Tumen-Frames": {
            "description": "The scenes shown, one per frame, in order (comma-separated ids).",
            "schema": {"type": "string"},
        },
        "X-Tumen-Dropped": {
            "description": "Scenes of the range left out, each with why: '(outside the bbox)' or "
            "'(62% nodata)' (comma-separated; empty when none).",
            "schema": {"type": "string"},
        },
    }

    @router.get(
        "/sites/{site_id}/timelapse.{fmt}",
        response_class=Response,
        responses={
            200: {
                "content": {"image/gif": {}, "video/mp4": {}},
                "description": "One frame per scene that covers the bbox, date burned in.",
                "headers": frame_headers,
            },
            400: {
                "description": "The bbox is malformed, too large, or no scene of the range covers "
                "it; more scenes than TUMEN_TIMELAPSE_MAX_FRAMES; a width over "
                "TUMEN_TIMELAPSE_MAX_WIDTH; from/to malformed."
            },
            404: {"description": "The site is unknown, or has no scene in the range."},
            **UNREADABLE,
        },
    )
    def timelapse(
        site: Annotated[Site, Depends(known_site)],
        fmt: Literal["gif", "mp4"],
        bbox: BboxParam,
        catalog: Annotated[Catalog, Depends(get_catalog)],
        store: Annotated[ObservationStore, Depends(get_store)],
        start: Annotated[
            str | None,
            Query(alias="from", description="first day (YYYY-MM-DD) or instant; default: first"),
        ] = None,
        end: Annotated[
            str | None,
            Query(alias="to", description="last day (YYYY-MM-DD) or instant; default: last"),
        ] = None,
        sightings: Annotated[
            bool, Query(description="draw the confirmed sightings on each frame")
        ] = False,
        width: Annotated[
            int, Query(ge=1, description="pixels across, at most TUMEN_TIMELAPSE_MAX_WIDTH")
        ] = TIMELAPSE_WIDTH,
    ) -> Response:
        """A timelapse of an area: GIF (Pillow) or MP4 (H.264)."""
        made = build_timelapse(
            catalog,
            store,
            site,
            _area(bbox),
            start,
            end,
            fmt,
            width,
            limits,
            sightings=sightings,
        )
        return _answer(
            made,
            {"X-Tumen-Frames": ", ".join(made.scenes), "X-Tumen-Dropped": ", ".join(made.dropped)},
        )

    return router
