"""uvicorn's fast HTTP protocol, with the one header name QGIS reads case-sensitively spelled its way.

uvicorn's httptools protocol writes every response header name in lower case. QGIS up to 3.40.6
looks for the id of a feature it has just created in a header named exactly ``Location``
(qgis/QGIS#61729, fixed in later releases) and otherwise reports "Feature creation failed". uvicorn's
h11 protocol keeps the case but serves baked tiles at about a third of the rate (bench/README.md), so
tumen keeps httptools and rewrites that one name in the header block.
"""

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_LOWER = b"\r\nlocation: "
_CANONICAL = b"\r\nLocation: "


class _CanonicalLocation:
    """A transport that spells ``Location`` in the response head it writes, and is otherwise the same."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if isinstance(data, bytes) and data.startswith(b"HTTP/") and _LOWER in data:
            head, sep, body = data.partition(b"\r\n\r\n")
            data = head.replace(_LOWER, _CANONICAL) + sep + body
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class TumenHttpProtocol(HttpToolsProtocol):
    """httptools, with ``Location`` written as QGIS ≤ 3.40.6 expects it."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Writes go through the respelling transport; everything else sees the real one."""
        super().connection_made(transport)
        self.transport = _CanonicalLocation(transport)  # type: ignore[assignment]
