"""OGC API – Features Part 4 for sightings: create, replace, update (merge patch), delete, history.

Writes need the X-API-Key header; If-Match is honoured when sent (QGIS and OGR do not send it).
"""

import hmac
import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from overlays.api import (
    ETAG,
    GEOJSON,
    IF_MATCH,
    PATCH_BODY,
    FeaturesConfig,
    GeoJSONResponse,
    base_url,
    etag,
    known,
    sighting_body,
    write_errors,
)
from overlays.errors import (
    InvalidObservation,
    InvalidQuery,
    ReadOnlyCollection,
    WriteForbidden,
)
from overlays.models import ObservationIn
from overlays.preconditions import IfMatch, parse_if_match
from overlays.ratelimit import WriteBudget
from overlays.validate import check_feature


def if_match(request: Request) -> IfMatch | None:
    """The request's If-Match, parsed (400 when it is not an entity-tag list)."""
    return parse_if_match(request.headers.get("if-match"))


def add_write_routes(router: APIRouter, config: FeaturesConfig) -> None:
    """POST, PUT, PATCH, DELETE on observations, and each sighting's history."""
    store = config.store
    budget = WriteBudget(config.write_rate)

    def check_key(request: Request) -> str:
        if not config.api_key:
            raise WriteForbidden(
                "writes are disabled: set TUMEN_API_KEY to a secret and restart tumen, then send it "
                "as the X-API-Key header"
            )
        sent = request.headers.get("x-api-key", "")
        if not hmac.compare_digest(sent.encode(), config.api_key.encode()):
            raise WriteForbidden("X-API-Key is missing or wrong")
        budget.spend(sent)
        return "api-key"

    async def read_body(request: Request) -> Any:
        # Its size (413) and its vertex count (400) were checked by tumen.limits before routing.
        try:
            return json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise InvalidQuery(f"body: malformed JSON ({err})") from err

    def precondition(request: Request, fid: str) -> int | None:
        """The version a conditional write must find: 404 before 412, as RFC 9110 §13.2.2 orders."""
        condition = if_match(request)
        if condition is None:
            return None
        return condition.admits(fid, store().get(fid).version)

    def validate(doc: Any) -> ObservationIn:
        return check_feature(doc, config.sites, config.scenes())

    def writable(cid: str) -> None:
        known(cid)
        if cid != "observations":
            raise ReadOnlyCollection(cid)

    @router.get(
        "/collections/{cid}/items/{fid}/history",
        summary="Every change of a sighting",
        responses=write_errors(404, 405),
    )
    def history(cid: str, fid: str) -> dict[str, Any]:
        writable(cid)  # only sightings change, so only they have a history
        return {"id": fid, "changes": [c.__dict__ for c in store().history(fid)]}

    @router.post(
        "/collections/{cid}/items",
        status_code=201,
        summary="Add a sighting",
        response_class=GeoJSONResponse,
        responses={
            201: {"headers": {"Location": {"schema": {"type": "string"}}, "ETag": ETAG}},
            **write_errors(400, 403, 404, 405, 422, 429),
        },
        openapi_extra=sighting_body(),
    )
    async def create(request: Request, cid: str, actor: str = Depends(check_key)) -> Response:
        writable(cid)
        feature = validate(await read_body(request))
        stored = store().create(feature, actor=actor)
        location = f"{base_url(request)}/api/collections/{cid}/items/{stored.id}"
        # Sent as "location"; tumen.http_protocol spells it "Location" for QGIS <= 3.40.6.
        return JSONResponse(
            stored.feature(),
            status_code=201,
            media_type=GEOJSON,
            headers={"Location": location, "ETag": etag(stored.version)},
        )

    @router.put(
        "/collections/{cid}/items/{fid}",
        summary="Replace a sighting",
        response_class=GeoJSONResponse,
        responses={
            200: {"headers": {"ETag": ETAG}},
            **write_errors(400, 403, 404, 405, 412, 422, 429),
        },
        openapi_extra={**sighting_body(), "parameters": [IF_MATCH]},
    )
    async def replace(
        request: Request, cid: str, fid: str, actor: str = Depends(check_key)
    ) -> Response:
        writable(cid)
        expected = precondition(request, fid)
        feature = validate(await read_body(request))
        stored = store().replace(fid, feature, actor=actor, if_version=expected)
        return JSONResponse(
            stored.feature(), media_type=GEOJSON, headers={"ETag": etag(stored.version)}
        )

    @router.patch(
        "/collections/{cid}/items/{fid}",
        summary="Update a sighting (JSON merge patch)",
        response_class=GeoJSONResponse,
        responses={
            200: {"headers": {"ETag": ETAG}},
            **write_errors(400, 403, 404, 405, 412, 422, 429),
        },
        openapi_extra=PATCH_BODY,
    )
    async def patch(
        request: Request, cid: str, fid: str, actor: str = Depends(check_key)
    ) -> Response:
        writable(cid)
        condition = if_match(request)
        current = store().get(fid)
        expected = condition.admits(fid, current.version) if condition else None
        body = await read_body(request)
        if not isinstance(body, dict):
            raise InvalidObservation("body: a merge patch is a JSON object")
        feature = validate(merge(current.feature(), body))
        stored = store().patch(fid, feature, actor=actor, if_version=expected)
        return JSONResponse(
            stored.feature(), media_type=GEOJSON, headers={"ETag": etag(stored.version)}
        )

    @router.delete(
        "/collections/{cid}/items/{fid}",
        status_code=204,
        summary="Delete a sighting",
        responses=write_errors(400, 403, 404, 405, 412, 429),
        openapi_extra={"parameters": [IF_MATCH]},
    )
    def delete(request: Request, cid: str, fid: str, actor: str = Depends(check_key)) -> Response:
        writable(cid)
        store().delete(fid, actor=actor, if_version=precondition(request, fid))
        return Response(status_code=204)


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
