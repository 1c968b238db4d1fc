"""Build the demo data set: draw each scene, write it as a COG, register it, bake its tiles."""

import hashlib
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import rasterio
from rasterio.io import MemoryFile
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tiles.catalog import Catalog, Scene
from tiles.errors import SceneNotFound
from tiles.ingest import describe_cog, to_cog
from tiles.storage import LocalStorage, S3Storage, open_storage, scene_key
from tumen.db import open_store
from tumen.demo.draw import COLOURS, fill, stamp
from tumen.demo.episodes import DEMO_SCENES, DemoScene, scene
from tumen.demo.layout import CRS
from tumen.demo.sightings import load_demo_sightings
from tumen.demo.world import fresh_canvas
from tumen.settings import Settings

PROVIDER = "tumen demo (synthetic)"
LICENCE = "CC0-1.0"


def _seed(base: int, world: str, footprint: tuple[float, ...]) -> int:
    """One seed per world footprint, so every date of a place shares its ground texture."""
    key = f"{base}|{world}|{footprint}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "big")


def render_scene(spec: DemoScene, dst: Path, seed: int) -> Path:
    """Draw one demo scene and write it as a JPEG-compressed COG at ``dst`` (same seed, same bytes)."""
    canvas = fresh_canvas(spec.world, spec.footprint, _seed(seed, spec.world, spec.footprint))
    for obj in spec.objects:
        for shape, colour in obj.shapes:
            fill(canvas, [shape], COLOURS[colour])
    stamp(canvas)
    height, width = canvas.shape
    profile = {
        "driver": "GTiff",
        "dtype": "uint8",
        "count": 3,
        "width": width,
        "height": height,
        "crs": CRS,
        "transform": canvas.transform,
        "photometric": "RGB",
    }
    with MemoryFile() as mem:
        with mem.open(**profile) as ds:
            ds.write(canvas.data)
            ds.update_tags(TUMEN_SYNTHETIC="true", TUMEN_SCENE=spec.id)
            ds.descriptions = ("red", "green", "blue")
        with mem.open() as ds:
            to_cog(ds, dst, profile="jpeg", quiet=True)
    return dst


def _render(args: tuple[str, str, int]) -> str:
    scene_id, dst, seed = args
    return str(render_scene(scene(scene_id), Path(dst), seed))


def demo_exists(catalog: Catalog, storage: LocalStorage | S3Storage | None = None) -> bool:
    """True when every demo scene is registered and its file is on disk (or its object in S3)."""
    try:
        scenes = [catalog.get(s.id) for s in DEMO_SCENES]
    except SceneNotFound:
        return False
    if isinstance(storage, S3Storage):
        return all(storage.exists(scene_key(s.id, s.version)) for s in scenes)
    return all(catalog.local_path(s).is_file() for s in scenes)


def build_demo(
    settings: Settings, *, force: bool = False, console: Console, bake: bool = True
) -> list[Scene]:
    """Draw, write and register every demo scene (skipped when present, unless ``force``)."""
    catalog = Catalog(settings.database, settings.data_dir, settings.sites_file)
    storage = open_storage(settings.storage_url, settings.data_dir)
    if demo_exists(catalog, storage) and not force:
        console.print(f"demo data set present in {storage.url} ({len(DEMO_SCENES)} scenes)")
        return [catalog.get(s.id) for s in DEMO_SCENES]
    registered = _draw_all(settings, catalog, console, storage)
    n = load_demo_sightings(open_store(settings))
    console.print(f"loaded {n} reported sightings, each with its sources")
    return registered


def _draw_all(
    settings: Settings, catalog: Catalog, console: Console, storage: LocalStorage | S3Storage
) -> list[Scene]:
    sites = catalog.sites.all()
    settings.scenes_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    jobs = [
        (s.id, str(settings.scenes_dir / f"{s.id}.tif"), settings.demo_seed) for s in DEMO_SCENES
    ]
    # Big footprints first, so the two workers finish together.
    jobs.sort(key=lambda j: -_area(scene(j[0]).footprint))
    registered: list[Scene] = []
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with (
        Progress(*columns, console=console) as progress,
        ProcessPoolExecutor(2, mp_context=get_context("forkserver")) as pool,
    ):
        task = progress.add_task("draw demo scenes", total=len(jobs))
        for path in pool.map(_render, jobs):
            spec = scene(Path(path).stem)
            described = describe_cog(
                Path(path),
                scene_id=spec.id,
                when=spec.datetime,
                sites=sites,
                provider=PROVIDER,
                licence=LICENCE,
                description=spec.description(),
                synthetic=True,
                data_dir=settings.data_dir,
            ).model_copy(
                update={
                    "baseline": spec.baseline,
                    "time_precision": "day" if spec.day_only else "minute",
                    "analysis": "pending",  # analysed behind `tumen serve`, or by `demo --analyze`
                }
            )
            if isinstance(storage, S3Storage):  # TUMEN_STORAGE_URL: the COG goes up, immutable
                key = scene_key(spec.id, described.version)
                if not storage.exists(key):
                    storage.put(key, Path(path))
                described = described.model_copy(update={"path": storage.location(key)})
                Path(path).unlink()
            registered.append(catalog.add(_keep_baked(catalog, described)))
            progress.advance(task)
    console.print(
        f"drew {len(registered)} synthetic scenes in {time.perf_counter() - started:.1f} s "
        f"into {storage.location('scenes') if isinstance(storage, S3Storage) else settings.scenes_dir}"
    )
    return sorted(registered, key=lambda s: (s.datetime, s.id))


def _keep_baked(catalog: Catalog, scene: Scene) -> Scene:
    """A rebuilt scene with the same bytes keeps its archive (same seed, same version)."""
    try:
        before = catalog.get(scene.id)
    except SceneNotFound:
        return scene
    if before.version != scene.version:
        return scene
    return scene.model_copy(
        update={
            "tile_format": before.tile_format,
            "baked_version": before.baked_version,
            "archive": before.archive,
        }
    )


def _area(bounds: tuple[float, float, float, float]) -> float:
    return (bounds[2] - bounds[0]) * (bounds[3] - bounds[1])


def read_tags(path: Path | str) -> dict[str, str]:
    """The GeoTIFF tags of a demo COG (they say it is synthetic)."""
    with rasterio.open(path) as ds:
        return dict(ds.tags())
