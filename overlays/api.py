"""What every /api route shares: media types, documented responses, the sighting body, ETags."""

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from overlays import html
from overlays.models import ObservationIn

GEOJSON = "application/geo+json"


Responses = dict[int | str, dict[str, Any]]

# The errors each route answers; their body ({"detail": message}) is documented by tumen.errors.
READ_ERRORS: Responses = {
    400: {"description": "A query parameter that cannot be used, named in the message."},
    404: {"description": "The collection or the feature is unknown."},
}
_WRITE_ERRORS: Responses = {
    400: {"description": "Malformed JSON, a malformed If-Match, or a geometry over the limit."},
    403: {"description": "Writes are disabled, or X-API-Key is missing or wrong."},
    404: {"description": "The collection or the feature is unknown."},
    405: {"description": "The collection is read-only; write to 'observations'."},
    412: {"description": "If-Match names none of the item's current ETag."},
    428: {"description": "If-Match is required here (a review) and was not sent."},
    422: {"description": "The body is not a valid sighting; the message names the field."},
    429: {
        "description": "Too many writes with this API key (TUMEN_WRITE_RATE).",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
}


# What respond() serves: JSON (GeoJSON for features), or HTML for f=html or a browser.
JSON_OR_HTML: Responses = {200: {"content": {"application/json": {}, "text/html": {}}}}
GEOJSON_OR_HTML: Responses = {200: {"content": {GEOJSON: {}, "text/html": {}}}}


def write_errors(*statuses: int) -> Responses:
    """The write errors among ``statuses`` (a POST has no If-Match, a DELETE no body)."""
    return {status: _WRITE_ERRORS[status] for status in statuses}


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    """``schema`` with each ``#/$defs/`` reference replaced by its definition (none is recursive).

    Discriminator mappings go too: they name ``$defs``, and the ``oneOf`` says the same.
    """
    if isinstance(schema, dict):
        ref = schema.get("$ref", "")
        if ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {
            k: _inline(v, defs) for k, v in schema.items() if k not in ("$defs", "discriminator")
        }
    if isinstance(schema, list):
        return [_inline(v, defs) for v in schema]
    return schema


def _sighting_schema() -> dict[str, Any]:
    schema = ObservationIn.model_json_schema()
    return _inline(schema, schema.get("$defs", {}))  # type: ignore[no-any-return]


SIGHTING_EXAMPLE = {
    "type": "Feature",
    "geometry": {"type": "Point", "coordinates": [130.6425, 42.4165]},
    "properties": {
        "site": "bridge",
        "observed_at": "2022-11-04T13:10:00+09:00",
        "kind": "wagon",
        "count": 3,
        "sources": [{"outlet": "38 North", "published": "2022-11"}],
        "method": "reported",
    },
}
ETAG = {"schema": {"type": "string"}, "description": "The version to send back as If-Match."}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "The item's ETag as it came (or *): another tag is a 412, a malformed header "
    "a 400.",
}


def sighting_body() -> dict[str, Any]:
    """OpenAPI of a write that takes a whole sighting (the route parses it itself, for its errors)."""
    content = {"schema": _sighting_schema(), "example": SIGHTING_EXAMPLE}
    return {
        "requestBody": {
            "required": True,
            "content": {GEOJSON: content, "application/json": content},
        }
    }


PATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            media: {"schema": {"type": "object"}, "example": {"properties": {"count": 4}}}
            for media in ("application/merge-patch+json", "application/json")
        },
    },
    "parameters": [IF_MATCH],
}


class GeoJSONResponse(JSONResponse):
    """JSON served, and documented, as GeoJSON."""

    media_type = GEOJSON


def respond(
    request: Request,
    doc: dict[str, Any],
    title: str,
    *,
    geo: bool,
    f: str | None,
    headers: dict[str, str] | None = None,
) -> Response:
    """JSON (GeoJSON for features), or a readable HTML page for f=html or a browser."""
    if f == "html" or (
        f is None
        and "text/html" in request.headers.get("accept", "")
        and "json" not in request.headers.get("accept", "")
    ):
        render = html.features_html if geo else html.document_html
        return HTMLResponse(render(title, doc), headers=headers)
    return JSONResponse(doc, media_type=GEOJSON if geo else "application/json", headers=headers)


def etag(version: int) -> str:
    """The ETag of a sighting: its version."""
    return f'"{version}"'
