"""Error responses, installed once: each domain exception type maps to one status, with its message."""

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from rasterio.errors import RasterioError

from tiles.errors import RETRY_AFTER_S

logger = logging.getLogger("tumen")

# tumen.limits.RequestLimits measures every body before a route sees it.
WITH_BODY = {"post", "put", "patch"}
BODY_ERRORS = {
    "400": "The body is not what this operation takes (named in the message), or its geometry "
    "has more vertices than TUMEN_MAX_VERTICES.",
    "413": "The body is larger than TUMEN_MAX_BODY_BYTES.",
}


class AnalysisRefused(Exception):
    """An analysis that cannot run as asked (bad baseline, no overlap, too large); nothing changed."""


class ErrorBody(BaseModel):
    """The body of every error tumen answers, on the imagery side and the sightings side alike."""

    model_config = ConfigDict(title="Error")

    detail: str = Field(description="What was wrong with the request, and what to change.")


def add_exception_handlers(app: FastAPI, table: Mapping[type[Exception], int]) -> None:
    """Answer each exception type of ``table`` with its status and ``{"detail": message}``."""

    def handler(status: int):  # noqa: ANN202
        async def respond(request: Request, exc: Exception) -> JSONResponse:
            # An error may carry headers of its own (Retry-After on a 429).
            headers = getattr(exc, "headers", None)
            return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)

        return respond

    for exc_type, status in table.items():
        app.add_exception_handler(exc_type, handler(status))

    async def unreadable(request: Request, exc: Exception) -> JSONResponse:
        # GDAL's messages carry server paths: log them, answer without them.
        logger.warning("imagery read failed for %s: %s", request.url.path, exc)
        return JSONResponse(
            {"detail": "the imagery for this request could not be read; try again later"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_S)},  # a COG in S3 out of reach, mostly
        )

    app.add_exception_handler(RasterioError, unreadable)

    async def unparsable(request: Request, exc: Exception) -> JSONResponse:
        # FastAPI's own checks (a limit of 0, a tile row that is not a number, a crop body that is
        # not GeoJSON) are the same fault as tumen's (a datetime or bbox it cannot read): 400.
        assert isinstance(exc, RequestValidationError)
        return JSONResponse({"detail": validation_message(exc)}, status_code=400)

    app.add_exception_handler(RequestValidationError, unparsable)


def validation_message(exc: RequestValidationError) -> str:
    """'limit: Input should be greater than or equal to 1' (the first few problems)."""
    parts = []
    for error in exc.errors()[:3]:
        loc = list(error.get("loc", ()))
        if loc[:1] and loc[0] in ("query", "path", "header", "cookie"):
            loc = loc[1:]  # 'limit: …', as tumen's own messages name a parameter
        where = ".".join(str(p) for p in loc)
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    more = len(exc.errors()) - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def document_errors(app: FastAPI, also: Sequence[Callable[[dict[str, Any]], None]] = ()) -> None:
    """Give the error responses the routes declare the body the handlers above send.

    Routes declare their error statuses (``responses={404: {"description": ...}}``) and nothing
    else; here each such response without a body gets ``ErrorBody`` as ``application/json`` (not the
    route's own media type: a PNG route answers its errors in JSON), and every operation that takes
    a body gets the 400 and 413 of the request limits. ``also``: other packages' additions (the
    tile routes' 304).
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = build()
        doc.setdefault("components", {}).setdefault("schemas", {})["Error"] = (
            ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        )
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        schemas = doc["components"]["schemas"]
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        for path in doc["paths"].values():
            for method, operation in path.items():
                responses = operation.setdefault("responses", {})
                # FastAPI's validation 422 is answered as a 400 (see add_exception_handlers).
                generated = responses.get("422", {}).get("content", {}).get("application/json", {})
                if "HTTPValidationError" in str(generated.get("schema", "")):
                    del responses["422"]
                    responses.setdefault(
                        "400", {"description": "A parameter or body that cannot be read."}
                    )
                if method in WITH_BODY:
                    for status, description in BODY_ERRORS.items():
                        responses.setdefault(status, {"description": description})
                for status, response in responses.items():
                    if status[0] in "45" and "content" not in response:
                        response["content"] = error
        for add in also:
            add(doc)
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
