"""``tumen storage prune``: reclaim the keys of object storage that no scene names any more.

Keys are immutable (tiles/storage.py): a re-ingest or a re-bake writes a new key and switches the
catalog to it, leaving the old one behind. Prune lists the prefix first and reads the catalog after,
so a key written and switched to during the listing is seen as named. It deletes only tumen's own
keys that no scene names and that are older than a grace period: a younger one may have just been
written by another instance that has not switched the catalog yet, or be the previous key a reader
elsewhere is still finishing a request on.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich import filesize
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tiles.catalog import Catalog
from tiles.storage import DELETE_BATCH, S3Storage, StoredObject
from tumen.cli.common import (
    CommandRefused,
    catalog_of,
    console,
    err,
    parse_duration,
    settings_of,
    storage_of,
)
from tumen.settings import Settings

# The layouts tumen writes (tiles.storage.scene_key, archive_key); any other key is not its to delete.
TUMEN_KEY = re.compile(
    r"^(?:scenes/(?P<scene>[^/]+)/[^/]+/(?P=scene)\.tif|baked/[^/]+/[^/]+\.pmtiles)$"
)
EXIT_DELETE_FAILED = 1


@dataclass
class Plan:
    """What a prune does with the listed keys: delete some, and why it keeps the others."""

    doomed: list[StoredObject] = field(default_factory=list)
    referenced: int = 0
    young: int = 0
    foreign: int = 0

    @property
    def size(self) -> int:
        """Bytes the doomed keys hold."""
        return sum(o.size for o in self.doomed)


def named_by(catalog: Catalog) -> set[str]:
    """Every location a scene of the catalog names: its COG and its archive."""
    return {where for s in catalog.list() for where in (s.path, s.archive) if where}


def plan(
    listing: Iterable[StoredObject], storage: S3Storage, named: set[str], cutoff: datetime
) -> Plan:
    """Sort listed keys: not tumen's, named by a scene, written after ``cutoff``, or doomed."""
    result = Plan()
    for stored in listing:
        if not TUMEN_KEY.match(stored.key):
            result.foreign += 1
        elif storage.location(stored.key) in named:
            result.referenced += 1
        elif stored.modified > cutoff:
            result.young += 1
        else:
            result.doomed.append(stored)
    return result


def catalog_name(settings: Settings) -> str:
    """The catalog prune trusts, for messages (never the database URL: it may hold a password)."""
    if settings.database_url:
        return "the PostgreSQL catalog of TUMEN_DATABASE_URL"
    return f"the SQLite catalog {settings.sqlite_file}"


def delete(
    catalog: Catalog, storage: S3Storage, doomed: list[StoredObject]
) -> tuple[list[StoredObject], int, dict[str, str]]:
    """Delete in batches; (deleted, kept as named meanwhile, failed key → reason).

    The catalog is read again before each batch: a key an identical re-ingest or re-bake reuses
    (it is not written again, so its age does not change) is kept once a scene names it.
    """
    deleted: list[StoredObject] = []
    kept = 0
    failed: dict[str, str] = {}
    columns = (TextColumn("deleting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=len(doomed) <= DELETE_BATCH) as progress:
        task = progress.add_task("delete", total=len(doomed))
        for start in range(0, len(doomed), DELETE_BATCH):
            batch = doomed[start : start + DELETE_BATCH]
            named = named_by(catalog)
            batch_named = [o for o in batch if storage.location(o.key) in named]
            batch = [o for o in batch if storage.location(o.key) not in named]
            kept += len(batch_named)
            errors = storage.delete_keys([o.key for o in batch])
            failed |= errors
            deleted += [o for o in batch if o.key not in errors]
            progress.advance(task, len(batch) + len(batch_named))
    return deleted, kept, failed


def lost_since(catalog: Catalog, storage: S3Storage, deleted: list[StoredObject]) -> list[str]:
    """Scenes that name a key this prune deleted: reused between the last check and the delete."""
    gone = {storage.location(o.key) for o in deleted}
    return [
        f"scene {s.id} names {where}, which was deleted: it was reused while pruning; "
        f"{'re-bake' if where == s.archive else 're-ingest'} it"
        for s in catalog.list()
        for where in (s.path, s.archive)
        if where in gone
    ]


def storage_prune(
    ctx: typer.Context,
    older_than: Annotated[
        str,
        typer.Option(
            help="Delete only keys written longer ago than this (30m, 1h, 2d): a younger one may "
            "be another instance's ingest or bake in progress."
        ),
    ] = "1h",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be deleted; delete nothing.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Delete even when the catalog names none of the keys (as with a wrong "
            "TUMEN_DATABASE_URL, or when every scene was removed).",
        ),
    ] = False,
) -> None:
    """Delete the keys of TUMEN_STORAGE_URL that no scene names any more (superseded versions)."""
    settings = settings_of(ctx)
    if not settings.storage_url:
        raise CommandRefused(
            "set TUMEN_STORAGE_URL=s3://bucket/prefix: prune reclaims keys of object storage "
            "(the data dir's files are replaced in place)"
        )
    grace = parse_duration(older_than, "--older-than")
    storage = storage_of(ctx)
    assert isinstance(storage, S3Storage)
    storage.check()
    cutoff = datetime.now(UTC) - grace
    listing = list(storage.listing())
    catalog = catalog_of(ctx)
    todo = plan(listing, storage, named_by(catalog), cutoff)
    if todo.doomed and not todo.referenced:
        unsure = (
            f"{catalog_name(settings)} names none of the keys under {storage.url}: is it the "
            "catalog of the instances writing there?"
        )
        if dry_run:
            err.print(f"[yellow]warning:[/yellow] {unsure}")
        elif not force:
            raise CommandRefused(f"{unsure} Nothing deleted (--force deletes them all the same)")
    grace_text = older_than.strip()

    def kept(referenced: int) -> str:
        return (
            f"kept {referenced} referenced, {todo.young} younger than {grace_text}, "
            f"{todo.foreign} not tumen's"
        )

    if dry_run:
        console.print(
            f"would delete {len(todo.doomed)} key(s), {filesize.decimal(todo.size)}; "
            f"{kept(todo.referenced)} (dry run: nothing deleted)"
        )
        return
    deleted, named_meanwhile, failed = delete(catalog, storage, todo.doomed)
    for key, reason in failed.items():
        err.print(f"[red]not deleted:[/red] {key}: {reason}")
    lost = lost_since(catalog, storage, deleted)
    for problem in lost:
        err.print(f"[red]error:[/red] {problem}")
    summary = (
        f"deleted {len(deleted)} key(s), {filesize.decimal(sum(o.size for o in deleted))}; "
        f"{kept(todo.referenced + named_meanwhile)}"
    )
    console.print(summary + (f"; {len(failed)} failed" if failed else ""))
    if failed or lost:
        raise typer.Exit(EXIT_DELETE_FAILED)
