"""``tumen db upgrade|status|import``: the PostgreSQL database of TUMEN_DATABASE_URL."""

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tiles.site_registry import counted
from tumen.cli.common import CommandRefused, console, err, settings_of
from tumen.db import check_database, pending_steps, upgrade

PROGRESS_FROM = 1000  # items (sites, scenes, sightings, history lines): fewer go by without a bar


def _url(ctx: typer.Context) -> str:
    url = settings_of(ctx).database_url
    if url is None:
        raise CommandRefused(
            "TUMEN_DATABASE_URL is not set: the SQLite file in the data dir makes its own tables"
        )
    return url


def db_upgrade(ctx: typer.Context) -> None:
    """Create or migrate the schema (catalog, sites, sightings); a second run changes nothing."""
    applied = upgrade(_url(ctx))
    if applied:
        console.print(f"applied {len(applied)} step(s): {', '.join(applied)}")
    else:
        console.print("the schema is up to date; nothing to do")


def db_status(ctx: typer.Context) -> None:
    """Say which schema steps the database still lacks (exit 1 if any)."""
    missing = pending_steps(_url(ctx))
    if missing:
        console.print(f"{len(missing)} step(s) to apply: {', '.join(missing)} (tumen db upgrade)")
        raise typer.Exit(1)
    console.print("the schema is up to date")


def db_import(
    ctx: typer.Context,
    sqlite_file: Annotated[
        Path | None,
        typer.Argument(help="The SQLite file to copy (default: the data dir's tumen.sqlite)."),
    ] = None,
    skip_existing: Annotated[
        bool,
        typer.Option(
            "--skip-existing", help="Leave sites, scenes and sightings already there alone."
        ),
    ] = False,
) -> None:
    """Copy a one-machine tumen (its SQLite file) into PostgreSQL: all or nothing.

    Sites, scenes and sightings with their ids, versions and whole history; into a database
    migrated by 'tumen db upgrade'.
    """
    from tumen.db_import import ImportRefused, read_sqlite, write_postgres

    settings = settings_of(ctx)
    url = _url(ctx)
    check_database(settings)
    source_file = sqlite_file or settings.sqlite_file
    try:
        source = read_sqlite(source_file)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(
            *columns, TimeElapsedColumn(), console=console, disable=source.size < PROGRESS_FROM
        ) as progress:
            task = progress.add_task(f"from {source_file}", total=source.size)
            done = write_postgres(
                source,
                url,
                skip_existing=skip_existing,
                progress=lambda n: progress.advance(task, n),
            )
    except ImportRefused as exc:
        raise CommandRefused(str(exc)) from exc
    if source.local:
        err.print(
            f"[yellow]warning:[/yellow] the COG of {counted(source.local, 'scene')} is a file on "
            "this machine, which other machines cannot read: run 'tumen storage migrate' here, "
            "with TUMEN_STORAGE_URL and TUMEN_DATABASE_URL set"
        )
    console.print(
        f"imported {done.sites} site(s), {done.scenes} scene(s), {done.sightings} sighting(s) "
        f"with {done.lines} history line(s) ({done.skipped} skipped)",
        soft_wrap=True,
    )
