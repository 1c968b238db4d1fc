"""Error responses, installed once: each domain exception type maps to one status, with its message."""

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from rasterio.errors import RasterioError

logger = logging.getLogger("tumen")


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
