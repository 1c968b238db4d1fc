"""Request limits for every route, checked before any handler parses a body.

A body over ``max_body_bytes`` is refused with 413 from its Content-Length, or as soon as a chunked
body passes the limit; a JSON body whose GeoJSON coordinates hold more than ``max_vertices``
positions is refused with 400. Both happen once here, for the sightings API and the imagery crops.
"""

import json
from collections.abc import Iterator
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

WITH_BODY = {"POST", "PUT", "PATCH"}


def count_positions(doc: Any) -> int:
    """Positions under every ``coordinates`` member of a GeoJSON document (nested anywhere)."""
    return sum(_positions(c) for c in _coordinates(doc))


def _coordinates(doc: Any) -> Iterator[Any]:
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key == "coordinates":
                yield value
            else:
                yield from _coordinates(value)
    elif isinstance(doc, list):
        for value in doc:
            yield from _coordinates(value)


def _positions(coords: Any) -> int:
    if not isinstance(coords, list) or not coords:
        return 0
    if not isinstance(coords[0], list):
        return 1  # a position: [x, y(, z)]
    return sum(_positions(c) for c in coords)


class RequestLimits:
    """ASGI middleware: 413 for an oversized body, 400 for a geometry with too many vertices."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_vertices: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_vertices = max_vertices

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Measure a body (buffered: at most ``max_body_bytes``), then replay it to the app."""
        if scope["type"] != "http" or scope["method"] not in WITH_BODY:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"").decode("latin-1").strip()
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await refuse(
                send,
                413,
                f"request body of {declared} bytes is over the limit of {self.max_body_bytes} "
                "bytes (TUMEN_MAX_BODY_BYTES); send fewer features per request",
            )
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await refuse(
                    send,
                    413,
                    f"request body is over the limit of {self.max_body_bytes} bytes "
                    "(TUMEN_MAX_BODY_BYTES); send fewer features per request",
                )
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        vertices = self._vertices(headers, body)
        if vertices > self.max_vertices:
            await refuse(
                send,
                400,
                f"geometry: {vertices} vertices is over the limit of {self.max_vertices} "
                "(TUMEN_MAX_VERTICES); simplify the geometry",
            )
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    def _vertices(headers: dict[bytes, bytes], body: bytes) -> int:
        if b"json" not in headers.get(b"content-type", b"application/json") or not body:
            return 0
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return 0  # the route says what is wrong with the body
        return count_positions(doc)


async def refuse(send: Send, status: int, detail: str) -> None:
    """A JSON error in the shape every other error of the app has: ``{"detail": message}``."""
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
