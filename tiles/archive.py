"""Read tiles from PMTiles archives: each opened once, header and directories parsed once and kept."""

import gzip
import json
import logging
import mmap
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from pmtiles.tile import (
    Compression,
    Entry,
    deserialize_directory,
    deserialize_header,
    find_tile,
    zxy_to_tileid,
)

logger = logging.getLogger("tumen.tiles")


class ArchiveError(Exception):
    """An archive that is not a whole, readable PMTiles v3 file."""


class Archive:
    """One PMTiles file mapped into memory; ``get`` costs a directory search and a slice."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = open(path, "rb")
        try:
            self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
            self.header = deserialize_header(self._map[0:127])
            end = self.header["tile_data_offset"] + self.header["tile_data_length"]
            if self.header["version"] != 3 or end > len(self._map):
                raise ArchiveError(f"{path.name}: truncated or not PMTiles v3")
            meta = self._map[
                self.header["metadata_offset"] : self.header["metadata_offset"]
                + self.header["metadata_length"]
            ]
            if self.header["internal_compression"] == Compression.GZIP:
                meta = gzip.decompress(meta)
            self.metadata: dict[str, Any] = json.loads(meta)
            self._root = self._directory(self.header["root_offset"], self.header["root_length"])
        except ArchiveError:
            self.close()
            raise
        except Exception as err:  # any parse failure of a damaged file
            self.close()
            raise ArchiveError(f"{path.name}: unreadable archive ({err})") from err
        self._leaves = lru_cache(maxsize=256)(self._leaf)

    def _directory(self, offset: int, length: int) -> list[Entry]:
        # pmtiles' deserialize_directory gunzips (the writer always gzips directories).
        return deserialize_directory(self._map[offset : offset + length])

    def _leaf(self, offset: int, length: int) -> list[Entry]:
        return self._directory(self.header["leaf_directory_offset"] + offset, length)

    def get(self, z: int, x: int, y: int) -> bytes | None:
        """The tile's bytes, or None when the archive does not hold it."""
        if not self.header["min_zoom"] <= z <= self.header["max_zoom"]:
            return None
        tile_id = zxy_to_tileid(z, x, y)
        directory = self._root
        for _ in range(4):
            entry = find_tile(directory, tile_id)
            if entry is None:
                return None
            if entry.run_length > 0:
                start = self.header["tile_data_offset"] + entry.offset
                return self._map[start : start + entry.length]
            directory = self._leaves(entry.offset, entry.length)
        return None

    def close(self) -> None:
        """Release the mapping and the file."""
        if getattr(self, "_map", None) is not None:
            self._map.close()
        self._file.close()


class Archives:
    """Open archives by scene, reopened when the file changes; a bad one is skipped with a warning."""

    def __init__(self, baked_dir: Path) -> None:
        self.baked_dir = baked_dir
        self._open: dict[str, tuple[float, int, Archive | None]] = {}
        self._lock = threading.Lock()

    def for_scene(self, scene_id: str, version: str) -> Archive | None:
        """The scene's archive if it exists, reads, and was baked from this scene version."""
        path = self.baked_dir / f"{scene_id}.pmtiles"
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        with self._lock:
            cached = self._open.get(scene_id)
            if cached is None or cached[:2] != (stat.st_mtime, stat.st_size):
                if cached is not None and cached[2] is not None:
                    cached[2].close()
                try:
                    archive: Archive | None = Archive(path)
                except (ArchiveError, OSError) as err:
                    logger.warning("serving scene %s dynamically: %s", scene_id, err)
                    archive = None
                self._open[scene_id] = (stat.st_mtime, stat.st_size, archive)
            archive = self._open[scene_id][2]
        if archive is None or archive.metadata.get("tumen:scene_version") != version:
            return None
        return archive

    def close(self) -> None:
        """Close every open archive."""
        with self._lock:
            for _, _, archive in self._open.values():
                if archive is not None:
                    archive.close()
            self._open.clear()
