"""The ``tumen`` command: serve, build the demo, list and ingest scenes."""

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tiles.catalog import Catalog
from tiles.errors import IngestError
from tiles.ingest import ingest_file
from tiles.sites import load_sites
from tumen.settings import Settings

app = typer.Typer(help="tumen: dated imagery of the DPRK–Russia border, served as tiles.")
scenes_app = typer.Typer(help="The scenes catalog.")
app.add_typer(scenes_app, name="scenes")
console = Console()
err = Console(stderr=True, soft_wrap=True)


def _catalog(settings: Settings) -> Catalog:
    return Catalog(settings.database, settings.data_dir)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: TUMEN_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: TUMEN_PORT.")] = None,
    workers: Annotated[int | None, typer.Option(help="Default: TUMEN_WORKERS.")] = None,
) -> None:
    """Serve the API, tiles and map with uvicorn."""
    import uvicorn

    settings = Settings()
    console.print(
        f"tumen on http://{host or settings.host}:{port or settings.port}/ "
        f"(data: {settings.data_dir.resolve()})"
    )
    uvicorn.run(
        "tumen.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers or settings.workers,
        log_level=settings.log_level,
        proxy_headers=True,
    )


@app.command()
def demo(
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even if the demo exists.")
    ] = False,
) -> None:
    """Build the synthetic demo data set (scenes drawn from the reported sightings)."""
    from tumen.demo.build import build_demo

    settings = Settings()
    build_demo(settings, force=force, console=console)


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


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(help="A GeoTIFF (or any raster GDAL reads).")],
    site: Annotated[str, typer.Option(help="Site the image is of (bridge, khasan, ...).")],
    when: Annotated[
        str, typer.Option("--datetime", help="Acquisition time, ISO 8601 with offset.")
    ],
    source: Annotated[str, typer.Option(help="Who made the image, e.g. 'Planet Labs PBC'.")],
    licence: Annotated[str, typer.Option(help="Licence of the image.")] = "unknown",
    scene_id: Annotated[
        str | None, typer.Option("--id", help="Scene id; default SITE-YYYYMMDDTHHMM.")
    ] = None,
    description: Annotated[str, typer.Option(help="What the image shows.")] = "",
) -> None:
    """Convert a GeoTIFF to a COG and register it as a scene."""
    settings = Settings()
    try:
        try:
            acquired = datetime.fromisoformat(when)
        except ValueError as exc:
            raise IngestError(f"--datetime '{when}' is not ISO 8601") from exc
        if not file.is_file():
            raise IngestError(f"{file}: no such file")
        sites = load_sites(settings.sites_file)
        scene = ingest_file(
            file,
            catalog=_catalog(settings),
            sites=sites,
            scenes_dir=settings.scenes_dir,
            scene_id=scene_id or f"{site}-{acquired:%Y%m%dT%H%M}",
            when=acquired,
            provider=source,
            licence=licence,
            description=description,
            site=site,
        )
    except IngestError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"registered scene [bold]{scene.id}[/bold] covering {', '.join(scene.sites)}")


def main() -> None:
    """Entry point of the ``tumen`` script."""
    app()
