"""``tumen report``: the evidence bundle of an area, made as the API's report route makes it."""

from pathlib import Path
from typing import Annotated

import typer

from tumen.cli.common import catalog_of, console, settings_of


def report(
    ctx: typer.Context,
    site: Annotated[str, typer.Option(help="Site id.")],
    bbox: Annotated[str, typer.Option(help="minlon,minlat,maxlon,maxlat")],
    when: Annotated[
        str | None, typer.Option("--datetime", help="The scene current then; default latest.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Zip file to write.")] = None,
) -> None:
    """Write the evidence bundle (chip, annotated PNG, sightings, STAC Item, SOURCES.md) of an area."""
    from overlays.params import parse_bbox
    from tiles.times import parse_datetime
    from tumen.db import open_store
    from tumen.report import build_report

    settings, catalog = settings_of(ctx), catalog_of(ctx)
    area = parse_bbox(bbox)
    assert area is not None
    made = build_report(
        catalog,
        open_store(settings),
        catalog.sites.all(),
        site,
        area,
        parse_datetime(when),
        max_km2=settings.report_max_km2,
    )
    dst = out or Path(made.filename)
    dst.write_bytes(made.zip)
    console.print(f"wrote {dst} ({len(made.sightings)} sightings, scene {made.scene.id})")
