"""HTTP Range answers from a stored object (an archive in S3), as FileResponse gives them for files.

One byte range per request (what PMTiles clients send): 206 with one ranged read of storage, 416
past the end, and the whole object streamed when there is no (usable) Range header.
"""

import re
from collections.abc import Iterator

from fastapi.responses import Response, StreamingResponse

from tiles.storage import RangeSource

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 8 * 2**20


def _span(header: str | None, size: int) -> tuple[int, int] | None | bool:
    """(first, last) of a single-range header; None without a usable one; False unsatisfiable."""
    match = RANGE.match((header or "").strip())
    if match is None or match[1] == match[2] == "":
        return None
    if match[1] == "":  # the last n bytes
        n = int(match[2])
        return (max(0, size - n), size - 1) if n > 0 and size > 0 else False
    first = int(match[1])
    last = int(match[2]) if match[2] else size - 1
    if first >= size or last < first:
        return False
    return first, min(last, size - 1)


def ranged_response(
    source: RangeSource, range_header: str | None, media_type: str, headers: dict[str, str]
) -> Response:
    """The object, or the one range asked for, with Accept-Ranges and Content-Range."""
    size = source.size()
    base = {"Accept-Ranges": "bytes", **headers}
    span = _span(range_header, size)
    if span is False:
        return Response(status_code=416, headers={**base, "Content-Range": f"bytes */{size}"})
    if isinstance(span, tuple):
        first, last = span
        body = source.get_bytes(first, last - first + 1)
        return Response(
            body,
            status_code=206,
            media_type=media_type,
            headers={**base, "Content-Range": f"bytes {first}-{last}/{size}"},
        )

    def whole() -> Iterator[bytes]:
        for offset in range(0, size, CHUNK):
            yield source.get_bytes(offset, min(CHUNK, size - offset))

    return StreamingResponse(
        whole(), media_type=media_type, headers={**base, "Content-Length": str(size)}
    )
