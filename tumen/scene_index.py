"""The imagery catalog seen through the sightings side's narrow SceneIndex (overlays.scenes)."""

from overlays.scenes import SceneFootprint
from tiles.catalog import Catalog, Scene
from tiles.errors import SceneNotFound
from tiles.resolve import SceneResolver


def footprint(scene: Scene) -> SceneFootprint:
    """What a sighting may say of a scene."""
    return SceneFootprint(
        id=scene.id,
        datetime=scene.datetime,
        sites=tuple(scene.sites),
        bbox=scene.geographic_bounds,
        synthetic=scene.synthetic,
        provider=scene.provider,
        gsd=scene.gsd,
        description=scene.description,
    )


class CatalogScenes:
    """Scene look-ups by id through the memoised resolver (no listing); lists only for the scenes collection."""

    def __init__(self, catalog: Catalog, resolver: SceneResolver | None = None) -> None:
        self._catalog = catalog
        self._lookup = resolver or catalog

    def get(self, scene_id: str) -> SceneFootprint | None:
        """The scene with that id, or None."""
        try:
            return footprint(self._lookup.get(scene_id))
        except SceneNotFound:
            return None

    def footprints(self, site: str | None = None) -> list[SceneFootprint]:
        """Every scene (of ``site``), oldest first."""
        return [footprint(s) for s in self._catalog.list(site)]
