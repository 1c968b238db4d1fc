"""Evidence out: a zip with the image chip, the chip with its sightings drawn, the sightings, a STAC Item, SOURCES.md."""

import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import pystac
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from PIL import Image, ImageDraw
from rasterio.warp import transform_bounds
from shapely.geometry import box

from overlays.dependencies import get_store
from overlays.errors import InvalidQuery
from overlays.params import parse_bbox
from overlays.store import ObservationStore
from publish.fonts import font
from publish.marks import draw_marks
from publish.panel import stamp
from tiles.catalog import Catalog, Scene
from tiles.dependencies import get_catalog, get_sites
from tiles.errors import SiteNotFound
from tiles.reader import SceneReader
from tiles.sites import Site
from tiles.stac import SYNTHETIC_NOTE, attribution, scene_item
from tiles.times import parse_datetime
from tumen.evidence import Bbox, bbox_area_km2, check_area, label, mark_of, sightings_for
from tumen.publication import report_figure

__all__ = ["Report", "bbox_area_km2", "build_report", "label", "report_router", "sightings_for"]


@dataclass(frozen=True)
class Report:
    """An evidence bundle and what it was made of."""

    site: str
    scene: Scene
    sightings: list[dict[str, Any]]
    zip: bytes

    @property
    def filename(self) -> str:
        """tumen-SITE-YYYYMMDDTHHMM.zip, after the scene's time."""
        return f"tumen-{self.site}-{self.scene.datetime:%Y%m%dT%H%M}.zip"


def build_report(
    catalog: Catalog,
    store: ObservationStore,
    sites: Mapping[str, Site],
    site: str,
    bbox: Bbox,
    when: datetime | None,
    *,
    max_km2: float,
) -> Report:
    """The bundle of a site's area at a time (the scene current then), checked as the route and CLI need.

    SiteNotFound for an unknown site, InvalidQuery for an area over ``max_km2`` or outside the scene,
    NoSceneAtTime when the site has no scene that old.
    """
    if site not in sites:
        raise SiteNotFound(site, list(sites))
    check_area(bbox, max_km2)
    scene = catalog.at(site, when)
    if not box(*scene.geographic_bounds).intersects(box(*bbox)):
        raise InvalidQuery(f"bbox: outside scene '{scene.id}'")
    features = sightings_for(store, scene, site, bbox)
    figure = report_figure(catalog, store, sites[site], scene, bbox)
    body = report_zip(scene, catalog.location(scene), site, bbox, features, figure=figure)
    return Report(site, scene, features, body)


def report_zip(
    scene: Scene,
    cog: str,
    site: str,
    bbox: Bbox,
    features: list[dict[str, Any]],
    *,
    figure: bytes,
) -> bytes:
    """The zip: chip.tif, chip.png (sightings drawn and labelled), figure.png, sightings.geojson, item.json, SOURCES.md.

    ``figure`` is the publication figure's PNG (confirmed sightings only).
    """
    with SceneReader(cog) as src:
        # At the scene's own resolution: the chip is the image, not a resampling of it.
        minx, miny, maxx, maxy = transform_bounds("EPSG:4326", src.crs, *bbox, densify_pts=21)
        res = abs(src.transform.a)
        image = src.part(
            bbox,
            dst_crs=src.crs,
            width=max(1, round((maxx - minx) / res)),
            height=max(1, round((maxy - miny) / res)),
        )
    tif = image.render(img_format="GTiff", add_mask=False)
    rgb = Image.fromarray(image.data[:3].transpose(1, 2, 0).copy(), "RGB")
    # Every sighting, confirmed or not: the chip is the evidence, not the publication figure.
    draw_marks(
        rgb, [mark_of(f) for f in features], image.transform, image.crs.to_wkt(), face=font(11)
    )
    if scene.synthetic:
        stamp(ImageDraw.Draw(rgb, "RGBA"), (4, 3), 400)
    png = io.BytesIO()
    rgb.save(png, "PNG")

    item = scene_item(scene, None, item_id=f"{scene.id}-report", bbox=bbox)
    item.properties |= {
        "title": f"{site} on {scene.datetime.isoformat()}",
        "tumen:source_scene": scene.id,
        "tumen:site": site,
        "tumen:sightings": len(features),
    }
    item.add_asset(
        "chip", pystac.Asset(href="./chip.tif", media_type=pystac.MediaType.GEOTIFF, roles=["data"])
    )
    item.add_asset(
        "annotated",
        pystac.Asset(href="./chip.png", media_type=pystac.MediaType.PNG, roles=["overview"]),
    )
    item.add_asset(
        "figure",
        pystac.Asset(
            href="./figure.png",
            media_type=pystac.MediaType.PNG,
            roles=["visual"],
            title="Publication figure: confirmed sightings, scale bar, north arrow, credit",
        ),
    )
    item.add_asset(
        "sightings",
        pystac.Asset(
            href="./sightings.geojson", media_type=pystac.MediaType.GEOJSON, roles=["metadata"]
        ),
    )

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("chip.tif", tif)
        z.writestr("chip.png", png.getvalue())
        z.writestr("figure.png", figure)
        z.writestr(
            "sightings.geojson",
            json.dumps(
                {"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=1
            ),
        )
        z.writestr("item.json", json.dumps(item.to_dict(include_self_link=False), indent=1))
        z.writestr("SOURCES.md", sources_md(scene, site, bbox, features))
    return out.getvalue()


def sources_md(scene: Scene, site: str, bbox: Bbox, features: list[dict[str, Any]]) -> str:
    """Every cited source, and where the image comes from (saying 'synthetic' where it is)."""
    lines = [f"# Sources — {site}, {scene.datetime.isoformat()}", "", "## Image", ""]
    lines.append(f"- Scene `{scene.id}`: {attribution(scene)}")
    if scene.synthetic:
        lines.append(
            f"- **{SYNTHETIC_NOTE}.** It depicts what the sources below report; it is not evidence by itself."
        )
    lines += [
        "",
        f"Area: {', '.join(f'{v:.5f}' for v in bbox)} (lon/lat, WGS84)",
        "",
        "## Sightings and their sources",
        "",
    ]
    if not features:
        lines.append("No sighting is recorded in this area on this date.")
    for f in features:
        p = f["properties"]
        lines.append(f"- `{f['id']}` — {label(p)}. {p.get('description', '')}".rstrip())
        for s in p.get("sources") or []:
            bits = [s["outlet"], s.get("title"), s.get("published"), s.get("url")]
            lines.append("  - " + " — ".join(str(b) for b in bits if b))
    return "\n".join(lines) + "\n"


def report_router(max_km2: float) -> APIRouter:
    """GET /sites/{site}/report: the zip for a site at a time and a bbox."""
    router = APIRouter(tags=["Report"])

    @router.get(
        "/sites/{site_id}/report",
        response_class=Response,
        responses={
            200: {"content": {"application/zip": {}}},
            400: {
                "description": "The bbox or datetime is malformed, or the bbox too large or "
                "outside the scene."
            },
            404: {"description": "The site is unknown, or has no scene at that time."},
            503: {"description": "The scene's imagery could not be read; try again later."},
        },
    )
    def report(
        site_id: str,
        bbox: Annotated[str, Query(description="minlon,minlat,maxlon,maxlat")],
        catalog: Annotated[Catalog, Depends(get_catalog)],
        store: Annotated[ObservationStore, Depends(get_store)],
        sites: Annotated[Mapping[str, Site], Depends(get_sites)],
        datetime: Annotated[
            str | None, Query(description="the scene current then; default latest")
        ] = None,
    ) -> Response:
        """A zip of evidence for the area and time."""
        area = parse_bbox(bbox)
        assert area is not None
        made = build_report(
            catalog, store, sites, site_id, area, parse_datetime(datetime), max_km2=max_km2
        )
        return Response(
            made.zip,
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{made.filename}"'},
        )

    return router
