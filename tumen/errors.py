"""Error responses, installed once: each domain exception type maps to one status, with its message."""

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from rasterio.errors import RasterioError

logger = logging.getLogger("tumen")

# tumen.limits.RequestLimits measures every body before a route sees it.
WITH_BODY = {"post", "put", "patch"}
BODY_ERRORS = {
    "400": "The body is not what this operation takes (named in the message), or its geometry "
    "has more vertices than TUMEN_MAX_VERTICES.",
    "413": "The body is larger than TUMEN_MAX_BODY_BYTES.",
}


class ErrorBody(BaseModel):
    """The body of every error tumen answers, except FastAPI's own request validation (422)."""

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
        )

    app.add_exception_handler(RasterioError, unreadable)


def document_errors(app: FastAPI) -> None:
    """Give the error responses the routes declare the body the handlers above send.

    Routes declare their error statuses (``responses={404: {"description": ...}}``) and nothing
    else; here each such response without a body gets ``ErrorBody`` as ``application/json`` (not the
    route's own media type: a PNG route answers its errors in JSON), and every operation that takes
    a body gets the 400 and 413 of the request limits.
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
        for path in doc["paths"].values():
            for method, operation in path.items():
                responses = operation.setdefault("responses", {})
                if method in WITH_BODY:
                    for status, description in BODY_ERRORS.items():
                        responses.setdefault(status, {"description": description})
                for status, response in responses.items():
                    if status[0] in "45" and "content" not in response:
                        response["content"] = error
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
