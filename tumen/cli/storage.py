"""``tumen storage migrate``: a data dir's COGs and archives up to object storage, catalog switched.

Each file goes under its immutable key (``scenes/{id}/{version}/{id}.tif``, ``baked/{id}/{digest}.pmtiles``)
and the scene is pointed at it only if it is still the version copied. A key already present is
not written again, and a scene already in storage is left alone: running it twice copies nothing.
The local files stay where they are (remove them once every instance reads from storage).
"""

from dataclasses import dataclass
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from tiles.archive import Archive, ArchiveError
from tiles.bake import archive_path
from tiles.catalog import Catalog, Scene
from tiles.ingest import file_version
from tiles.remote import is_remote
from tiles.storage import S3Storage, archive_key, file_digest, scene_key
from tumen.cli.common import CommandRefused, catalog_of, console, err, settings_of, storage_of


@dataclass(frozen=True)
class Move:
    """One local file of a scene to put into storage: its COG or its baked archive."""

    scene: Scene
    kind: str  # "cog" | "archive"
    path: Path

    @property
    def size(self) -> int:
        """The file's length in bytes."""
        return self.path.stat().st_size


def plan(catalog: Catalog) -> tuple[list[Move], list[str]]:
    """What is still local (to copy), and what cannot be copied as it stands (to tell)."""
    moves: list[Move] = []
    problems: list[str] = []
    for scene in catalog.list():
        if not is_remote(scene.path):
            cog = catalog.local_path(scene)
            if cog.is_file():
                moves.append(Move(scene, "cog", cog))
            else:
                problems.append(f"{scene.id}: its COG {cog} is missing; not copied")
        if scene.is_baked and scene.archive is None:
            local = archive_path(catalog.data_dir, scene.id)
            if local.is_file():
                moves.append(Move(scene, "archive", local))
    return moves, problems


def _copy(catalog: Catalog, storage: S3Storage, move: Move) -> tuple[bool, str | None]:
    """Put one file (unless its key is there) and switch the catalog; (copied, problem)."""
    scene = move.scene
    if move.kind == "cog":
        if file_version(move.path) != scene.version:
            return False, f"{scene.id}: its COG changed since it was registered; re-ingest it"
        key = scene_key(scene.id, scene.version)
    else:
        try:
            archive = Archive(move.path)
        except (ArchiveError, OSError) as exc:
            return False, f"{scene.id}: its archive is unreadable ({exc}); re-bake it"
        baked_from = archive.metadata.get("tumen:scene_version")
        archive.close()
        if baked_from != scene.version:
            return False, f"{scene.id}: its archive is of another version; re-bake it"
        key = archive_key(scene.id, file_digest(move.path))
    copied = not storage.exists(key)
    if copied:
        storage.put(key, move.path)
    location = storage.location(key)
    if move.kind == "cog":
        switched = catalog.relocate(scene.id, scene.version, location)
    else:
        switched = catalog.mark_baked(
            scene.id, scene.version, scene.tile_format or "png", archive=location
        )
    if switched is None:
        return copied, f"{scene.id}: changed while it was copied; run migrate again"
    return copied, None


def storage_migrate(ctx: typer.Context) -> None:
    """Copy the data dir's COGs and archives to TUMEN_STORAGE_URL and point the catalog at them."""
    settings = settings_of(ctx)
    if not settings.storage_url:
        raise CommandRefused("set TUMEN_STORAGE_URL=s3://bucket/prefix: where to copy to")
    storage = storage_of(ctx)
    assert isinstance(storage, S3Storage)
    storage.check()
    catalog = catalog_of(ctx)
    moves, problems = plan(catalog)
    copied = reused = 0
    if moves:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as progress:
            task = progress.add_task(f"to {settings.storage_url}", total=sum(m.size for m in moves))
            for move in moves:
                progress.update(task, description=f"{move.scene.id} ({move.kind})")
                put, problem = _copy(catalog, storage, move)
                if problem:
                    problems.append(problem)
                elif put:
                    copied += 1
                else:
                    reused += 1
                progress.advance(task, move.size)
    for problem in problems:
        err.print(f"[yellow]warning:[/yellow] {problem}")
    if not moves:
        console.print(f"nothing to migrate: every scene's COG and archive is in {storage.url}")
    else:
        console.print(
            f"{copied} files copied to {storage.url}, {reused} already there; the catalog names "
            f"them now. The local files in {settings.data_dir} are left; remove them once every "
            "instance reads from storage."
        )
    if problems:
        raise typer.Exit(1)
