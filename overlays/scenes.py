"""What the sightings side knows of the imagery: a narrow, typed index of scenes (it never imports tiles)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class SceneFootprint:
    """A scene as sightings refer to it: where, when, whose, and whether it is synthetic."""

    id: str
    datetime: datetime
    sites: tuple[str, ...]
    bbox: tuple[float, float, float, float]
    synthetic: bool
    provider: str
    gsd: float | None
    description: str

    def properties(self) -> dict[str, Any]:
        """The properties of this scene's feature in the scenes collection."""
        return {
            "datetime": self.datetime.isoformat(),
            "sites": list(self.sites),
            "synthetic": self.synthetic,
            "provider": self.provider,
            "gsd": self.gsd,
            "description": self.description,
        }


class SceneIndex(Protocol):
    """Look-ups the sightings API needs; the composition root adapts the imagery catalog to it."""

    def get(self, scene_id: str) -> SceneFootprint | None:
        """The scene with that id, or None when the catalog has none (any more)."""
        ...

    def footprints(self, site: str | None = None) -> list[SceneFootprint]:
        """Every scene (of ``site``), oldest first."""
        ...
