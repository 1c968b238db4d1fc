"""Read tiles from PMTiles archives: each opened once, header and directories parsed once and kept.

An archive is read through a byte source: a local file mapped into memory, or an object in S3 read
by ranged GETs. Opening reads the first 16 KiB (header, root directory and usually the metadata: one
GET); a leaf directory is read once and kept; a tile is then one range (one GET from S3).
"""

import gzip
import json
import logging
import threading
from collections import OrderedDict
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

from tiles.catalog import Scene
from tiles.errors import StorageUnavailable
from tiles.storage import HEAD_BYTES, FileRange, RangeSource, S3Objects, is_s3

logger = logging.getLogger("tumen.tiles")
# Archives in object storage kept open (header, root and up to 256 leaf directories each).
REMOTE_OPEN = 64


class ArchiveError(Exception):
    """An archive that is not a whole, readable PMTiles v3 file."""


class Archive:
    """One PMTiles archive on a byte source; ``get`` costs a directory search and one range read.

    ``Archive(path)`` maps a local file; ``Archive(source)`` reads any ``RangeSource``.
    """

    def __init__(self, source: Path | RangeSource) -> None:
        self.source: RangeSource = FileRange(source) if isinstance(source, Path) else source
        name = self.source.name
        try:
            head = self.source.get_bytes(0, HEAD_BYTES)
            self.header = deserialize_header(head[0:127])
            end = self.header["tile_data_offset"] + self.header["tile_data_length"]
            if self.header["version"] != 3 or end > self.source.size():
                raise ArchiveError(f"{name}: truncated or not PMTiles v3")
            meta = self._read(head, self.header["metadata_offset"], self.header["metadata_length"])
            if self.header["internal_compression"] == Compression.GZIP:
                meta = gzip.decompress(meta)
            self.metadata: dict[str, Any] = json.loads(meta)
            root = self._read(head, self.header["root_offset"], self.header["root_length"])
            # pmtiles' deserialize_directory gunzips (the writer always gzips directories).
            self._root: list[Entry] = deserialize_directory(root)
        except (ArchiveError, StorageUnavailable):
            self.close()
            raise
        except Exception as err:  # any parse failure of a damaged file
            self.close()
            raise ArchiveError(f"{name}: unreadable archive ({err})") from err
        self._leaves = lru_cache(maxsize=256)(self._leaf)

    def _read(self, head: bytes, offset: int, length: int) -> bytes:
        """From the head already read when it holds the range, else one more read."""
        if offset + length <= len(head):
            return head[offset : offset + length]
        return self.source.get_bytes(offset, length)

    def _leaf(self, offset: int, length: int) -> list[Entry]:
        start = self.header["leaf_directory_offset"] + offset
        return deserialize_directory(self.source.get_bytes(start, length))

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
                return self.source.get_bytes(start, entry.length)
            directory = self._leaves(entry.offset, entry.length)
        return None

    def close(self) -> None:
        """Release the source (the mapping and the file of a local archive)."""
        self.source.close()


class Archives:
    """Open archives by scene; a bad one is skipped with a warning.

    A local archive (``baked/{id}.pmtiles``) is reopened when its file changes. One in object
    storage is kept by its key, which is immutable: its header and directories never go stale.
    """

    def __init__(self, baked_dir: Path, s3: S3Objects | None = None) -> None:
        self.baked_dir = baked_dir
        self.s3 = s3
        self._open: dict[str, tuple[float, int, Archive | None]] = {}
        self._remote: OrderedDict[str, Archive | None] = OrderedDict()
        self._lock = threading.Lock()

    def for_scene(self, scene: Scene) -> Archive | None:
        """The scene's archive if it exists, reads, and was baked from this scene version.

        StorageUnavailable when object storage cannot be reached (the caller renders instead).
        """
        if scene.archive is not None and is_s3(scene.archive):
            archive = self._in_storage(scene.id, scene.archive)
        else:
            archive = self._local(scene.id)
        if archive is None or archive.metadata.get("tumen:scene_version") != scene.version:
            return None
        return archive

    def _local(self, scene_id: str) -> Archive | None:
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
            return self._open[scene_id][2]

    def _in_storage(self, scene_id: str, location: str) -> Archive | None:
        if self.s3 is None:
            return None  # no S3 configured in this process: the scene renders from its COG
        with self._lock:
            if location in self._remote:
                self._remote.move_to_end(location)
                return self._remote[location]
        # Opened outside the lock (network); two threads racing open it twice, harmlessly.
        try:
            archive: Archive | None = Archive(self.s3.open_range(location))
        except (ArchiveError, FileNotFoundError) as err:
            logger.warning("serving scene %s dynamically: %s", scene_id, err)
            archive = None
        with self._lock:
            self._remote[location] = archive
            while len(self._remote) > REMOTE_OPEN:
                _, dropped = self._remote.popitem(last=False)
                if dropped is not None:
                    dropped.close()
        return archive

    def close(self) -> None:
        """Close every open archive."""
        with self._lock:
            for _, _, archive in self._open.values():
                if archive is not None:
                    archive.close()
            self._open.clear()
            for remote in self._remote.values():
                if remote is not None:
                    remote.close()
            self._remote.clear()
