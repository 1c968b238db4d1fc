"""``tumen bake`` and ``tumen export-tiles``: scenes' tiles into PMTiles archives, and out as files."""

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from tiles.bake import archive_path, bake_scene
from tiles.catalog import Scene
from tiles.export import export_tiles
from tiles.storage import RangeSource, is_s3
from tumen.cli.common import CommandRefused, catalog_of, console, settings_of, storage_of


def bake_scenes(ctx: typer.Context, scenes: list[Scene]) -> None:
    """Bake each scene's archive with a progress bar (shared by bake, ingest and demo)."""
    settings, catalog, storage = settings_of(ctx), catalog_of(ctx), storage_of(ctx)
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

            baked = bake_scene(
                catalog, scene, workers=settings.bake_workers, advance=advance, storage=storage
            )
            if baked is None:
                progress.update(task, description=f"bake {scene.id}: changed meanwhile, not used")
            else:
                progress.update(task, description=f"bake {scene.id} ({baked.tile_format})")


def bake(
    ctx: typer.Context,
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
    if background:
        if not pending_only or scene_ids or all_scenes:
            raise CommandRefused("--background goes with --pending only")
        from tumen.baker import bake_in_background

        bake_in_background(settings_of(ctx))
        return
    catalog = catalog_of(ctx)
    if pending_only:
        scene_ids, force = [s.id for s in catalog.list() if not s.is_baked], False
        if not scene_ids:
            console.print("every scene is baked and current")
            return
    elif not scene_ids and not all_scenes:
        raise CommandRefused("name scenes to bake, or pass --all or --pending")
    scenes = catalog.list() if all_scenes else [catalog.get(i) for i in scene_ids or []]
    todo = [s for s in scenes if force or not s.is_baked]
    if not todo:
        console.print("every scene named is baked and current")
        return
    bake_scenes(ctx, todo)


def export_tiles_cmd(
    ctx: typer.Context,
    scene_id: Annotated[str, typer.Argument(help="A baked scene.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write z/x/y files into.")],
) -> None:
    """Write a scene's baked tiles as static files (for nginx or any file server)."""
    scene = catalog_of(ctx).get(scene_id)
    archive: Path | RangeSource = archive_path(settings_of(ctx).data_dir, scene.id)
    if scene.is_baked and scene.archive is not None and is_s3(scene.archive):
        archive = storage_of(ctx).open_range(scene.archive)
    elif not scene.is_baked or not Path(str(archive)).is_file():
        raise CommandRefused(f"scene '{scene.id}' is not baked; run 'tumen bake {scene.id}'")
    count = export_tiles(archive, out, scene.tile_format or "png")
    console.print(
        f"wrote {count} tiles of {scene.id} to {out}/{{z}}/{{x}}/{{y}}.{scene.tile_format}"
    )
