"""``tumen db upgrade`` and ``tumen db status``: the PostgreSQL schema of TUMEN_DATABASE_URL."""

import typer

from tumen.cli.common import CommandRefused, console, settings_of
from tumen.db import pending_steps, upgrade


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
