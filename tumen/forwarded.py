"""X-Forwarded-Proto/-Host/-Prefix applied once, so every package's links are the public ones.

Behind a proxy that serves tumen under ``https://example.org/tumen/`` (stripping the prefix and
sending ``X-Forwarded-Prefix: /tumen``), this layer sets the request's scheme, Host and root path;
Starlette's ``request.base_url`` and ``url_for`` (TiTiler's too) then give public URLs everywhere,
and no route computes a base URL of its own.
"""

from starlette.types import ASGIApp, Receive, Scope, Send


def _first(value: bytes) -> str:
    """The first (client-side) value of a header a chain of proxies may have appended to."""
    return value.decode("latin-1").split(",")[0].strip()


class ForwardedHeaders:
    """ASGI layer: the proxy's view of the request (scheme, host, path prefix) replaces ours."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            proto = headers.get(b"x-forwarded-proto")
            host = headers.get(b"x-forwarded-host")
            prefix = headers.get(b"x-forwarded-prefix")
            if proto or host or prefix:
                scope = dict(scope)
                if proto and _first(proto) in ("http", "https"):
                    scope["scheme"] = _first(proto)
                if host and _first(host):
                    others = [(k, v) for k, v in scope["headers"] if k != b"host"]
                    scope["headers"] = [*others, (b"host", _first(host).encode("latin-1"))]
                outer = (
                    "/" + _first(prefix).strip("/") if prefix and _first(prefix).strip("/") else ""
                )
                if outer:
                    # ASGI: path includes root_path. The proxy stripped the prefix; put it back
                    # (once: a proxy that kept it already sent it), routing strips it again.
                    scope["root_path"] = outer + scope.get("root_path", "")
                    if not (scope["path"] + "/").startswith(outer + "/"):
                        scope["path"] = outer + scope["path"]
                        raw = scope.get("raw_path")
                        if raw is not None:
                            scope["raw_path"] = outer.encode("latin-1") + raw
        await self.app(scope, receive, send)
