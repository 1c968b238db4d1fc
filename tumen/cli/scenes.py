"""``tumen scenes list|rm`` and ``tumen ingest``: the scenes catalog, and rasters into it."""

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tiles.aligned import remove_aligned
from tiles.bake import archive_path
from tiles.catalog import Scene
from tiles.errors import IngestError
from tiles.ingest import Registration, ingest_file, link_remote
from tiles.remote import download, is_remote, is_url
from tiles.storage import is_s3, open_storage
from tumen.cli.analyze import analyze_new_scene
from tumen.cli.bake import bake_scenes
from tumen.cli.common import catalog_of, console, settings_of, storage_of
from tumen.settings import Settings


def scenes_list(
    ctx: typer.Context,
    site: Annotated[str | None, typer.Option(help="Only scenes covering this site.")] = None,
) -> None:
    """List the registered scenes in time order."""
    table = Table("id", "datetime", "sites", "gsd (m)", "size", "synthetic", "provider")
    for column in table.columns[:2]:
        column.no_wrap = True
    for s in catalog_of(ctx).list(site):
        table.add_row(
            s.id,
            s.datetime.isoformat(),
            ",".join(s.sites),
            f"{s.gsd:g}",
            f"{s.width}×{s.height}",
            "yes" if s.synthetic else "no",
            s.provider,
        )
    console.print(table)


def scenes_rm(
    ctx: typer.Context, scene_id: Annotated[str, typer.Argument(help="The scene to remove.")]
) -> None:
    """Remove a scene, its COG and its archive; sightings that cite it keep the id and are flagged."""
    settings, catalog = settings_of(ctx), catalog_of(ctx)
    scene = catalog.get(scene_id)
    catalog.remove(scene.id)
    remove_aligned(settings.data_dir, scene.id)
    stored = [where for where in (scene.path, scene.archive) if where and is_s3(where)]
    if stored:  # its objects in S3 (superseded keys of earlier versions are left)
        storage = storage_of(ctx)
        for where in stored:
            storage.delete(where)
    files = [archive_path(settings.data_dir, scene.id)]
    if not is_remote(scene.path):  # a linked remote COG is not ours to delete
        files.append(catalog.local_path(scene))
    for path in files:
        if path.is_relative_to(settings.data_dir.resolve()) or not path.is_absolute():
            path.unlink(missing_ok=True)
    console.print(f"removed scene {scene.id}; sightings citing it now show scene_removed: true")


def register_raster(
    settings: Settings, location: str, registration: Registration, *, link: bool
) -> Scene:
    """A file or URL into the catalog: a URL linked in place, or copied; a file converted to a COG.

    A copied COG goes where TUMEN_STORAGE_URL says (S3), else into the data dir.
    """
    if is_url(location) and link:
        return link_remote(location, registration, timeout=settings.remote_timeout)
    path = (
        download(location, timeout=settings.remote_timeout) if is_url(location) else Path(location)
    )
    if not path.is_file():
        raise IngestError(f"{location}: no such file")
    storage = open_storage(settings.storage_url, settings.data_dir)
    try:
        return ingest_file(path, registration, scenes_dir=settings.scenes_dir, storage=storage)
    finally:
        if is_url(location):
            path.unlink(missing_ok=True)


def ingest(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="A raster file, or the https:// URL of a COG.")],
    source: Annotated[str, typer.Option(help="Who made the image, e.g. 'Planet Labs PBC'.")],
    site: Annotated[
        str | None, typer.Option(help="Site of the image; default: the sites its footprint covers.")
    ] = None,
    when: Annotated[
        str | None,
        typer.Option(
            "--datetime", help="Acquisition time, ISO 8601 with offset; default: from the file."
        ),
    ] = None,
    licence: Annotated[str, typer.Option(help="Licence of the image.")] = "unknown",
    scene_id: Annotated[
        str | None, typer.Option("--id", help="Scene id; default SITE-YYYYMMDDTHHMM.")
    ] = None,
    description: Annotated[str, typer.Option(help="What the image shows.")] = "",
    bake_tiles: Annotated[
        bool, typer.Option("--bake/--no-bake", help="Bake the scene's tiles afterwards.")
    ] = True,
    link: Annotated[
        bool,
        typer.Option(
            "--link/--copy", help="A URL: read it in place (--link) or download it (--copy)."
        ),
    ] = True,
    baseline: Annotated[
        bool,
        typer.Option(
            "--baseline", help="The site's reference scene: what the analysis compares others with."
        ),
    ] = False,
    run_analysis: Annotated[
        bool,
        typer.Option(
            "--analyze/--no-analyze", help="Find trains, ships and cargo on it afterwards."
        ),
    ] = True,
) -> None:
    """Convert a raster (GeoTIFF, JP2, 8/16-bit, any band count) to a COG and register it as a scene."""
    settings = settings_of(ctx)
    try:
        acquired = datetime.fromisoformat(when) if when else None
    except ValueError as exc:
        raise IngestError(f"--datetime '{when}' is not ISO 8601") from exc
    catalog = catalog_of(ctx)
    registration = Registration(
        catalog=catalog,
        sites=catalog.sites.all(),
        provider=source,
        licence=licence,
        description=description,
        site=site,
        scene_id=scene_id,
        when=acquired,
        baseline=baseline,
    )
    scene = register_raster(settings, file, registration, link=link)
    console.print(f"registered scene [bold]{scene.id}[/bold] covering {', '.join(scene.sites)}")
    if bake_tiles:
        bake_scenes(ctx, [scene])
    if run_analysis:
        analyze_new_scene(settings, catalog, scene)
