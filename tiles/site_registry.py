"""The sites in the catalog's database: the one home for reading and writing them.

Each site is one JSON document (the shape of the sites file: id, name, bbox, centre, and whatever
else its readers want, such as the sightings side's ``main_kind`` and ``baselines``). The sites file
seeds the table once, the first time a catalog is opened with it; from then on the table is the
truth and ``tumen sites add|rm`` change it. Readers on the request path go through
``tiles.resolve.SceneResolver.sites``, which re-reads the table only when the catalog has changed.
"""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tiles.catalog_db import CatalogDB
from tiles.errors import SiteExists, SiteInUse, SiteNotFound
from tiles.sites import References, Site, load_site_documents, parse_site


def _dumps(document: Mapping[str, Any]) -> str:
    return json.dumps(dict(document), ensure_ascii=False)


class SiteRegistry:
    """Sites as documents in the catalog's database; every write is one transaction."""

    def __init__(self, db: CatalogDB, defaults: Path | None = None) -> None:
        self._db = db
        if defaults is not None:
            self._seed(defaults)

    def _seed(self, defaults: Path) -> None:
        """The sites of ``defaults``, once per catalog: removing them later does not bring them back."""
        documents = load_site_documents(defaults)
        for doc in documents.values():
            parse_site(doc)  # a broken seed is refused before anything is written
        self._db.seed_sites([(sid, _dumps(doc)) for sid, doc in documents.items()], str(defaults))

    def documents(self) -> dict[str, dict[str, Any]]:
        """Every site's document by id, in the order they were added (the defaults first)."""
        return {sid: json.loads(doc) for sid, doc in self._db.site_documents()}

    def all(self) -> dict[str, Site]:
        """Every site, in the order they were added."""
        return {sid: parse_site(doc) for sid, doc in self.documents().items()}

    def document(self, site_id: str) -> dict[str, Any]:
        """The document of one site (SiteNotFound otherwise)."""
        document = self._db.site_document(site_id)
        if document is None:
            raise SiteNotFound(site_id, self._db.site_ids())
        return json.loads(document)  # type: ignore[no-any-return]

    def get(self, site_id: str) -> Site:
        """One site (SiteNotFound otherwise)."""
        return parse_site(self.document(site_id))

    def add(self, document: Mapping[str, Any]) -> Site:
        """Add a new site (InvalidSite for a bad document, SiteExists for a known id)."""
        site = parse_site(document)
        if not self._db.insert_site(site.id, _dumps(document)):
            raise SiteExists(site.id)
        return site

    def set_references(self, site_id: str, references: References | None) -> Site:
        """Store (or, with None, drop) a site's reference layers; the rest of its document is kept."""
        document = self.document(site_id)
        if references is None:
            document.pop("references", None)
        else:
            document["references"] = references.model_dump(mode="json", exclude_none=True)
        site = parse_site(document)
        self._db.update_site(site_id, _dumps(document))
        return site

    def scenes_of(self, site_id: str) -> list[str]:
        """Ids of the scenes that cover a site."""
        return self._db.scenes_of(site_id)

    def remove(self, site_id: str) -> None:
        """Forget a site: SiteNotFound if unknown, SiteInUse while a scene covers it.

        What else may name the site (sightings) is the caller's to check first: tiles does not know it.
        """
        existed, scenes = self._db.delete_site(site_id)
        if not existed:
            raise SiteNotFound(site_id, self._db.site_ids())
        if scenes:
            raise SiteInUse(site_id, [counted(scenes, "scene")])


def counted(ids: list[str], noun: str, shown: int = 5) -> str:
    """'2 scenes (a, b)', at most ``shown`` ids named."""
    names = ", ".join(ids[:shown]) + (", …" if len(ids) > shown else "")
    return f"{len(ids)} {noun}{'' if len(ids) == 1 else 's'} ({names})"
