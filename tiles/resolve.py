"""Scene look-ups for the hot tile path, cached until the catalog file changes (any process)."""

import sqlite3
import threading
from datetime import datetime

from tiles.catalog import Catalog, Scene


class SceneResolver:
    """Memoises ``Catalog.get`` and ``Catalog.at``; SQLite's ``data_version`` says when to forget.

    It resolves a request's scene id, or site and time, to a ``Scene``; where that scene's pixels are
    read from is ``Catalog.location`` (a path or a URL), its file on this machine ``Catalog.local_path``.

    ``PRAGMA data_version`` on a long-lived connection changes whenever another connection (another
    worker, the CLI re-ingesting a scene) commits, so every worker sees re-ingests at once.
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._db = sqlite3.connect(catalog.database, check_same_thread=False)
        self._lock = threading.Lock()
        self._version = -1
        self._memo: dict[tuple[str, str, float | None], Scene] = {}

    def _fresh(self) -> None:
        with self._lock:
            version = int(self._db.execute("PRAGMA data_version").fetchone()[0])
            if version != self._version:
                self._memo.clear()
                self._version = version

    def get(self, scene_id: str) -> Scene:
        """The scene with that id (SceneNotFound otherwise)."""
        self._fresh()
        key = ("id", scene_id, None)
        if key not in self._memo:
            self._memo[key] = self.catalog.get(scene_id)
        return self._memo[key]

    def at(self, site: str, when: datetime | None) -> Scene:
        """The site's scene current at ``when`` (NoSceneAtTime otherwise)."""
        self._fresh()
        key = ("at", site, when.timestamp() if when else None)
        if key not in self._memo:
            if len(self._memo) > 10_000:
                self._memo.clear()
            self._memo[key] = self.catalog.at(site, when)
        return self._memo[key]

    def close(self) -> None:
        """Close the long-lived connection."""
        self._db.close()
