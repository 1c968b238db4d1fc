"""OGC API – Features Part 4 for sightings: create, replace, update (merge patch), delete, history.

Writes need the X-API-Key header; If-Match is honoured when sent (QGIS and OGR do not send it).
``WriteRoutes`` is the write half of ``overlays.routes.FeaturesAPI``.
"""

import hmac
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader
from pydantic import ValidationError

from overlays.api import (
    ETAG,
    GEOJSON,
    IF_MATCH,
    PATCH_BODY,
    GeoJSONResponse,
    etag,
    sighting_body,
    write_errors,
)
from overlays.collections import Collection
from overlays.dependencies import SiteLookup, get_scene_index, get_store, if_match
from overlays.errors import (
    InvalidObservation,
    InvalidQuery,
    PreconditionRequired,
    ReadOnlyCollection,
    WriteForbidden,
)
from overlays.models import REVIEW_FIELDS, ObservationIn, ReviewIn, StoredObservation
from overlays.preconditions import IfMatch
from overlays.ratelimit import WriteBudget
from overlays.scenes import SceneIndex
from overlays.sites import SiteIndex
from overlays.store import ObservationStore
from overlays.validate import check_feature

if TYPE_CHECKING:
    from fastapi import APIRouter

Store = Annotated[ObservationStore, Depends(get_store)]
Scenes = Annotated[SceneIndex, Depends(get_scene_index)]
UPDATE_RESPONSES = {
    200: {"headers": {"ETag": ETAG}},
    **write_errors(400, 403, 404, 405, 412, 422, 429),
}


@dataclass(frozen=True)
class Target:
    """The sighting a write changes, and the version its If-Match requires (None: no condition)."""

    current: StoredObservation
    expected: int | None
    conditional: bool = False  # whether the request sent If-Match at all


def target(
    fid: str,
    condition: Annotated[IfMatch | None, Depends(if_match)],
    store: Store,
) -> Target:
    """404 for a missing sighting before 412 for a failed If-Match, as RFC 9110 §13.2.2 orders."""
    current = store.get(fid)
    if condition is None:
        return Target(current, None)
    return Target(current, condition.admits(fid, current.version), conditional=True)


def saved(stored: StoredObservation) -> JSONResponse:
    """The sighting as written, with its new ETag."""
    return JSONResponse(
        stored.feature(), media_type=GEOJSON, headers={"ETag": etag(stored.version)}
    )


async def read_body(request: Request) -> Any:
    """The JSON body; its size (413) and vertex count (400) were checked by tumen.limits."""
    try:
        return json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InvalidQuery(f"body: malformed JSON ({err})") from err


def unreviewed(feature: ObservationIn) -> ObservationIn:
    """A new sighting as nobody has reviewed it yet: the store gives the review it starts with."""
    props = feature.properties
    assert props is not None
    cleared = props.model_copy(update=dict.fromkeys(REVIEW_FIELDS))
    return feature.model_copy(update={"properties": cleared})


def verdict(body: Any) -> ReviewIn:
    """The review a body asks for; 400 naming the field otherwise."""
    try:
        return ReviewIn.model_validate(body)
    except ValidationError as err:
        first = err.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        if not first["loc"] and first["type"] == "value_error":
            raise InvalidQuery(message) from err  # a rule across fields names its field itself
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidQuery(f"{where}: {message}") from err


def merge(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge(out.get(key), value)
    return out


# Declared as the OpenAPI security scheme of every write; a missing key is answered by `actor` (403).
API_KEY = APIKeyHeader(
    name="X-API-Key",
    scheme_name="apiKey",
    auto_error=False,
    description="The TUMEN_API_KEY of this server.",
)


class WriteRoutes:
    """POST, PUT, PATCH, DELETE on observations, and each sighting's history."""

    router: "APIRouter"
    api_key: str | None
    write_rate: int
    collection: Any  # the collection dependency of FeaturesAPI

    def register_write_routes(self) -> None:
        """Register the write routes on the factory's router."""
        self._budget = WriteBudget(self.write_rate)
        self.writable = self._writable_dependency()
        self.actor = self._actor_dependency()
        self.history()
        self.create()
        self.replace()
        self.patch()
        self.delete()
        self.review()

    def _actor_dependency(self) -> Any:
        api_key, budget = self.api_key, self._budget

        def actor(key: Annotated[str | None, Security(API_KEY)] = None) -> str:
            """Who writes: the API key holder, within its write budget (403, 429 otherwise)."""
            if not api_key:
                raise WriteForbidden(
                    "writes are disabled: set TUMEN_API_KEY to a secret and restart tumen, then "
                    "send it as the X-API-Key header"
                )
            sent = key or ""
            if not hmac.compare_digest(sent.encode(), api_key.encode()):
                raise WriteForbidden("X-API-Key is missing or wrong")
            budget.spend(sent)
            return "api-key"

        return actor

    def _writable_dependency(self) -> Any:
        collection = self.collection

        def writable(c: Annotated[Collection, Depends(collection)]) -> Collection:
            """The collection, if it takes writes (405 otherwise: only sightings change)."""
            if not c.writable:
                raise ReadOnlyCollection(c.id)
            return c

        return writable

    @staticmethod
    def validate(doc: Any, sites: SiteIndex, scenes: SceneIndex) -> ObservationIn:
        """A sighting that meets every rule (422 naming the field otherwise)."""
        return check_feature(doc, sites, scenes)

    def history(self) -> None:
        """GET …/items/{fid}/history."""

        @self.router.get(
            "/collections/{cid}/items/{fid}/history",
            name="features:history",
            summary="Every change of a sighting",
            responses=write_errors(404, 405),
        )
        def history(
            c: Annotated[Collection, Depends(self.writable)], fid: str, store: Store
        ) -> dict[str, Any]:
            return {"id": fid, "changes": [ch.__dict__ for ch in store.history(fid)]}

    def create(self) -> None:
        """POST …/items."""

        @self.router.post(
            "/collections/{cid}/items",
            name="features:create",
            status_code=201,
            summary="Add a sighting",
            response_class=GeoJSONResponse,
            responses={
                201: {"headers": {"Location": {"schema": {"type": "string"}}, "ETag": ETAG}},
                **write_errors(400, 403, 404, 405, 422, 429),
            },
            openapi_extra=sighting_body(),
        )
        async def create(
            request: Request,
            actor: Annotated[str, Depends(self.actor)],
            c: Annotated[Collection, Depends(self.writable)],
            store: Store,
            scenes: Scenes,
            sites: SiteLookup,
        ) -> Response:
            feature = self.validate(await read_body(request), sites, scenes)
            stored = store.create(unreviewed(feature), actor=actor)
            location = request.url_for("features:item", cid=c.id, fid=stored.id)
            # Sent as "location"; tumen.http_protocol spells it "Location" for QGIS <= 3.40.6.
            return JSONResponse(
                stored.feature(),
                status_code=201,
                media_type=GEOJSON,
                headers={"Location": str(location), "ETag": etag(stored.version)},
            )

    def replace(self) -> None:
        """PUT …/items/{fid}."""

        @self.router.put(
            "/collections/{cid}/items/{fid}",
            name="features:replace",
            summary="Replace a sighting",
            response_class=GeoJSONResponse,
            responses=UPDATE_RESPONSES,
            openapi_extra={**sighting_body(), "parameters": [IF_MATCH]},
        )
        async def replace(
            request: Request,
            actor: Annotated[str, Depends(self.actor)],
            c: Annotated[Collection, Depends(self.writable)],
            t: Annotated[Target, Depends(target)],
            store: Store,
            scenes: Scenes,
            sites: SiteLookup,
        ) -> Response:
            feature = self.validate(await read_body(request), sites, scenes)
            return saved(store.replace(t.current.id, feature, actor=actor, if_version=t.expected))

    def patch(self) -> None:
        """PATCH …/items/{fid} (JSON merge patch)."""

        @self.router.patch(
            "/collections/{cid}/items/{fid}",
            name="features:patch",
            summary="Update a sighting (JSON merge patch)",
            response_class=GeoJSONResponse,
            responses=UPDATE_RESPONSES,
            openapi_extra=PATCH_BODY,
        )
        async def patch(
            request: Request,
            actor: Annotated[str, Depends(self.actor)],
            c: Annotated[Collection, Depends(self.writable)],
            t: Annotated[Target, Depends(target)],
            store: Store,
            scenes: Scenes,
            sites: SiteLookup,
        ) -> Response:
            body = await read_body(request)
            if not isinstance(body, dict):
                raise InvalidObservation("body: a merge patch is a JSON object")
            feature = self.validate(merge(t.current.feature(), body), sites, scenes)
            return saved(store.patch(t.current.id, feature, actor=actor, if_version=t.expected))

    def delete(self) -> None:
        """DELETE …/items/{fid}."""

        @self.router.delete(
            "/collections/{cid}/items/{fid}",
            name="features:delete",
            status_code=204,
            summary="Delete a sighting",
            responses=write_errors(400, 403, 404, 405, 412, 429),
            openapi_extra={"parameters": [IF_MATCH]},
        )
        def delete(
            actor: Annotated[str, Depends(self.actor)],
            c: Annotated[Collection, Depends(self.writable)],
            t: Annotated[Target, Depends(target)],
            store: Store,
        ) -> Response:
            store.delete(t.current.id, actor=actor, if_version=t.expected)
            return Response(status_code=204)

    def review(self) -> None:
        """POST …/items/{fid}/review: confirm, dispute (with a reason) or reset a sighting's review."""

        @self.router.post(
            "/collections/{cid}/items/{fid}/review",
            name="features:review",
            summary="Confirm or dispute a sighting",
            description="Sets review, reviewed_by, reviewed_at and review_note, as a new version with "
            "a 'review' line in its history. If-Match (the item's ETag) is required.",
            response_class=GeoJSONResponse,
            responses={
                200: {"headers": {"ETag": ETAG}},
                **write_errors(400, 403, 404, 405, 412, 428, 429),
            },
            openapi_extra={
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ReviewIn.model_json_schema()}},
                },
                "parameters": [{**IF_MATCH, "required": True}],
            },
        )
        async def review(
            request: Request,
            actor: Annotated[str, Depends(self.actor)],
            c: Annotated[Collection, Depends(self.writable)],
            t: Annotated[Target, Depends(target)],
            store: Store,
        ) -> Response:
            if not t.conditional:
                raise PreconditionRequired(t.current.id)
            given = verdict(await read_body(request))
            return saved(store.review(t.current.id, given, actor=actor, if_version=t.expected))
