"""Turn a raster file into a registered scene: COG with rio-cogeo, metadata read back, catalog entry."""

import hashlib
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import rasterio
import rasterio.shutil
from rasterio._err import CPLE_BaseError
from rasterio.errors import RasterioError, RasterioIOError
from rasterio.warp import transform_bounds
from rio_cogeo.cogeo import cog_translate
from rio_cogeo.profiles import cog_profiles

from tiles.aligned import prepare_aligned
from tiles.catalog import Catalog, Scene
from tiles.errors import IngestError, SceneNotFound
from tiles.remote import GDAL_REMOTE_ENV, check_remote, is_remote
from tiles.sites import Site, covered_sites
from tiles.storage import Storage, scene_key


def file_version(path: Path) -> str:
    """Content hash of a COG; it becomes the scene's version (and later its tiles' ETags)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


# RGB band order of common products (1-based): PlanetScope 4-band is B,G,R,NIR; 8-band SuperDove is
# coastal blue, blue, green I, green, yellow, red, red edge, NIR.
RGB_BANDS = {4: [3, 2, 1], 8: [6, 4, 2]}


def render_defaults(path: Path | str) -> dict[str, Any]:
    """Band choice and rescale that make tiles look right with no query parameters."""
    with rasterio.Env(**GDAL_REMOTE_ENV), rasterio.open(path) as ds:
        interp = [c.name for c in ds.colorinterp]
        if ds.count >= 3 and interp[:3] == ["red", "green", "blue"]:
            bidx = [1, 2, 3]
        else:
            bidx = RGB_BANDS.get(ds.count, [1, 2, 3] if ds.count >= 3 else [1])
        render: dict[str, Any] = {} if bidx == [1, 2, 3] and ds.count == 3 else {"bidx": bidx}
        if ds.dtypes[0] != "uint8":
            # 2nd–98th percentiles of each chosen band, from a decimated read of valid pixels.
            scale = max(1, max(ds.width, ds.height) // 1024)
            shape = (len(bidx), max(1, ds.height // scale), max(1, ds.width // scale))
            data = ds.read(bidx, out_shape=shape, masked=True)
            render["rescale"] = [
                [
                    float(np.percentile(band.compressed(), 2)),
                    float(np.percentile(band.compressed(), 98)),
                ]
                for band in data
            ]
    return render


def metadata_datetime(path: Path | str) -> datetime | None:
    """The acquisition time a file states (TIFFTAG_DATETIME or ACQUISITIONDATETIME); naive means UTC."""
    with rasterio.Env(**GDAL_REMOTE_ENV), rasterio.open(path) as ds:
        tags = ds.tags()
    for key in ("ACQUISITIONDATETIME", "acquired", "TIFFTAG_DATETIME"):
        value = tags.get(key)
        if not value:
            continue
        text = value.strip().replace("Z", "+00:00")
        if len(text) >= 19 and text[4] == ":" and text[7] == ":":
            text = text[:4] + "-" + text[5:7] + "-" + text[8:10] + "T" + text[11:]
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            continue
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    return None


def acquisition_time(location: Path | str, name: str, when: datetime | None) -> datetime:
    """The time given, else the one the file states; it must carry an offset."""
    when = when or metadata_datetime(location)
    if when is None:
        raise IngestError(f"{name}: no acquisition time in its metadata; pass --datetime")
    if when.tzinfo is None:
        raise IngestError("the datetime needs an offset, e.g. 2023-10-06T11:00:00+09:00")
    return when


def check_readable(src: Path) -> None:
    """Refuse what cannot be a scene before anything is written."""
    try:
        with rasterio.open(src) as ds:
            if ds.crs is None:
                raise IngestError(
                    f"{src}: the file has no CRS; georeference it first (e.g. gdal_edit.py -a_srs)"
                )
            if ds.count == 0:
                raise IngestError(f"{src.name}: the file has no bands")
    except RasterioIOError as err:
        raise IngestError(f"{src.name}: not a raster GDAL can read") from err


def to_cog(
    src: Path | rasterio.io.DatasetReader,
    dst: Path,
    *,
    profile: str = "deflate",
    quiet: bool = False,
    progress_out: TextIO = sys.stderr,
) -> None:
    """Write ``src`` as a COG at ``dst`` (through a temporary file, so ``dst`` is whole or absent)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.partial")
    plain = dst.with_name(f".{dst.name}.gtiff")
    cog = cog_profiles.get(profile)
    try:
        if isinstance(src, Path):
            with rasterio.open(src) as ds:
                driver = ds.driver
            if driver != "GTiff":
                # rio-cogeo's warped read fails on some drivers (JP2OpenJPEG): go through a GeoTIFF.
                rasterio.shutil.copy(
                    str(src), str(plain), driver="GTiff", TILED="YES", BIGTIFF="IF_SAFER"
                )
                src = plain
        cog_translate(
            src,
            str(tmp),
            cog,
            in_memory=False,
            quiet=quiet,
            progress_out=progress_out,
            add_mask=False,
            use_cog_driver=False,
            config={"GDAL_NUM_THREADS": "ALL_CPUS", "GDAL_TIFF_INTERNAL_MASK": True},
        )
        tmp.replace(dst)
    finally:
        tmp.unlink(missing_ok=True)
        plain.unlink(missing_ok=True)


def stored_path(location: Path | str, data_dir: Path) -> str:
    """How the catalog names a COG: relative to the data dir when inside it, else absolute (or a URL)."""
    if is_remote(str(location)):
        return str(location)
    try:
        return str(Path(location).resolve().relative_to(data_dir.resolve()))
    except ValueError:
        return str(Path(location).resolve())


def staging_dir(scenes_dir: Path) -> Path:
    """A new folder for one conversion's files, once those of dead processes are removed.

    A killed ingest leaves its partial files (rio-cogeo's temporary GeoTIFF too) only in its folder.
    """
    for folder in scenes_dir.glob(".staging-*-*"):
        pid = folder.name.split("-")[1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
    scenes_dir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".staging-{os.getpid()}-", dir=scenes_dir))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def describe_cog(
    path: Path | str,
    *,
    scene_id: str,
    when: datetime,
    sites: dict[str, Site],
    provider: str,
    licence: str,
    description: str,
    synthetic: bool,
    data_dir: Path,
    site: str | None = None,
    version: str | None = None,
) -> Scene:
    """Read a COG's metadata into a Scene; the sites are those its footprint covers."""
    location = str(path)
    with rasterio.Env(**GDAL_REMOTE_ENV), rasterio.open(location) as ds:
        crs = ds.crs
        geo = transform_bounds(crs, "EPSG:4326", *ds.bounds, densify_pts=21)
        gsd = abs(ds.transform.a) if crs.is_projected else abs(ds.transform.a) * 111_320
        crs_text = crs.to_string() if crs.to_epsg() is None else f"EPSG:{crs.to_epsg()}"
        bounds = tuple(ds.bounds)
        width, height, bands, dtype = ds.width, ds.height, ds.count, ds.dtypes[0]
    covered = covered_sites(geo, sites)
    if site is not None:
        if site not in sites:
            raise IngestError(f"unknown site '{site}'; known: {', '.join(sites)}")
        if site not in covered:
            covered.insert(0, site)
    if not covered:
        raise IngestError(
            f"{Path(location).name}: its footprint {tuple(round(v, 5) for v in geo)} covers no site; pass --site"
        )
    return Scene(
        id=scene_id,
        sites=covered,
        datetime=when,
        gsd=round(gsd, 4),
        crs=crs_text,
        bounds=bounds,  # type: ignore[arg-type]
        geographic_bounds=geo,
        width=width,
        height=height,
        bands=bands,
        dtype=dtype,
        path=stored_path(location, data_dir),
        synthetic=synthetic,
        provider=provider,
        licence=licence,
        description=description,
        version=version or file_version(Path(location)),
    )


def registered_file(catalog: Catalog, scene_id: str) -> Path | None:
    """The local COG the scene registered under this id reads (resolved), or None."""
    try:
        scene = catalog.get(scene_id)
    except SceneNotFound:
        return None
    return None if is_remote(scene.path) else catalog.local_path(scene).resolve()


@dataclass(frozen=True)
class Registration:
    """A scene to register: the catalog and sites it goes into, and what its ingester states of it.

    Built once by the caller (the CLI's options, a STAC item's fields); ``scene_id`` and ``when`` are
    found from the image when not given.
    """

    catalog: Catalog
    sites: dict[str, Site]
    provider: str
    licence: str = "unknown"
    description: str = ""
    site: str | None = None
    scene_id: str | None = None
    when: datetime | None = None
    baseline: bool = False

    def check_site(self) -> None:
        """An unknown ``site`` is refused before any file is read or written."""
        if self.site is not None and self.site not in self.sites:
            raise IngestError(f"unknown site '{self.site}'; known: {', '.join(self.sites)}")

    def describe(
        self, location: Path | str, scene_id: str, when: datetime, version: str | None = None
    ) -> Scene:
        """The Scene of the COG at ``location`` (a file in the data dir, or a URL), as stated."""
        return describe_cog(
            location,
            scene_id=scene_id,
            when=when,
            sites=self.sites,
            provider=self.provider,
            licence=self.licence,
            description=self.description,
            synthetic=False,
            data_dir=self.catalog.data_dir,
            site=self.site,
            version=version,
        ).model_copy(update={"baseline": self.baseline})


def ingest_file(
    src: Path,
    registration: Registration,
    *,
    scenes_dir: Path,
    quiet: bool = False,
    storage: Storage | None = None,
) -> Scene:
    """Convert any GDAL-readable raster to a COG and register it; on error nothing is left behind.

    With object storage (``storage`` not local) the COG is uploaded to ``scenes/{id}/{version}/{id}.tif``
    (an immutable key) and the catalog names it there; ``scenes_dir`` only stages the conversion.
    """
    registration.check_site()
    catalog, site, sites = registration.catalog, registration.site, registration.sites
    check_readable(src)
    when = acquisition_time(src, src.name, registration.when)
    scene_id = registration.scene_id
    if scene_id is None:
        with rasterio.open(src) as ds:
            geo = transform_bounds(ds.crs, "EPSG:4326", *ds.bounds, densify_pts=21)
        covered = covered_sites(geo, sites)
        prefix = site or (covered[0] if covered else "scene")
        scene_id = f"{prefix}-{when:%Y%m%dT%H%M}"
    dst = scenes_dir / f"{scene_id}.tif"
    previous = registered_file(catalog, scene_id)
    staging = staging_dir(scenes_dir)
    staged = staging / dst.name
    moved = False
    try:
        to_cog(src, staged, quiet=quiet)
        scene = registration.describe(staged, scene_id, when)
        if storage is not None and not storage.local:
            return _store_and_register(catalog, scene, staged, storage, previous, scenes_dir)
        if previous == dst.resolve():
            # Re-ingest: the registered COG stays as it is until the catalog names the new one, so
            # a crash in between leaves the scene whole (its file is the content of its version).
            dst = scenes_dir / f"{scene_id}.{scene.version}.tif"
        staged.replace(dst)
        moved = True
        scene = scene.model_copy(
            update={"path": stored_path(dst, catalog.data_dir), "render": render_defaults(dst)}
        )
        catalog.add(scene)
    except Exception as err:
        if moved:
            dst.unlink(missing_ok=True)
        if isinstance(err, RasterioError | CPLE_BaseError):
            raise IngestError(f"{src.name}: GDAL could not convert it ({err})") from err
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if (
        previous is not None
        and previous != dst.resolve()
        and previous.parent == dst.resolve().parent
    ):
        previous.unlink(missing_ok=True)  # the replaced scene's COG, once nothing names it
    prepare_aligned(catalog, scene)  # its WebMercatorQuad tiles as block reads (tiles/aligned.py)
    return scene


def _store_and_register(
    catalog: Catalog,
    scene: Scene,
    staged: Path,
    storage: Storage,
    previous: Path | None,
    scenes_dir: Path,
) -> Scene:
    """Upload a staged COG under its immutable key, then switch the catalog to it.

    A key already there holds the same bytes (it is named by their hash): it is not written again.
    A local COG the scene had before is removed once the catalog no longer names it.
    """
    key = scene_key(scene.id, scene.version)
    if not storage.exists(key):
        storage.put(key, staged)
    scene = scene.model_copy(
        update={"path": storage.location(key), "render": render_defaults(staged)}
    )
    catalog.add(scene)
    if previous is not None and previous.parent == scenes_dir.resolve():
        previous.unlink(missing_ok=True)
    return scene


def link_remote(url: str, registration: Registration, *, timeout: float = 15.0) -> Scene:
    """Register a remote COG where it is (read by range requests); nothing is copied."""
    registration.check_site()
    site = registration.site
    version = check_remote(url, timeout=timeout)
    try:
        when = acquisition_time(url, url, registration.when)
    except RasterioIOError as err:
        raise IngestError(f"{url}: not a raster GDAL can read") from err
    scene_id = registration.scene_id
    scene = registration.describe(
        url, scene_id or f"{site or 'remote'}-{when:%Y%m%dT%H%M}", when, version
    )
    if scene_id is None and site is None:
        scene = scene.model_copy(update={"id": f"{scene.sites[0]}-{when:%Y%m%dT%H%M}"})
    return registration.catalog.add(scene.model_copy(update={"render": render_defaults(url)}))
