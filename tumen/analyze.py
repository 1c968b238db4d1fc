"""Automated candidates: a scene compared with its site's baseline, what was found kept as sightings.

The imagery side gives the pixels (rio-tiler, the scene's render defaults), ``analysis`` finds the
objects, the sightings side stores them; this module only wires the three. Each site the scene covers
is analysed over the site's area, against a baseline of that site, on one metric grid.
"""

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from affine import Affine
from pyproj import CRS, Transformer
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info
from rasterio.warp import transform_bounds
from shapely.geometry import box, mapping
from shapely.geometry.base import BaseGeometry
from shapely.ops import transform as shp_transform

from analysis import AnalysisResult, Detection, References, analyze
from analysis.errors import AnalysisError
from overlays.models import ObservationIn
from overlays.store import ObservationStore
from tiles.catalog import Catalog, Scene
from tiles.errors import SceneNotFound
from tiles.reader import SceneReader
from tiles.sites import Site, reference_geometries
from tumen.errors import AnalysisRefused


@dataclass(frozen=True)
class SiteAnalysis:
    """One site of a scene, analysed against one baseline."""

    site: str
    baseline: str
    result: AnalysisResult


@dataclass
class SceneAnalysis:
    """What one run found on one scene, and what it did to the stored sightings."""

    scene: Scene
    sites: list[SiteAnalysis] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    replaced: int = 0
    stored: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def detections(self) -> list[Detection]:
        """Everything found, over every site."""
        return [d for s in self.sites for d in s.result.detections]

    def summary(self) -> str:
        """One line: "tumangang-20231005: 7 trains (73 wagons), 0 ships, 3 cargo areas (2,140 m²) in 4.1 s"."""
        line = AnalysisResult(self.detections(), seconds=self.seconds).summary(self.scene.id)
        if self.skipped:
            line += f"; not analysed: {'; '.join(self.skipped)}"
        return line

    def document(self) -> dict[str, Any]:
        """The JSON the API answers with."""
        found = AnalysisResult(self.detections())
        trains, cargo = found.of_kind("train"), found.of_kind("cargo")
        return {
            "scene_id": self.scene.id,
            "summary": self.summary(),
            "sites": [
                {
                    "site": s.site,
                    "baseline": s.baseline,
                    "notes": s.result.notes,
                    "area_km2": round(s.result.area_km2, 3),
                    "seconds": round(s.result.seconds, 2),
                }
                for s in self.sites
            ],
            "skipped": self.skipped,
            "trains": len(trains),
            "wagons": sum(d.count or 0 for d in trains),
            "ships": len(found.of_kind("ship")),
            "cargo_areas": len(cargo),
            "cargo_m2": round(sum(d.area_m2 or 0 for d in cargo), 1),
            "replaced": self.replaced,
            "sightings": self.stored,
            "seconds": round(self.seconds, 2),
        }


def default_baseline(catalog: Catalog, scene: Scene, site: str) -> Scene | None:
    """The site's scene marked baseline, else its earliest; never the scene itself.

    Of several marked, the one whose footprint is most like the scene's (same acquisition extent,
    so the same processing and edges), then the earliest.
    """
    others = [s for s in catalog.list(site) if s.id != scene.id]
    marked = [s for s in others if s.baseline]
    if not marked:
        return others[0] if others else None
    footprint = box(*scene.geographic_bounds)

    def likeness(candidate: Scene) -> float:
        other = box(*candidate.geographic_bounds)
        return footprint.intersection(other).area / footprint.union(other).area

    return max(marked, key=likeness)  # max keeps the first (earliest) of equals


def metric_crs(scene: Scene, site: Site) -> CRS:
    """The scene's own CRS when it is a UTM zone, else the UTM zone of the site.

    Lengths and areas are measured in the grid's units, so the grid must be true to the ground:
    Web Mercator's metres are 1.35 ground metres at 42° N, and degrees are not metres at all.
    """
    crs = CRS.from_user_input(scene.crs)
    if crs.is_projected and crs.utm_zone is not None:
        return crs
    lon, lat = site.centre
    info = query_utm_crs_info(
        datum_name="WGS 84", area_of_interest=AreaOfInterest(lon, lat, lon, lat)
    )
    return CRS.from_epsg(int(info[0].code))


def common_grid(
    scene: Scene, baseline: Scene, site: Site, max_km2: float
) -> tuple[CRS, Affine, int, int]:
    """The site's area seen by both scenes, on a metric grid at the scene's resolution."""
    crs = metric_crs(scene, site)
    areas = [
        box(*transform_bounds("EPSG:4326", crs, *b, densify_pts=21))
        for b in (site.bbox, scene.geographic_bounds, baseline.geographic_bounds)
    ]
    common = areas[0].intersection(areas[1]).intersection(areas[2])
    if common.is_empty or common.area < 100:
        raise AnalysisRefused(
            f"baseline '{baseline.id}' and scene '{scene.id}' do not overlap over site '{site.id}'"
        )
    km2 = common.area / 1e6
    if km2 > max_km2:
        raise AnalysisRefused(
            f"site '{site.id}': {km2:.1f} km² to analyse, over the limit of {max_km2:g} km² "
            "(TUMEN_ANALYSIS_MAX_KM2)"
        )
    gsd = scene.gsd
    minx, miny, maxx, maxy = common.bounds
    width, height = max(1, round((maxx - minx) / gsd)), max(1, round((maxy - miny) / gsd))
    return crs, Affine(gsd, 0, minx, 0, -gsd, maxy), width, height


def read_rgb(
    location: str, scene: Scene, crs: CRS, transform: Affine, width: int, height: int
) -> tuple[np.ndarray, np.ndarray]:
    """A scene's pixels on the grid as 8-bit RGB, drawn as its tiles are (bidx, rescale), and a valid mask.

    One band is repeated to three; data that is not 8-bit and has no rescale default is stretched
    over its own 2–98 % range, as a viewer would.
    """
    minx, maxy = transform.c, transform.f
    bounds = (minx, maxy + transform.e * height, minx + transform.a * width, maxy)
    bidx = scene.render.get("bidx")
    with SceneReader(location) as src:
        image = src.part(
            bounds,
            dst_crs=crs,
            bounds_crs=crs,
            width=width,
            height=height,
            indexes=bidx,
            resampling_method="bilinear",
            reproject_method="bilinear",
        )
    rescale = scene.render.get("rescale")
    if rescale:
        image = image.rescale(in_range=[tuple(r) for r in rescale])
    elif image.data.dtype != np.uint8:
        valid = image.mask > 0
        lo, hi = np.percentile(image.data[:, valid], [2, 98]) if valid.any() else (0, 1)
        image = image.rescale(in_range=[(float(lo), float(max(hi, lo + 1)))])
    data = np.asarray(image.data)
    if data.shape[0] == 1:
        data = np.repeat(data, 3, axis=0)
    return data[:3].astype(np.uint8), np.asarray(image.mask) > 0


def site_references(site: Site, crs: CRS) -> References | None:
    """The site's reference layers, if a person drew any, on the analysis grid's CRS."""
    drawn = reference_geometries(site)
    if drawn.tracks is None and drawn.water is None and drawn.hard_standing is None:
        return None
    project = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform

    def on_grid(geom: BaseGeometry | None) -> Any:
        return None if geom is None else shp_transform(project, geom)

    return References(
        tracks=list(on_grid(drawn.tracks).geoms) if drawn.tracks is not None else [],
        water=on_grid(drawn.water),
        hard_standing=on_grid(drawn.hard_standing),
    )


def analyze_site(
    catalog: Catalog, scene: Scene, baseline: Scene, site: Site, *, max_km2: float
) -> tuple[SiteAnalysis, CRS]:
    """One site of a scene against one baseline (same grid, same render rules)."""
    crs, transform, width, height = common_grid(scene, baseline, site, max_km2)
    references = site_references(site, crs)
    image, valid = read_rgb(catalog.location(scene), scene, crs, transform, width, height)
    before, valid_before = read_rgb(
        catalog.location(baseline), baseline, crs, transform, width, height
    )
    try:
        result = analyze(
            image, before, transform, valid=valid & valid_before, references=references
        )
    except AnalysisError as err:
        raise AnalysisRefused(f"site '{site.id}': {err}") from err
    return SiteAnalysis(site.id, baseline.id, result), crs


def sighting(
    d: Detection, scene: Scene, site: str, baseline: str, to_lonlat: Transformer
) -> ObservationIn:
    """A detection as a candidate sighting: automated, unreviewed, on the scene, at its time."""
    geometry: BaseGeometry = shp_transform(to_lonlat.transform, d.geometry)
    doc = {
        "type": "Feature",
        "geometry": _rounded(mapping(geometry)),
        "properties": {
            "site": site,
            "scene_id": scene.id,
            "observed_at": scene.datetime.isoformat(),
            "time_precision": scene.time_precision,
            "kind": d.kind,
            "count": d.count,
            "count_approx": d.count_approx,
            "length_m": round(d.length_m, 1) if d.length_m else None,
            "length_approx": d.length_m is not None and scene.gsd > 1.5,
            "area_m2": round(d.area_m2, 1) if d.area_m2 else None,
            "description": f"{d.description} Baseline: scene '{baseline}'."
            + (" Found on a SYNTHETIC image." if scene.synthetic else ""),
            "method": "automated",
            "confidence": round(d.confidence, 3),
            "review": "unreviewed",
        },
    }
    return ObservationIn.model_validate(doc)


def _rounded(geometry: Any) -> Any:
    """Coordinates to 7 decimals (~1 cm): no false precision in the record."""
    if isinstance(geometry, dict):
        return {k: _rounded(v) for k, v in geometry.items()}
    if isinstance(geometry, list | tuple):
        return [_rounded(v) for v in geometry]
    if isinstance(geometry, float):
        return round(geometry, 7)
    return geometry


def analyze_scene(
    catalog: Catalog,
    store: ObservationStore,
    sites: Mapping[str, Site],
    scene_id: str,
    baseline_id: str | None = None,
    *,
    actor: str,
    max_km2: float,
) -> SceneAnalysis:
    """Analyse every site of a scene and replace the scene's automated sightings with what was found.

    Manual and reported sightings are never touched; on any refusal nothing stored changes. A site
    with no other scene to compare with is skipped and said so (e.g. the first scene of a site).
    """
    started = time.perf_counter()
    scene = catalog.get(scene_id)
    chosen: Scene | None = None
    if baseline_id is not None:
        try:
            chosen = catalog.get(baseline_id)
        except SceneNotFound:
            raise AnalysisRefused(
                f"baseline: scene '{baseline_id}' is not in the catalog"
            ) from None
        if chosen.id == scene.id:
            raise AnalysisRefused("baseline: a scene cannot be its own baseline")
        if not set(chosen.sites) & set(scene.sites):
            raise AnalysisRefused(
                f"baseline: scene '{chosen.id}' shows {', '.join(chosen.sites)}, not a site of "
                f"scene '{scene.id}' ({', '.join(scene.sites)})"
            )
    run = SceneAnalysis(scene)
    found: list[ObservationIn] = []
    for site_id in scene.sites:
        site = sites.get(site_id)
        if site is None:
            run.skipped.append(f"{site_id} (no longer a site)")
            continue
        if chosen is not None and site_id not in chosen.sites:
            run.skipped.append(f"{site_id} (not on baseline '{chosen.id}')")
            continue
        baseline = chosen or default_baseline(catalog, scene, site_id)
        if baseline is None:
            run.skipped.append(f"{site_id} (no other scene of the site to compare with)")
            continue
        part, crs = analyze_site(catalog, scene, baseline, site, max_km2=max_km2)
        run.sites.append(part)
        to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        found += [
            sighting(d, scene, site_id, baseline.id, to_lonlat) for d in part.result.detections
        ]
    if chosen is not None and not run.sites:
        raise AnalysisRefused(
            f"baseline: scene '{chosen.id}' covers none of the sites of scene '{scene.id}'"
        )
    run.replaced, run.stored = store.replace_automated(scene.id, found, actor=actor)
    catalog.mark_analysis(scene.id, scene.version, "done")
    run.seconds = time.perf_counter() - started
    return run
