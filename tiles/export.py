"""Export a baked archive as a z/x/y folder of files, for any static file server."""

from collections.abc import Callable
from pathlib import Path

from pmtiles.reader import all_tiles

from tiles.storage import FileRange, RangeSource


def export_tiles(archive: Path | RangeSource, out_dir: Path, ext: str) -> int:
    """Write every tile of ``archive`` to ``out_dir/z/x/y.ext``; returns how many were written.

    A local archive is read from its memory mapping; one in object storage is read whole in one
    request, not one request per tile.
    """
    source = FileRange(archive) if isinstance(archive, Path) else archive
    try:
        get_bytes: Callable[[int, int], bytes] = source.get_bytes
        if not isinstance(source, FileRange):
            data = source.get_bytes(0, source.size())
            get_bytes = lambda offset, length: data[offset : offset + length]  # noqa: E731
        count = 0
        for (z, x, y), tile in all_tiles(get_bytes):
            dst = out_dir / str(z) / str(x) / f"{y}.{ext}"
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(tile)
            count += 1
    finally:
        source.close()
    return count
