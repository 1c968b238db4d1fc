"""``tumen report``: the evidence bundle of an area, as the API's report route makes it."""

from pathlib import Path
from typing import Annotated

import typer

from tiles.sites import load_sites
from tumen.cli.common import CommandRefused, catalog_of, console, settings_of


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
    from overlays.sqlite_store import SQLiteStore
    from tiles.dependencies import parse_datetime
    from tumen.report import bbox_area_km2, build_report, sightings_for

    settings = settings_of(ctx)
    area = parse_bbox(bbox)
    assert area is not None
    if bbox_area_km2(area) > settings.report_max_km2:
        raise CommandRefused(f"--bbox covers more than {settings.report_max_km2:g} km²")
    catalog = catalog_of(ctx)
    if site not in load_sites(settings.sites_file):
        raise CommandRefused(f"unknown site '{site}'")
    scene = catalog.at(site, parse_datetime(when))
    features = sightings_for(SQLiteStore(settings.database), scene, site, area)
    body = build_report(scene, catalog.location(scene), site, area, features)
    dst = out or Path(f"tumen-{site}-{scene.datetime:%Y%m%dT%H%M}.zip")
    dst.write_bytes(body)
    console.print(f"wrote {dst} ({len(features)} sightings, scene {scene.id})")
