"""The ``tumen`` command: serve, build the demo, list and ingest scenes."""

import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from tiles.bake import archive_path, bake_scene
from tiles.catalog import Catalog, Scene
from tiles.errors import IngestError, SceneNotFound
from tiles.export import export_tiles
from tiles.ingest import ingest_file, link_remote
from tiles.remote import download, is_remote
from tiles.sites import load_sites
from tumen.settings import Settings

app = typer.Typer(help="tumen: dated imagery of the DPRK–Russia border, served as tiles.")
scenes_app = typer.Typer(help="The scenes catalog.")
app.add_typer(scenes_app, name="scenes")
sightings_app = typer.Typer(help="The sightings (observations).")
stac_app = typer.Typer(help="Find imagery in STAC catalogs and register it.")
app.add_typer(stac_app, name="stac")
app.add_typer(sightings_app, name="sightings")
console = Console()
err = Console(stderr=True, soft_wrap=True)


def _catalog(settings: Settings) -> Catalog:
    return Catalog(settings.database, settings.data_dir)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: TUMEN_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: TUMEN_PORT.")] = None,
    workers: Annotated[int | None, typer.Option(help="Default: TUMEN_WORKERS.")] = None,
    bake_behind: Annotated[
        bool | None,
        typer.Option(
            "--bake/--no-bake",
            help="Bake scenes without a current archive in one low-priority process while "
            "serving. Default: TUMEN_BAKE_ON_SERVE.",
        ),
    ] = None,
) -> None:
    """Serve the API, tiles and map with uvicorn (baking what is not baked behind it)."""
    import uvicorn

    from tumen.baker import start_background_bake, stop_background_bake
    from tumen.http_protocol import TumenHttpProtocol

    settings = Settings()
    console.print(
        f"tumen on http://{host or settings.host}:{port or settings.port}/ "
        f"(data: {settings.data_dir.resolve()})"
    )
    # A SIGTERM before uvicorn installs its own handlers must still stop the baker: while the
    # baker is being started it is only noted, then it exits through `finally`.
    stop_requested: list[int] = []
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.append(1))
    baker = None
    try:
        if settings.bake_on_serve if bake_behind is None else bake_behind:
            baker = start_background_bake(settings)
            if baker is not None:
                console.print("baking tiles in the background; until then tiles render on request")
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        if stop_requested:
            return
        uvicorn.run(
            "tumen.app:create_app",
            factory=True,
            host=host or settings.host,
            port=port or settings.port,
            workers=workers or settings.workers,
            log_level=settings.log_level,
            proxy_headers=True,
            http=TumenHttpProtocol,
        )
    finally:
        stop_background_bake(baker)


@app.command()
def demo(
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even if the demo exists.")
    ] = False,
    bake_tiles: Annotated[
        bool,
        typer.Option(
            "--bake/--no-bake",
            help="Bake the scenes' tiles (PMTiles) now. By default `tumen serve` bakes them "
            "behind, so the map answers at once.",
        ),
    ] = False,
) -> None:
    """Build the synthetic demo data set (scenes drawn from the reported sightings)."""
    from tumen.demo.build import build_demo

    settings = Settings()
    scenes = build_demo(settings, force=force, console=console)
    if bake_tiles:
        todo = [s for s in scenes if s.baked_version != s.version]
        if todo:
            bake_scenes(settings, todo)


@scenes_app.command("list")
def scenes_list(
    site: Annotated[str | None, typer.Option(help="Only scenes covering this site.")] = None,
) -> None:
    """List the registered scenes in time order."""
    settings = Settings()
    table = Table("id", "datetime", "sites", "gsd (m)", "size", "synthetic", "provider")
    for column in table.columns[:2]:
        column.no_wrap = True
    for s in _catalog(settings).list(site):
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


def bake_scenes(settings: Settings, scenes: list[Scene]) -> None:
    """Bake each scene's archive with a progress bar (shared by bake, ingest and demo)."""
    catalog = _catalog(settings)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        for scene in scenes:
            task = progress.add_task(f"bake {scene.id}", total=None)

            def advance(n: int, total: int, task: TaskID = task) -> None:
                progress.update(task, advance=n, total=total)

            baked = bake_scene(catalog, scene, workers=settings.bake_workers, advance=advance)
            if baked is None:
                progress.update(task, description=f"bake {scene.id}: changed meanwhile, not used")
            else:
                progress.update(task, description=f"bake {scene.id} ({baked.tile_format})")


@app.command()
def bake(
    scene_ids: Annotated[list[str] | None, typer.Argument(help="Scenes to bake.")] = None,
    all_scenes: Annotated[bool, typer.Option("--all", help="Bake every scene.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Re-bake current archives too.")] = False,
    pending_only: Annotated[
        bool,
        typer.Option("--pending", help="Bake every scene without a current archive, newest first."),
    ] = False,
    background: Annotated[
        bool,
        typer.Option(
            "--background",
            help="With --pending: one process at the lowest priority, progress in the log "
            "(what `tumen serve` runs behind itself).",
        ),
    ] = False,
) -> None:
    """Render scenes' tiles into PMTiles archives, served before any dynamic rendering."""
    settings = Settings()
    if background:
        if not pending_only or scene_ids or all_scenes:
            err.print("[red]error:[/red] --background goes with --pending only")
            raise typer.Exit(2)
        from tumen.baker import bake_in_background

        bake_in_background(settings)
        return
    catalog = _catalog(settings)
    if pending_only:
        scene_ids, force = [s.id for s in catalog.list() if s.baked_version != s.version], False
        if not scene_ids:
            console.print("every scene is baked and current")
            return
    elif not scene_ids and not all_scenes:
        err.print("[red]error:[/red] name scenes to bake, or pass --all or --pending")
        raise typer.Exit(2)
    try:
        scenes = catalog.list() if all_scenes else [catalog.get(i) for i in scene_ids or []]
    except SceneNotFound as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    todo = [s for s in scenes if force or s.baked_version != s.version]
    if not todo:
        console.print("every scene named is baked and current")
        return
    bake_scenes(settings, todo)


@scenes_app.command("rm")
def scenes_rm(scene_id: Annotated[str, typer.Argument(help="The scene to remove.")]) -> None:
    """Remove a scene, its COG and its archive; sightings that cite it keep the id and are flagged."""
    settings = Settings()
    catalog = _catalog(settings)
    try:
        scene = catalog.get(scene_id)
    except SceneNotFound as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    catalog.remove(scene.id)
    for path in (catalog.resolve(scene), archive_path(settings.data_dir, scene.id)):
        if path.is_relative_to(settings.data_dir.resolve()) or not path.is_absolute():
            path.unlink(missing_ok=True)
    console.print(f"removed scene {scene.id}; sightings citing it now show scene_removed: true")


@app.command("export-tiles")
def export_tiles_cmd(
    scene_id: Annotated[str, typer.Argument(help="A baked scene.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write z/x/y files into.")],
) -> None:
    """Write a scene's baked tiles as static files (for nginx or any file server)."""
    settings = Settings()
    catalog = _catalog(settings)
    try:
        scene = catalog.get(scene_id)
    except SceneNotFound as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    archive = archive_path(settings.data_dir, scene.id)
    if scene.baked_version != scene.version or not archive.is_file():
        err.print(f"[red]error:[/red] scene '{scene.id}' is not baked; run 'tumen bake {scene.id}'")
        raise typer.Exit(2)
    count = export_tiles(archive, out, scene.tile_format or "png")
    console.print(
        f"wrote {count} tiles of {scene.id} to {out}/{{z}}/{{x}}/{{y}}.{scene.tile_format}"
    )


def register_raster(settings: Settings, location: str, *, link: bool, **common: Any) -> Scene:
    """A file or URL into the catalog: a URL linked in place, or copied; a file converted to a COG."""
    if is_remote(location) and link:
        return link_remote(location, timeout=settings.remote_timeout, **common)
    path = (
        download(location, timeout=settings.remote_timeout)
        if is_remote(location)
        else Path(location)
    )
    if not path.is_file():
        raise IngestError(f"{location}: no such file")
    try:
        return ingest_file(path, scenes_dir=settings.scenes_dir, **common)
    finally:
        if is_remote(location):
            path.unlink(missing_ok=True)


@app.command()
def ingest(
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
) -> None:
    """Convert a raster (GeoTIFF, JP2, 8/16-bit, any band count) to a COG and register it as a scene."""
    settings = Settings()
    try:
        try:
            acquired = datetime.fromisoformat(when) if when else None
        except ValueError as exc:
            raise IngestError(f"--datetime '{when}' is not ISO 8601") from exc
        sites = load_sites(settings.sites_file)
        common = dict(
            catalog=_catalog(settings),
            sites=sites,
            scene_id=scene_id,
            when=acquired,
            provider=source,
            licence=licence,
            description=description,
            site=site,
        )
        scene = register_raster(settings, file, link=link, **common)
    except IngestError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"registered scene [bold]{scene.id}[/bold] covering {', '.join(scene.sites)}")
    if bake_tiles:
        bake_scenes(settings, [scene])


@stac_app.command("search")
def stac_search(
    api: Annotated[str, typer.Option(help="STAC API root URL.")],
    site: Annotated[str, typer.Option(help="Site id.")],
    when: Annotated[str, typer.Option("--datetime", help="RFC 3339 instant or range a/b.")],
    collection: Annotated[str | None, typer.Option(help="Only this collection.")] = None,
    max_cloud: Annotated[float | None, typer.Option(help="Largest eo:cloud_cover, %.")] = None,
) -> None:
    """List the items over a site in a time range: date, gsd, cloud cover and which sites they cover."""
    from tiles.stac_source import search

    settings = Settings()
    sites = load_sites(settings.sites_file)
    if site not in sites:
        err.print(f"[red]error:[/red] unknown site '{site}'; known: {', '.join(sites)}")
        raise typer.Exit(2)
    try:
        rows = search(
            api, sites[site], when, collection=collection, max_cloud=max_cloud, sites=sites
        )
    except Exception as exc:  # pystac-client raises per transport/protocol; report one line
        err.print(f"[red]error:[/red] {api}: search failed ({exc.__class__.__name__}: {exc})")
        raise typer.Exit(2) from exc
    table = Table("id", "datetime", "gsd (m)", "cloud %", "sites", "item")
    for column in table.columns:
        column.no_wrap = True
    for r in rows:
        table.add_row(
            r["id"],
            r["datetime"] or "",
            str(r["gsd"] or ""),
            str(r["cloud"] if r["cloud"] is not None else ""),
            ",".join(r["sites"]),
            r["href"] or "",
        )
    console.print(table)
    console.print(f"{len(rows)} items")


@stac_app.command("ingest")
def stac_ingest(
    item: Annotated[str, typer.Argument(help="URL or file of a STAC Item.")],
    asset: Annotated[
        str | None, typer.Option(help="Asset to register; default visual or first raster.")
    ] = None,
    site: Annotated[str | None, typer.Option(help="Site; default from the footprint.")] = None,
    link: Annotated[
        bool, typer.Option("--link/--copy", help="Read a remote asset in place, or download it.")
    ] = True,
    bake_tiles: Annotated[bool, typer.Option("--bake/--no-bake")] = True,
) -> None:
    """Register an item's raster asset with the item's datetime, provider and licence."""
    from tiles.stac_source import item_facts, raster_asset, read_item

    settings = Settings()
    catalog = _catalog(settings)
    try:
        stac_item = read_item(item)
        _, chosen = raster_asset(stac_item, asset)
        href = chosen.get_absolute_href() or chosen.href
        facts = item_facts(stac_item)
        common = dict(
            catalog=catalog,
            sites=load_sites(settings.sites_file),
            scene_id=stac_item.id,
            when=facts["when"],
            provider=facts["provider"],
            licence=facts["licence"],
            description=facts["description"],
            site=site,
        )
        scene = register_raster(settings, href, link=link, **common)
    except IngestError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    source = stac_item.get_self_href() or item
    scene = catalog.add(scene.model_copy(update={"source_item": source}))
    console.print(
        f"registered STAC item {stac_item.id} as scene [bold]{scene.id}[/bold] ({', '.join(scene.sites)})"
    )
    if bake_tiles:
        bake_scenes(settings, [scene])


def _scene_dicts(settings: Settings) -> list[dict[str, Any]]:
    from tumen.app import scene_footprints

    return scene_footprints(_catalog(settings))


@sightings_app.command("import")
def sightings_import(
    file: Annotated[Path, typer.Argument(help="A GeoJSON FeatureCollection of sightings.")],
) -> None:
    """Add every sighting of a file, or none: the first bad feature is named and nothing is written."""
    from overlays.io import ImportFailed, read_features
    from overlays.sites import load_sites as load_overlay_sites
    from overlays.sqlite_store import SQLiteStore

    settings = Settings()
    try:
        if not file.is_file():
            raise ImportFailed(f"{file}: no such file")
        features = read_features(
            file, load_overlay_sites(settings.sites_file), _scene_dicts(settings)
        )
    except ImportFailed as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    n = SQLiteStore(settings.database).create_many(features, actor=f"import:{file.name}")
    console.print(f"imported {n} sightings from {file}")


@sightings_app.command("export")
def sightings_export(
    fmt: Annotated[str, typer.Option("--format", help="geojson or gpkg")] = "geojson",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output file.")] = None,
) -> None:
    """Write every sighting to GeoJSON or a GeoPackage."""
    from overlays.io import export_geojson, export_gpkg
    from overlays.sqlite_store import SQLiteStore

    if fmt not in ("geojson", "gpkg"):
        err.print(f"[red]error:[/red] --format must be geojson or gpkg, not '{fmt}'")
        raise typer.Exit(2)
    settings = Settings()
    dst = out or Path(f"sightings.{fmt}")
    store = SQLiteStore(settings.database)
    n = export_geojson(store, dst) if fmt == "geojson" else export_gpkg(store, dst)
    console.print(f"wrote {n} sightings to {dst}")


@app.command()
def report(
    site: Annotated[str, typer.Option(help="Site id.")],
    bbox: Annotated[str, typer.Option(help="minlon,minlat,maxlon,maxlat")],
    when: Annotated[
        str | None, typer.Option("--datetime", help="The scene current then; default latest.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Zip file to write.")] = None,
) -> None:
    """Write the evidence bundle (chip, annotated PNG, sightings, STAC Item, SOURCES.md) of an area."""
    from overlays.errors import OverlaysError
    from overlays.params import parse_bbox
    from overlays.sqlite_store import SQLiteStore
    from tiles.dependencies import parse_datetime
    from tiles.errors import TilesError
    from tumen.report import bbox_area_km2, build_report, sightings_for

    settings = Settings()
    try:
        area = parse_bbox(bbox)
        assert area is not None
        if bbox_area_km2(area) > settings.report_max_km2:
            raise typer.BadParameter(f"--bbox covers more than {settings.report_max_km2:g} km²")
        catalog = _catalog(settings)
        if site not in load_sites(settings.sites_file):
            raise typer.BadParameter(f"unknown site '{site}'")
        scene = catalog.at(site, parse_datetime(when))
        features = sightings_for(SQLiteStore(settings.database), scene, site, area)
        body = build_report(scene, str(catalog.resolve(scene)), site, area, features)
    except (OverlaysError, TilesError, typer.BadParameter) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    dst = out or Path(f"tumen-{site}-{scene.datetime:%Y%m%dT%H%M}.zip")
    dst.write_bytes(body)
    console.print(f"wrote {dst} ({len(features)} sightings, scene {scene.id})")


def main() -> None:
    """Entry point of the ``tumen`` script."""
    app()
