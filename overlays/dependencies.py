"""FastAPI dependencies of the sightings API: the store, the scene and site indexes, an items query.

The composition root opens the store and the scene and site indexes in its lifespan and keeps them on
``app.state``; these are the only functions that read them there (tipg's ``CollectionParams`` style).
"""

from typing import Annotated

from fastapi import Depends, Query, Request

from overlays.params import MAX_LIMIT, MAX_OFFSET, parse_query
from overlays.preconditions import IfMatch, parse_if_match
from overlays.scenes import SceneIndex
from overlays.sites import SiteIndex
from overlays.store import ObservationStore
from overlays.store import Query as StoreQuery


def get_store(request: Request) -> ObservationStore:
    """The sightings store the app opened."""
    return request.app.state.store  # type: ignore[no-any-return]


def get_scene_index(request: Request) -> SceneIndex:
    """The imagery catalog, as the sightings side sees it."""
    return request.app.state.scene_index  # type: ignore[no-any-return]


def get_site_index(request: Request) -> SiteIndex:
    """The catalog's sites, as the sightings side sees them."""
    return request.app.state.site_index  # type: ignore[no-any-return]


SiteLookup = Annotated[SiteIndex, Depends(get_site_index)]


def if_match(request: Request) -> IfMatch | None:
    """The request's If-Match, parsed (400 when it is not an entity-tag list)."""
    return parse_if_match(request.headers.get("if-match"))


def items_query(
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (WGS84)")] = None,
    datetime: Annotated[str | None, Query(description="instant or interval a/b, '..' open")] = None,
    limit: Annotated[
        int | None, Query(ge=1, description=f"default 100; capped at {MAX_LIMIT}")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    sortby: Annotated[str | None, Query(description="observed_at or -observed_at")] = None,
    site: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    scene_id: str | None = None,
    track_id: str | None = None,
    method: str | None = None,
    review: Annotated[str | None, Query(description="unreviewed, confirmed or disputed")] = None,
) -> StoreQuery:
    """Every filter and paging parameter of an items request, checked (errors name the parameter)."""
    return parse_query(
        bbox=bbox,
        datetime_=datetime,
        limit=limit,
        offset=offset,
        sortby=sortby,
        equals={
            "site": site,
            "kind": kind,
            "status": status,
            "scene_id": scene_id,
            "track_id": track_id,
            "method": method,
            "review": review,
        },
    )
