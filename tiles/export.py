"""Export a baked archive as a z/x/y folder of files, for any static file server."""

from pathlib import Path

from pmtiles.reader import MmapSource, all_tiles


def export_tiles(archive: Path, out_dir: Path, ext: str) -> int:
    """Write every tile of ``archive`` to ``out_dir/z/x/y.ext``; returns how many were written."""
    count = 0
    with open(archive, "rb") as f:
        for (z, x, y), data in all_tiles(MmapSource(f)):
            dst = out_dir / str(z) / str(x) / f"{y}.{ext}"
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(data)
            count += 1
    return count
