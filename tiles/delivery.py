"""Tile delivery in front of TiTiler: ETag/304, baked archive first, then an LRU cache, then rendering.

A plain ASGI middleware, so a baked or cached tile costs no routing, no dependency injection and no
rendering. Anything it cannot answer (an unknown scene, a bad parameter) goes on to the TiTiler routes,
which give the error.

A request carrying ``X-Tumen-Resolve`` is a proxy asking which scene and version a tile URL stands
for, before it looks in its own cache (deploy/nginx-multi.conf keys cached tiles on them): it gets an
empty 200 with ``X-Tumen-Scene`` and ``X-Tumen-Version``, or without them when the URL names no scene
(the tile request itself then says what is wrong). Nothing is read or rendered for it.
"""

import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from cachetools import LRUCache

from tiles.archive import Archives
from tiles.catalog import Scene
from tiles.errors import StorageUnavailable, TilesError
from tiles.fastlane import plain_tile
from tiles.grid import WEB_MERCATOR
from tiles.media import MEDIA_TYPES
from tiles.resolve import SceneResolver
from tiles.times import parse_datetime

logger = logging.getLogger("tumen.tiles")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TILE_PATH = re.compile(
    r"^/(?:scenes/(?P<scene>[^/]+)|sites/(?P<site>[^/]+))/tiles/(?P<tms>[^/]+)/"
    r"(?P<z>\d+)/(?P<x>\d+)/(?P<y>\d+)(?:\.(?P<fmt>[a-z0-9]+))?$"
)


# The same routes as OpenAPI writes them: their GETs carry ETag and answer If-None-Match with 304.
TILE_TEMPLATE = re.compile(
    r"^/(?:scenes/\{scene_id\}|sites/\{site_id\})/tiles/\{tileMatrixSetId\}/\{z\}/\{x\}/\{y\}"
    r"(?:\.\{format\})?$"
)

RESOLVE_HEADER = b"x-tumen-resolve"


def document_revalidation(doc: dict[str, Any]) -> None:
    """Declare, on the tile routes of an OpenAPI document, the ETag they send and the 304 they answer."""
    for path, operations in doc.get("paths", {}).items():
        get = operations.get("get")
        if get is None or not TILE_TEMPLATE.match(path):
            continue
        responses = get.setdefault("responses", {})
        responses.setdefault("200", {}).setdefault("headers", {})["ETag"] = {
            "description": "The tile's version: scene version, format and parameters.",
            "schema": {"type": "string"},
        }
        responses["304"] = {
            "description": "Not Modified: If-None-Match holds the tile's current ETag (no body)."
        }


def _route_path(scope: Scope) -> str:
    """The path the routes see: ASGI's path without the root path (or a proxy's prefix)."""
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root + "/") else path  # type: ignore[no-any-return]


class TileCache(LRUCache):  # type: ignore[type-arg]
    """Rendered tiles, least recently used dropped first, bounded by the bytes they hold."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(maxsize=max(max_bytes, 1), getsizeof=lambda v: len(v[0]) + 200)


class TileDelivery:
    """ASGI middleware serving scene and site tiles with validators, from the fastest source."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        resolver: Callable[[], SceneResolver],
        archives: Callable[[], Archives],
        cache_bytes: int,
        max_age: int,
        latest_max_age: int,
    ) -> None:
        self.app = app
        self.resolver = resolver
        self.archives = archives
        self.cache = TileCache(cache_bytes) if cache_bytes > 0 else None
        self.max_age = max_age
        self.latest_max_age = latest_max_age

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a tile request, or hand anything else to the app."""
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return await self.app(scope, receive, send)
        match = TILE_PATH.match(_route_path(scope))
        if match is None:
            return await self.app(scope, receive, send)
        probe = any(name == RESOLVE_HEADER for name, _ in scope["headers"])
        params = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        names = {k for k, _ in params}
        if "url" in names:
            return await (_resolved(send, None) if probe else self.app(scope, receive, send))
        when_text = next((v for k, v in params if k == "datetime"), None)
        try:
            if match["scene"]:
                scene, latest = self.resolver().get(match["scene"]), False
            else:
                when = parse_datetime(when_text)
                scene, latest = self.resolver().at(match["site"], when), when is None
        except TilesError:
            return await (_resolved(send, None) if probe else self.app(scope, receive, send))
        if probe:
            return await _resolved(send, scene)

        fmt = match["fmt"] or ""
        extras = sorted((k, v) for k, v in params if k != "datetime")
        z, x, y = int(match["z"]), int(match["x"]), int(match["y"])
        key = f"{scene.id}|{scene.version}|{match['tms']}|{z}/{x}/{y}|{fmt}|{extras}"
        etag = '"' + hashlib.blake2b(key.encode(), digest_size=16).hexdigest() + '"'
        headers = [
            (b"etag", etag.encode()),
            (
                b"cache-control",
                (
                    f"public, max-age={self.latest_max_age}"
                    if latest
                    else f"public, max-age={self.max_age}, immutable"
                ).encode(),
            ),
            (b"x-tumen-scene", scene.id.encode()),
            (b"x-tumen-version", scene.version.encode()),
        ]
        if _matches(scope, etag):
            return await _respond(send, 304, headers, b"", head=True)

        body, media, source = None, MEDIA_TYPES.get(fmt), "baked"
        if not extras and match["tms"] == WEB_MERCATOR and _same_format(fmt, scene):
            body = self._baked(scene, z, x, y)
        if body is None and self.cache is not None:
            source = "cache"
            hit = self.cache.get(key)
            if hit is not None:
                body, media = hit
        if body is None:
            source = "dynamic"
            if not extras:  # the route's answer, from the aligned grid, without routing
                catalog = self.resolver().catalog
                body = await plain_tile(catalog, scene, match["tms"], z, x, y, fmt)
            if body is None:
                status, upstream_headers, content = await _capture(self.app, scope, receive)
                if status != 200:
                    return await _respond(send, status, upstream_headers, content, head=False)
                # TiTiler labels .jpg as image/jpg; the registered type (and the baked path's) is image/jpeg.
                media = media or dict(upstream_headers).get(b"content-type", b"").decode()
                body = content
            if self.cache is not None:
                self.cache[key] = (body, media)
        headers += [
            (b"content-type", (media or "application/octet-stream").encode()),
            (b"x-tumen-source", source.encode()),
        ]
        await _respond(send, 200, headers, body, head=scope["method"] == "HEAD")

    def _baked(self, scene: Scene, z: int, x: int, y: int) -> bytes | None:
        """The tile from the scene's archive; None (render instead) when storage cannot give it."""
        try:
            archive = self.archives().for_scene(scene)
            return archive.get(z, x, y) if archive is not None else None
        except StorageUnavailable as err:
            logger.warning(
                "tile of %s rendered instead of read from its archive: %s", scene.id, err
            )
            return None


async def _resolved(send: Send, scene: Scene | None) -> None:
    """Answer a resolve probe: the scene and version the tile URL stands for, if any."""
    headers = [(b"cache-control", b"no-cache")]
    if scene is not None:
        headers += [
            (b"x-tumen-scene", scene.id.encode()),
            (b"x-tumen-version", scene.version.encode()),
        ]
    await _respond(send, 200, headers, b"", head=True)


def _same_format(fmt: str, scene: Scene) -> bool:
    if not scene.is_baked:
        return False
    return fmt == scene.tile_format or {fmt, scene.tile_format} == {"jpg", "jpeg"}


def _matches(scope: Scope, etag: str) -> bool:
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            tags = {t.strip() for t in value.decode("latin-1").split(",")}
            return etag in tags or "*" in tags
    return False


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[int, list, bytes]:
    """Run the downstream app and keep its whole response."""
    status = 500
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def keep(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    return status, headers, b"".join(chunks)


async def _respond(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes, *, head: bool
) -> None:
    headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    if status != 304:
        headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head or status == 304 else body})
