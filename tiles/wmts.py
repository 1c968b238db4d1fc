"""WMTS 1.0 capabilities (RESTful) for scenes and for sites with a TIME dimension."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

import jinja2
import morecantile

from tiles.media import MEDIA_TYPES

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("tiles", "templates"), autoescape=False, keep_trailing_newline=True
)


@dataclass
class WmtsLayer:
    """One layer: a tile URL template with ``{fmt}`` for the extension and WMTS's own placeholders."""

    identifier: str
    title: str
    abstract: str
    bbox: tuple[float, float, float, float]
    template: str
    minzoom: int
    maxzoom: int
    times: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=lambda: ["png", "jpg"])
    default: str | None = None  # the Time a client gets when it chooses none; else the latest


def formats_for(baked: str | None) -> list[str]:
    """Offer the baked format first (if every client decodes it), so they get archived tiles.

    WebP goes last: Qt builds without its image plugin (QGIS on Debian) cannot decode it.
    """
    ordered = [baked] if baked in ("png", "jpg") else []
    rest = [f for f in ("png", "jpg") if f not in ordered]
    return ordered + rest + (["webp"] if baked == "webp" else [])


def wmts_time(when: datetime) -> str:
    """A TIME value that survives being pasted into a URL unencoded: UTC with a ``Z``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _limits(tms: morecantile.TileMatrixSet, layer: WmtsLayer) -> list[dict[str, int]]:
    out = []
    for z in range(layer.minzoom, layer.maxzoom + 1):
        ul = tms.tile(layer.bbox[0], layer.bbox[3], z)
        lr = tms.tile(layer.bbox[2], layer.bbox[1], z)
        out.append({"z": z, "minx": ul.x, "maxx": lr.x, "miny": ul.y, "maxy": lr.y})
    return out


def render_capabilities(
    *,
    layers: list[WmtsLayer],
    tms: morecantile.TileMatrixSet,
    self_url: str,
    title: str,
    abstract: str,
) -> str:
    """Capabilities XML listing ``layers`` on one TileMatrixSet, with matrices 0..max zoom."""
    maxzoom = max((layer.maxzoom for layer in layers), default=0)
    matrices = [
        {
            "id": m.id,
            "scale": m.scaleDenominator,
            "origin": m.pointOfOrigin,
            "tile_width": m.tileWidth,
            "tile_height": m.tileHeight,
            "width": m.matrixWidth,
            "height": m.matrixHeight,
        }
        for m in tms.tileMatrices[: maxzoom + 1]
    ]
    crs = f"urn:ogc:def:crs:EPSG::{tms.rasterio_crs.to_epsg()}"
    return _env.get_template("wmts.xml").render(
        title=title,
        abstract=abstract,
        self_url=self_url,
        layers=[
            {
                **layer.__dict__,
                "limits": _limits(tms, layer),
                "formats": [{"ext": f, "media_type": MEDIA_TYPES[f]} for f in layer.formats],
            }
            for layer in layers
        ],
        tms={"id": tms.id, "crs": crs},
        matrices=matrices,
    )
