"""Publication graphics wired: pixels read at print resolution, confirmed sightings, ``publish`` draws.

The imagery side gives a scene's crop on a metric grid (its own UTM grid, or the site's UTM zone),
the sightings side the scene's sightings, and ``publish`` renders from those plain inputs. The
route, the CLI and the report bundle all come through the ``build_*`` functions here, so one request
gets one answer whichever way it is asked.
"""

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from affine import Affine
from pyproj import CRS
from rasterio.warp import transform_bounds
from shapely.geometry import box

from overlays.errors import InvalidQuery
from overlays.store import ObservationStore
from publish import (
    Caption,
    Crop,
    Figure,
    Panel,
    encode_gif,
    encode_mp4,
    render_figure,
    render_frame,
    render_strip,
)
from publish.strip import StripLayout
from tiles.catalog import Catalog, Scene
from tiles.errors import InvalidDatetime, NoSceneAtTime, SiteNotFound, TilesError
from tiles.sites import Site
from tiles.times import parse_datetime
from tumen.analyze import metric_crs, read_rgb
from tumen.evidence import Bbox, check_area, counts_line, is_confirmed, mark_of, sightings_for
from tumen.settings import Settings

logger = logging.getLogger("tumen.publication")

FIGURE_WIDTH = 1600
STRIP_WIDTH = 1600
TIMELAPSE_WIDTH = 800
MOSTLY_NODATA = 0.5  # a timelapse frame with more of its pixels empty than this is dropped
TimelapseFormat = Literal["gif", "mp4"]
MEDIA_TYPES: dict[str, str] = {"gif": "image/gif", "mp4": "video/mp4"}


class NoSceneOnDate(NoSceneAtTime):
    """A strip date (a day) on which the site has no scene: 404, as any time without a scene."""

    def __init__(self, site: str, day: str, days: Sequence[str]) -> None:
        known = ", ".join(days[:20]) + (" …" if len(days) > 20 else "")
        TilesError.__init__(
            self,
            f"dates: site '{site}' has no scene on {day}; its scene dates are {known or 'none'}",
        )


class NoSceneInRange(NoSceneAtTime):
    """A timelapse range in which the site has no scene at all: 404."""

    def __init__(self, site: str, start: str | None, end: str | None) -> None:
        TilesError.__init__(
            self,
            f"site '{site}' has no scene between {start or 'its first'} and {end or 'its last'} "
            "(from, to)",
        )


@dataclass(frozen=True)
class PublishLimits:
    """The bounds every publication request is checked against (TUMEN_* settings)."""

    max_km2: float
    figure_max_px: int
    strip_max_dates: int
    timelapse_max_frames: int
    timelapse_max_px: int

    @classmethod
    def of(cls, settings: Settings) -> "PublishLimits":
        """The limits a tumen instance is configured with."""
        return cls(
            max_km2=settings.report_max_km2,
            figure_max_px=settings.figure_max_width,
            strip_max_dates=settings.strip_max_dates,
            timelapse_max_frames=settings.timelapse_max_frames,
            timelapse_max_px=settings.timelapse_max_width,
        )


@dataclass(frozen=True)
class Grid:
    """A north-up grid in metres over the bbox: what a crop is read on, so its scale is exact."""

    crs: CRS
    transform: Affine
    width: int
    height: int


@dataclass(frozen=True)
class Published:
    """A rendered graphic, its media type and file name, the scenes it shows and those left out."""

    body: bytes
    media_type: str
    filename: str
    scenes: list[str]
    dropped: list[str] = field(default_factory=list)


def check_width(width: int, max_px: int, setting: str) -> None:
    """InvalidQuery (400) for a width below 1 or over the setting's limit, naming both."""
    if width < 1 or width > max_px:
        raise InvalidQuery(f"width: {width} px is outside 1–{max_px} px (the limit is {setting})")


def print_grid(scene: Scene, site: Site, bbox: Bbox, width: int, max_px: int, setting: str) -> Grid:
    """The bbox on the scene's metric grid, ``width`` pixels across, height from its aspect.

    Metres per pixel = the bbox's width in metres / ``width``, the same both ways; a height over
    ``max_px`` is refused, naming the limit.
    """
    crs = metric_crs(scene, site)
    minx, miny, maxx, maxy = transform_bounds("EPSG:4326", crs, *bbox, densify_pts=21)
    m_per_px = (maxx - minx) / width
    height = max(1, round((maxy - miny) / m_per_px))
    if height > max_px:
        raise InvalidQuery(
            f"bbox: at width {width} px the image would be {height} px tall, over the limit of "
            f"{max_px} px ({setting}); ask a smaller width or a wider bbox"
        )
    return Grid(crs, Affine(m_per_px, 0, minx, 0, -m_per_px, maxy), width, height)


def read_crop(catalog: Catalog, scene: Scene, grid: Grid) -> Crop:
    """The scene's pixels on ``grid``, drawn as its tiles are (band and rescale defaults)."""
    rgb, valid = read_rgb(
        catalog.location(scene), scene, grid.crs, grid.transform, grid.width, grid.height
    )
    return Crop(rgb.transpose(1, 2, 0).copy(), grid.transform, grid.crs.to_string(), valid)


def caption_of(scene: Scene, site: Site) -> Caption:
    """What a figure of ``scene`` says: the site's name, the scene's time, provider and licence."""
    return Caption(
        title=site.name,
        when=scene.datetime,
        scene_id=scene.id,
        provider=scene.provider,
        licence=scene.licence,
        synthetic=scene.synthetic,
        time_precision=scene.time_precision,
    )


def confirmed_sightings(
    store: ObservationStore, scene: Scene, site: str, bbox: Bbox
) -> list[dict[str, Any]]:
    """The scene's sightings in the bbox that a person confirmed: the only ones published."""
    return [f for f in sightings_for(store, scene, site, bbox) if is_confirmed(f["properties"])]


def figure_of(
    catalog: Catalog,
    store: ObservationStore,
    site: Site,
    scene: Scene,
    bbox: Bbox,
    width: int,
    max_px: int,
) -> Figure:
    """The figure of a scene's part (no checks of area or coverage: the callers make them)."""
    grid = print_grid(scene, site, bbox, width, max_px, "TUMEN_FIGURE_MAX_WIDTH")
    features = confirmed_sightings(store, scene, site.id, bbox)
    return render_figure(
        read_crop(catalog, scene, grid), [mark_of(f) for f in features], caption_of(scene, site)
    )


def report_figure(
    catalog: Catalog, store: ObservationStore, site: Site, scene: Scene, bbox: Bbox
) -> bytes:
    """The report bundle's figure.png: the default width, or the default height for a tall bbox."""
    grid = print_grid(scene, site, bbox, FIGURE_WIDTH, 100 * FIGURE_WIDTH, "")
    width = FIGURE_WIDTH
    if grid.height > FIGURE_WIDTH:
        width = max(1, round(FIGURE_WIDTH * FIGURE_WIDTH / grid.height))
    return figure_of(catalog, store, site, scene, bbox, width, FIGURE_WIDTH + 1).png()


def _check_covers(scene: Scene, bbox: Bbox, what: str) -> None:
    if not box(*scene.geographic_bounds).intersects(box(*bbox)):
        raise InvalidQuery(f"bbox: outside scene '{scene.id}'{what}")


def build_figure(
    catalog: Catalog,
    store: ObservationStore,
    site: Site,
    bbox: Bbox,
    when: datetime | None,
    width: int,
    limits: PublishLimits,
) -> Published:
    """The publication figure of the site's scene current at ``when``, as PNG."""
    check_area(bbox, limits.max_km2)
    check_width(width, limits.figure_max_px, "TUMEN_FIGURE_MAX_WIDTH")
    scene = catalog.at(site.id, when)
    _check_covers(scene, bbox, "")
    figure = figure_of(catalog, store, site, scene, bbox, width, limits.figure_max_px)
    return Published(
        figure.png(),
        "image/png",
        f"tumen-{site.id}-{scene.datetime:%Y%m%dT%H%M}.png",
        [scene.id],
    )


def parse_dates(text: str, max_dates: int) -> list[str]:
    """The ``dates`` list: comma-separated, 1 to ``max_dates`` (TUMEN_STRIP_MAX_DATES) of them."""
    dates = [d.strip() for d in text.split(",")]
    if not text.strip() or any(not d for d in dates):
        raise InvalidQuery("dates: give days (YYYY-MM-DD) or ISO datetimes, separated by commas")
    if len(dates) > max_dates:
        raise InvalidQuery(
            f"dates: {len(dates)} dates, over the limit of {max_dates} (TUMEN_STRIP_MAX_DATES)"
        )
    return dates


def scene_on(catalog: Catalog, site: str, text: str) -> Scene:
    """The scene a strip date names: that day's last scene, or the scene current at an instant.

    A day (YYYY-MM-DD) is the scene's own calendar day, as /calendar lists it.
    """
    if len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise InvalidQuery(
                f"dates: '{text}' is neither a day (YYYY-MM-DD) nor an ISO 8601 datetime"
            ) from None
        scenes = catalog.list(site)
        on_day = [s for s in scenes if s.datetime.date() == day]
        if not on_day:
            days = sorted({s.datetime.date().isoformat() for s in scenes})
            raise NoSceneOnDate(site, text, days)
        return on_day[-1]
    try:
        when = parse_datetime(text)
    except InvalidDatetime:
        raise InvalidQuery(
            f"dates: '{text}' is neither a day (YYYY-MM-DD) nor an ISO 8601 datetime"
        ) from None
    return catalog.at(site, when)


def build_strip(
    catalog: Catalog,
    store: ObservationStore,
    site: Site,
    bbox: Bbox,
    dates: str,
    width: int,
    limits: PublishLimits,
) -> Published:
    """The same crop on each date, side by side, each with its date and confirmed counts, as PNG."""
    check_area(bbox, limits.max_km2)
    check_width(width, limits.figure_max_px, "TUMEN_FIGURE_MAX_WIDTH")
    wanted = parse_dates(dates, limits.strip_max_dates)
    scenes = [scene_on(catalog, site.id, d) for d in wanted]
    for d, scene in zip(wanted, scenes, strict=True):
        _check_covers(scene, bbox, f" (of date {d})")
    layout = StripLayout(width, len(scenes))
    if layout.panel_width < 16:
        raise InvalidQuery(f"width: {width} px leaves no room for {len(scenes)} panels")
    # One grid for every panel (the first scene's): the same place at the same scale on each date.
    grid = print_grid(
        scenes[0], site, bbox, layout.panel_width, limits.figure_max_px, "TUMEN_FIGURE_MAX_WIDTH"
    )
    if layout.rows * grid.height > limits.figure_max_px:
        raise InvalidQuery(
            f"bbox: {len(scenes)} panels of this bbox would make the strip "
            f"{layout.rows * grid.height} px tall, over the limit of {limits.figure_max_px} px "
            "(TUMEN_FIGURE_MAX_WIDTH); ask fewer dates, a smaller width or a wider bbox"
        )
    panels = []
    for scene in scenes:
        features = confirmed_sightings(store, scene, site.id, bbox)
        panels.append(
            Panel(
                crop=read_crop(catalog, scene, grid),
                caption=caption_of(scene, site),
                marks=[mark_of(f) for f in features],
                note=counts_line(features),
            )
        )
    strip = render_strip(panels, site.name, width)
    first, last = scenes[0].datetime, scenes[-1].datetime
    return Published(
        strip.png(),
        "image/png",
        f"tumen-{site.id}-strip-{first:%Y%m%d}-{last:%Y%m%d}.png",
        [s.id for s in scenes],
    )


Bound = date | datetime | None


def parse_bound(text: str | None, name: str) -> Bound:
    """A ``from``/``to`` value: a day (the scene's own calendar day) or an instant; None: open."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return parse_datetime(text)
    except (ValueError, InvalidDatetime):
        raise InvalidQuery(
            f"{name}: '{text}' is neither a day (YYYY-MM-DD) nor an ISO 8601 datetime"
        ) from None


def _after(scene: Scene, bound: Bound) -> bool:
    if bound is None:
        return True
    if isinstance(bound, datetime):
        return scene.datetime >= bound
    return scene.datetime.date() >= bound


def _before(scene: Scene, bound: Bound) -> bool:
    if bound is None:
        return True
    if isinstance(bound, datetime):
        return scene.datetime <= bound
    return scene.datetime.date() <= bound


def timelapse_scenes(
    catalog: Catalog,
    site: str,
    bbox: Bbox,
    start: str | None,
    end: str | None,
    max_frames: int,
) -> tuple[list[Scene], list[str]]:
    """The site's scenes from ``start`` to ``end`` that reach the bbox, and those that do not.

    404 when the range holds no scene; 400 naming the limit when more than ``max_frames`` reach the
    bbox (TUMEN_TIMELAPSE_MAX_FRAMES), or when none does.
    """
    lo, hi = parse_bound(start, "from"), parse_bound(end, "to")
    scenes = [s for s in catalog.list(site) if _after(s, lo) and _before(s, hi)]
    if not scenes:
        raise NoSceneInRange(site, start, end)
    area = box(*bbox)
    covering = [s for s in scenes if box(*s.geographic_bounds).intersection(area).area > 0]
    dropped = [f"{s.id} (outside the bbox)" for s in scenes if s not in covering]
    if len(covering) > max_frames:
        raise InvalidQuery(
            f"from, to: {len(covering)} scenes, over the limit of {max_frames} frames "
            "(TUMEN_TIMELAPSE_MAX_FRAMES); narrow the range"
        )
    if not covering:
        raise InvalidQuery(
            f"bbox: no scene of site '{site}' in that range covers it "
            f"({len(scenes)} outside the bbox)"
        )
    return covering, dropped


def build_timelapse(
    catalog: Catalog,
    store: ObservationStore,
    site: Site,
    bbox: Bbox,
    start: str | None,
    end: str | None,
    fmt: TimelapseFormat,
    width: int,
    limits: PublishLimits,
    *,
    sightings: bool = False,
    on_frame: Callable[[Scene, int], None] | None = None,
) -> Published:
    """One frame per scene of the range that covers the bbox, date burned in, as GIF or MP4.

    Scenes outside the bbox or mostly nodata there (over half) are dropped and listed (and
    logged). ``on_frame(scene, total)`` is called after each scene is read (a progress bar).
    """
    check_area(bbox, limits.max_km2)
    check_width(width, limits.timelapse_max_px, "TUMEN_TIMELAPSE_MAX_WIDTH")
    if fmt not in MEDIA_TYPES:
        raise InvalidQuery(f"format: '{fmt}' is not one of {', '.join(MEDIA_TYPES)}")
    scenes, dropped = timelapse_scenes(
        catalog, site.id, bbox, start, end, limits.timelapse_max_frames
    )
    grid = print_grid(
        scenes[0], site, bbox, width, limits.timelapse_max_px, "TUMEN_TIMELAPSE_MAX_WIDTH"
    )
    frames, kept = [], []
    for scene in scenes:
        crop = read_crop(catalog, scene, grid)
        if crop.nodata_fraction > MOSTLY_NODATA:
            dropped.append(f"{scene.id} ({crop.nodata_fraction:.0%} nodata)")
        else:
            features = confirmed_sightings(store, scene, site.id, bbox) if sightings else []
            frames.append(
                render_frame(crop, [mark_of(f) for f in features], caption_of(scene, site))
            )
            kept.append(scene)
        if on_frame is not None:
            on_frame(scene, len(scenes))
    if dropped:
        logger.info("timelapse of %s: dropped %s", site.id, "; ".join(dropped))
    if not frames:
        raise InvalidQuery(
            f"bbox: every scene of site '{site.id}' in that range is mostly nodata there "
            f"({'; '.join(dropped)})"
        )
    body = encode_gif(frames) if fmt == "gif" else encode_mp4(frames)
    first, last = kept[0].datetime, kept[-1].datetime
    return Published(
        body,
        MEDIA_TYPES[fmt],
        f"tumen-{site.id}-timelapse-{first:%Y%m%d}-{last:%Y%m%d}.{fmt}",
        [s.id for s in kept],
        dropped,
    )


def site_of(sites: Mapping[str, Site], site_id: str) -> Site:
    """The site named, or SiteNotFound (404) listing the known ones."""
    if site_id not in sites:
        raise SiteNotFound(site_id, list(sites))
    return sites[site_id]
