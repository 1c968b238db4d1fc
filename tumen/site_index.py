"""The catalog's sites seen through the sightings side's narrow SiteIndex (overlays.sites)."""

from collections.abc import Callable, Mapping
from typing import Any

from overlays.sites import SiteInfo

Documents = Mapping[str, Mapping[str, Any]]


class CatalogSites:
    """Sites as SiteInfo, parsed again only when the documents it is given are new ones.

    ``documents`` is ``SceneResolver.site_documents`` in the app (the same object until the catalog
    changes, so a request costs no parsing) or ``SiteRegistry.documents`` in a command.
    """

    def __init__(self, documents: Callable[[], Documents]) -> None:
        self._documents = documents
        self._parsed: tuple[Documents, dict[str, SiteInfo]] | None = None

    def _infos(self) -> dict[str, SiteInfo]:
        documents = self._documents()
        parsed = self._parsed
        if parsed is None or parsed[0] is not documents:
            infos = {sid: SiteInfo.model_validate(doc) for sid, doc in documents.items()}
            parsed = self._parsed = (documents, infos)
        return parsed[1]

    def get(self, site_id: str) -> SiteInfo | None:
        """The site with that id, or None."""
        return self._infos().get(site_id)

    def all(self) -> list[SiteInfo]:
        """Every site, in the catalog's order."""
        return list(self._infos().values())
