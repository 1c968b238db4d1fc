"""What every command shares: the consoles, this run's settings, and the one error → exit-code rule."""

import re
from datetime import timedelta
from typing import Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from overlays.errors import OverlaysError
from tiles.catalog import Catalog
from tiles.errors import TilesError
from tiles.storage import LocalStorage, S3Storage, open_storage
from tumen.db import DatabaseNotReady
from tumen.errors import AnalysisRefused
from tumen.settings import Settings

console = Console()
err = Console(stderr=True, soft_wrap=True)


class CommandRefused(Exception):
    """A command line that cannot run as given; the message is what the user reads."""


# What a command reports as one line and exit code 2; anything else is a bug and shows its traceback.
REPORTED_ERRORS: tuple[type[Exception], ...] = (
    TilesError,
    OverlaysError,
    CommandRefused,
    AnalysisRefused,
    DatabaseNotReady,  # TUMEN_DATABASE_URL unreachable or not migrated
)
EXIT_REFUSED = 2
DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$", re.IGNORECASE)
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class ReportingGroup(TyperGroup):
    """The root group: every command runs inside it, so its domain errors are turned into exit codes here."""

    # The base takes typer's vendored click Context, of which typer.Context is the public subclass.
    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        """Run the command; a reported error prints ``error: <message>`` and exits with 2."""
        try:
            return super().invoke(ctx)
        except REPORTED_ERRORS as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(EXIT_REFUSED) from exc


def settings_of(ctx: typer.Context) -> Settings:
    """The settings of this run, read once by the ``tumen`` callback."""
    settings = ctx.obj
    if not isinstance(settings, Settings):
        raise RuntimeError("the tumen callback did not run: invoke commands through tumen.cli.app")
    return settings


def catalog_of(ctx: typer.Context) -> Catalog:
    """The catalog (scenes and sites) of this run's data dir; the sites file seeds its sites once."""
    settings = settings_of(ctx)
    return Catalog(settings.database, settings.data_dir, settings.sites_file)


def storage_of(ctx: typer.Context) -> LocalStorage | S3Storage:
    """Where this run's COGs and archives go: TUMEN_STORAGE_URL's bucket, or the data dir."""
    settings = settings_of(ctx)
    return open_storage(settings.storage_url, settings.data_dir)


def parse_duration(text: str, option: str) -> timedelta:
    """'90s', '30m', '6h' or '1d' as a duration; anything else is refused naming ``option``."""
    match = DURATION.match(text)
    if match is None:
        raise CommandRefused(f"{option}: '{text}' is not a duration such as 30m, 6h or 1d")
    return timedelta(seconds=int(match.group(1)) * SECONDS[match.group(2).lower()])
