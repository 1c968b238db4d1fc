"""Scene and site look-ups for the request path, cached until the catalog changes (any process)."""

import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tiles.catalog import Catalog, Scene
from tiles.sites import Site, parse_site


class SceneResolver:
    """Memoises ``Catalog.get``, ``Catalog.at`` and the sites; the catalog's revision says when to forget.

    It resolves a request's scene id, or site and time, to a ``Scene``; where that scene's pixels are
    read from is ``Catalog.location`` (a path or a URL), its file on this machine ``Catalog.local_path``.

    The revision (``CatalogDB.watch``) changes whenever another connection (another worker, another
    instance, the CLI re-ingesting a scene or adding a site) commits: on SQLite ``PRAGMA
    data_version`` on a long-lived connection, seen at once (a request costs one PRAGMA while nothing
    changed); on PostgreSQL a notification, within ``tiles.catalog_db.BOUND_S`` (a request costs
    nothing).
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._revision = catalog.db.watch()
        self._lock = threading.Lock()
        self._version = -1
        self._memo: dict[tuple[str, str, float | None], Scene] = {}
        self._site_documents: dict[str, dict[str, Any]] | None = None
        self._sites: tuple[Mapping[str, Any], dict[str, Site]] | None = None

    def _fresh(self) -> None:
        with self._lock:
            version = self._revision.current()
            if version != self._version:
                self._memo.clear()
                self._site_documents = self._sites = None
                self._version = version

    def site_documents(self) -> Mapping[str, Mapping[str, Any]]:
        """Every site's document (one object until the catalog changes; do not modify it)."""
        self._fresh()
        documents = self._site_documents
        if documents is None:
            documents = self._site_documents = self.catalog.sites.documents()
        return documents

    def sites(self) -> Mapping[str, Site]:
        """Every site by id, in the catalog's order."""
        documents = self.site_documents()
        parsed = self._sites
        if parsed is None or parsed[0] is not documents:  # parsed from the documents of now
            parsed = self._sites = (documents, {sid: parse_site(d) for sid, d in documents.items()})
        return parsed[1]

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
        """Stop watching the catalog (the long-lived connection, or the listening thread)."""
        self._revision.close()
