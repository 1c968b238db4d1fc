"""Sites as the sightings side needs them: id, name, bbox (to check positions) and baseline."""

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

# A sighting may sit a little outside its site's bbox (approach tracks, anchorage): about 2 km.
BBOX_MARGIN_DEG = 0.02


class SiteInfo(BaseModel):
    """A watched site and the baseline its activity is compared with."""

    id: str
    name: str
    bbox: tuple[float, float, float, float]
    centre: tuple[float, float]
    description: str = ""
    baseline: dict[str, Any] | None = None

    def contains(self, bounds: tuple[float, float, float, float]) -> bool:
        """Whether a geometry's bounds lie within the bbox grown by the margin."""
        m = BBOX_MARGIN_DEG
        w, s, e, n = self.bbox
        return (
            bounds[0] >= w - m and bounds[1] >= s - m and bounds[2] <= e + m and bounds[3] <= n + m
        )


def load_sites(path: Path) -> dict[str, SiteInfo]:
    """Read the one sites file (tumen/sites.json)."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    return {s["id"]: SiteInfo.model_validate(s) for s in doc["sites"]}
