"""Sites as the tiles side knows them: an id, a name and a bbox, read from the one sites file."""

import json
from pathlib import Path

from pydantic import BaseModel, Field


class Site(BaseModel):
    """A place tumen watches; its bbox decides which scenes cover it."""

    id: str
    name: str
    bbox: tuple[float, float, float, float] = Field(description="minlon, minlat, maxlon, maxlat")
    centre: tuple[float, float]
    description: str = ""


def load_sites(path: Path) -> dict[str, Site]:
    """Read the sites file; unknown keys are left to other readers of the same file."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    sites = [Site.model_validate(s) for s in doc["sites"]]
    return {s.id: s for s in sites}


def covered_sites(
    geographic_bounds: tuple[float, float, float, float], sites: dict[str, Site]
) -> list[str]:
    """Ids of every site whose bbox a footprint overlaps: one border image serves several sites."""
    from shapely.geometry import box

    footprint = box(*geographic_bounds)
    return [sid for sid, site in sites.items() if footprint.intersects(box(*site.bbox))]
