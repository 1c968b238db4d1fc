"""Sites as the sightings side needs them: id, name, bbox (to check positions) and baselines.

Sites are data in the imagery catalog; the composition root adapts it to ``SiteIndex``.
"""

from typing import Any, Protocol

from pydantic import BaseModel, Field, model_validator

from overlays.models import Kind

# A sighting may sit a little outside its site's bbox (approach tracks, anchorage): about 2 km.
BBOX_MARGIN_DEG = 0.02


class Baseline(BaseModel):
    """A sourced figure for one kind at a site (e.g. at most 20 wagons before COVID-19)."""

    kind: Kind
    count: int | None = None
    description: str = ""
    sources: list[dict[str, Any]] = Field(default_factory=list)


class SiteInfo(BaseModel):
    """A watched site, the kind that tells its activity best, and a baseline per kind."""

    id: str
    name: str
    bbox: tuple[float, float, float, float]
    centre: tuple[float, float]
    description: str = ""
    main_kind: Kind | None = Field(
        None, description="the kind its activity chart opens on: wagon at rail sites, ship at ports"
    )
    baselines: list[Baseline] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_baseline_per_kind(self) -> "SiteInfo":
        kinds = [b.kind for b in self.baselines]
        if len(kinds) != len(set(kinds)):
            raise ValueError(f"site '{self.id}': more than one baseline for a kind ({kinds})")
        return self

    def baseline(self, kind: Kind) -> Baseline | None:
        """The site's baseline for that kind, if it has one."""
        return next((b for b in self.baselines if b.kind == kind), None)

    def contains(self, bounds: tuple[float, float, float, float]) -> bool:
        """Whether a geometry's bounds lie within the bbox grown by the margin."""
        m = BBOX_MARGIN_DEG
        w, s, e, n = self.bbox
        return (
            bounds[0] >= w - m and bounds[1] >= s - m and bounds[2] <= e + m and bounds[3] <= n + m
        )


class SiteIndex(Protocol):
    """Site look-ups the sightings API needs; the composition root adapts the catalog to it."""

    def get(self, site_id: str) -> SiteInfo | None:
        """The site with that id, or None when the catalog has none (any more)."""
        ...

    def all(self) -> list[SiteInfo]:
        """Every site, in the catalog's order."""
        ...
