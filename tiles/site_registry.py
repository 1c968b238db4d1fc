"""The sites in the catalog's SQLite file: the one home for reading and writing them.

Each site is one JSON document (the shape of the sites file: id, name, bbox, centre, and whatever
else its readers want, such as the sightings side's ``main_kind`` and ``baselines``). The sites file
seeds the table once, the first time a catalog is opened with it; from then on the table is the
truth and ``tumen sites add|rm`` change it. Readers on the request path go through
``tiles.resolve.SceneResolver.sites``, which re-reads the table only when the file has changed.
"""

import json
import sqlite3
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from tiles.errors import SiteExists, SiteInUse, SiteNotFound
from tiles.sites import References, Site, load_site_documents, parse_site

SCHEMA = """
CREATE TABLE IF NOT EXISTS sites (
    id          TEXT PRIMARY KEY,
    document    TEXT NOT NULL      -- the site as JSON, in the shape of the sites file
);
CREATE TABLE IF NOT EXISTS catalog_meta (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL
);
"""
SEEDED = "sites_seeded_from"

Connect = Callable[[], AbstractContextManager[sqlite3.Connection]]


class SiteRegistry:
    """Sites as documents in the catalog file; every write is one transaction."""

    def __init__(self, connect: Connect, defaults: Path | None = None) -> None:
        self._connect = connect
        with self._connect() as db:
            db.executescript(SCHEMA)
        if defaults is not None:
            self._seed(defaults)

    def _seed(self, defaults: Path) -> None:
        """The sites of ``defaults``, once per catalog: removing them later does not bring them back."""
        documents = load_site_documents(defaults)
        for doc in documents.values():
            parse_site(doc)  # a broken seed is refused before anything is written
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            if db.execute("SELECT 1 FROM catalog_meta WHERE key = ?", (SEEDED,)).fetchone():
                return
            db.executemany(
                "INSERT OR IGNORE INTO sites (id, document) VALUES (?, ?)",
                [(sid, json.dumps(doc, ensure_ascii=False)) for sid, doc in documents.items()],
            )
            db.execute(
                "INSERT INTO catalog_meta (key, value) VALUES (?, ?)", (SEEDED, str(defaults))
            )

    def documents(self) -> dict[str, dict[str, Any]]:
        """Every site's document by id, in the order they were added (the defaults first)."""
        with self._connect() as db:
            rows = db.execute("SELECT id, document FROM sites ORDER BY rowid").fetchall()
        return {sid: json.loads(doc) for sid, doc in rows}

    def all(self) -> dict[str, Site]:
        """Every site, in the order they were added."""
        return {sid: parse_site(doc) for sid, doc in self.documents().items()}

    def document(self, site_id: str) -> dict[str, Any]:
        """The document of one site (SiteNotFound otherwise)."""
        with self._connect() as db:
            row = db.execute("SELECT document FROM sites WHERE id = ?", (site_id,)).fetchone()
            if row is None:
                known = [r[0] for r in db.execute("SELECT id FROM sites")]
        if row is None:
            raise SiteNotFound(site_id, known)
        return json.loads(row[0])  # type: ignore[no-any-return]

    def get(self, site_id: str) -> Site:
        """One site (SiteNotFound otherwise)."""
        return parse_site(self.document(site_id))

    def add(self, document: Mapping[str, Any]) -> Site:
        """Add a new site (InvalidSite for a bad document, SiteExists for a known id)."""
        site = parse_site(document)
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            if db.execute("SELECT 1 FROM sites WHERE id = ?", (site.id,)).fetchone():
                raise SiteExists(site.id)
            db.execute(
                "INSERT INTO sites (id, document) VALUES (?, ?)",
                (site.id, json.dumps(dict(document), ensure_ascii=False)),
            )
        return site

    def set_references(self, site_id: str, references: References | None) -> Site:
        """Store (or, with None, drop) a site's reference layers; the rest of its document is kept."""
        document = self.document(site_id)
        if references is None:
            document.pop("references", None)
        else:
            document["references"] = references.model_dump(mode="json", exclude_none=True)
        site = parse_site(document)
        with self._connect() as db:
            db.execute(
                "UPDATE sites SET document = ? WHERE id = ?",
                (json.dumps(document, ensure_ascii=False), site_id),
            )
        return site

    def scenes_of(self, site_id: str) -> list[str]:
        """Ids of the scenes that cover a site."""
        with self._connect() as db:
            return _scenes_of(db, site_id)

    def remove(self, site_id: str) -> None:
        """Forget a site: SiteNotFound if unknown, SiteInUse while a scene covers it.

        What else may name the site (sightings) is the caller's to check first: tiles does not know it.
        """
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            if not db.execute("SELECT 1 FROM sites WHERE id = ?", (site_id,)).fetchone():
                known = [r[0] for r in db.execute("SELECT id FROM sites")]
                raise SiteNotFound(site_id, known)
            scenes = _scenes_of(db, site_id)
            if scenes:
                raise SiteInUse(site_id, [counted(scenes, "scene")])
            db.execute("DELETE FROM sites WHERE id = ?", (site_id,))


def _scenes_of(db: sqlite3.Connection, site_id: str) -> list[str]:
    rows = db.execute(
        "SELECT scene_id FROM scene_sites WHERE site_id = ? ORDER BY scene_id", (site_id,)
    ).fetchall()
    return [r[0] for r in rows]


def counted(ids: list[str], noun: str, shown: int = 5) -> str:
    """'2 scenes (a, b)', at most ``shown`` ids named."""
    names = ", ".join(ids[:shown]) + (", …" if len(ids) > shown else "")
    return f"{len(ids)} {noun}{'' if len(ids) == 1 else 's'} ({names})"
